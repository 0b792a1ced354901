"""
Browser tests: Playwright's sync API driving Debian's Chromium against the site
served by pytest-django's ``live_server``, with the seed collection loaded.

- The browser is Debian's ``/usr/bin/chromium`` (or ``$E2E_BROWSER``), launched
  headless; Playwright never downloads one (no ``playwright install``).
- Each test gets a fresh database holding ``fixtures/seeds.json`` (live_server
  needs a transactional database, flushed after every test) and the staff
  groups (made by a data migration, so emptied by the flush: see ``site``).
- axe-core and the Nu HTML checker come from npm (``package.json``; ``npm ci``).
- Screenshots of every page a test looks at go to ``artifacts/screenshots/``.

``./scripts/test`` installs all of it; by hand: ``apt-get install chromium
default-jre-headless`` and ``npm ci``.
"""

import os
import re
import sqlite3
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
BROWSER = os.environ.get("E2E_BROWSER", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
#: What a staff account types on the login page (the test settings hash it with MD5, for speed).
PASSWORD = "a-long-e2e-test-password"  # noqa: S105
#: Playwright waits 30 s by default; a page that is broken fails faster and leaves the time budget to the others.
TIMEOUT_MS = 10_000


def _needs(path, what):
    if not Path(path).exists():
        pytest.fail(f"{what} is missing at {path}: run ./scripts/test, which installs it (README, 'Quick start').")


# ---------------------------------------------------------------------------
# Browser
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """
    Debian's Chromium, headless, for the tests of a module. Not "package": tests/e2e is no
    package, so that would keep the browser, its event loop and the environment variable
    below until the end of the whole session, past the other tests.
    """
    _needs(BROWSER, "Chromium (apt-get install chromium, or set E2E_BROWSER)")
    from playwright.sync_api import sync_playwright

    # The sync API runs an event loop in this thread: Django's ORM refuses to run under one unless told.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=BROWSER, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, for the screenshots of a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def open_page(browser, request):
    """
    ``open_page(locale="en-GB", bypass_csp=False)``: a page in a browser context of its own
    (its own cookies: a new visitor). Contexts are closed after the test; when it failed,
    each page is saved as it was to artifacts/screenshots/<test>-failure-<n>.png.
    """
    contexts = []

    def open_(locale="en-GB", bypass_csp=False):
        context = browser.new_context(locale=locale, bypass_csp=bypass_csp, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pages = [page for context in contexts for page in context.pages]
        for number, page in enumerate(pages, start=1):
            page.screenshot(path=SCREENSHOTS / f"{screenshot_prefix(request)}-failure-{number}.png", full_page=True)
    for context in contexts:
        context.close()


def screenshot_prefix(request):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")


@pytest.fixture
def screenshot(request):
    """``screenshot(page, "label")`` saves the whole page to artifacts/screenshots/<test>-<n>-<label>.png."""
    test = screenshot_prefix(request)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in [*SCREENSHOTS.glob(f"{test}-[0-9][0-9]-*.png"), *SCREENSHOTS.glob(f"{test}-failure-*.png")]:
        old.unlink()
    taken = []

    def take(page, label):
        taken.append(label)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")
        path = SCREENSHOTS / f"{test}-{len(taken):02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


# ---------------------------------------------------------------------------
# The site and its data
# ---------------------------------------------------------------------------


class Site:
    """The live server, with the seed collection loaded."""

    def __init__(self, live_server):
        self.base = live_server.url

    def url(self, path):
        return self.base + path

    def path_of(self, url):
        return url.removeprefix(self.base)


def load_seed_collection():
    """The seed collection as ``./scripts/run`` loads it, the staff groups, and a first version of each letter."""
    from correspondence.roles import sync_groups
    from correspondence.search import deferred_indexing

    # The groups come from a data migration, so the flush after each transactional test empties
    # them, and serialized_rollback cannot bring them back here: while Playwright's event loop
    # runs, Django keeps this thread's connection in a context variable, a new wrapper without
    # the serialized contents. They are made again, as the migration makes them.
    sync_groups()
    # Indexing once at the end rather than at each of the 500 saves: 1 s instead of 10.
    with deferred_indexing():
        call_command("loaddata", "seeds", verbosity=0)
    # What a deployment runs after loading records outside the admin: without it the first
    # correction made in the admin would have no earlier version to go back to.
    call_command("createinitialrevisions", "correspondence.Letter", comment="Seed collection", verbosity=0)


#: The seeded in-memory SQLite database, copied after its first load (SQLite's backup API).
_seeded_copy = {}


@pytest.fixture
def site(live_server, settings):
    """The site with the seed collection loaded, in a database of its own for each test."""
    from django.db import connection

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # Copying the seeded database back takes milliseconds; loading the seeds again, seconds.
        connection.ensure_connection()
        copy = _seeded_copy.get(connection.settings_dict["NAME"])
        if copy is None:
            load_seed_collection()
            copy = sqlite3.connect(":memory:", check_same_thread=False)
            connection.connection.backup(copy)
            _seeded_copy[connection.settings_dict["NAME"]] = copy
        else:
            copy.backup(connection.connection)
    else:
        load_seed_collection()
    return Site(live_server)


@pytest.fixture
def staff_user(site, monkeypatch):
    """``staff_user("curator")``: an account in that role, made as a site manager does (create_archive_user)."""

    def make(role, username=None):
        from django.contrib.auth import get_user_model

        username = username or f"e2e-{role}"
        monkeypatch.setenv("DJANGO_ARCHIVE_PASSWORD", PASSWORD)
        call_command("create_archive_user", username, role=role, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        return get_user_model().objects.get(username=username)

    return make


@pytest.fixture
def log_in(site):
    """``log_in(page, username)``: through the admin's login page, as a person would."""

    def log_in_(page, username):
        page.goto(site.url("/admin/login/?next=/admin/"))
        page.get_by_label(re.compile("username", re.I)).fill(username)
        page.get_by_label(re.compile("password", re.I)).fill(PASSWORD)
        page.get_by_role("button", name=re.compile("log in", re.I)).click()
        page.wait_for_url(site.url("/admin/"))

    return log_in_
