"""The README's two commands and the scripts behind them."""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SCRIPTS = ["scripts/run", "scripts/test", "scripts/find-python", "scripts/ensure-venv", ".ci/run"]


def run(args, env=None, timeout=300):
    return subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)


def fake_interpreter(folder, name, exit_status):
    """A stand-in for a Python that answers the version probe with exit_status."""
    path = folder / name
    path.write_text(f"#!/bin/sh\nexit {exit_status}\n")
    path.chmod(0o755)
    return path


def isolated_env(tmp_path, **extra):
    """An environment whose PATH holds only tmp_path/bin, and no pyenv."""
    (tmp_path / "bin").mkdir(exist_ok=True)
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv")}
    env.update(extra)
    return env


def readme_section(title):
    text = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_executable_strict_bash(script):
    path = BASE_DIR / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    assert run(["bash", "-n", str(path)]).returncode == 0


def test_find_python_prints_a_python_of_at_least_3_12_with_venv():
    result = run(["bash", "scripts/find-python"])
    assert result.returncode == 0, result.stderr
    python = result.stdout.strip()
    probe = run([python, "-c", "import sys, venv, ensurepip; print(sys.version_info >= (3, 12))"])
    assert probe.stdout.strip() == "True"


def test_find_python_says_what_to_install_when_every_python_is_too_old(tmp_path):
    env = isolated_env(tmp_path)
    fake_interpreter(tmp_path / "bin", "python3", 1)
    fake_interpreter(tmp_path / "bin", "python3.12", 1)
    result = run(["/bin/bash", str(BASE_DIR / "scripts/find-python")], env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no Python 3.12 or newer" in result.stderr
    assert "pyenv install 3.13" in result.stderr


def test_find_python_names_a_new_python_that_lacks_the_venv_module(tmp_path):
    env = isolated_env(tmp_path)
    fake_interpreter(tmp_path / "bin", "python3.13", 2)
    result = run(["/bin/bash", str(BASE_DIR / "scripts/find-python")], env=env)
    assert result.returncode == 1
    assert "python3.13" in result.stderr
    assert "venv" in result.stderr


def test_find_python_refuses_an_explicit_python_that_is_too_old(tmp_path):
    env = isolated_env(tmp_path, PYTHON=str(fake_interpreter(tmp_path, "python3.11", 1)))
    result = run(["/bin/bash", str(BASE_DIR / "scripts/find-python")], env=env)
    assert result.returncode == 1
    assert "PYTHON=" in result.stderr


def test_ensure_venv_does_not_reinstall_unchanged_requirements():
    first = run(["scripts/ensure-venv", "requirements-dev.txt"])
    assert first.returncode == 0, first.stderr
    again = run(["scripts/ensure-venv", "requirements-dev.txt"])
    assert again.returncode == 0, again.stderr
    assert "installing" not in again.stderr
    runtime = run(["scripts/ensure-venv", "requirements.txt"])
    assert "installing" not in runtime.stderr, "requirements-dev.txt includes requirements.txt"


def test_psycopg3_stays_out_so_django_uses_psycopg2():
    # Django prefers psycopg 3 over psycopg2 when both are importable (see FIELD-NOTES).
    assert importlib.util.find_spec("psycopg") is None
    assert importlib.util.find_spec("psycopg2") is not None


def test_readme_quick_start_has_exactly_the_two_commands():
    section = readme_section("Quick start")
    blocks = re.findall(r"```\w*\n(.*?)```", section, flags=re.S)
    commands = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    assert commands == ["./scripts/run", "./scripts/test"]
    assert len(blocks) == 1


def test_readme_documents_admin_postgres_and_production():
    text = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/python manage.py createsuperuser" in text
    assert "DATABASE_URL=postgres://user:pass@host:5432/db ./scripts/run" in text
    assert "gunicorn archive.wsgi:application --bind 0.0.0.0:8000 --workers 3" in text
    for variable in [
        "DJANGO_SECRET_KEY",
        "DJANGO_DEBUG",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "DJANGO_CSRF_TRUSTED_ORIGINS",
        "DJANGO_EMAIL_HOST",
        "DJANGO_EMAIL_PORT",
        "DATABASE_CONN_MAX_AGE",
    ]:
        assert f"`{variable}`" in text, variable


def test_ci_runs_the_readme_test_command_with_postgres():
    ci = (BASE_DIR / ".ci/run").read_text(encoding="utf-8")
    assert "exec ./scripts/test" in ci
    assert "unset SKIP_POSTGRES" in ci


def test_makefile_has_the_documented_targets():
    makefile = (BASE_DIR / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, flags=re.M).group(1).split()
    for target in ["run", "test", "lint", "bench"]:
        assert target in phony
        assert re.search(rf"^{target}:", makefile, flags=re.M), target


def test_make_bench_explains_when_there_are_no_benchmarks():
    if (BASE_DIR / "scripts/bench").exists():
        pytest.skip("scripts/bench exists")
    result = run(["make", "--no-print-directory", "bench"])
    assert result.returncode != 0
    assert "scripts/bench does not exist" in result.stderr


def manage_env(database):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite:///{database}"
    return env


def test_run_twice_keeps_users_and_edits_to_seed_records(tmp_path):
    """./scripts/run (here with --no-serve) on a new database, then again after a curator's work."""
    seeds = BASE_DIR / "fixtures" / "seeds.json"
    if not seeds.exists():
        pytest.fail("fixtures/seeds.json is missing: ./scripts/run cannot load the seed collection")
    env = manage_env(tmp_path / "archive.sqlite3")

    first = run(["scripts/run", "--no-serve"], env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    total = len(json.loads(seeds.read_text(encoding="utf-8")))
    assert f"Installed {total} object(s)" in first.stdout
    # Every seeded letter has a first version, so that a curator's first correction can be reverted.
    versions = """
from reversion.models import Version
from correspondence.models import Letter
print(sorted(set(Letter.objects.values_list("pk", flat=True)) - {int(v.object_id) for v in Version.objects.get_for_model(Letter)}))
"""
    unversioned = run([sys.executable, "manage.py", "shell", "-c", versions], env=env)
    assert unversioned.returncode == 0, unversioned.stderr
    assert unversioned.stdout.splitlines()[-1] == "[]"

    # A curator's work: an account, and an edit to a seeded record's first free-text field.
    curator = """
import json
from django.apps import apps
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("curator", password="not-used-here")
for label in dict.fromkeys(record["model"] for record in json.load(open("fixtures/seeds.json"))):
    Model = apps.get_model(label)
    fields = [f for f in Model._meta.concrete_fields if f.get_internal_type() == "TextField" and not f.choices]
    if fields:
        obj = Model._base_manager.order_by("pk").first()
        setattr(obj, fields[0].attname, "Edited by a curator")
        obj.save(update_fields=[fields[0].name])
        print(label, obj.pk, fields[0].attname)
        break
"""
    edit = run([sys.executable, "manage.py", "shell", "-c", curator], env=env)
    assert edit.returncode == 0, edit.stderr
    label, pk, attname = edit.stdout.split()[-3:]

    again = run(["scripts/run", "--no-serve"], env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"All {total} seed records are already in the database" in again.stdout
    assert "Installed" not in again.stdout

    check = f"""
from django.apps import apps
from django.contrib.auth import get_user_model
print(get_user_model().objects.filter(username="curator").count())
print(getattr(apps.get_model("{label}")._base_manager.get(pk={pk}), "{attname}"))
"""
    after = run([sys.executable, "manage.py", "shell", "-c", check], env=env)
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines()[-2:] == ["1", "Edited by a curator"]


def test_run_stops_with_a_clear_message_on_an_unknown_option():
    result = run(["scripts/run", "--serve-forever"])
    assert result.returncode == 2
    assert "unknown option --serve-forever" in result.stderr
