"""
Template tags for reading the letters as in a scholarly edition: footnote
calls in the transcription, search snippets, links to published records only.

    {% load edition %}
    {% footnoted paragraph notes_by_paragraph %}
    {{ letter.search_snippet|snippet }}
    {% record_link participation.agent participation.shown_name %}
"""

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from correspondence.exports import is_public, participant_name

register = template.Library()


def note_id(note):
    """The fragment identifier of a footnote: fn-2 for marker 2."""
    marker = re.sub(r"[^A-Za-z0-9_-]", "", note.marker)
    return marker or str(note.pk)


def call_position(text, anchor):
    """Where the call sign goes: after the first occurrence of the anchor word, else at the end."""
    anchor = anchor.strip()
    if anchor:
        whole_word = re.search(r"(?<!\w)" + re.escape(anchor) + r"(?!\w)", text)
        if whole_word:
            return whole_word.end()
        index = text.find(anchor)
        if index >= 0:
            return index + len(anchor)
    return len(text)


def footnoted_html(text, notes):
    """The paragraph's text, escaped, with a linked call sign after each note's anchor."""
    calls = sorted(
        ((call_position(text, note.anchor), order, note) for order, note in enumerate(notes)),
        key=lambda call: (call[0], call[1]),
    )
    parts, start = [], 0
    for position, _order, note in calls:
        parts.append(escape(text[start:position]))
        identifier = note_id(note)
        parts.append(
            format_html(
                '<sup class="fn-call"><a href="#fn-{0}" id="fnref-{0}" role="doc-noteref">{1}</a></sup>',
                identifier,
                note.marker,
            )
        )
        start = position
    parts.append(escape(text[start:]))
    return mark_safe("".join(str(part) for part in parts))  # noqa: S308 - every part is escaped above


@register.simple_tag
def footnoted(paragraph, notes_by_paragraph):
    """{% footnoted paragraph notes_by_paragraph %}: a paragraph with its footnote calls."""
    return footnoted_html(paragraph.text, notes_by_paragraph.get(paragraph.pk, ()))


@register.filter
def footnote_id(note):
    return note_id(note)


@register.filter
def snippet(raw):
    """A search snippet (raw, with the search module's sentinels) as HTML with <mark>."""
    if not raw:
        return ""
    from correspondence.search import snippet_html

    return snippet_html(raw)


@register.filter
def public(record):
    """True when the record is published, so that a page may link to it."""
    return is_public(record)


@register.simple_tag
def record_link(record, text=None):
    """A link to a published record; the bare text for an unpublished one."""
    shown = text or (str(record) if is_public(record) else "")
    if is_public(record):
        return format_html('<a href="{}">{}</a>', record.get_absolute_url(), shown)
    return shown


@register.filter
def names(participations):
    """The names of participants, as written where the letter names them, joined for a list row."""
    return ", ".join(filter(None, (participant_name(participation) for participation in participations)))


SECTIONS = ("letter", "person", "organisation", "place", "citeddocument", "sourcedocument")


@register.filter
def section(url_name):
    """The part of the site a URL name belongs to (letter_detail -> letter), for the navigation."""
    prefix = (url_name or "").split("_", 1)[0]
    return prefix if prefix in SECTIONS else ""


@register.filter
def with_role(letter, role):
    """The letter's participants in one role, from the prefetched participations: letter|with_role:"sender"."""
    return [participation for participation in letter.participations.all() if participation.role == role]


@register.simple_tag
def normalised_date(letter):
    """The normalised date in <time> elements: 2020-10-20, 2020-10, 2020, or a range of two days."""
    if letter.date_from is None:
        return ""
    if letter.date_precision in ("day", "month", "year"):
        return format_html('<time datetime="{0}">{0}</time>', letter.date_display)
    return format_html(
        '<time datetime="{0}">{0}</time>/<time datetime="{1}">{1}</time>',
        letter.date_from.isoformat(),
        letter.date_to.isoformat(),
    )


AUTHORITY_FIELDS = {
    "agent": ("wikidata", "viaf", "gnd", "isni"),
    "place": ("geonames", "wikidata"),
}


@register.filter
def authority_links(record):
    """[(label, identifier, uri), ...] for a person's, organisation's or place's authority identifiers."""
    fields = AUTHORITY_FIELDS.get(record._meta.model_name, ())
    if not fields:
        return []
    present = [
        (record._meta.get_field(name).verbose_name, getattr(record, name)) for name in fields if getattr(record, name)
    ]
    return [(label, value, uri) for (label, value), uri in zip(present, record.authority_uris(), strict=True)]


@register.filter
def other_names(record):
    """The record's name variants other than its preferred name, from the prefetched variants."""
    return [variant.name for variant in record.variants.all() if variant.name != record.name]
