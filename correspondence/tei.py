"""
One letter as a full TEI document: ``letter_tei(letter, base_url=...)``.

The header describes the letter (``teiHeader``): its title and permalink
(``fileDesc``), the archive's notes on it (``notesStmt``: reference,
translation note, enclosures), the source document it comes from
(``sourceDesc/bibl``, with symbol, pages and a link), how the text was
established (``encodingDesc``), and who wrote to whom, from where and when
(``profileDesc/correspDesc``, the same description as in the CMIF file, see
``cmif.correspdesc``), with the summary (``abstract``) and the language.

The text (``text/body/div type="letter"``) is the transcription, paragraph by
paragraph, in the order of the source, each with ``xml:id="p<position>"``:

============  ==========================================================
paragraph      TEI
============  ==========================================================
heading        ``head``
opening        ``salute`` in an ``opener``
dateline       ``dateline`` in the ``opener`` (or the ``closer``)
address        ``address/addrLine`` in the ``opener`` (or the ``closer``)
body           ``p``
list item      ``item`` in a ``list`` (consecutive items share it)
closing        ``salute`` in a ``closer``
signature      ``signed`` in the ``closer``
postscript     ``p`` in a ``postscript``
============  ==========================================================

Consecutive opening, dateline and address paragraphs share one ``opener``; a
run holding a closing or a signature is a ``closer``. A page change is a
``pb``. Each footnote is a ``note place="foot"`` placed right after its anchor
word in its paragraph (at the paragraph's end when the anchor is not found);
footnotes without a paragraph go to ``back``. The letterhead is in ``front``.
"""

import re

from django.utils.translation import gettext as _
from lxml import etree

from correspondence.cmif import (
    TEI_NS,
    XML_ID,
    absolute_url,
    correspdesc,
    is_public,
    source_xml_id,
)
from correspondence.exports import sorted_footnotes
from correspondence.models import Paragraph
from correspondence.xmltext import xml_text

TEI = f"{{{TEI_NS}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
Kind = Paragraph.Kind
OPENER_KINDS = {Kind.OPENING, Kind.DATELINE, Kind.ADDRESS}
CLOSER_KINDS = {Kind.CLOSING, Kind.SIGNATURE}


def _el(parent, tag, text=None, **attributes):
    element = etree.SubElement(parent, TEI + tag)
    for name, value in attributes.items():
        element.set(XML_ID if name == "xml_id" else name, xml_text(value))
    if text:
        element.text = xml_text(text)
    return element


def _lines(element, text):
    """Text with its line breaks as ``lb`` (the newline kept, so the text reads the same)."""
    first, *rest = text.split("\n")
    if not rest:
        _append_text(element, first)
        return
    _append_text(element, first)
    for line in rest:
        _append_text(element, "\n")
        _el(element, "lb").tail = xml_text(line)


def _append_text(element, text):
    text = xml_text(text)
    if len(element):
        element[-1].tail = (element[-1].tail or "") + text
    else:
        element.text = (element.text or "") + text


def _anchor_end(text, anchor):
    """Where the anchor word ends in the text (as a whole word if it is one there), or None."""
    if not anchor:
        return None
    escaped = re.escape(anchor)
    match = re.search(rf"(?<!\w){escaped}(?!\w)", text) or re.search(escaped, text)
    return match.end() if match else None


def _fill(element, text, notes):
    """The paragraph's text, each note placed after the first occurrence of its anchor word (else at the end)."""
    placed = []
    for note in notes:
        end = _anchor_end(text, note.anchor)
        placed.append((len(text) if end is None else end, note))
    placed.sort(key=lambda pair: pair[0])
    cursor = 0
    for index, note in placed:
        _lines(element, text[cursor:index])
        _note(element, note)
        cursor = index
    _lines(element, text[cursor:])


def _note(parent, footnote):
    note = _el(parent, "note", place="foot", n=footnote.marker)
    _lines(note, footnote.text)
    return note


def _paragraph(parent, paragraph, notes):
    kind = paragraph.kind
    if kind == Kind.HEADING:
        element = _el(parent, "head")
    elif kind == Kind.ADDRESS:
        previous = parent[-1] if len(parent) else None
        address = previous if previous is not None and previous.tag == TEI + "address" else _el(parent, "address")
        element = _el(address, "addrLine")
    elif kind == Kind.DATELINE:
        element = _el(parent, "dateline")
    elif kind in (Kind.OPENING, Kind.CLOSING):
        element = _el(parent, "salute")
    elif kind == Kind.SIGNATURE:
        element = _el(parent, "signed")
    elif kind == Kind.LIST_ITEM:
        element = _el(parent, "item")
    else:
        element = _el(parent, "p")
    element.set(XML_ID, f"p{paragraph.position}")
    _fill(element, paragraph.text, notes)
    return element


def _container(kind, run_kinds):
    """The element that groups a run of consecutive paragraphs of related kinds, or None."""
    if kind in OPENER_KINDS | CLOSER_KINDS:
        return "closer" if run_kinds & CLOSER_KINDS else "opener"
    if kind == Kind.LIST_ITEM:
        return "list"
    if kind == Kind.POSTSCRIPT:
        return "postscript"
    return None


def _group(kind):
    if kind in OPENER_KINDS | CLOSER_KINDS:
        return "frame"
    return kind if kind in (Kind.LIST_ITEM, Kind.POSTSCRIPT) else None


def _body(div, paragraphs, notes_by_paragraph):
    runs = []  # [group, [paragraphs]]
    for paragraph in paragraphs:
        group = _group(paragraph.kind)
        if group and runs and runs[-1][0] == group:
            runs[-1][1].append(paragraph)
        else:
            runs.append([group, [paragraph]])
    page = None
    for group, members in runs:
        parent = div
        if group:
            kinds = {member.kind for member in members}
            parent = _el(div, _container(members[0].kind, kinds))
        for paragraph in members:
            if paragraph.page and paragraph.page != page:
                _el(parent, "pb", n=paragraph.page)
                page = paragraph.page
            _paragraph(parent, paragraph, notes_by_paragraph.get(paragraph.pk, []))


def _header(root, letter, base_url):
    header = _el(root, "teiHeader")
    file_desc = _el(header, "fileDesc")
    _el(_el(file_desc, "titleStmt"), "title", letter.title)
    publication = _el(file_desc, "publicationStmt")
    _el(publication, "publisher", _("Diplomatic correspondence archive"))
    _el(publication, "idno", absolute_url(base_url, letter), type="URI")
    notes = [
        ("reference", letter.reference),
        ("translation", letter.translation_note),
        ("enclosures", letter.enclosures),
    ]
    if any(text for _type, text in notes):
        notes_stmt = _el(file_desc, "notesStmt")
        for note_type, text in notes:
            if text:
                _el(notes_stmt, "note", text, type=note_type)
    source_desc = _el(file_desc, "sourceDesc")
    source = letter.source
    if is_public(source):
        bibl = _el(source_desc, "bibl", xml_id=source_xml_id(source))
        _el(bibl, "title", source.title)
        if source.symbol:
            _el(bibl, "idno", source.symbol, type="symbol")
        if source.date:
            _el(bibl, "date", source.date_as_written or source.date.isoformat(), when=source.date.isoformat())
        elif source.year:
            _el(bibl, "date", source.date_as_written or str(source.year), when=f"{source.year:04d}")
        if letter.source_pages:
            _el(bibl, "biblScope", letter.source_pages, unit="page")
        url = absolute_url(base_url, source)
        _el(bibl, "ref", url, target=url)
    else:
        _el(source_desc, "p", _("No published source document is recorded for this item."))
    editorial = [letter.editorial_note, source.editorial_note if is_public(source) else ""]
    editorial = [text for text in editorial if text]
    if editorial:
        decl = _el(_el(header, "encodingDesc"), "editorialDecl")
        for text in editorial:
            _el(decl, "p", text)
    profile = _el(header, "profileDesc")
    if letter.summary:
        _el(_el(profile, "abstract"), "p", letter.summary)
    if letter.language:
        _el(_el(profile, "langUsage"), "language", ident=letter.language)
    source_id = source_xml_id(source) if is_public(source) else None
    profile.append(correspdesc(letter, base_url=base_url, source_id=source_id))


def letter_tei(letter, *, base_url):
    """
    The letter as a TEI document (UTF-8 bytes). Give a letter loaded with
    ``Letter.objects.with_everything()`` to read its parts in a fixed number
    of queries.
    """
    root = etree.Element(TEI + "TEI", nsmap={None: TEI_NS})
    if letter.language:
        root.set(XML_LANG, letter.language)
    _header(root, letter, base_url)
    text = _el(root, "text")
    if letter.letterhead:
        head = _el(_el(text, "front"), "div", type="letterhead")
        for line in letter.letterhead.splitlines():
            if line.strip():
                _el(head, "p", line.strip())
    body = _el(text, "body")
    div = _el(body, "div", type=letter.kind)
    paragraphs = sorted(letter.paragraphs.all(), key=lambda paragraph: paragraph.position)
    notes_by_paragraph, loose = {}, []
    known = {paragraph.pk for paragraph in paragraphs}
    for footnote in sorted_footnotes(letter.footnotes.all()):
        if footnote.paragraph_id in known:
            notes_by_paragraph.setdefault(footnote.paragraph_id, []).append(footnote)
        else:
            loose.append(footnote)
    if paragraphs:
        _body(div, paragraphs, notes_by_paragraph)
    else:
        _el(div, "p")
    if loose:
        back = _el(_el(text, "back"), "div", type="notes")
        for footnote in loose:
            _note(back, footnote)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
