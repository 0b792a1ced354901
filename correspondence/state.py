"""
The archive's generation: a number that grows whenever anything public may
have changed, so that summaries computed over many letters (facet counts,
charts, result counts, the home page's figures) can be cached under a key that
includes it and never be served stale.

Usage::

    from correspondence.state import cached

    facets = cached("facets", key_parts, lambda: filterset.facets())

The generation lives in the database (one row), not in the cache: every app
server reads the same one (one primary-key lookup per request that uses the
cache, remembered for the rest of the request), and a transaction rolled back
takes its change back with it. It grows on every save and delete of the
archive's models (signals, connected by the app config), and wherever data is
written without signals: imports, merges, reindexing (``bump``). The cached
values expire anyway after ``SUMMARY_CACHE_SECONDS`` (settings), a bound on
what a write that bypasses all of these could leave stale.
"""

import hashlib
import json

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import get_language


class ArchiveState(models.Model):
    """One row: the generation of the archive's data."""

    generation = models.BigIntegerField(default=0)

    class Meta:
        app_label = "correspondence"
        verbose_name = "archive state"
        verbose_name_plural = "archive state"

    def __str__(self):
        return f"generation {self.generation}"


STATE_ID = 1


def generation():
    """The current generation (0 before anything has been written)."""
    value = ArchiveState.objects.filter(pk=STATE_ID).values_list("generation", flat=True).first()
    return value or 0


def bump():
    """Mark the archive as changed: every cached summary is out of date."""
    if not ArchiveState.objects.filter(pk=STATE_ID).update(generation=F("generation") + 1):
        ArchiveState.objects.get_or_create(pk=STATE_ID, defaults={"generation": 1})


def _changed(sender, **kwargs):
    if sender is ArchiveState:
        return
    bump()


def connect_signals():
    """Bump the generation on every save and delete of the app's models (called by the app config)."""
    from django.apps import apps

    for model in apps.get_app_config("correspondence").get_models():
        if model is ArchiveState or not model._meta.managed:
            continue
        uid = f"state-{model.__name__}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}-saved")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}-deleted")
        for field in model._meta.many_to_many:
            m2m_changed.connect(_changed, sender=field.remote_field.through, dispatch_uid=f"{uid}-{field.name}")


def request_generation(request=None):
    """The generation, read once per request (every time without one)."""
    if request is None:
        return generation()
    current = getattr(request, "_archive_generation", None)
    if current is None:
        current = request._archive_generation = generation()
    return current


def cache_key(name, parts, current_generation):
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"archive:{name}:{current_generation}:{get_language() or ''}:{digest}"


_MISSING = object()


def cached(name, parts, compute, *, request=None):
    """
    ``compute()``, cached under ``name`` and ``parts`` (anything JSON can
    write) for the current generation and interface language. With a
    ``request``, the generation is read once for that request.
    """
    key = cache_key(name, parts, request_generation(request))
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, getattr(settings, "SUMMARY_CACHE_SECONDS", 600))
    return value
