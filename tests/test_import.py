"""
import_letters: real CMIF files import completely and idempotently, JSON round-trips, bad input changes nothing.

The expected counts of people, organisations and places are derived here from
the XML, independently of the importer, with the identity rules it promises:
a name with an authority URI is that identifier (http/https, www./sws. and a
trailing slash aside); a name without one is the record whose name folds the
same (a named-with-identifier record first), else a record of its own.
"""

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, NotSupportedError, connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext
from lxml import etree

from correspondence import bulk_insert, exports, importers, search
from correspondence.models import (
    Agent,
    AgentName,
    Citation,
    CitedDocument,
    Footnote,
    Letter,
    LetterSearchText,
    Mention,
    Paragraph,
    Participation,
    Place,
    PlaceName,
    PublicationStatus,
    SourceDocument,
    fold,
)
from correspondence.search import deferred_indexing, index_letters, search_letters
from tests.conftest import make_agent, make_letter, make_place

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmif"
NICOLAI = SHARED / "03_nicolai_NicolaiLetters.xml"
SCHNITZLER = SHARED / "02_schnitzler_2023_Das-Zeitlose-ist-von-kuerzester-Dauer.xml"
NS = {"tei": "http://www.tei-c.org/ns/1.0"}
BASE_URL = "https://archive.example.org"

needs_shared_files = pytest.mark.skipif(
    not NICOLAI.exists(), reason="the shared CMIF test files (../shared/data/cmif) are not on this machine"
)
pytestmark = pytest.mark.django_db

COUNTED_MODELS = [
    Letter,
    Participation,
    Paragraph,
    Footnote,
    Citation,
    Mention,
    Agent,
    AgentName,
    Place,
    PlaceName,
    SourceDocument,
    CitedDocument,
    LetterSearchText,
]


# Into an empty archive on PostgreSQL, a first load: 16 foreign keys dropped and added again, read once, the
# pending checks run twice, a savepoint. Any import on PostgreSQL: the facet counts of its letters made at its end
# (the triggers told to wait and told again, one statement, a savepoint).
FIRST_LOAD = 2 * 16 + 1 + 4 + 2 if connection.vendor == "postgresql" else 0
COUNTS = 3 + 2 if connection.vendor == "postgresql" else 0


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED_MODELS}


def run(*args, **options):
    """Run import_letters; return (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_letters", *map(str, args), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def correspdescs(path):
    return etree.parse(str(path)).getroot().findall(".//tei:correspDesc", NS)


def ref_key(ref):
    return re.sub(r"^https?://(www\.|sws\.)?", "", ref.split()[0]).rstrip("/")


def expected_records(*paths):
    """{"person": n, "organisation": n, "place": n}: distinct records by the identity rules, from the XML."""
    occurrences = {"person": [], "organisation": [], "place": []}
    tags = {"persName": "person", "orgName": "organisation"}
    for path in paths:
        for desc in correspdescs(path):
            for action in desc.findall("tei:correspAction", NS):
                for element in action:
                    tag = etree.QName(element).localname
                    name = " ".join("".join(element.itertext()).split())
                    ref = element.get("ref")
                    if not name and not ref:
                        continue
                    if tag in tags:
                        occurrences[tags[tag]].append((ref, name))
                    elif tag == "placeName" and action.get("type") == "sent":
                        occurrences["place"].append((ref, name))
    expected = {}
    for kind, found in occurrences.items():
        identified = {ref_key(ref) for ref, _name in found if ref}
        identified_names = {fold(name) for ref, name in found if ref and name}
        unidentified = {fold(name) for ref, name in found if not ref} - identified_names
        expected[kind] = len(identified) + len(unidentified)
    return expected


def actual_records():
    return {
        "person": Agent.objects.filter(kind=Agent.Kind.PERSON).count(),
        "organisation": Agent.objects.exclude(kind=Agent.Kind.PERSON).count(),
        "place": Place.objects.count(),
    }


# ---------------------------------------------------------------------------
# Real CMIF files
# ---------------------------------------------------------------------------


@needs_shared_files
@pytest.mark.parametrize("path", [NICOLAI, SCHNITZLER], ids=["nicolai", "schnitzler"])
def test_real_cmif_file_imports_completely(path):
    out, _err = run(path)
    assert Letter.objects.count() == len(correspdescs(path))
    assert actual_records() == expected_records(path)
    assert "letters/s" in out


@needs_shared_files
def test_both_files_together_import_completely_with_shared_records():
    run(NICOLAI, SCHNITZLER)
    assert Letter.objects.count() == len(correspdescs(NICOLAI)) + len(correspdescs(SCHNITZLER)) == 489
    assert actual_records() == expected_records(NICOLAI, SCHNITZLER)
    # Wien (GeoNames 2761369) is written three ways across the two files: one place.
    assert Place.objects.filter(geonames="2761369").count() == 1
    assert Place.objects.filter(name="Wien").count() == 1


@needs_shared_files
def test_reimporting_creates_nothing_new():
    run(NICOLAI, SCHNITZLER)
    before = counts()
    out, _err = run(NICOLAI, SCHNITZLER)
    assert counts() == before
    assert "Created 0 letter(s), 0 person(s), 0 organisation(s), 0 place(s)" in out
    assert "489 letter(s) already in the archive" in out


@needs_shared_files
def test_imported_letters_are_published_searchable_and_indexed():
    run(NICOLAI)
    assert Letter.objects.published().count() == 466
    assert LetterSearchText.objects.count() == 466
    assert search_letters(Letter.objects.published(), "Mendelssohn").exists()


@needs_shared_files
def test_status_option_sets_the_status_of_letters_and_new_records():
    run(SCHNITZLER, status="draft")
    assert set(Letter.objects.values_list("status", flat=True)) == {PublicationStatus.DRAFT}
    assert set(Agent.objects.values_list("status", flat=True)) == {PublicationStatus.DRAFT}


@needs_shared_files
def test_messy_dates_of_the_nicolai_file():
    run(NICOLAI)
    dates = [
        date.attrib
        for desc in correspdescs(NICOLAI)
        for date in desc.findall("tei:correspAction[@type='sent']/tei:date", NS)
    ]

    def in_file(test):
        return sum(1 for attributes in dates if test(attributes))

    def letters(**filters):
        return Letter.objects.filter(**filters).count()

    assert letters(date_precision="year") == in_file(lambda a: re.fullmatch(r"[0-9]{4}", a.get("when", ""))) > 0
    assert letters(date_precision="month") == in_file(lambda a: re.fullmatch(r"[0-9]{4}-[0-9]{2}", a.get("when", "")))
    assert letters(date_certainty="uncertain") == in_file(lambda a: a.get("cert") == "low") == 17
    assert letters(date_precision="range", date_certainty="exact") == in_file(lambda a: "from" in a) == 13
    both_bounds = in_file(lambda a: "notBefore" in a and "notAfter" in a and "cert" not in a)
    assert letters(date_precision="range", date_certainty="inferred") == both_bounds
    # --02-03: a month and day without a year; the letter counts as undated and the note keeps the CMIF date
    no_year = Letter.objects.get(editorial_note__contains='when="--02-03"')
    assert (no_year.date_precision, no_year.date_from) == (Letter.DatePrecision.UNKNOWN, None)
    # notBefore or notAfter alone: undated too, the bound kept in the note
    one_bound = in_file(lambda a: ("notBefore" in a) != ("notAfter" in a))
    assert letters(editorial_note__regex=r'CMIF : not(Before|After)="[^"]*"\.$') == one_bound > 0
    # undated in the file: undated here
    undated = len(correspdescs(NICOLAI)) - len(dates)
    assert letters(date_precision="unknown", editorial_note="") == undated
    bounded = Letter.objects.get(date_from="1847-01-10", date_to="1847-04-30")  # notAfter="1847-04": end of April
    assert (bounded.date_precision, bounded.date_certainty) == ("range", "inferred")


@needs_shared_files
def test_messy_parties_of_the_nicolai_file():
    run(NICOLAI)
    # 15 letters without a received action: no recipient
    assert Letter.objects.exclude(participations__role="recipient").count() == 15
    # several people in one action
    for action, role in (("sent", "sender"), ("received", "recipient")):
        in_file = sum(
            1
            for desc in correspdescs(NICOLAI)
            for found in desc.findall(f"tei:correspAction[@type='{action}']", NS)
            if len(found.findall("tei:persName", NS) + found.findall("tei:orgName", NS)) > 1
        )
        several = Letter.objects.annotate(n=Count("participations", filter=Q(participations__role=role)))
        assert several.filter(n__gt=1).count() == in_file
    assert Letter.objects.filter(participations__agent__name="Henriette Kemnitz").filter(
        participations__agent__name="Hofrat C. Kemnitz"
    )
    # a name written in decomposed Unicode is stored composed
    assert Agent.objects.filter(name="Karl Christian M\u00fcller").count() == 1
    assert not Agent.objects.filter(name__contains="u\u0308").exists()
    # "Otto Nicolai" without a GND URI is the Otto Nicolai with one
    assert Agent.objects.filter(name="Otto Nicolai").get().gnd == "118587684"
    # a 10-digit GND number is kept
    assert Agent.objects.filter(gnd="1073054446").exists()
    # evidence="conjecture" on a person: identified by the archive, not named in the letter
    assert Participation.objects.filter(inferred=True, name_as_written="").exists()
    assert not Participation.objects.filter(inferred=True).exclude(name_as_written="").exists()


@needs_shared_files
def test_messy_parties_of_the_schnitzler_file():
    run(SCHNITZLER)
    bernstein = Agent.objects.get(gnd="172003520")
    assert (bernstein.name, bernstein.sort_name) == ("Bernstein, Herman", "Bernstein, Herman")
    society = Agent.objects.get(name="Ethische Gesellschaft")
    assert (society.kind, society.gnd) == (Agent.Kind.ORGANISATION, "")
    # persons without identifier listed in two letters are one record
    assert Agent.objects.filter(name="Benedikt, Ernst").count() == 1
    assert Letter.objects.filter(participations__agent__name="Benedikt, Ernst").count() == 2
    letter = Letter.objects.get(date_from="1915-09-25")
    assert letter.title == "Lettre de Bernstein, Herman à Schnitzler, Arthur, 25 septembre 1915"
    assert letter.source.title.startswith("Arthur Schnitzler: »Das Zeitlose ist von kürzester Dauer.«")


@needs_shared_files
def test_existing_records_are_matched_by_identifier_then_by_name():
    nicolai = make_agent("Otto Nicolai (1810-1849)", slug="otto-nicolai", gnd="118587684")
    unidentified = make_agent("Carl Nicolai", slug="carl-nicolai")
    vienna = make_place("Vienne", slug="vienne", geonames="2761369")
    run(NICOLAI)
    assert Agent.objects.filter(gnd="118587684").get() == nicolai
    assert nicolai.participations.count() > 400
    unidentified.refresh_from_db()
    assert unidentified.gnd == "138233438"  # matched by name, its identifier filled in
    assert Agent.objects.filter(name="Carl Nicolai").count() == 1
    assert Letter.objects.filter(place_written=vienna).count() > 100
    assert set(vienna.variants.values_list("name", flat=True)) == {"Wien"}
    assert set(nicolai.variants.values_list("name", flat=True)) == {"Otto Nicolai"}


@needs_shared_files
def test_records_merged_by_curators_lead_to_the_surviving_record():
    survivor = make_place("Vienne", slug="vienne")
    merged = make_place("Wien (doublon)", slug="wien-doublon", geonames="2761369", merged_into=survivor)
    schnitzler = make_agent("Arthur Schnitzler", slug="arthur-schnitzler")
    make_agent("Schnitzler, Arthur", slug="schnitzler-doublon", gnd="118609807", merged_into=schnitzler)
    run(SCHNITZLER)
    assert not Place.objects.filter(geonames="2761369").exclude(pk__in=[survivor.pk, merged.pk]).exists()
    assert Letter.objects.filter(place_written=survivor).count() > 0
    assert not Letter.objects.filter(place_written=merged).exists()
    survivor.refresh_from_db()
    assert survivor.geonames == "2761369"  # the survivor takes the identifier it was found by
    assert Agent.objects.filter(name__icontains="schnitzler").count() == 2
    assert schnitzler.participations.count() > 10
    assert not Participation.objects.filter(agent__slug="schnitzler-doublon").exists()


@needs_shared_files
def test_dry_run_changes_nothing_and_reports_what_it_would_create():
    before = counts()
    out, _err = run(NICOLAI, dry_run=True)
    assert counts() == before
    assert "Would create 466 letter(s)" in out
    assert "Dry run: nothing was written." in out
    expected = expected_records(NICOLAI)
    assert f"{expected['person']} person(s), {expected['organisation']} organisation(s)" in out
    assert f"{expected['place']} place(s)" in out


@needs_shared_files
def test_progress_goes_to_stderr_and_speed_to_stdout():
    out, err = run(NICOLAI)
    assert "466 letter(s) read" in err
    assert "466/466 letters written" in err
    assert re.search(r"\d+ letters/s", out)


def test_the_command_collects_garbage_less_often_while_it_imports_and_as_before_afterwards(tmp_path, monkeypatch):
    import gc

    from correspondence.management.commands import import_letters

    seen = []

    def import_files(*args, **kwargs):
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        return real(*args, **kwargs)

    real = import_letters.import_files
    monkeypatch.setattr(import_letters, "import_files", import_files)
    before = gc.get_threshold()
    run(generated(tmp_path, 5))
    assert seen == [(50_000, True)]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert Letter.objects.count() == 5


@needs_shared_files
def test_import_is_done_in_bulk(django_assert_max_num_queries):
    # A fixed number of queries whatever the number of letters, not one or more per row.
    with django_assert_max_num_queries(60 + FIRST_LOAD + COUNTS):
        importers.import_files([NICOLAI])
    assert Letter.objects.count() == 466


@needs_shared_files
def test_language_option_applies_to_letters_without_one():
    run(SCHNITZLER, language="de")
    assert set(Letter.objects.values_list("language", flat=True)) == {"de"}


# ---------------------------------------------------------------------------
# Bad input: the error names the file, the line and the element; nothing changes
# ---------------------------------------------------------------------------

GOOD_CMIF = """<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0">
  <teiHeader>
    <fileDesc>
      <titleStmt><title>Test</title><editor>Test</editor></titleStmt>
      <sourceDesc><bibl type="online" xml:id="b1">Edition</bibl></sourceDesc>
    </fileDesc>
    <profileDesc>
      <correspDesc source="#b1">
        <correspAction type="sent"><persName>Anna A.</persName><date when="2020-10-20"/></correspAction>
        <correspAction type="received"><persName>Bruno B.</persName></correspAction>
      </correspDesc>
      <correspDesc source="#b1">
        <correspAction type="sent"><persName>Bruno B.</persName><date when="{date}"/></correspAction>
        <correspAction type="received"><persName>Anna A.</persName></correspAction>
      </correspDesc>
    </profileDesc>
  </teiHeader>
  <text><body><p/></body></text>
</TEI>
"""


def bad_json():
    return json.dumps(
        {
            "count": 2,
            "next": None,
            "previous": None,
            "results": [
                {"id": "first-letter", "title": "Lettre", "date_precision": "unknown"},
                {"id": "second-letter", "date_precision": "unknown"},
            ],
        },
        indent=1,
    )


BAD_FILES = {
    "not-xml": ("letters.xml", "This is not XML at all.\n", r"letters\.xml, line 1: not well-formed XML"),
    "truncated": (
        "letters.xml",
        GOOD_CMIF.format(date="2020-10-21")[:700],
        r"letters\.xml, line \d+: not well-formed XML",
    ),
    "wrong-root": (
        "letters.xml",
        '<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        r"letters\.xml, line 2, <html>: not a CMIF file",
    ),
    "tei-without-namespace": (
        "letters.xml",
        "<TEI><teiHeader/></TEI>",
        r"letters\.xml, line 1, <TEI>: not a CMIF file",
    ),
    "impossible-date": (
        "letters.xml",
        GOOD_CMIF.format(date="2020-13-45"),
        r'letters\.xml, line 14, <date>: when="2020-13-45" is not a date',
    ),
    "json-missing-key": (
        "letters.json",
        bad_json(),
        r'letters\.json, line 11, results\[1\]: missing required key "title"',
    ),
    "json-syntax": ("letters.json", '{"results": [\n{"id": "x",}\n]}', r"letters\.json, line 2: not valid JSON"),
    "json-wrong-shape": ("letters.json", '{"letters": []}', r"letters\.json, line 1: not the archive's JSON"),
    "json-bad-date": (
        "letters.json",
        json.dumps([{"id": "x", "title": "T", "date_from": "2020-13-45", "date_to": "2020-13-45"}]),
        r"letters\.json, line 1, \[0\]\.date_from: “2020-13-45” is not a date",
    ),
    # What JSON escapes can put in a string and no database stores as text (PostgreSQL refuses NUL; a
    # surrogate alone has no UTF-8): refused with the letter's path, not a driver's traceback.
    "json-nul": (
        "letters.json",
        '[{"id": "x", "title": "T", "paragraphs": [{"text": "Un \\u0000 nul"}]}]',
        r"letters\.json, line 1, \[0\]\.paragraphs\[0\]\.text: holds NUL, which is not text",
    ),
    "json-lone-surrogate": (
        "letters.json",
        '{"results": [\n{"id": "x", "title": "Lettre \\uD800"}]}',
        r"letters\.json, line 2, results\[0\]\.title: holds half of a UTF-16 surrogate pair \(U\+D800\) alone",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_file_is_refused_naming_file_line_and_element_and_nothing_changes(case, tmp_path):
    name, content, message = BAD_FILES[case]
    good = tmp_path / "good.xml"
    good.write_text(GOOD_CMIF.format(date="2020-10-21"), encoding="utf-8")
    bad = tmp_path / name
    bad.write_text(content, encoding="utf-8")
    make_agent("Anna A.", slug="anna")
    before = counts()
    with pytest.raises(CommandError, match=message) as raised:
        run(good, bad)  # a good file first: it must not be imported either
    assert str(bad) in str(raised.value)
    assert "Nothing was imported" in str(raised.value)
    assert counts() == before


def test_escapes_of_real_characters_are_not_refused(tmp_path):
    """A surrogate pair is one character; an escaped backslash before u0000 is text."""
    path = tmp_path / "letters.json"
    path.write_text(
        '[{"id": "x", "title": "Lettre \\ud83d\\udcdc \\\\u0000", "date_precision": "unknown"}]', encoding="utf-8"
    )
    run(path)
    assert Letter.objects.get(slug="x").title == "Lettre \N{SCROLL} \\u0000"


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CommandError, match=r"nowhere\.xml: cannot be read"):
        run(tmp_path / "nowhere.xml")


def test_small_cmif_file_imports_and_matches_names(tmp_path):
    path = tmp_path / "letters.xml"
    path.write_text(GOOD_CMIF.format(date="2020-10"), encoding="utf-8")
    run(path)
    assert Letter.objects.count() == 2
    assert Agent.objects.count() == 2  # Anna A. and Bruno B., each in both letters
    assert SourceDocument.objects.get().title == "Edition"
    month = Letter.objects.get(date_precision="month")
    assert (str(month.date_from), str(month.date_to)) == ("2020-10-01", "2020-10-31")
    assert month.title == "Lettre de Bruno B. à Anna A., octobre 2020"
    assert set(Letter.objects.values_list("source_position", flat=True)) == {1, 2}


def test_identical_letters_in_one_file_stay_two_letters(tmp_path):
    path = tmp_path / "letters.xml"
    path.write_text(GOOD_CMIF.format(date="2020-10-20").replace("Bruno B.", "Anna A."), encoding="utf-8")
    run(path)
    assert Letter.objects.count() == 2
    run(path)
    assert Letter.objects.count() == 2


# ---------------------------------------------------------------------------
# JSON: the archive's own format, round trip
# ---------------------------------------------------------------------------


@pytest.fixture
def seeds():
    with deferred_indexing():
        call_command("loaddata", "seeds", verbosity=0)


def absolute(url):
    return f"{BASE_URL}{url}"


def export_list():
    letters = Letter.objects.published().with_everything().order_by("slug")
    return {
        "count": letters.count(),
        "next": None,
        "previous": None,
        "results": [exports.letter_summary(letter, absolute) for letter in letters],
    }


def export_details():
    letters = Letter.objects.published().with_everything().order_by("slug")
    return [exports.letter_detail(letter, absolute) for letter in letters]


def comparable(data):
    """The data without what an import cannot carry: timestamps, and the source text file (see below)."""
    text = json.dumps(data, sort_keys=True)
    text = re.sub(r'"modified": "[^"]*"', '"modified": null', text)
    # The JSON does not say which file of fixtures/sources/ a source document was transcribed from, only
    # that there is one (text_url): an import cannot recreate it.
    text = re.sub(r'"text_url": "[^"]*"', '"text_url": null', text)
    return json.loads(text)


def empty_archive():
    Letter.objects.all().delete()
    SourceDocument.objects.all().delete()
    CitedDocument.objects.all().delete()
    Agent.objects.all().delete()
    Place.objects.all().delete()


@pytest.mark.parametrize("form", ["list", "detail"])
def test_json_export_import_export_gives_the_same_data(seeds, tmp_path, form):
    first = export_list() if form == "list" else export_details()
    assert first["results"] if form == "list" else first, "the seeds hold published letters"
    path = tmp_path / "letters.json"
    path.write_text(json.dumps(first, ensure_ascii=False), encoding="utf-8")
    empty_archive()
    assert counts()["Letter"] == 0
    run(path)
    second = export_list() if form == "list" else export_details()
    assert comparable(second) == comparable(first)


def test_json_reimport_creates_nothing_new(seeds, tmp_path):
    path = tmp_path / "letters.json"
    path.write_text(json.dumps(export_details(), ensure_ascii=False), encoding="utf-8")
    before = counts()
    out, _err = run(path)
    assert counts() == before
    assert "Created 0 letter(s)" in out


def test_json_unpublished_participant_becomes_a_draft_record(tmp_path):
    letter = {
        "id": "hidden-party",
        "title": "Lettre",
        "date_from": "2020-10-20",
        "date_to": "2020-10-20",
        "date_precision": "day",
        "participants": {
            "sender": [{"id": None, "name": "M. X", "name_as_written": "M. X", "url": None}],
            "recipient": [
                {"id": "antonio-guterres", "name": "António Guterres", "url": f"{BASE_URL}/people/antonio-guterres/"}
            ],
            "copy": [{"id": "onu", "name": "ONU", "url": f"{BASE_URL}/organisations/onu/"}],
        },
    }
    path = tmp_path / "letter.json"
    path.write_text(json.dumps(letter), encoding="utf-8")
    run(path)
    assert Agent.objects.get(name="M. X").status == PublicationStatus.DRAFT
    assert Agent.objects.get(slug="antonio-guterres").kind == Agent.Kind.PERSON
    assert Agent.objects.get(slug="onu").kind == Agent.Kind.ORGANISATION
    assert Letter.objects.get().date_precision == "day"


def test_json_date_that_contradicts_its_precision_is_refused(tmp_path):
    letter = {"id": "x", "title": "T", "date_from": "2020-10-01", "date_to": "2020-10-20", "date_precision": "month"}
    path = tmp_path / "letter.json"
    path.write_text(json.dumps([letter]), encoding="utf-8")
    with pytest.raises(CommandError, match=r"\[0\]\.date_to: a date precise to the month spans"):
        run(path)
    assert Letter.objects.count() == 0


# ---------------------------------------------------------------------------
# Large files: bulk writes, a fixed number of queries, flat memory
# ---------------------------------------------------------------------------


def generated(tmp_path, letters):
    path = tmp_path / f"corpus-{letters}.json"
    call_command(
        "generate_corpus", letters=letters, seed=2, agents=40, places=10, cited=30, output=str(path), verbosity=0
    )
    return path


def queries_of_an_import(path):
    with CaptureQueriesContext(connection) as captured:
        importers.import_files([path])
    return len(captured.captured_queries)


def test_import_queries_do_not_grow_with_the_number_of_letters(tmp_path):
    """Ten times the letters (one batch either way): the same queries, not one more per letter or per row."""
    few, many = generated(tmp_path, 10), generated(tmp_path, 100)
    queries_for_few = queries_of_an_import(few)
    assert Letter.objects.count() == 10
    empty_archive()
    queries_for_many = queries_of_an_import(many)
    assert Letter.objects.count() == 100
    assert Paragraph.objects.count() > 500
    assert LetterSearchText.objects.count() == 100
    assert queries_for_many <= queries_for_few + 2  # + a variant or a late reply link written in bulk
    assert queries_for_many < 60 + FIRST_LOAD + COUNTS


def test_letters_are_written_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "BATCH_SIZE", 40)
    path = generated(tmp_path, 100)
    _out, err = run(path)
    assert re.findall(r"^(\d+)/100 letters written\.", err, re.MULTILINE) == ["40", "80", "100"]
    assert Letter.objects.count() == 100
    assert LetterSearchText.objects.count() == 100
    positions = Letter.objects.exclude(source=None).values_list("source_id", "source_position")
    assert len(set(positions)) == len(positions)


def test_a_batch_that_fails_half_way_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    """A batch that fails while its rows are made (in a thread on PostgreSQL) after one was written: nothing stays."""
    monkeypatch.setattr(importers, "BATCH_SIZE", 40)
    path = generated(tmp_path, 100)
    before = counts()
    prepare, made = importers._Import.prepare_batch, []

    def fails_the_second_time(self, *args):
        made.append(len(args[0]))
        if len(made) == 2:
            raise RuntimeError("the second batch fails")
        return prepare(self, *args)

    monkeypatch.setattr(importers._Import, "prepare_batch", fails_the_second_time)
    with pytest.raises(RuntimeError, match="the second batch fails"):
        importers.import_files([path])
    assert made[:2] == [40, 40]
    assert counts() == before


def test_ids_reserved_ahead_of_the_rows_are_not_given_twice():
    """Two reservations before either batch is written (the importer prepares the next batch ahead)."""
    writer = bulk_insert.RowWriter(Agent, ["id", "name", "slug", "kind", "status"])
    first, second = writer.reserve_ids(2), writer.reserve_ids(2)
    assert not set(first) & set(second)
    for ids in (second, first):  # written in either order
        writer.insert([(pk, f"Personne {pk}", f"personne-{pk}", Agent.Kind.PERSON, "published") for pk in ids])
    assert writer.reserve_ids(1)[0] > max(first + second)
    assert Agent.objects.filter(pk__in=first + second).count() == 4


def test_a_large_json_file_is_read_letter_by_letter(tmp_path, monkeypatch):
    """A file many times the size of a chunk: the reader keeps about one chunk, not the file."""
    monkeypatch.setattr(importers.JsonFile, "CHUNK", 4096)
    path = generated(tmp_path, 200)
    assert path.stat().st_size > 100 * 4096
    reader = importers.JsonFile(path, name=str(path))
    stream = importers._JsonStream(path, str(path))
    largest = 0
    for _where, _line, _item in stream.letters([]):
        largest = max(largest, len(stream.buffer))
    assert largest < 4 * 4096
    assert sum(1 for _record in reader.records()) == 200


def pretty_letters(count):
    letters = [
        {"id": f"letter-{n}", "title": f"Lettre {n}", "date_precision": "unknown", "paragraphs": [{"text": "Texte."}]}
        for n in range(count)
    ]
    return {"count": count, "next": None, "previous": None, "results": letters}


def test_a_bad_letter_far_into_a_file_is_named_with_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr(importers.JsonFile, "CHUNK", 256)  # many chunks before the bad letter
    data = pretty_letters(60)
    del data["results"][47]["title"]
    text = json.dumps(data, indent=1)
    line = text[: text.index('"id": "letter-47"')].count("\n")  # the line of the letter's opening brace
    path = tmp_path / "letters.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match=rf'line {line}, results\[47\]: missing required key "title"'):
        run(path)
    assert Letter.objects.count() == 0


def test_bad_json_far_into_a_file_is_named_with_the_line_and_column_json_gives(tmp_path, monkeypatch):
    monkeypatch.setattr(importers.JsonFile, "CHUNK", 256)
    text = json.dumps(pretty_letters(60), indent=1).replace('"Lettre 47",', '"Lettre 47",,')
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    path = tmp_path / "letters.json"
    path.write_text(text, encoding="utf-8")
    message = rf"line {expected.value.lineno}: not valid JSON: .* \(column {expected.value.colno}\)"
    with pytest.raises(CommandError, match=message):
        run(path)
    assert Letter.objects.count() == 0


def test_a_reply_may_come_before_the_letter_it_answers(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "BATCH_SIZE", 1)  # the answered letter is written in a later batch
    letters = [
        {"id": "reply", "title": "Réponse", "thread": {"in_reply_to": {"id": "question"}}},
        {"id": "question", "title": "Question", "thread": {"annex_of": {"id": "nowhere"}}},
    ]
    for letter in letters:
        letter.update(date_from="2020-10-20", date_to="2020-10-20")
    path = tmp_path / "letters.json"
    path.write_text(json.dumps(letters), encoding="utf-8")
    _out, err = run(path)
    assert Letter.objects.get(slug="reply").in_reply_to == Letter.objects.get(slug="question")
    assert Letter.objects.get(slug="question").annex_of is None
    assert "question: annex_of nowhere is not in the archive" in err


def search_rows():
    """
    {letter slug: its search text}, as stored; on PostgreSQL with its vector
    (the importer's are computed on a second connection, index_letters' by
    the trigger: the same function of the texts).
    """
    fields = ["title", "names", "summary", "text", *(["vector"] if connection.vendor == "postgresql" else [])]
    return {
        row["letter__slug"]: tuple(row[name] for name in fields)
        for row in LetterSearchText.objects.values("letter__slug", *fields)
    }


def test_an_import_writes_the_search_text_that_indexing_from_the_database_gives(seeds, tmp_path):
    # The importer builds the search text from the rows it writes, without reading them back: it must be
    # the text that index_letters gathers from the database (the seeds were indexed that way).
    indexed = search_rows()
    assert len(indexed) == counts()["Letter"] > 0
    path = tmp_path / "letters.json"
    path.write_text(json.dumps(export_details(), ensure_ascii=False), encoding="utf-8")
    empty_archive()
    run(path)
    assert search_rows() == indexed


def test_a_generated_corpus_imports_with_the_search_text_indexing_gives(tmp_path):
    path = tmp_path / "corpus.json"
    call_command("generate_corpus", letters=300, seed=7, output=str(path), force=True, verbosity=0)
    run(path)
    imported = search_rows()
    assert len(imported) == 300
    LetterSearchText.objects.all().delete()
    index_letters(Letter.objects.values_list("pk", flat=True))
    assert search_rows() == imported


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/test_facet_counts.py
@pytest.mark.skipif(connection.vendor != "postgresql", reason="VACUUM is PostgreSQL's")
def test_after_a_large_import_postgresql_tables_are_vacuumed_and_analysed():
    """Outside a transaction, the statistics refresh after a bulk load is VACUUM (ANALYZE): index-only counts."""
    from correspondence.management.commands.import_letters import refresh_planner_statistics

    def last(column):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {column} FROM pg_stat_user_tables WHERE relname = 'correspondence_participation'"  # noqa: S608
            )
            return cursor.fetchone()[0]

    before = last("vacuum_count"), last("analyze_count")
    refresh_planner_statistics()
    assert last("vacuum_count") == before[0] + 1
    assert last("analyze_count") == before[1] + 1


# ---------------------------------------------------------------------------
# A first load: foreign keys checked once, at the end (PostgreSQL)
# ---------------------------------------------------------------------------

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="keys are dropped on PostgreSQL only")


def foreign_keys():
    """{(table, name): definition} of every foreign key of the archive's tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text LIKE 'correspondence_%%'"
        )
        return {(table, name): definition for table, name, definition in cursor.fetchall()}


def key_statements(captured):
    return [
        query["sql"] for query in captured.captured_queries if "_fk_" in query["sql"] and "CONSTRAINT" in query["sql"]
    ]


@on_postgresql
def test_a_first_load_checks_the_keys_at_the_end_and_puts_every_one_back(tmp_path):
    empty_archive()
    keys = foreign_keys()
    assert len(keys) > 15
    with CaptureQueriesContext(connection) as captured:
        importers.import_files([generated(tmp_path, 30)])
    statements = key_statements(captured)
    dropped = [sql for sql in statements if "DROP CONSTRAINT" in sql]
    added = [sql for sql in statements if "ADD CONSTRAINT" in sql]
    # Every key from a table the import fills to one of the archive's tables; none to auth_user.
    assert len(dropped) == len(added) == 16
    assert all("correspondence_letter_published_by" not in sql for sql in statements)
    assert foreign_keys() == keys
    assert Letter.objects.count() == 30
    assert Paragraph.objects.filter(letter__in=Letter.objects.all()).count() == Paragraph.objects.count() > 100


@on_postgresql
def test_an_import_into_an_archive_with_letters_leaves_its_keys_alone(tmp_path):
    empty_archive()
    importers.import_files([generated(tmp_path, 10)])
    more = tmp_path / "more.json"
    call_command("generate_corpus", letters=20, seed=3, agents=40, places=10, cited=30, output=str(more), verbosity=0)
    with CaptureQueriesContext(connection) as captured:
        report = importers.import_files([more])
    assert report.letters > 0
    assert key_statements(captured) == []


@on_postgresql
def test_a_row_that_breaks_a_key_during_a_first_load_undoes_the_load():
    keys = foreign_keys()
    paragraphs = bulk_insert.RowWriter(Paragraph, ["letter_id", "position", "kind", "text"])
    with pytest.raises(IntegrityError, match="paragraph"):
        with bulk_insert.foreign_keys_checked_at_end([Paragraph], [Letter]):
            assert ("correspondence_paragraph", "correspondence_parag_letter_id_5796abc0_fk_correspon") not in (
                foreign_keys()
            )
            paragraphs.insert([(987654321, 1, "body", "Un paragraphe sans lettre.")])
    assert foreign_keys() == keys
    assert not Paragraph.objects.filter(letter_id=987654321).exists()


@on_postgresql
def test_an_error_during_a_first_load_puts_the_keys_back():
    keys = foreign_keys()
    with pytest.raises(RuntimeError, match="stopped"):
        with bulk_insert.foreign_keys_checked_at_end([Paragraph, Citation], [Letter, CitedDocument]):
            assert len(foreign_keys()) == len(keys) - 3
            raise RuntimeError("stopped")
    assert foreign_keys() == keys


# ---------------------------------------------------------------------------
# Binary COPY and the vectors computed beside the import (PostgreSQL)
# ---------------------------------------------------------------------------

copies = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's COPY and search vectors")


@copies
def test_rows_copied_in_binary_read_back_as_they_were_given():
    letter, agent = make_letter(), make_agent()
    fields = ["letter_id", "agent_id", "role", "name_as_written", "title_as_written", "on_behalf_of_id"]
    writer = bulk_insert.RowWriter(Participation, [*fields, "inferred", "position"], binary=True)
    rows = [
        (letter.pk, agent.pk, "sender", "Anders Knape", "Président du\tCongrès \\ « Bureau »", None, True, 1),
        (letter.pk, agent.pk, "recipient", "Ánders — Knape\n", "", agent.pk, False, 2),
    ]
    writer.insert(rows)
    stored = Participation.objects.filter(letter=letter).order_by("position")
    assert [(*(getattr(p, name) for name in fields), p.inferred, p.position) for p in stored] == rows


@copies
def test_a_binary_column_takes_its_binary_form_only():
    writer = bulk_insert.RowWriter(LetterSearchText, ["letter_id", "title", "vector"], binary=True)
    with pytest.raises(TypeError, match="binary form"):
        writer.prepare([(make_letter().pk, "Titre", "'mot':1")])


def test_binary_rows_need_copy():
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL copies binary rows")
    with pytest.raises(NotSupportedError):
        bulk_insert.RowWriter(Paragraph, ["letter_id", "position", "kind", "text"], binary=True)


@copies
@pytest.mark.parametrize("processes", [1, 2, 3])
def test_vectors_shared_between_processes_come_back_in_the_order_of_the_rows(processes):
    letters = [make_letter(title=f"Lettre {n}") for n in range(5)]
    texts = ["Gandja", "Bərdə et Barda", "les mines antipersonnel", "S/RES/822 (1993)", "cessez-le-feu"]
    rows = [
        (letter.pk, f"Titre {n}", text, f"Résumé {text}", f"{text} " * (n + 1))
        for n, (letter, text) in enumerate(zip(letters, texts, strict=True))
    ]
    LetterSearchText.objects.filter(letter__in=letters).delete()
    with search.SearchVectors(connection.alias, processes=processes) as vectors:
        computed = vectors(rows)
        assert vectors([]) == []
    assert all(isinstance(vector, bytes) for vector in computed)
    search.search_text_writer(connection.alias, vectors=True).insert(
        [(*row, vector) for row, vector in zip(rows, computed, strict=True)]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT letter_id FROM correspondence_lettersearchtext WHERE letter_id = ANY(%s) "
            "AND vector = correspondence_search_vector(title, names, summary, text)",
            [[letter.pk for letter in letters]],
        )
        assert sorted(pk for (pk,) in cursor.fetchall()) == sorted(letter.pk for letter in letters)
    found = search_letters(Letter.objects.all(), "Barda")
    assert list(found.values_list("pk", flat=True)) == [letters[1].pk]


@copies
def test_search_vectors_recover_from_an_error_and_need_a_process():
    from psycopg2 import errors

    letter = make_letter()
    rows = [(letter.pk, "Titre", "", "", "Gandja")]
    with search.SearchVectors(connection.alias, processes=1) as vectors:
        sql, vectors.SQL = vectors.SQL, "SELECT 1 / 0"
        with pytest.raises(errors.DivisionByZero):
            vectors(rows)
        vectors.SQL = sql
        assert len(vectors(rows)) == 1  # the failed transaction was rolled back
    with pytest.raises(ValueError, match="at least one"):
        search.SearchVectors(connection.alias, processes=0)


@copies
def test_search_vectors_are_stored_uncompressed_and_long_texts_with_lz4_when_the_server_has_it():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attname, attstorage, attcompression FROM pg_attribute "
            "WHERE attrelid IN ('correspondence_lettersearchtext'::regclass, 'correspondence_paragraph'::regclass) "
            "AND attname IN ('text', 'vector')"
        )
        columns = {(table, name): (storage, compression) for table, name, storage, compression in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
        )
        lz4 = cursor.fetchone()[0] == 1
    assert columns[("correspondence_lettersearchtext", "vector")] == ("e", "")
    expected = "l" if lz4 else ""
    assert columns[("correspondence_lettersearchtext", "text")] == ("x", expected)
    assert columns[("correspondence_paragraph", "text")] == ("x", expected)
