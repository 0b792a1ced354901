"""Backup and restore: a dump restored into an empty database gives the same archive, page for page."""

import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from correspondence.models import Agent, CitedDocument, Letter, Place, SourceDocument
from tests.conftest import load_seeds

PAGES = [
    "/",
    "/letters/",
    "/letters/?q=mines",
    "/letters/?sender=anders-knape&format=json",
    "/letters/coe-2020-10-20-ibrahimov-knape/",
    "/letters/coe-2020-10-20-ibrahimov-knape/?format=json",
    "/people/anders-knape/",
    "/places/barda/",
    "/cited/csnu-resolution-822/",
    "/sources/cg-bur-2020-35-inf56/",
]


def render_pages():
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    pages = {}
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response) if response.streaming else response.content
        body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)
        pages[url] = re.sub(rb'nonce="[^"]+"', b"", body)  # a fresh CSP nonce on every response
    return pages


def empty_the_archive():
    for model in (Letter, SourceDocument, CitedDocument, Place, Agent):
        model.objects.all().delete()


@pytest.mark.django_db
def test_a_restored_backup_gives_every_page_identical(tmp_path):
    load_seeds()
    before = render_pages()
    backup = tmp_path / "archive.json.gz"
    call_command("backup_archive", str(backup), stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert backup.stat().st_size > 1000

    empty_the_archive()
    assert Letter.objects.count() == 0
    call_command("restore_archive", str(backup), stdout=open("/dev/null", "w"))  # noqa: SIM115

    after = render_pages()
    for url in PAGES:
        assert after[url] == before[url], f"{url} differs after restore"


@pytest.mark.django_db
def test_restore_refuses_a_database_that_holds_records(tmp_path):
    Agent.objects.create(slug="someone", name="Someone")
    backup = tmp_path / "archive.json"
    call_command("backup_archive", str(backup), stdout=open("/dev/null", "w"))  # noqa: SIM115
    with pytest.raises(CommandError, match="already holds records"):
        call_command("restore_archive", str(backup))


@pytest.mark.django_db
def test_restore_of_a_damaged_file_changes_nothing(tmp_path):
    damaged = tmp_path / "archive.json"
    damaged.write_text('[{"model": "correspondence.agent", "pk": 1, "fields": {"slug": "x", "name": "X"}}, {"model": ')
    with pytest.raises(CommandError, match="Could not restore"):
        call_command("restore_archive", str(damaged))
    assert Agent.objects.count() == 0


def test_backup_names_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("backup_archive", str(tmp_path / "missing" / "archive.json"))
