"""
Compute again the facet counts that PostgreSQL keeps (``correspondence.facet_counts``).

Usage::

    python manage.py recount_facets

A repair: the triggers keep the counts as letters are written, and nothing in
the archive needs this. Writers wait while it runs (a second at 100,000
letters); readers do not. Does nothing on SQLite, where the facets are counted
when asked.
"""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from correspondence import facet_counts, state


class Command(BaseCommand):
    help = "Compute again the facet counts PostgreSQL keeps (a repair; the triggers keep them)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database to recount.")

    def handle(self, database, **options):
        if not facet_counts.is_kept(database):
            self.stdout.write("Nothing to do: this database counts the facets when they are asked for.")
            return
        facet_counts.rebuild(database)
        state.bump()  # the cached facets were made from the counts before
        rows = facet_counts.FacetCount.objects.using(database).exclude(n=0).count()
        self.stdout.write(self.style.SUCCESS(f"Facet counts made again: {rows} records counted."))
