"""
The seed collection is faithful to its sources.

These tests read the shipped source texts in ``fixtures/sources/`` directly
(not through the edition script) and compare them with what ``loaddata
seeds`` puts in the database: every sentence of every source is in the
archive, every paragraph of the archive is in its source and in the source's
order, and no transcription carries page furniture.
"""

import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from correspondence.models import (
    Agent,
    CitedDocument,
    Footnote,
    Letter,
    Paragraph,
    Participation,
    Place,
    SourceDocument,
)

SOURCES_DIR = Path(settings.BASE_DIR) / "fixtures" / "sources"

# What page furniture looks like in these sources: page numbers, the running
# header (the document's symbol alone on a line), PDF link annotations, and the
# markdown converter's end mark and markup.
PAGE_NUMBER = re.compile(r"^Page \d+/\d+$")
LINK_ANNOTATION = re.compile(r"^mailto:\S+$")
END_MARK = re.compile(r"^(\\\*){3}$")
BREAK = "\u2029"
SEPARATOR = "\u241e"


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Load the seeds once for the module (a load takes seconds), and remove them afterwards."""
    with django_db_blocker.unblock():
        call_command("loaddata", "seeds", verbosity=0)
        yield
        for model in (Letter, SourceDocument, CitedDocument, Place, Agent):
            model.objects.all().delete()


@pytest.fixture
def seeds(seeded, db):
    """The seed collection, in a test transaction of its own."""


def squeeze(text):
    """Whitespace removed: PDF line breaks, hyphenation at line ends and spaces inserted by extraction vanish."""
    return re.sub(r"\s+", "", text)


def is_furniture(line, source):
    stripped = line.strip()
    return bool(
        PAGE_NUMBER.match(stripped)
        or LINK_ANNOTATION.match(stripped)
        or END_MARK.match(stripped)
        or (source.symbol and stripped == source.symbol)
    )


def source_text(source):
    """The source as running text, furniture and markup removed, footnote calls detached."""
    lines = (SOURCES_DIR / source.source_file).read_text(encoding="utf-8").split("\n")
    kept = []
    for line in lines:
        if is_furniture(line, source):
            continue
        line = re.sub(r"^\s*#+\s*", "", line).replace("**", "")
        line = re.sub(r"^\s*- ", "", line).strip()
        if line and not re.search(r"[a-zà-ÿ]", line):
            line = f"{BREAK}{line}{BREAK}"  # a heading in capitals is a unit of its own
        kept.append(line)
    notes = []
    for note in Footnote.objects.filter(letter__source=source):
        line = f"{note.marker} {note.text}"
        assert line in kept, f"footnote {line!r} not found on a line of its own in {source.source_file}"
        kept.remove(line)
        notes.append(f"{BREAK}{line}{BREAK}")
    text = " ".join(kept + notes)
    for note in Footnote.objects.filter(letter__source=source):
        call = f"{note.anchor}{note.marker}"
        assert call in text, f"footnote call {call!r} not found in {source.source_file}"
        text = text.replace(call, note.anchor, 1)
    return re.sub(r"[ \t\n]+", " ", text).strip()


def sentences(text):
    for sentence in re.split(rf"(?<=[.!?;:»])\s+|\s*{BREAK}\s*", text):
        if re.search(r"\w", sentence):
            yield sentence


def archive_text(source):
    """Everything the archive holds for a source: the transcriptions of its items in source order, as one
    flow (a sentence may run from a recipient block into the next item's letterhead), then the notes and the
    metadata as written, each apart."""
    letters = list(Letter.objects.filter(source=source).order_by("source_position"))
    flow = "".join(p.text for letter in letters for p in letter.paragraphs.order_by("position"))
    apart = [source.symbol, source.title, source.date_as_written]
    for letter in letters:
        apart += [
            letter.title,
            letter.reference,
            letter.date_as_written,
            letter.place_as_written,
            letter.translation_note,
            letter.enclosures,
        ]
        apart += [f"{n.marker} {n.text}" for n in letter.footnotes.all()]
        for participation in letter.participations.all():
            apart += [participation.name_as_written, participation.title_as_written]
    return SEPARATOR.join([flow, *apart])


def test_every_source_file_ships_byte_for_byte(seeds):
    sources = SourceDocument.objects.all()
    assert sources.count() == 3
    for source in sources:
        data = (SOURCES_DIR / source.source_file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == source.source_sha256


def test_every_sentence_of_each_source_is_in_the_archive(seeds):
    for source in SourceDocument.objects.all():
        haystack = squeeze(archive_text(source))
        missing = [s for s in sentences(source_text(source)) if squeeze(s) not in haystack]
        assert missing == [], f"{source.source_file}: {len(missing)} sentences missing, first: {missing[:3]}"


def test_every_paragraph_comes_from_its_source_in_order(seeds):
    for source in SourceDocument.objects.all():
        text = squeeze(source_text(source))
        for letter in source.items.all():
            cursor = 0
            for paragraph in letter.paragraphs.order_by("position"):
                found = text.find(squeeze(paragraph.text), cursor)
                assert found >= 0, (
                    f"{letter.slug} §{paragraph.position} is not in the source after §{paragraph.position - 1}"
                )
                cursor = found + 1


def test_no_transcription_contains_page_furniture_or_line_breaks(seeds):
    for paragraph in Paragraph.objects.select_related("letter__source"):
        text = paragraph.text
        assert "\n" not in text and "  " not in text and text == text.strip()
        assert not re.search(r"Page \d+/\d+", text)
        assert "mailto:" not in text and "**" not in text and not text.startswith("#")
        assert paragraph.letter.source.symbol not in text or paragraph.letter.source.symbol == ""
    assert not Paragraph.objects.filter(text__contains="garantie2").exists()


def test_the_footnote_is_a_note_anchored_in_its_paragraph(seeds):
    note = Footnote.objects.get(marker="2")
    assert note.text == "En anglais : « safeguarding … »"
    assert note.anchor == "garantie"
    assert "comme garantie de l'issue de la guerre" in note.paragraph.text
    assert note.paragraph.letter == note.letter


def test_the_collection_has_seven_items_in_three_sources(seeds):
    assert Letter.objects.published().count() == 7
    counts = {s.symbol or s.slug: s.items.count() for s in SourceDocument.objects.all()}
    assert counts == {"CG-BUR(2020)35-INF56": 4, "onu-lettre-2021-02-23-azerbaidjan": 2, "ACM-2018/AZER/REP": 1}


def test_replies_and_annexes_are_linked(seeds):
    reply = Letter.objects.get(reference="MMS 478-2020")
    assert reply.in_reply_to.date_as_written == "20 octobre 2020"
    annex = Letter.objects.get(kind=Letter.Kind.ANNEX)
    assert annex.annex_of.kind == Letter.Kind.COVERING_LETTER
    assert annex.annex_of.date_from.isoformat() == "2021-02-23"


def test_every_signatory_of_the_youth_letter_is_kept_in_order(seeds):
    letter = Letter.objects.get(slug="coe-2020-10-23-delegues-jeunes-armenie-knape")
    signatories = letter.participations.filter(role="signatory").order_by("position")
    assert [p.agent.name for p in signatories] == [
        "Nune Harutyunyan",
        "Khanum Gevorgyan",
        "Samvel Grigoryan",
        "Arpine Harutyunyan",
        "Lida Poghosyan",
        "Vahram Vardanyan",
    ]
    assert {p.on_behalf_of.slug for p in signatories} == {"delegues-jeunes-d-armenie-du-congres"}


def test_three_associations_send_and_their_presidents_sign(seeds):
    letter = Letter.objects.get(reference="N° : 05/1")
    senders = [p.agent.name for p in letter.participations.filter(role="sender").order_by("position")]
    assert senders == [
        "Association nationale des villes d'Azerbaïdjan",
        "Association nationale des communes d'Azerbaïdjan",
        "Association nationale des villages d'Azerbaïdjan",
    ]
    titles = {p.agent.name: p.title_as_written for p in letter.participations.filter(role="signatory")}
    assert titles["Ali Mehdiyev"] == "Président de l’Association nationale des villages d’Azerbaïdjan"


def test_titles_are_kept_as_written_in_each_letter(seeds):
    ibrahimov = Agent.objects.get(slug="anar-ibrahimov")
    titles = set(Participation.objects.filter(agent=ibrahimov).values_list("title_as_written", flat=True))
    assert "Chef de la délégation azerbaïdjanaise auprès du Congrès" in titles
    assert "Président de la Délégation nationale azerbaïdjanaise du Congrès" in titles
    assert Participation.objects.filter(
        agent__slug="anders-knape", title_as_written__startswith="Président du Congrès des pouvoirs locaux et régionaux"
    ).exists()


def test_one_resolution_cited_by_several_items_is_one_record(seeds):
    resolution = CitedDocument.objects.get(symbol="S/RES/822 (1993)")
    citing = set(resolution.citations.values_list("letter__slug", flat=True))
    assert citing == {
        "coe-2020-10-20-ibrahimov-knape",
        "coe-2020-11-05-associations-azerbaidjan-knape",
        "oci-2018-09-24-rapport-groupe-de-contact",
    }
    assert CitedDocument.objects.filter(symbol__startswith="S/RES/822").count() == 1


@pytest.mark.parametrize(
    ("preferred", "variants"),
    [("Gandja", {"Ganja"}), ("Barda", {"Bərdə"}), ("Haut-Karabakh", {"Haut-Karabagh", "Artsakh"})],
)
def test_place_authority_records_gather_the_spellings_of_each_document(seeds, preferred, variants):
    place = Place.objects.get(name=preferred)
    assert variants <= set(place.variants.values_list("name", flat=True))
    spelled = {m.name_as_written for m in place.mentions.all()}
    assert spelled & (variants | {preferred})


def test_every_place_spelling_in_a_mention_is_on_its_authority_record(seeds):
    for place in Place.objects.prefetch_related("variants", "mentions"):
        known = {place.name} | {v.name for v in place.variants.all()}
        for mention in place.mentions.all():
            for spelling in mention.name_as_written.split(" ; "):
                assert spelling in known, f"{spelling!r} is not a recorded spelling of {place.name}"


def test_loading_the_seeds_twice_changes_nothing(seeds):
    models = [Letter, Paragraph, Participation, Footnote, Agent, Place, CitedDocument, SourceDocument]
    before = {m.__name__: m.objects.count() for m in models}
    call_command("loaddata", "seeds", verbosity=0)
    assert {m.__name__: m.objects.count() for m in models} == before


def test_the_seed_fixture_is_what_the_edition_script_produces():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "seed_edition", Path(settings.BASE_DIR) / "fixtures" / "seed_edition.py"
    )
    edition = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(edition)
    assert (Path(settings.BASE_DIR) / "fixtures" / "seeds.json").read_text(encoding="utf-8") == edition.render()
