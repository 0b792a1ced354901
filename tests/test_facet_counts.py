"""
PostgreSQL keeps the whole archive's simple facet counts (correspondence.facet_counts) through every kind of
write: after each step below, what the table holds equals the counts computed from the letters themselves, and
the public list's facets read from it give what counting letter by letter gives.
"""

import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from correspondence import authority, facet_counts, importers
from correspondence.facet_counts import FacetCount
from correspondence.filters import LetterFilterSet
from correspondence.models import Letter, Mention, Participation, PublicationStatus
from tests.conftest import (
    make_agent,
    make_letter,
    make_mention,
    make_participation,
    make_place,
    make_published_letter,
    make_source,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the counts are kept by PostgreSQL's triggers"),
]


def assert_counts_are_kept():
    kept = facet_counts.kept()
    assert kept == facet_counts.recount()
    return kept


def whole_archive_facet(name):
    filterset = LetterFilterSet(data=QueryDict(""), queryset=Letter.objects.published())
    filterset.is_valid()
    assert filterset.counts_whole_archive(name)
    with CaptureQueriesContext(connection) as captured:
        facet = [(option.value, option.count) for option in filterset.facet(name)]
    assert any("correspondence_facetcount" in query["sql"] for query in captured.captured_queries)  # read, not counted
    return facet


@pytest.fixture
def archive():
    """Two published letters and a draft, linked to people and places in every way the counts follow."""
    people = [make_agent(f"Personne {index}") for index in range(3)]
    places = [make_place(f"Lieu {index}") for index in range(3)]
    source = make_source()
    letters = [
        make_published_letter(place_written=places[0], source=source),
        make_published_letter(place_written=places[1]),
        make_letter(place_written=places[0], source=source, source_position=2),  # a draft
    ]
    for letter in letters:
        make_participation(letter, people[0], Participation.Role.SENDER)
        make_participation(letter, people[1], Participation.Role.RECIPIENT)
        make_mention(letter, place=places[2])
    make_participation(letters[0], people[2], Participation.Role.COPY)
    make_mention(letters[0], agent=people[2])
    return people, places, source, letters


def test_created_letters_and_parts_are_counted_when_published(archive):
    people, places, source, _letters = archive
    kept = assert_counts_are_kept()
    assert kept[("sender", people[0].pk)] == 2  # not the draft
    assert kept[("copy", people[2].pk)] == 1
    assert kept[("place_written", places[0].pk)] == 1
    assert kept[("source", source.pk)] == 1
    assert kept[("place_mentioned", places[2].pk)] == 2


def test_publishing_withdrawing_and_moving_letters_moves_their_counts(archive):
    people, places, _source, letters = archive
    Letter.objects.filter(pk=letters[2].pk).update(status=PublicationStatus.PUBLISHED)
    assert assert_counts_are_kept()[("sender", people[0].pk)] == 3
    letters[0].status = PublicationStatus.REVIEW
    letters[0].save()
    assert assert_counts_are_kept()[("sender", people[0].pk)] == 2
    Letter.objects.filter(pk=letters[1].pk).update(place_written=places[2], source=None)
    kept = assert_counts_are_kept()
    assert kept[("place_written", places[2].pk)] == 1
    Letter.objects.update(status=PublicationStatus.DRAFT)
    assert assert_counts_are_kept() == {}


def test_changed_and_deleted_parts_and_letters_take_their_counts_with_them(archive):
    people, places, _source, letters = archive
    Participation.objects.filter(agent=people[1]).update(role=Participation.Role.SIGNATORY)
    assert assert_counts_are_kept()[("signatory", people[1].pk)] == 2
    Mention.objects.filter(place=places[2], letter=letters[0]).delete()
    assert assert_counts_are_kept()[("place_mentioned", places[2].pk)] == 1
    letters[0].delete()  # with its participations and mentions
    kept = assert_counts_are_kept()
    assert kept[("sender", people[0].pk)] == 1
    assert ("copy", people[2].pk) not in kept
    Letter.objects.all().delete()
    assert assert_counts_are_kept() == {}


def test_a_letter_or_part_saved_unchanged_locks_no_count(archive):
    """A curator's save that changes no link writes no count row (so waits for no other writer of it)."""
    people, _places, _source, letters = archive

    def versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT facet, record, xmin::text FROM correspondence_facetcount ORDER BY 1, 2")
            return cursor.fetchall()

    before = versions()
    letters[0].save()
    Participation.objects.get(letter=letters[0], agent=people[0]).save()
    Mention.objects.filter(letter=letters[0]).first().save()
    assert versions() == before


def test_merging_people_and_places_moves_their_counts(archive):
    people, places, _source, _letters = archive
    authority.merge_agents(people[0], [people[1], people[2]])
    kept = assert_counts_are_kept()
    assert kept[("recipient", people[0].pk)] == 2
    assert ("recipient", people[1].pk) not in kept
    authority.merge_places(places[0], [places[1], places[2]])
    assert assert_counts_are_kept()[("place_written", places[0].pk)] == 2


def test_imported_letters_are_counted_in_batches(archive, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "BATCH_SIZE", 25)
    path = tmp_path / "corpus.json"
    call_command("generate_corpus", letters=120, seed=4, agents=30, places=8, cited=30, output=str(path), verbosity=0)
    importers.import_files([path], status=PublicationStatus.PUBLISHED)
    importers.import_files([path])  # again: nothing new
    kept = assert_counts_are_kept()
    assert sum(n for (facet, _record), n in kept.items() if facet == "sender") >= 120


@pytest.mark.parametrize("first_load", [True, False])
def test_an_import_counts_its_letters_once_at_its_end_and_leaves_the_triggers_on(archive, tmp_path, first_load):
    if first_load:
        Letter.objects.all().delete()
    path = tmp_path / "corpus.json"
    call_command("generate_corpus", letters=60, seed=5, agents=30, places=8, cited=30, output=str(path), verbosity=0)
    with CaptureQueriesContext(connection) as captured:
        importers.import_files([path])
    assert sum("WITH chosen AS MATERIALIZED" in query["sql"] for query in captured.captured_queries) == 1
    assert len(assert_counts_are_kept()) > 30
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('correspondence.facet_counts', true)")
        assert cursor.fetchone()[0] in ("", None)
    letter = Letter.objects.published().order_by("-pk").first()
    before = facet_counts.kept()
    Letter.objects.filter(pk=letter.pk).update(status=PublicationStatus.DRAFT)  # counted by the triggers again
    assert assert_counts_are_kept() != before


def test_an_import_that_fails_leaves_the_counts_and_the_triggers_as_they_were(archive, tmp_path, monkeypatch):
    path = tmp_path / "corpus.json"
    call_command("generate_corpus", letters=30, seed=6, agents=30, places=8, cited=30, output=str(path), verbosity=0)
    before = facet_counts.kept()

    def fails(self, *args):
        raise RuntimeError("the batch fails")

    monkeypatch.setattr(importers._Import, "send_batch", fails)
    with pytest.raises(RuntimeError, match="the batch fails"):
        importers.import_files([path])
    assert assert_counts_are_kept() == before
    Letter.objects.update(status=PublicationStatus.DRAFT)
    assert assert_counts_are_kept() == {}


def test_recount_facets_repairs_the_table(archive):
    FacetCount.objects.update(n=99)
    FacetCount.objects.create(facet="sender", record=123456789, n=4)
    out = io.StringIO()
    call_command("recount_facets", stdout=out)
    assert "Facet counts made again" in out.getvalue()
    assert assert_counts_are_kept()


def test_the_whole_archive_facets_read_from_the_counts_equal_letter_by_letter_counting(archive):
    people, places, _source, letters = archive
    for name in ("sender", "recipient", "place_written", "place_mentioned", "source"):
        read = whole_archive_facet(name)
        filterset = LetterFilterSet(data=QueryDict(""), queryset=Letter.objects.published())
        filterset.is_valid()
        counted = filterset.counted_records(name, Letter.objects.published(), None)
        assert read == [(slug, n) for slug, _label, n in counted], name
    assert whole_archive_facet("sender") == [(people[0].slug, 2)]
    assert sorted(whole_archive_facet("place_written")) == sorted([(places[0].slug, 1), (places[1].slug, 1)])


def test_a_flush_empties_the_counts_with_the_letters(archive):
    assert facet_counts.kept()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no table with checks pending can be truncated
        cursor.execute(
            "TRUNCATE correspondence_mention, correspondence_participation, correspondence_citation, "
            "correspondence_paragraph, correspondence_footnote, correspondence_lettersearchtext, "
            "correspondence_letter CASCADE"
        )
    assert facet_counts.kept() == {} == facet_counts.recount()


# serialized_rollback: the flush after it re-creates no content types, which a later test restoring the database
# (tests/test_health.py) would then add a second time.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_part_added_while_its_letter_is_published_elsewhere_is_counted_once():
    """
    Two transactions at once: one publishes a letter, the other adds a sender to it. The part's trigger waits
    for the letter (FOR SHARE) and then sees it published; the letter's trigger ran before the part existed.
    """
    agent, letter = make_agent("Personne concurrente"), make_letter()
    publishing = connection.get_new_connection(connection.get_connection_params())
    adding = connection.get_new_connection(connection.get_connection_params())
    try:
        with publishing.cursor() as cursor:
            cursor.execute("UPDATE correspondence_letter SET status = 'published' WHERE id = %s", [letter.pk])

        failed = []

        def add_sender():
            try:
                insert_sender()
            except Exception as error:  # noqa: BLE001 - reported by the test below
                failed.append(error)

        def insert_sender():
            with adding.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO correspondence_participation (letter_id, agent_id, role, name_as_written, "
                    "title_as_written, inferred, position) VALUES (%s, %s, 'sender', '', '', false, 1)",
                    [letter.pk, agent.pk],
                )
            adding.commit()

        thread = threading.Thread(target=add_sender)
        thread.start()
        thread.join(timeout=1)
        assert not failed
        assert thread.is_alive()  # waiting for the letter
        publishing.commit()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert not failed
    finally:
        publishing.close()
        adding.close()
    assert assert_counts_are_kept()[("sender", agent.pk)] == 1
