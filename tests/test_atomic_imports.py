"""
Imports and merges are all or nothing: one that dies halfway leaves the database as it was.

* An import killed with SIGKILL in the middle of writing (``manage.py
  import_letters`` on a generated corpus of 3,000 letters, in a subprocess,
  against a SQLite file of its own, killed once it reports its first batch
  of letters written) leaves every table as it was before, byte for byte:
  SQLite rolls the open transaction back from its journal.
* A merge of people, organisations or places that fails at any step (made to
  fail here after some rows have moved) leaves every participation, mention,
  letter, document link, variant and identifier where it was.
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings

from correspondence import authority
from correspondence.models import (
    Agent,
    AgentName,
    CitedDocument,
    Letter,
    Mention,
    Participation,
    Place,
    PlaceName,
    SourceDocument,
)
from tests.conftest import (
    make_agent,
    make_cited_document,
    make_letter,
    make_mention,
    make_participation,
    make_place,
    make_source,
)

ROOT = Path(settings.BASE_DIR)
PROGRESS = re.compile(r"^(\d+)/(\d+) letters written\.")
#: Seconds a subprocess may take before the test gives up on it.
TIMEOUT = 300


# ---------------------------------------------------------------------------
# A killed import
# ---------------------------------------------------------------------------


def manage(*args, database, timeout=TIMEOUT):
    """Run ``manage.py`` against the SQLite file ``database``; return the completed process."""
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment(database),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, f"manage.py {' '.join(args)} failed:\n{completed.stderr}"
    return completed


def environment(database):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_")}
    return {**env, "DATABASE_URL": f"sqlite:///{database}", "PYTHONUNBUFFERED": "1"}


def contents(database):
    """Every row of every table (and the schema), as SQL: what "as it was" means, compared exactly."""
    connection = sqlite3.connect(database)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def counts(database):
    connection = sqlite3.connect(database)
    try:
        return {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            for table in (
                "correspondence_letter",
                "correspondence_participation",
                "correspondence_paragraph",
                "correspondence_agent",
                "correspondence_agentname",
                "correspondence_place",
                "correspondence_sourcedocument",
                "correspondence_citeddocument",
                "correspondence_lettersearchtext",
            )
        }
    finally:
        connection.close()


def holds_a_write_lock(database):
    """True when another connection is in the middle of a write transaction on the file."""
    connection = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        return "locked" in str(error)
    else:
        connection.execute("ROLLBACK")
        return False
    finally:
        connection.close()


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """A small corpus already in the archive and a large one to import on top of it."""
    directory = tmp_path_factory.mktemp("corpora")
    small, large = directory / "small.json", directory / "large.json"
    scratch = directory / "scratch.sqlite3"  # generate_corpus needs settings, not a database
    manage(
        "generate_corpus", "--letters", "40", "--seed", "7", "--agents", "60", "--places", "15", "--cited", "30",
        "--output", str(small), database=scratch,
    )  # fmt: skip
    manage("generate_corpus", "--letters", "3000", "--seed", "1", "--output", str(large), database=scratch)
    return small, large


def test_an_import_killed_midway_leaves_the_database_as_it_was(tmp_path, corpora):
    small, large = corpora
    database = tmp_path / "archive.sqlite3"
    manage("migrate", "-v0", database=database)
    manage("import_letters", str(small), database=database)
    before = contents(database)
    counts_before = counts(database)
    assert counts_before["correspondence_letter"] == 40

    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_letters", str(large)],
        cwd=ROOT,
        env=environment(database),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(TIMEOUT, process.kill)
    watchdog.start()
    output, killed_at, locked = [], None, None
    try:
        for line in process.stderr:
            output.append(line)
            match = PROGRESS.match(line)
            if match and int(match[1]) < int(match[2]):
                locked = holds_a_write_lock(database)
                process.send_signal(signal.SIGKILL)
                killed_at = line.strip()
                break
        process.wait(timeout=TIMEOUT)
    finally:
        watchdog.cancel()
        process.stderr.close()
    stderr = "".join(output)
    assert killed_at, f"the import never reported a batch written before the end:\n{stderr}"
    assert process.returncode == -signal.SIGKILL, stderr
    assert locked, f"killed at {killed_at!r} but no write transaction was open: the batch was already committed"

    assert counts(database) == counts_before, f"killed at {killed_at!r}"
    assert contents(database) == before, f"killed at {killed_at!r}"
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        connection.close()


# ---------------------------------------------------------------------------
# A failed merge
# ---------------------------------------------------------------------------


class StepFailed(RuntimeError):
    """Raised from inside a merge by the test."""


def fail_at_call(monkeypatch, owner, name, call, *, after):
    """
    Make the ``call``-th call of ``owner.name`` raise StepFailed: after doing its
    work (``after=True``, so that rows have moved) or instead of it.
    """
    original = getattr(owner, name)
    calls = {"n": 0}

    def step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call and not after:
            raise StepFailed(f"{name}, call {call}")
        result = original(*args, **kwargs)
        if calls["n"] == call:
            raise StepFailed(f"{name}, call {call}, after it did its work")
        return result

    monkeypatch.setattr(owner, name, step)
    return calls


def links():
    """Every row a merge may touch, with the columns it may change."""
    return {
        "participations": sorted(
            Participation.objects.values_list("pk", "letter_id", "agent_id", "role", "on_behalf_of_id")
        ),
        "mentions": sorted(Mention.objects.values_list("pk", "letter_id", "agent_id", "place_id", "name_as_written")),
        "letters": sorted(Letter.objects.values_list("pk", "place_written_id")),
        "cited_documents": sorted(CitedDocument.objects.values_list("pk", "issuing_body_id")),
        "source_documents": sorted(SourceDocument.objects.values_list("pk", "issuing_body_id")),
        "agents": sorted(
            Agent.objects.values_list("pk", "name", "merged_into_id", "wikidata", "viaf", "gnd", "isni", "status")
        ),
        "agent_names": sorted(AgentName.objects.values_list("pk", "agent_id", "name", "note")),
        "places": sorted(
            Place.objects.values_list("pk", "name", "merged_into_id", "country_id", "geonames", "wikidata", "latitude")
        ),
        "place_names": sorted(PlaceName.objects.values_list("pk", "place_id", "name", "note")),
    }


@pytest.fixture
def duplicates(db):
    """One person filed three times, one place filed three times, linked every way a merge moves."""
    country = make_place("Azerbaïdjan", kind=Place.Kind.COUNTRY)
    other_country = make_place("Azerbaijan", kind=Place.Kind.COUNTRY, geonames="587116")
    places = [
        make_place("Gandja", country=country),
        make_place("Ganja", country=other_country, geonames="585103", latitude="40.682778", longitude="46.360556"),
        make_place("Gəncə", wikidata="Q185047"),
    ]
    PlaceName.objects.create(place=places[1], name="Elisabethpol")
    make_place("Chamkhor", country=other_country)

    agents = [
        make_agent("Anders Knape"),
        make_agent("A. Knape", wikidata="Q5754467"),
        make_agent("Knape, Anders", viaf="102333412"),
    ]
    AgentName.objects.create(agent=agents[2], name="Anders KNAPE", note="source 3")
    congress = make_agent("Congrès", kind=Agent.Kind.ORGANISATION)
    make_cited_document(issuing_body=agents[1])
    make_source(issuing_body=agents[2])

    for number, (agent, place) in enumerate(zip(agents, places, strict=True)):
        letter = make_letter(f"Letter {number}", place_written=place)
        make_participation(letter, agent, Participation.Role.SENDER, name_as_written=agent.name)
        make_participation(letter, congress, Participation.Role.RECIPIENT, on_behalf_of=agent)
        make_mention(letter, agent=agent, name_as_written=agent.name)
        make_mention(letter, place=place, name_as_written=place.name)
    # A letter where two of the duplicates already sit side by side: the merge would drop one row.
    shared = make_letter("Shared letter", place_written=places[2])
    for agent in agents:
        make_participation(shared, agent, Participation.Role.SIGNATORY)
        make_mention(shared, agent=agent)
    for place in places:
        make_mention(shared, place=place)
    return {"agents": agents, "places": places}


AGENT_FAILURES = {
    "after the participations of the first duplicate moved": (authority, "_move_unique", 1, True),
    "after its mentions moved": (authority, "_move_unique", 2, True),
    "while its names became variants": (AgentName.objects, "create", 1, False),
    "after the first duplicate was marked merged": (authority, "_move_unique", 3, False),
    "after every row of both duplicates moved": (authority, "_move_unique", 4, True),
}
PLACE_FAILURES = {
    "after the mentions of the first duplicate moved": (authority, "_move_unique", 1, True),
    "while its names became variants": (PlaceName.objects, "create", 1, False),
    "after the first duplicate was marked merged": (authority, "_move_unique", 2, False),
    "after every row of both duplicates moved": (authority, "_move_unique", 2, True),
}


@pytest.mark.parametrize("failure", AGENT_FAILURES, ids=list(AGENT_FAILURES))
def test_a_failed_merge_of_people_leaves_every_link_where_it_was(monkeypatch, duplicates, failure):
    owner, name, call, after = AGENT_FAILURES[failure]
    survivor, *others = duplicates["agents"]
    before = links()
    calls = fail_at_call(monkeypatch, owner, name, call, after=after)

    with pytest.raises(StepFailed):
        authority.merge_agents(survivor, others)

    assert calls["n"] == call
    assert links() == before


@pytest.mark.parametrize("failure", PLACE_FAILURES, ids=list(PLACE_FAILURES))
def test_a_failed_merge_of_places_leaves_every_link_where_it_was(monkeypatch, duplicates, failure):
    owner, name, call, after = PLACE_FAILURES[failure]
    survivor, *others = duplicates["places"]
    before = links()
    calls = fail_at_call(monkeypatch, owner, name, call, after=after)

    with pytest.raises(StepFailed):
        authority.merge_places(survivor, others)

    assert calls["n"] == call
    assert links() == before


def test_the_same_merges_succeed_when_nothing_fails(duplicates):
    """The failures above interrupt merges that would otherwise move these rows."""
    survivor, *others = duplicates["agents"]
    authority.merge_agents(survivor, others)
    assert set(Participation.objects.exclude(role="recipient").values_list("agent_id", flat=True)) == {survivor.pk}
    assert set(Participation.objects.exclude(on_behalf_of=None).values_list("on_behalf_of_id", flat=True)) == {
        survivor.pk
    }
    assert set(Mention.objects.exclude(agent=None).values_list("agent_id", flat=True)) == {survivor.pk}

    place, *other_places = duplicates["places"]
    authority.merge_places(place, other_places)
    assert set(Letter.objects.values_list("place_written_id", flat=True)) == {place.pk}
    assert set(Mention.objects.exclude(place=None).values_list("place_id", flat=True)) == {place.pk}
