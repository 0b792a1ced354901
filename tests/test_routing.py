"""Read replicas: reads go to a replica, writes and admin requests to the primary (a second real database)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

from archive.routers import PrimaryReplicaRouter, pinned_to_primary
from correspondence.models import Letter
from tests.conftest import make_letter

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def replica_file(tmp_path_factory):
    """A second database with the archive's schema, migrated by manage.py like a real replica."""
    path = tmp_path_factory.mktemp("replica") / "replica.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    env.pop("DATABASE_REPLICA_URLS", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return path


@pytest.fixture
def replica(replica_file, settings):
    alias = "replica1"
    config = {**connections.settings["default"], "ENGINE": "django.db.backends.sqlite3", "NAME": str(replica_file)}
    config["TEST"] = {}
    settings.DATABASES = {**django_settings.DATABASES, alias: config}  # the router reads the aliases here
    connections.settings[alias] = config
    connections[alias].connect()  # opened here, as a replica's connection, outside the test's own databases
    yield alias
    connections[alias].close()
    del connections[alias]
    del connections.settings[alias]


def test_without_replicas_everything_uses_the_primary(settings):
    router = PrimaryReplicaRouter()
    assert router.db_for_read(Letter) == "default"
    assert router.db_for_write(Letter) == "default"


def test_only_the_primary_is_migrated():
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("default", "correspondence")
    assert not router.allow_migrate("replica1", "correspondence")


@pytest.mark.django_db(databases="__all__")
def test_reads_come_from_the_replica_and_writes_go_to_the_primary(replica):
    # bulk_create: no signals, so the primary's search index is left alone
    Letter.objects.using(replica).bulk_create(
        [Letter(slug="only-on-the-replica", title="Copie", date_precision="unknown")]
    )
    make_letter(slug="only-on-the-primary", title="Original")

    assert list(Letter.objects.values_list("slug", flat=True)) == ["only-on-the-replica"]
    with pinned_to_primary():
        assert list(Letter.objects.values_list("slug", flat=True)) == ["only-on-the-primary"]
    assert Letter.objects.using("default").filter(slug="only-on-the-primary").exists()
    Letter.objects.using(replica).all().delete()


@pytest.mark.django_db(databases="__all__")
def test_admin_requests_read_from_the_primary(replica, admin_client):
    make_letter(slug="saved-a-moment-ago", title="Just saved")
    page = admin_client.get("/admin/correspondence/letter/").content.decode()
    assert "Just saved" in page
