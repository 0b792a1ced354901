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

from correspondence.exports import is_public

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
    return ", ".join(participation.shown_name for participation in participations)
