"""The TEI document of a letter: well-formed, complete header, every paragraph's words, notes at their anchor."""

import pytest
from django.core.management import call_command
from lxml import etree

from correspondence.models import Footnote, Letter, Paragraph, Participation
from correspondence.search import deferred_indexing
from correspondence.tei import letter_tei
from tests.conftest import (
    make_agent,
    make_footnote,
    make_paragraph,
    make_participation,
    make_place,
    make_published_letter,
    make_source,
)

TEI_NS = "http://www.tei-c.org/ns/1.0"
NS = {"tei": TEI_NS}
BASE_URL = "https://archive.example.org"
Kind = Paragraph.Kind

pytestmark = pytest.mark.django_db


def tei(letter):
    letter = Letter.objects.with_everything().get(pk=letter.pk)
    return etree.fromstring(letter_tei(letter, base_url=BASE_URL))


def words(element):
    """The element's text without its notes (which sit inside the paragraph they annotate)."""
    parts = [element.text or ""]
    for child in element:
        if child.tag != f"{{{TEI_NS}}}note":
            parts.append(words(child))
        parts.append(child.tail or "")
    return "".join(parts)


def paragraph_element(tree, position):
    found = tree.xpath(f"//tei:text//*[@xml:id='p{position}']", namespaces=NS)
    assert len(found) == 1, f"paragraph {position}"
    return found[0]


@pytest.fixture
def seeds():
    with deferred_indexing():
        call_command("loaddata", "seeds", verbosity=0)


def test_every_seed_letter_is_well_formed_tei_with_every_paragraph(seeds):
    letters = Letter.objects.published().with_everything()
    assert letters
    for letter in letters:
        data = letter_tei(letter, base_url=BASE_URL)
        assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
        tree = etree.fromstring(data)
        assert tree.tag == f"{{{TEI_NS}}}TEI"
        for paragraph in letter.paragraphs.all():
            assert words(paragraph_element(tree, paragraph.position)) == paragraph.text
        for footnote in letter.footnotes.all():
            note = tree.find(f".//tei:note[@n='{footnote.marker}']", NS)
            assert words(note) == footnote.text


def test_header_describes_the_letter_and_its_source(seeds):
    letter = Letter.objects.get(slug="coe-2020-10-20-ibrahimov-knape")
    tree = tei(letter)
    header = tree.find("tei:teiHeader", NS)
    assert header.findtext("tei:fileDesc/tei:titleStmt/tei:title", namespaces=NS) == letter.title
    permalink = f"{BASE_URL}{letter.get_absolute_url()}"
    assert header.findtext("tei:fileDesc/tei:publicationStmt/tei:idno", namespaces=NS) == permalink
    bibl = header.find("tei:fileDesc/tei:sourceDesc/tei:bibl", NS)
    assert bibl.findtext("tei:title", namespaces=NS) == letter.source.title
    assert bibl.findtext("tei:idno", namespaces=NS) == letter.source.symbol
    assert bibl.findtext("tei:biblScope[@unit='page']", namespaces=NS) == letter.source_pages
    desc = header.find("tei:profileDesc/tei:correspDesc", NS)
    assert desc.get("ref") == permalink
    assert desc.get("source") == f"#{bibl.get('{http://www.w3.org/XML/1998/namespace}id')}"
    assert desc.find("tei:correspAction[@type='sent']/tei:date", NS).get("when") == "2020-10-20"
    assert header.findtext("tei:profileDesc/tei:abstract/tei:p", namespaces=NS) == letter.summary
    assert header.find("tei:profileDesc/tei:langUsage/tei:language", NS).get("ident") == "fr"
    assert tree.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"


def test_footnote_sits_right_after_its_anchor_word(seeds):
    footnote = Footnote.objects.get(letter__slug="coe-2020-10-20-ibrahimov-knape", marker="2")
    tree = tei(footnote.letter)
    note = tree.find(".//tei:note[@n='2']", NS)
    assert note.getparent() == paragraph_element(tree, footnote.paragraph.position)
    before = note.getprevious()
    text_before = (before.tail if before is not None else note.getparent().text) or ""
    assert text_before.endswith(footnote.anchor)
    assert note.get("place") == "foot"


def test_paragraph_kinds_become_tei_elements(db):
    letter = make_published_letter()
    texts = [
        (Kind.HEADING, "Traduction non officielle"),
        (Kind.ADDRESS, "Monsieur Anders Knape"),
        (Kind.ADDRESS, "Conseil de l'Europe"),
        (Kind.DATELINE, "Strasbourg, le 29 octobre 2020"),
        (Kind.OPENING, "Monsieur le Président,"),
        (Kind.BODY, "Premier paragraphe."),
        (Kind.LIST_ITEM, "premier point ;"),
        (Kind.LIST_ITEM, "second point."),
        (Kind.BODY, "Dernier paragraphe."),
        (Kind.CLOSING, "Veuillez agréer..."),
        (Kind.SIGNATURE, "Anders Knape"),
        (Kind.POSTSCRIPT, "Copie : Bureau"),
    ]
    for position, (kind, text) in enumerate(texts, start=1):
        make_paragraph(letter, text, position=position, kind=kind, page="1" if position < 6 else "2")
    tree = tei(letter)
    div = tree.find(".//tei:body/tei:div", NS)
    assert div.get("type") == "letter"
    children = [etree.QName(child).localname for child in div]
    assert children == ["pb", "head", "opener", "pb", "p", "list", "p", "closer", "postscript"]
    opener = div.find("tei:opener", NS)
    assert [etree.QName(child).localname for child in opener] == ["address", "dateline", "salute"]
    assert len(opener.findall("tei:address/tei:addrLine", NS)) == 2  # consecutive lines share one address
    assert [item.text for item in div.findall("tei:list/tei:item", NS)] == ["premier point ;", "second point."]
    closer = div.find("tei:closer", NS)
    assert [etree.QName(child).localname for child in closer] == ["salute", "signed"]
    assert div.findtext("tei:postscript/tei:p", namespaces=NS) == "Copie : Bureau"
    assert [pb.get("n") for pb in div.iter(f"{{{TEI_NS}}}pb")] == ["1", "2"]
    for position, (_kind, text) in enumerate(texts, start=1):
        assert words(paragraph_element(tree, position)) == text


def test_notes_without_anchor_or_paragraph_still_appear(db):
    letter = make_published_letter()
    paragraph = make_paragraph(letter, "Un texte sans le mot.")
    make_footnote(letter, marker="1", paragraph=paragraph, anchor="absent", text="À la fin du paragraphe.")
    make_footnote(letter, marker="2", text="Note sans paragraphe.")
    tree = tei(letter)
    first = tree.find(".//tei:note[@n='1']", NS)
    assert first.getparent() == paragraph_element(tree, paragraph.position)
    assert first.getprevious() is None and first.getparent().text == "Un texte sans le mot."
    assert tree.find(".//tei:back//tei:note[@n='2']", NS).text == "Note sans paragraphe."


def test_several_notes_in_one_paragraph_keep_reading_order(db):
    letter = make_published_letter()
    paragraph = make_paragraph(letter, "La garantie de la paix et la sécurité.")
    make_footnote(letter, marker="2", paragraph=paragraph, anchor="sécurité", text="B")
    make_footnote(letter, marker="1", paragraph=paragraph, anchor="garantie", text="A")
    element = paragraph_element(tei(letter), paragraph.position)
    assert [note.get("n") for note in element.findall("tei:note", NS)] == ["1", "2"]
    assert words(element) == paragraph.text


def test_line_breaks_and_markup_characters_are_kept_as_text(db):
    letter = make_published_letter(title="Lettre <urgente> & confidentielle")
    paragraph = make_paragraph(letter, "Ligne un\nLigne <deux> & trois", kind=Kind.SIGNATURE)
    tree = tei(letter)
    element = paragraph_element(tree, paragraph.position)
    assert words(element) == paragraph.text
    assert element.find("tei:lb", NS) is not None
    assert tree.findtext(".//tei:titleStmt/tei:title", namespaces=NS) == letter.title


def test_letter_without_source_or_paragraphs_is_still_a_tei_document(db):
    letter = make_published_letter(date=None)
    tree = tei(letter)
    assert tree.find(".//tei:sourceDesc/tei:p", NS) is not None
    assert tree.find(".//tei:body/tei:div/tei:p", NS) is not None
    assert tree.find(".//tei:correspDesc//tei:date", NS) is None


def test_correspdesc_names_parties_and_place(db):
    letter = make_published_letter(
        place_written=make_place("Strasbourg", wikidata="Q6602"), place_as_written="Strasbourg", source=make_source()
    )
    make_participation(letter, make_agent("Anders Knape", wikidata="Q5753394"), Participation.Role.SENDER)
    make_participation(letter, make_agent("Anar Ibrahimov"), Participation.Role.RECIPIENT)
    desc = tei(letter).find(".//tei:profileDesc/tei:correspDesc", NS)
    sent = desc.find("tei:correspAction[@type='sent']", NS)
    assert sent.findtext("tei:persName", namespaces=NS) == "Anders Knape"
    assert sent.find("tei:persName", NS).get("ref") == "https://www.wikidata.org/entity/Q5753394"
    assert sent.findtext("tei:placeName", namespaces=NS) == "Strasbourg"
    assert desc.findtext("tei:correspAction[@type='received']/tei:persName", namespaces=NS) == "Anar Ibrahimov"


def test_tei_of_a_loaded_letter_needs_no_query(seeds, django_assert_num_queries):
    letter = Letter.objects.with_everything().get(slug="coe-2020-10-20-ibrahimov-knape")
    with django_assert_num_queries(0):
        letter_tei(letter, base_url=BASE_URL)
