"""
The archive's records as data: plain dictionaries for JSON, rows for CSV.

This module knows the models and nothing of requests or views. Absolute
URLs are made by an ``absolute`` callable passed in by the caller (a view
passes ``request.build_absolute_uri``; a management command could pass its
own), so that every URL in the data is a permalink.

Only published records are linked: a participant whose authority record is
not published appears with the name as written in the letter and no
identifier or URL.

The fields are documented in README.md, "Data formats".
"""

import csv
from dataclasses import dataclass

from correspondence.models import Letter, Participation, PublicationStatus

ROLES = [role for role, _label in Participation.Role.choices]

#: Letter CSV columns, in order.
LETTER_CSV_FIELDS = [
    "id",
    "url",
    "title",
    "kind",
    "date_from",
    "date_to",
    "date_precision",
    "date_certainty",
    "date_as_written",
    "language",
    "senders",
    "signatories",
    "recipients",
    "copies",
    "place_written",
    "place_as_written",
    "source",
    "source_title",
    "source_pages",
    "cited_documents",
    "summary",
    "modified",
]

ROLE_COLUMNS = {"sender": "senders", "signatory": "signatories", "recipient": "recipients", "copy": "copies"}


def is_public(record):
    """Published, and for an authority record not merged into another one."""
    return (
        record is not None
        and getattr(record, "status", None) == PublicationStatus.PUBLISHED
        and getattr(record, "merged_into_id", None) is None
    )


def _url(record, absolute):
    return absolute(record.get_absolute_url()) if is_public(record) else None


def _iso(value):
    return value.isoformat() if value else None


# ---------------------------------------------------------------------------
# References: the short form of a record wherever another record points to it
# ---------------------------------------------------------------------------


def agent_reference(agent, absolute):
    if not is_public(agent):
        return None
    return {"id": agent.slug, "name": agent.name, "kind": agent.kind, "url": _url(agent, absolute)}


def place_reference(place, absolute):
    if not is_public(place):
        return None
    return {"id": place.slug, "name": place.name, "url": _url(place, absolute)}


def cited_document_reference(document, absolute):
    if not is_public(document):
        return None
    return {
        "id": document.slug,
        "title": document.title,
        "symbol": document.symbol,
        "url": _url(document, absolute),
    }


def source_reference(source, absolute):
    if not is_public(source):
        return None
    return {
        "id": source.slug,
        "title": source.title,
        "symbol": source.symbol,
        "url": _url(source, absolute),
        "text_url": absolute(source.get_source_text_url()) if source.source_file else None,
    }


def letter_reference(letter, absolute):
    """A letter pointed to from another record (thread, entity pages)."""
    if not is_public(letter):
        return None
    return {
        "id": letter.slug,
        "url": _url(letter, absolute),
        "title": letter.title,
        "kind": letter.kind,
        **letter_dates(letter),
    }


def letter_dates(letter):
    return {
        "date_from": _iso(letter.date_from),
        "date_to": _iso(letter.date_to),
        "date_precision": letter.date_precision,
        "date_certainty": letter.date_certainty,
        "date_as_written": letter.date_as_written,
        "date_display": letter.date_display,
    }


# ---------------------------------------------------------------------------
# Letters
# ---------------------------------------------------------------------------


def participation_data(participation, absolute):
    agent = participation.agent
    public = is_public(agent)
    return {
        "id": agent.slug if public else None,
        "name": agent.name if public else participation.name_as_written,
        "name_as_written": participation.name_as_written,
        "title_as_written": participation.title_as_written,
        "on_behalf_of": agent_reference(participation.on_behalf_of, absolute),
        "identified_by_archive": participation.inferred,
        "url": _url(agent, absolute),
    }


def participant_name(participation):
    """
    The name as the letter writes it, else the authority record's name when it
    is published; in brackets when the archive, not the letter, names the party.
    """
    name = participation.name_as_written or (participation.agent.name if is_public(participation.agent) else "")
    return f"[{name}]" if name and participation.inferred else name


def participants_by_role(letter):
    """{role: [participation, ...]} in the order of the letter, from the prefetched participations."""
    grouped = {role: [] for role in ROLES}
    for participation in letter.participations.all():
        grouped.setdefault(participation.role, []).append(participation)
    for participations in grouped.values():
        participations.sort(key=lambda participation: participation.position)
    return grouped


def letter_summary(letter, absolute):
    """What a list row holds: one letter, its dates, participants, place, source and cited documents."""
    grouped = participants_by_role(letter)
    place = letter.place_written
    return {
        "id": letter.slug,
        "url": absolute(letter.get_absolute_url()),
        "title": letter.title,
        "kind": letter.kind,
        **letter_dates(letter),
        "language": letter.language,
        "participants": {
            role: [participation_data(participation, absolute) for participation in grouped[role]] for role in ROLES
        },
        "place_written": (
            {**place_reference(place, absolute), "as_written": letter.place_as_written} if is_public(place) else None
        ),
        "place_as_written": letter.place_as_written,
        "source": (
            {
                **source_reference(letter.source, absolute),
                "pages": letter.source_pages,
                "position": letter.source_position,
            }
            if is_public(letter.source)
            else None
        ),
        "cited_documents": _unique(
            cited_document_reference(citation.cited_document, absolute) for citation in letter.citations.all()
        ),
        "summary": letter.summary,
        "modified": _iso(letter.modified),
    }


def letter_detail(letter, absolute, previous=None, following=None):
    """Everything the letter page shows, for a letter loaded with ``with_everything()``."""
    data = letter_summary(letter, absolute)
    paragraph_positions = {paragraph.pk: paragraph.position for paragraph in letter.paragraphs.all()}
    data.update(
        {
            "reference": letter.reference,
            "translation_note": letter.translation_note,
            "letterhead": letter.letterhead,
            "enclosures": letter.enclosures,
            "editorial_note": letter.editorial_note,
            "citations": [
                {**cited_document_reference(citation.cited_document, absolute), "quote": citation.quote}
                if is_public(citation.cited_document)
                else {"id": None, "title": None, "url": None, "quote": citation.quote}
                for citation in letter.citations.all()
            ],
            "mentions": {
                "agents": [
                    {**agent_reference(mention.agent, absolute), "name_as_written": mention.name_as_written}
                    for mention in letter.mentions.all()
                    if is_public(mention.agent)
                ],
                "places": [
                    {**place_reference(mention.place, absolute), "name_as_written": mention.name_as_written}
                    for mention in letter.mentions.all()
                    if is_public(mention.place)
                ],
            },
            "paragraphs": [
                {"position": paragraph.position, "kind": paragraph.kind, "page": paragraph.page, "text": paragraph.text}
                for paragraph in letter.paragraphs.all()
            ],
            "footnotes": [
                {
                    "marker": footnote.marker,
                    "paragraph": paragraph_positions.get(footnote.paragraph_id),
                    "anchor": footnote.anchor,
                    "text": footnote.text,
                }
                for footnote in sorted_footnotes(letter.footnotes.all())
            ],
            "thread": {
                "in_reply_to": letter_reference(letter.in_reply_to, absolute),
                "replies": [letter_reference(reply, absolute) for reply in letter.replies.all()],
                "annex_of": letter_reference(letter.annex_of, absolute),
                "annexes": [letter_reference(annex, absolute) for annex in letter.annexes.all()],
            },
            "previous_in_source": letter_reference(previous, absolute),
            "next_in_source": letter_reference(following, absolute),
        }
    )
    return data


def sorted_footnotes(footnotes):
    """Footnotes in reading order: 1, 2, ..., 10 (not 1, 10, 2), then non-numeric markers."""

    def key(footnote):
        marker = footnote.marker.strip()
        return (0, int(marker), "") if marker.isdigit() else (1, 0, marker)

    return sorted(footnotes, key=key)


def _unique(items):
    seen, unique = set(), []
    for item in items:
        if item is None or item["id"] in seen:
            continue
        seen.add(item["id"])
        unique.append(item)
    return unique


# ---------------------------------------------------------------------------
# Authority records
# ---------------------------------------------------------------------------


def agent_summary(agent, absolute):
    return {
        "id": agent.slug,
        "url": absolute(agent.get_absolute_url()),
        "name": agent.name,
        "sort_name": agent.sort_name,
        "kind": agent.kind,
        "variants": [variant.name for variant in agent.variants.all()],
        "authority": {"wikidata": agent.wikidata, "viaf": agent.viaf, "gnd": agent.gnd, "isni": agent.isni},
        "authority_uris": agent.authority_uris(),
        "note": agent.note,
        "letter_count": getattr(agent, "letter_count", None),
    }


def place_summary(place, absolute):
    return {
        "id": place.slug,
        "url": absolute(place.get_absolute_url()),
        "name": place.name,
        "kind": place.kind,
        "country": place_reference(place.country, absolute),
        "latitude": float(place.latitude) if place.latitude is not None else None,
        "longitude": float(place.longitude) if place.longitude is not None else None,
        "variants": [variant.name for variant in place.variants.all()],
        "authority": {"geonames": place.geonames, "wikidata": place.wikidata},
        "authority_uris": place.authority_uris(),
        "note": place.note,
        "letter_count": getattr(place, "letter_count", None),
    }


def cited_document_summary(document, absolute):
    return {
        "id": document.slug,
        "url": absolute(document.get_absolute_url()),
        "title": document.title,
        "kind": document.kind,
        "symbol": document.symbol,
        "issuing_body": agent_reference(document.issuing_body, absolute),
        "date": _iso(document.date),
        "year": document.year,
        "official_text": document.url,
        "note": document.note,
        "letter_count": getattr(document, "letter_count", None),
    }


def source_document_summary(source, absolute):
    return {
        "id": source.slug,
        "url": absolute(source.get_absolute_url()),
        "title": source.title,
        "symbol": source.symbol,
        "issuing_body": agent_reference(source.issuing_body, absolute),
        "date": _iso(source.date),
        "year": source.year,
        "date_as_written": source.date_as_written,
        "language": source.language,
        "text_url": absolute(source.get_source_text_url()) if source.source_file else None,
        "source_sha256": source.source_sha256,
        "editorial_note": source.editorial_note,
        "note": source.note,
        "letter_count": getattr(source, "letter_count", None),
    }


@dataclass
class LinkedLetter:
    """A published letter as an entity page lists it, with the words that name the entity there."""

    letter: Letter
    name_as_written: str = ""
    title_as_written: str = ""
    quote: str = ""


def letters_by_role(groups, absolute):
    """{role: [letter reference + the name and title as written there]} for an entity page."""
    return {
        role: [
            {
                **letter_reference(entry.letter, absolute),
                "name_as_written": entry.name_as_written,
                "title_as_written": entry.title_as_written,
                "quote": entry.quote,
            }
            for entry in entries
        ]
        for role, _label, entries in groups
    }


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """
    A cell as text that a spreadsheet will not run as a formula: a leading
    =, +, -, @, tab or carriage return gets an apostrophe in front.
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def letter_csv_row(letter, absolute):
    grouped = participants_by_role(letter)
    source = letter.source if is_public(letter.source) else None
    place = letter.place_written if is_public(letter.place_written) else None
    names = {
        ROLE_COLUMNS[role]: " ; ".join(
            participation.agent.name if is_public(participation.agent) else participation.name_as_written
            for participation in grouped[role]
        )
        for role in ROLES
    }
    row = {
        "id": letter.slug,
        "url": absolute(letter.get_absolute_url()),
        "title": letter.title,
        "kind": letter.kind,
        "date_from": _iso(letter.date_from),
        "date_to": _iso(letter.date_to),
        "date_precision": letter.date_precision,
        "date_certainty": letter.date_certainty,
        "date_as_written": letter.date_as_written,
        "language": letter.language,
        **names,
        "place_written": place.name if place else "",
        "place_as_written": letter.place_as_written,
        "source": source.slug if source else "",
        "source_title": source.title if source else "",
        "source_pages": letter.source_pages,
        "cited_documents": " ; ".join(
            dict.fromkeys(
                citation.cited_document.slug
                for citation in letter.citations.all()
                if is_public(citation.cited_document)
            )
        ),
        "summary": letter.summary,
        "modified": _iso(letter.modified),
    }
    return [row[field] for field in LETTER_CSV_FIELDS]


def record_csv_fields(summary):
    """CSV columns for an authority record: the scalar fields of its summary."""
    return [key for key, value in summary.items() if not isinstance(value, dict | list)]


def record_csv_row(summary, fields):
    return [summary.get(field) for field in fields]


class _Echo:
    """A file-like object whose write() hands the line back, for streaming CSV."""

    def write(self, value):
        return value


def csv_lines(header, rows):
    """Encoded CSV lines, header first, every cell neutralised; for a StreamingHttpResponse."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])
