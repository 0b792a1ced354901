"""
Rebuild the full-text search index of every letter, and the spelling keys of
every person, organisation and place.

Usage::

    python manage.py rebuild_search_index [--recompute] [--dry-run]

Saves and deletes keep the index current by themselves (see
correspondence/search.py); run this after a bulk import that bypassed them
(``bulk_create``, ``update``, raw SQL), after restoring a database, or if
search results look stale. ``--recompute`` also recomputes every stored
PostgreSQL vector, needed only after changing the ``french_unaccent`` text
search configuration. It runs in one transaction: on PostgreSQL, readers see
the old index until it ends.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from correspondence.models import Agent, Letter, LetterSearchText, Place
from correspondence.search import rebuild_search_index


class Command(BaseCommand):
    help = "Rebuild the full-text search index of all letters and the spellings of all names."

    def add_arguments(self, parser):
        parser.add_argument(
            "--recompute",
            action="store_true",
            help="Also recompute every PostgreSQL search vector, changed text or not.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Say what would be rebuilt, change nothing.")

    def handle(self, recompute, dry_run, **options):
        tables = set(connection.introspection.table_names())
        needed = {LetterSearchText._meta.db_table}
        if connection.vendor == "sqlite":
            needed.add("correspondence_letter_fts")
        if missing := needed - tables:
            raise CommandError(
                f"The search tables ({', '.join(sorted(missing))}) are missing: run `python manage.py migrate` first."
            )
        letters, names = Letter.objects.count(), Agent.objects.count() + Place.objects.count()
        if dry_run:
            self.stdout.write(f"Would index {letters} letters and the spellings of {names} names.")
            return
        indexed = rebuild_search_index(recompute=recompute)
        self.stdout.write(self.style.SUCCESS(f"Indexed {indexed} letters and the spellings of {names} names."))
