"""
The history of the archive's records, kept by django-reversion.

Every record a curator edits is registered here, a letter together with its
parts (paragraphs, footnotes, participations, citations, mentions) and an
authority record with its name variants, so that one revision holds the
whole record as it was and reverting restores all of it. This module
computes readable differences between versions and reverts; the admin shows
them, and the public letter page shows a short change log.
"""

import difflib

import reversion
from django.db import transaction
from django.utils.translation import gettext as _
from reversion.models import Version

from .models import (
    Agent,
    AgentName,
    Citation,
    CitedDocument,
    Footnote,
    Letter,
    Mention,
    Paragraph,
    Participation,
    Place,
    PlaceName,
    SourceDocument,
)

LETTER_PARTS = ["paragraphs", "footnotes", "participations", "citations", "mentions"]
IGNORED_FIELDS = {"modified", "created"}


def register_models():
    """Register the archive's models with reversion (called once, from the app's ready())."""
    if reversion.is_registered(Letter):
        return
    reversion.register(Letter, follow=LETTER_PARTS)
    for part in (Paragraph, Footnote, Participation, Citation, Mention, AgentName, PlaceName):
        reversion.register(part)
    reversion.register(Agent, follow=["variants"])
    reversion.register(Place, follow=["variants"])
    reversion.register(CitedDocument)
    reversion.register(SourceDocument)


def versions_of(obj):
    """
    The versions of a record, newest first, with their revisions. Ordered by
    revision (one version of a record per revision, in the order they were
    made) so that the database reads them from reversion's unique index on
    (db, content_type, object_id, revision): ordered by the version's own id,
    SQLite walked every version of every letter instead.
    """
    return (
        Version.objects.get_for_object(obj).select_related("revision", "revision__user").order_by("-revision_id", "-pk")
    )


def _parts(version):
    """The parts saved with a version, as {(model label, object id): field dict}."""
    parts = {}
    for other in version.revision.version_set.exclude(pk=version.pk).select_related("content_type"):
        label = other.content_type.model
        parts[(label, other.object_id)] = other.field_dict
    return parts


def _describe(label, fields):
    for key in ("text", "name", "quote", "name_as_written", "title_as_written"):
        if fields.get(key):
            return f"{label}: {fields[key]}"
    return label


def _text_diff(old, new):
    old, new = ("" if old is None else old), ("" if new is None else new)
    if old == new:
        return ""
    matcher = difflib.SequenceMatcher(a=str(old).split(), b=str(new).split(), autojunk=False)
    pieces = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        before, after = " ".join(matcher.a[a1:a2]), " ".join(matcher.b[b1:b2])
        if op == "equal":
            pieces.append(("same", before if len(before) < 80 else before[:38] + " … " + before[-38:]))
        if op in ("delete", "replace"):
            pieces.append(("removed", before))
        if op in ("insert", "replace"):
            pieces.append(("added", after))
    return pieces


def diff_versions(older, newer):
    """What changed from `older` to `newer` (either may be None): a list of readable changes."""
    if older is None:
        return []
    changes = []
    old_fields = older.field_dict if older else {}
    new_fields = newer.field_dict if newer else {}
    for name in sorted(set(old_fields) | set(new_fields)):
        if name in IGNORED_FIELDS:
            continue
        before, after = old_fields.get(name), new_fields.get(name)
        if before != after:
            changes.append({"field": name, "before": before, "after": after, "words": _text_diff(before, after)})
    old_parts = _parts(older) if older else {}
    new_parts = _parts(newer) if newer else {}
    for key in sorted(set(old_parts) | set(new_parts)):
        before, after = old_parts.get(key), new_parts.get(key)
        if before is None:
            changes.append({"field": _("added"), "before": "", "after": _describe(key[0], after), "words": ""})
        elif after is None:
            changes.append({"field": _("removed"), "before": _describe(key[0], before), "after": "", "words": ""})
        elif {k: v for k, v in before.items() if k != "id"} != {k: v for k, v in after.items() if k != "id"}:
            changes.append(
                {
                    "field": key[0],
                    "before": _describe(key[0], before),
                    "after": _describe(key[0], after),
                    "words": _text_diff(_describe(key[0], before), _describe(key[0], after)),
                }
            )
    return changes


def revert(version, user, reason=""):
    """Restore the record of `version` exactly, parts included, as a new revision of its own."""
    with transaction.atomic(), reversion.create_revision():
        version.revision.revert(delete=True)
        reversion.set_user(user)
        when = version.revision.date_created.strftime("%Y-%m-%d %H:%M")
        comment = _("Reverted to the version of %(date)s.") % {"date": when}
        reversion.set_comment(f"{comment} {reason}".strip())


def public_change_log(letter, limit=5):
    """Dates and comments of a letter's latest revisions, without who made them."""
    return [
        {"date": version.revision.date_created, "comment": version.revision.get_comment()}
        for version in versions_of(letter)[:limit]
    ]
