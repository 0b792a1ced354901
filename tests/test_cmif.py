"""CMIF: the writer's output is valid (RelaxNG and the four cmif.sch rules), dates and URIs map both ways."""

import datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from correspondence import cmif
from correspondence.models import (
    Agent,
    CitedDocument,
    Letter,
    Participation,
    Place,
    PublicationStatus,
    SourceDocument,
)
from correspondence.search import deferred_indexing
from tests.conftest import make_agent, make_participation, make_place, make_published_letter, make_source

BASE_URL = "https://archive.example.org"
NS = {"tei": cmif.TEI_NS}
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmif"
NICOLAI = SHARED / "03_nicolai_NicolaiLetters.xml"

Precision = Letter.DatePrecision
Certainty = Letter.DateCertainty


def schematron_errors(tree):
    """
    The four error rules of cmif.sch (CMIF v1.1), in Python: E0001 a sent and
    E0002 a received correspAction in every correspDesc, E0003 every
    correspDesc/@source names a bibl/@xml:id, E0004 every date has a dating
    attribute. (Rule W0001, a UUID in bibl/@xml:id, is a warning.)
    """
    errors = []
    bibl_ids = set(tree.xpath("//tei:bibl/@xml:id", namespaces=NS))
    for desc in tree.iterfind(".//tei:correspDesc", NS):
        where = f"line {desc.sourceline}"
        if not desc.xpath("tei:correspAction[@type='sent']", namespaces=NS):
            errors.append(f"E0001 {where}: no correspAction type=sent")
        if not desc.xpath("tei:correspAction[@type='received']", namespaces=NS):
            errors.append(f"E0002 {where}: no correspAction type=received")
        source = desc.get("source")
        if source is not None and source.partition("#")[2] not in bibl_ids:
            errors.append(f"E0003 {where}: @source {source} names no bibl/@xml:id")
    for date in tree.iterfind(".//tei:date", NS):
        if not any(date.get(name) for name in ("when", "from", "to", "notBefore", "notAfter")):
            errors.append(f"E0004 line {date.sourceline}: date without a dating attribute")
    return errors


def assert_valid_cmif(data):
    tree = etree.fromstring(data)
    assert cmif.schema_errors(tree) == []
    assert schematron_errors(tree) == []
    return tree


def without_timestamp(data):
    tree = etree.fromstring(data)
    for date in tree.iterfind(".//tei:publicationStmt/tei:date", NS):
        date.set("when", "")
    return etree.tostring(tree)


def write(letters=None):
    return cmif.write_cmif(letters if letters is not None else Letter.objects.all(), base_url=BASE_URL)


@pytest.fixture
def seeds(db):
    with deferred_indexing():  # index once at the end, not at every row
        call_command("loaddata", "seeds", verbosity=0)


def empty_archive():
    """Delete every letter and record, in an order the protected relations allow."""
    Letter.objects.all().delete()
    SourceDocument.objects.all().delete()
    CitedDocument.objects.all().delete()
    Agent.objects.all().delete()
    Place.objects.all().delete()


# ---------------------------------------------------------------------------
# The writer
# ---------------------------------------------------------------------------


def test_schema_is_shipped_with_the_app():
    assert cmif.SCHEMA_PATH.is_file()
    assert cmif.SCHEMA_PATH.is_relative_to(Path(cmif.__file__).resolve().parent)
    assert cmif.relaxng() is not None


def test_seed_collection_export_is_valid_cmif(seeds):
    tree = assert_valid_cmif(write())
    published = Letter.objects.published()
    assert len(tree.findall(".//tei:correspDesc", NS)) == published.count() > 0
    refs = {desc.get("ref") for desc in tree.iterfind(".//tei:correspDesc", NS)}
    assert refs == {f"{BASE_URL}{letter.get_absolute_url()}" for letter in published}


def test_every_correspdesc_points_to_the_bibl_of_its_source(seeds):
    tree = assert_valid_cmif(write())
    bibls = {bibl.get(cmif.XML_ID): bibl for bibl in tree.iterfind(".//tei:sourceDesc/tei:bibl", NS)}
    for letter in Letter.objects.published().select_related("source"):
        desc = tree.find(f".//tei:correspDesc[@ref='{BASE_URL}{letter.get_absolute_url()}']", NS)
        bibl = bibls[desc.get("source").removeprefix("#")]
        assert bibl.text.strip() == letter.source.title
        assert bibl.find("tei:ref[@target]", NS).get("target") == f"{BASE_URL}{letter.source.get_absolute_url()}"


def test_bibl_ids_are_stable_uuids(seeds):
    first, second = write(), write()
    ids = etree.fromstring(first).xpath("//tei:bibl/@xml:id", namespaces=NS)
    assert ids == etree.fromstring(second).xpath("//tei:bibl/@xml:id", namespaces=NS)
    assert all(cmif._UUID.search(value) for value in ids)


def test_only_published_letters_are_written(db):
    published = make_published_letter(slug="published")
    make_published_letter(slug="draft", status=PublicationStatus.DRAFT)
    make_published_letter(slug="review", status=PublicationStatus.REVIEW)
    tree = assert_valid_cmif(write())
    refs = [desc.get("ref") for desc in tree.iterfind(".//tei:correspDesc", NS)]
    assert refs == [f"{BASE_URL}{published.get_absolute_url()}"]


def test_parties_carry_authority_uris_and_kinds(db):
    letter = make_published_letter(place_written=make_place("Wien", geonames="2761369", wikidata="Q1741"))
    person = make_agent("Arthur Schnitzler", gnd="118609807", wikidata="Q44331")
    organisation = make_agent("Ethische Gesellschaft", kind=Agent.Kind.ORGANISATION)
    make_participation(letter, person, Participation.Role.SENDER)
    make_participation(letter, person, Participation.Role.SIGNATORY)
    make_participation(letter, organisation, Participation.Role.RECIPIENT, inferred=True)
    make_participation(letter, make_agent("Copied"), Participation.Role.COPY)
    tree = assert_valid_cmif(write())
    sent = tree.find(".//tei:correspAction[@type='sent']", NS)
    received = tree.find(".//tei:correspAction[@type='received']", NS)
    names = sent.findall("tei:persName", NS)
    assert [name.text for name in names] == ["Arthur Schnitzler"]  # sender and signatory: once
    assert names[0].get("ref") == "https://www.wikidata.org/entity/Q44331 https://d-nb.info/gnd/118609807"
    place = sent.find("tei:placeName", NS)
    assert place.get("ref") == "https://sws.geonames.org/2761369/ https://www.wikidata.org/entity/Q1741"
    assert place.get("evidence") == "conjecture"  # no place as written: the archive identified it
    org = received.find("tei:orgName", NS)
    assert (org.text, org.get("evidence"), org.get("ref")) == ("Ethische Gesellschaft", "conjecture", None)
    assert "Copied" not in etree.tostring(tree, encoding="unicode")


def test_unpublished_party_is_written_as_named_in_the_letter_without_identifier(db):
    letter = make_published_letter()
    hidden = make_agent("Private Person", gnd="118609807", status=PublicationStatus.DRAFT)
    make_participation(letter, hidden, Participation.Role.SENDER, name_as_written="M. P.")
    tree = assert_valid_cmif(write())
    name = tree.find(".//tei:correspAction[@type='sent']/tei:persName", NS)
    assert (name.text, name.get("ref")) == ("M. P.", None)


def test_letter_without_parties_gets_empty_actions_and_stays_valid(db):
    make_published_letter(date=None)
    tree = assert_valid_cmif(write())
    for action_type in ("sent", "received"):
        action = tree.find(f".//tei:correspAction[@type='{action_type}']", NS)
        assert [child.tag for child in action] == [f"{{{cmif.TEI_NS}}}persName"]
        assert not action[0].text
    assert tree.find(".//tei:correspDesc//tei:date", NS) is None  # undated: no date element (E0004)


def test_archive_without_sources_still_has_a_bibl(db):
    make_published_letter()
    tree = assert_valid_cmif(write())
    desc = tree.find(".//tei:correspDesc", NS)
    assert desc.get("source") is None
    assert len(tree.findall(".//tei:sourceDesc/tei:bibl", NS)) == 1


def test_empty_archive_writes_a_valid_header(db):
    tree = etree.fromstring(write())
    assert cmif.schema_errors(tree) == []
    assert tree.find(".//tei:correspDesc", NS) is None


def test_language_is_written_as_has_language(db):
    make_published_letter(language="de")
    tree = assert_valid_cmif(write())
    ref = tree.find(".//tei:correspDesc/tei:note/tei:ref", NS)
    assert (ref.get("type"), ref.get("target")) == (cmif.HAS_LANGUAGE, "de")


def test_filtered_queryset_writes_only_those_letters(db):
    first = make_published_letter(slug="first", source=make_source())
    make_published_letter(slug="second")
    tree = assert_valid_cmif(write(Letter.objects.filter(slug="first")))
    assert [desc.get("ref") for desc in tree.iterfind(".//tei:correspDesc", NS)] == [
        f"{BASE_URL}{first.get_absolute_url()}"
    ]


def test_export_uses_a_fixed_number_of_queries(seeds, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        write()


# ---------------------------------------------------------------------------
# Dates, both ways
# ---------------------------------------------------------------------------

D = datetime.date


@pytest.mark.parametrize(
    ("precision", "certainty", "dates", "attributes"),
    [
        (Precision.DAY, Certainty.EXACT, (D(1820, 4, 29), D(1820, 4, 29)), {"when": "1820-04-29"}),
        (Precision.MONTH, Certainty.EXACT, (D(1842, 2, 1), D(1842, 2, 28)), {"when": "1842-02"}),
        (Precision.YEAR, Certainty.EXACT, (D(1831, 1, 1), D(1831, 12, 31)), {"when": "1831"}),
        (
            Precision.RANGE,
            Certainty.EXACT,
            (D(1832, 11, 22), D(1832, 11, 28)),
            {"from": "1832-11-22", "to": "1832-11-28"},
        ),
        (
            Precision.RANGE,
            Certainty.INFERRED,
            (D(1829, 1, 1), D(1849, 12, 31)),
            {"notBefore": "1829-01-01", "notAfter": "1849-12-31"},
        ),
        (
            Precision.RANGE,
            Certainty.UNCERTAIN,
            (D(1829, 1, 1), D(1849, 12, 31)),
            {"notBefore": "1829-01-01", "notAfter": "1849-12-31", "cert": "low"},
        ),
        (Precision.DAY, Certainty.UNCERTAIN, (D(1821, 7, 25), D(1821, 7, 25)), {"when": "1821-07-25", "cert": "low"}),
        (Precision.DAY, Certainty.APPROXIMATE, (D(1821, 7, 25), D(1821, 7, 25)), {"when": "1821-07-25", "cert": "low"}),
        (
            Precision.DAY,
            Certainty.INFERRED,
            (D(1899, 12, 16), D(1899, 12, 16)),
            {"when": "1899-12-16", "evidence": "conjecture"},
        ),
        (Precision.UNKNOWN, Certainty.EXACT, (None, None), None),
    ],
)
def test_dates_map_to_cmif_and_back(precision, certainty, dates, attributes):
    letter = Letter(date_precision=precision, date_certainty=certainty, date_from=dates[0], date_to=dates[1])
    assert cmif.date_attributes(letter) == attributes
    if attributes is None:
        return
    parsed = cmif.parse_date(attributes)
    assert (parsed.date_from, parsed.date_to, parsed.precision) == (dates[0], dates[1], precision)
    again = Letter(
        date_precision=parsed.precision,
        date_certainty=parsed.certainty,
        date_from=parsed.date_from,
        date_to=parsed.date_to,
    )
    assert cmif.date_attributes(again) == attributes  # written, read, written again: the same


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"when": "--02-03"}, (None, None, Precision.UNKNOWN, 'when="--02-03"')),
        ({"notBefore": "1829"}, (None, None, Precision.UNKNOWN, 'notBefore="1829"')),
        ({"notAfter": "1834-03-11"}, (None, None, Precision.UNKNOWN, 'notAfter="1834-03-11"')),
        ({"notBefore": "1847-01-10", "notAfter": "1847-04"}, (D(1847, 1, 10), D(1847, 4, 30), Precision.RANGE, "")),
        ({"when": "1843-03-05T10:00:00"}, (D(1843, 3, 5), D(1843, 3, 5), Precision.DAY, "")),
        ({}, (None, None, Precision.UNKNOWN, "")),
    ],
)
def test_partial_cmif_dates(attributes, expected):
    parsed = cmif.parse_date(attributes)
    assert (parsed.date_from, parsed.date_to, parsed.precision, parsed.unrepresented) == expected


def test_certainty_from_cmif_attributes():
    assert cmif.parse_date({"when": "1821", "cert": "low"}).certainty == Certainty.UNCERTAIN
    assert cmif.parse_date({"when": "1821", "evidence": "conjecture"}).certainty == Certainty.INFERRED
    assert cmif.parse_date({"notBefore": "1829", "notAfter": "1830"}).certainty == Certainty.INFERRED
    assert cmif.parse_date({"from": "1829", "to": "1830"}).certainty == Certainty.EXACT
    assert cmif.parse_date({"when": "1821"}, " um 1821 ").as_written == "um 1821"


@pytest.mark.parametrize(
    "attributes",
    [
        {"when": "2020-13-45"},
        {"when": "2020-02-30"},
        {"when": "20 octobre 2020"},
        {"when": "--13-01"},
        {"notBefore": "1849", "notAfter": "1829"},
        {"from": "1832-11-28", "to": "1832-11-22"},
    ],
)
def test_impossible_dates_are_refused(attributes):
    with pytest.raises(ValueError, match="="):
        cmif.parse_date(attributes)


# ---------------------------------------------------------------------------
# Authority URIs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("http://www.geonames.org/2761369", {"geonames": "2761369"}),
        ("https://www.geonames.org/2761369", {"geonames": "2761369"}),
        ("https://sws.geonames.org/2761369/", {"geonames": "2761369"}),
        ("https://www.geonames.org/2761369/wien.html", {"geonames": "2761369"}),
        ("https://d-nb.info/gnd/118609807", {"gnd": "118609807"}),
        ("http://d-nb.info/gnd/118609807/", {"gnd": "118609807"}),
        ("https://d-nb.info/gnd/1035228793", {"gnd": "1035228793"}),
        ("https://d-nb.info/gnd/5541564-7", {"gnd": "5541564-7"}),
        ("https://d-nb.info/gnd/11741428X", {"gnd": "11741428X"}),
        ("http://viaf.org/viaf/102333412", {"viaf": "102333412"}),
        ("https://www.wikidata.org/wiki/Q42", {"wikidata": "Q42"}),
        ("http://www.wikidata.org/entity/Q42", {"wikidata": "Q42"}),
        ("https://isni.org/isni/000000012103268X", {"isni": "000000012103268X"}),
        (
            "https://d-nb.info/gnd/118609807 https://www.wikidata.org/entity/Q44331",
            {"gnd": "118609807", "wikidata": "Q44331"},
        ),
    ],
)
def test_authority_uri_variants_give_one_identifier(ref, expected):
    found, unknown = cmif.authority_ids(ref)
    assert (found, unknown) == (expected, [])


def test_unknown_registers_are_reported_not_guessed():
    found, unknown = cmif.authority_ids("http://kalliope-verbund.info/gnd/118609807x https://example.org/p/1")
    assert found == {}
    assert len(unknown) == 2


def test_own_permalinks_give_back_the_slug():
    assert cmif.own_slug(f"{BASE_URL}/letters/coe-2020-10-20/", "letter_detail") == "coe-2020-10-20"
    assert cmif.own_slug("http://localhost:8000/letters/x_1/", "letter_detail") == "x_1"
    assert cmif.own_slug(f"{BASE_URL}/letters/", "letter_detail") is None
    assert cmif.own_slug(f"{BASE_URL}/people/knape/", "letter_detail") is None
    assert cmif.own_slug("urn:x:letters/a/", "letter_detail") is None


# ---------------------------------------------------------------------------
# The schematron check itself, on a real file
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not NICOLAI.exists(), reason="the shared CMIF test files are not on this machine")
def test_schematron_check_finds_the_letters_without_received_action_in_a_real_file():
    errors = schematron_errors(etree.parse(str(NICOLAI)))
    assert len([error for error in errors if error.startswith("E0002")]) == 15
    assert not [error for error in errors if not error.startswith("E0002")]


# ---------------------------------------------------------------------------
# Round trip
# ---------------------------------------------------------------------------


def test_cmif_export_import_export_gives_identical_xml(seeds, tmp_path):
    first = write()
    assert_valid_cmif(first)
    path = tmp_path / "archive.xml"
    path.write_bytes(first)
    empty_archive()
    assert Letter.objects.count() == 0
    call_command("import_letters", str(path), verbosity=0)
    second = write()
    assert without_timestamp(second) == without_timestamp(first)


def test_export_cmif_command_writes_a_valid_file(seeds, tmp_path):
    path = tmp_path / "cmif.xml"
    call_command("export_cmif", "--base-url", BASE_URL, "--output", str(path), verbosity=0)
    assert_valid_cmif(path.read_bytes())


def test_export_cmif_command_refuses_a_base_url_that_is_not_one(db):
    with pytest.raises(CommandError, match="--base-url"):
        call_command("export_cmif", "--base-url", "archive.example.org")
