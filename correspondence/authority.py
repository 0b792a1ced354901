"""
Authority control: merging duplicate people, organisations and places, and
finding the candidates for it.

A merge never deletes: every participation, mention, citation and letter
link moves to the surviving record, every name of the merged records becomes
one of its variants, and the merged records stay in the database marked
``merged_into`` the survivor, so that their old URLs redirect there and the
merge can be audited (and undone through the history).
"""

from collections import defaultdict

from django.db import transaction
from django.utils.translation import gettext as _

from .models import Agent, AgentName, Letter, Mention, Participation, Place, PlaceName, fold


class MergeError(ValueError):
    """A merge that cannot be done, with a message for the curator."""


def _check(survivor, others):
    others = [other for other in others if other.pk != survivor.pk]
    if not others:
        raise MergeError(_("Choose at least one record to merge into the surviving one."))
    if any(type(other) is not type(survivor) for other in others):
        raise MergeError(_("Only records of the same kind can be merged."))
    if survivor.merged_into_id:
        raise MergeError(_("The surviving record has itself been merged; choose the record it was merged into."))
    return others


def _move_unique(queryset, field, survivor, unique_with):
    """Repoint `field` to the survivor, dropping rows that would duplicate one the survivor already has."""
    moved = 0
    for row in queryset.select_for_update():
        clash = {name: getattr(row, name) for name in unique_with}
        if type(row).objects.filter(**{field: survivor}, **clash).exclude(pk=row.pk).exists():
            row.delete()
            continue
        setattr(row, field, survivor)
        row.save(update_fields=[field])
        moved += 1
    return moved


@transaction.atomic
def merge_agents(survivor, others):
    """Merge `others` into `survivor`; returns a dict of what moved, for the curator's message."""
    others = _check(survivor, others)
    report = defaultdict(int)
    known = {survivor.name, *survivor.variants.values_list("name", flat=True)}
    for other in others:
        report["participations"] += _move_unique(
            Participation.objects.filter(agent=other), "agent", survivor, ("letter_id", "role")
        )
        report["on_behalf"] += Participation.objects.filter(on_behalf_of=other).update(on_behalf_of=survivor)
        report["mentions"] += _move_unique(Mention.objects.filter(agent=other), "agent", survivor, ("letter_id",))
        report["documents"] += other.issued_documents.update(issuing_body=survivor)
        report["documents"] += other.source_documents.update(issuing_body=survivor)
        for name in [other.name, *other.variants.values_list("name", flat=True)]:
            if name not in known:
                AgentName.objects.create(agent=survivor, name=name, note=_("from merged record %s") % other.slug)
                known.add(name)
                report["variants"] += 1
        for field in ("wikidata", "viaf", "gnd", "isni"):
            if not getattr(survivor, field) and getattr(other, field):
                setattr(survivor, field, getattr(other, field))
        Agent.objects.filter(merged_into=other).update(merged_into=survivor)
        other.merged_into = survivor
        other.save(update_fields=["merged_into", "modified"])
    survivor.save()
    return dict(report)


@transaction.atomic
def merge_places(survivor, others):
    """Merge `others` into `survivor`; returns a dict of what moved."""
    others = _check(survivor, others)
    report = defaultdict(int)
    known = {survivor.name, *survivor.variants.values_list("name", flat=True)}
    for other in others:
        report["letters_written"] += Letter.objects.filter(place_written=other).update(place_written=survivor)
        report["mentions"] += _move_unique(Mention.objects.filter(place=other), "place", survivor, ("letter_id",))
        report["places_within"] += Place.objects.filter(country=other).exclude(pk=survivor.pk).update(country=survivor)
        for name in [other.name, *other.variants.values_list("name", flat=True)]:
            if name not in known:
                PlaceName.objects.create(place=survivor, name=name, note=_("from merged record %s") % other.slug)
                known.add(name)
                report["variants"] += 1
        for field in ("geonames", "wikidata", "latitude", "longitude"):
            if getattr(survivor, field) in (None, "") and getattr(other, field) not in (None, ""):
                setattr(survivor, field, getattr(other, field))
        Place.objects.filter(merged_into=other).update(merged_into=survivor)
        other.merged_into = survivor
        other.save(update_fields=["merged_into", "modified"])
    survivor.save()
    return dict(report)


def duplicate_candidates(queryset):
    """Groups of records whose name or a variant is the same after accent and case folding."""
    groups = defaultdict(set)
    for record in queryset.filter(merged_into__isnull=True).prefetch_related("variants"):
        for name in [record.name, *(variant.name for variant in record.variants.all())]:
            groups[fold(name)].add(record)
    seen = set()
    candidates = []
    for key, records in sorted(groups.items()):
        if len(records) < 2:
            continue
        ids = frozenset(record.pk for record in records)
        if ids in seen:
            continue
        seen.add(ids)
        candidates.append((key, sorted(records, key=lambda record: record.name)))
    return candidates
