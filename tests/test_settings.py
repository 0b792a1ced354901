"""The settings read the environment through typed helpers that refuse bad values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from archive.settings import envbool, envint, envlist

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "x7#Qp2!vL9sR4tY8wZ1mN6bC3dF5gH0jK-production-like-test-key",
    "DJANGO_ALLOWED_HOSTS": "archive.example.org",
}


def manage(*args, **env):
    """Run manage.py in a fresh interpreter with only the given Django settings in the environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("value", ["1", "true", "True", "yes", "on", " TRUE "])
def test_envbool_reads_true(monkeypatch, value):
    monkeypatch.setenv("ARCHIVE_TEST_FLAG", value)
    assert envbool("ARCHIVE_TEST_FLAG", False) is True


@pytest.mark.parametrize("value", ["0", "false", "False", "no", "off"])
def test_envbool_reads_false(monkeypatch, value):
    monkeypatch.setenv("ARCHIVE_TEST_FLAG", value)
    assert envbool("ARCHIVE_TEST_FLAG", True) is False


@pytest.mark.parametrize("value", [None, ""])
def test_envbool_falls_back_to_default_when_unset_or_empty(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("ARCHIVE_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("ARCHIVE_TEST_FLAG", value)
    assert envbool("ARCHIVE_TEST_FLAG", True) is True
    assert envbool("ARCHIVE_TEST_FLAG", False) is False


@pytest.mark.parametrize("value", ["maybe", "2", "flase", "enabled"])
def test_envbool_refuses_anything_else(monkeypatch, value):
    monkeypatch.setenv("ARCHIVE_TEST_FLAG", value)
    with pytest.raises(ImproperlyConfigured, match="ARCHIVE_TEST_FLAG"):
        envbool("ARCHIVE_TEST_FLAG", False)


def test_envint_reads_whole_numbers(monkeypatch):
    monkeypatch.setenv("ARCHIVE_TEST_NUMBER", "587")
    assert envint("ARCHIVE_TEST_NUMBER", 25) == 587


def test_envint_falls_back_to_default_when_unset(monkeypatch):
    monkeypatch.delenv("ARCHIVE_TEST_NUMBER", raising=False)
    assert envint("ARCHIVE_TEST_NUMBER", 25) == 25


@pytest.mark.parametrize("value", ["ten", "1.5", "60s"])
def test_envint_refuses_what_is_not_a_whole_number(monkeypatch, value):
    monkeypatch.setenv("ARCHIVE_TEST_NUMBER", value)
    with pytest.raises(ImproperlyConfigured, match="ARCHIVE_TEST_NUMBER"):
        envint("ARCHIVE_TEST_NUMBER", 25)


def test_envlist_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("ARCHIVE_TEST_HOSTS", " archive.example.org, ,www.example.org ")
    assert envlist("ARCHIVE_TEST_HOSTS", []) == ["archive.example.org", "www.example.org"]


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV}
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_refuse_to_start_without_allowed_hosts():
    env = {**PRODUCTION_ENV}
    del env["DJANGO_ALLOWED_HOSTS"]
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_a_misspelt_debug_flag_stops_the_start_up():
    result = manage("check", DJANGO_DEBUG="ture")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_DEBUG" in result.stderr


def test_production_settings_pass_the_deployment_checklist_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output


def test_cache_url_selects_a_shared_cache_backend():
    from archive.settings import cache_from_url

    assert cache_from_url("redis://cache:6379/1")["BACKEND"].endswith("RedisCache")
    assert cache_from_url("memcached://cache:11211")["LOCATION"] == "cache:11211"
    assert cache_from_url("db://archive_cache")["LOCATION"] == "archive_cache"
    assert cache_from_url("file:///var/cache/archive")["BACKEND"].endswith("FileBasedCache")
    assert cache_from_url("file:///var/cache/archive")["LOCATION"] == "/var/cache/archive"
    with pytest.raises(ImproperlyConfigured, match="unknown cache"):
        cache_from_url("bogus://x")
