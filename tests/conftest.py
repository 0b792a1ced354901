"""Shared test helpers: plain ``make_*`` functions, not fixtures, with sensible defaults."""

import datetime
import uuid

import pytest

from correspondence.models import (
    Agent,
    Citation,
    CitedDocument,
    Footnote,
    Letter,
    Mention,
    Paragraph,
    Participation,
    Place,
    PublicationStatus,
    SourceDocument,
)


def unique_slug(prefix):
    """Unique even when this module is imported twice (as ``conftest`` and ``tests.conftest``)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def make_agent(name="Anders Knape", **fields):
    fields.setdefault("slug", unique_slug("agent"))
    return Agent.objects.create(name=name, **fields)


def make_place(name="Gandja", **fields):
    fields.setdefault("slug", unique_slug("place"))
    return Place.objects.create(name=name, **fields)


def make_source(title="Communication from the Secretary General", **fields):
    fields.setdefault("slug", unique_slug("source"))
    return SourceDocument.objects.create(title=title, **fields)


def make_cited_document(title="Resolution 822 (1993)", **fields):
    fields.setdefault("slug", unique_slug("cited"))
    return CitedDocument.objects.create(title=title, **fields)


def make_letter(title="Letter from the President to the Secretary General", date=datetime.date(2020, 10, 20), **fields):
    """A letter dated to the day (pass date=None with date_precision="unknown" for an undated one)."""
    fields.setdefault("slug", unique_slug("letter"))
    fields.setdefault("date_from", date)
    fields.setdefault("date_to", date)
    if date is None:
        fields.setdefault("date_precision", Letter.DatePrecision.UNKNOWN)
    return Letter.objects.create(title=title, **fields)


def make_published_letter(title="Lettre au Secrétaire général", **fields):
    """A published letter (make_letter's default status is draft)."""
    fields.setdefault("status", PublicationStatus.PUBLISHED)
    return make_letter(title=title, **fields)


def make_participation(letter, agent, role=Participation.Role.SENDER, **fields):
    return Participation.objects.create(letter=letter, agent=agent, role=role, **fields)


def make_paragraph(letter, text="Monsieur le Secrétaire général,", position=None, **fields):
    if position is None:
        position = letter.paragraphs.count() + 1
    return Paragraph.objects.create(letter=letter, text=text, position=position, **fields)


def make_footnote(letter, marker="1", text="Note de la source.", **fields):
    return Footnote.objects.create(letter=letter, marker=marker, text=text, **fields)


def make_citation(letter, cited_document, quote="la résolution 822 (1993)", **fields):
    return Citation.objects.create(letter=letter, cited_document=cited_document, quote=quote, **fields)


def make_mention(letter, agent=None, place=None, **fields):
    return Mention.objects.create(letter=letter, agent=agent, place=place, **fields)


def load_seeds():
    """The seed collection, indexed for search once at the end rather than at every row."""
    from django.core.management import call_command

    from correspondence.search import deferred_indexing

    with deferred_indexing():
        call_command("loaddata", "seeds", verbosity=0)


@pytest.fixture(scope="module")
def seeded_module(django_db_setup, django_db_blocker):
    """The seeds loaded once for a module of read-only tests, and removed afterwards."""
    with django_db_blocker.unblock():
        load_seeds()
        yield
        for model in (Letter, SourceDocument, CitedDocument, Place, Agent):
            model.objects.all().delete()


@pytest.fixture(autouse=True)
def _empty_cache():
    """
    Each test starts with an empty cache. Cached summaries are keyed by the
    archive's generation, kept in the database: a test's rolled-back
    transaction takes its generation back, and the next test may reach the
    same number with other data.
    """
    from django.core.cache import cache

    cache.clear()
    yield
