"""
Import letters from CMIF files and from the archive's own JSON export.

Usage::

    python manage.py import_letters FILE [FILE ...] [--status published|review|draft]
                                    [--language CODE] [--dry-run]

A FILE is CMIF (TEI XML, as published by scholarly editions and harvested by
correspSearch) or the archive's JSON (what ``/letters/?format=json`` and
``/letters/<id>/?format=json`` return, or a list of such letters). All files
are imported in one transaction: if one cannot be read, the error names the
file, the line and the element, and nothing is written. ``--dry-run`` reports
what would be created and writes nothing.

Progress goes to standard error, a line per file read and a line per batch
of letters written (``1000/100000 letters written. [#---...] 1%, 1,200
letters/s.``); the summary, with the speed, to standard output. Files of any
size are read in flat memory (JSON one letter at a time), and the letters
are written in bulk: about 1,000 letters a second on SQLite, most of the
time going to the full-text index.

Importing the same file again creates nothing: letters keep a stable
identifier, and people, organisations and places are matched by authority
identifier (GND, VIAF, Wikidata, ISNI, GeoNames), then by name. See
``correspondence/importers.py`` for the details.
"""

import contextlib
import gc
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, router

from correspondence.importers import ImportFailed, import_files
from correspondence.models import Letter, PublicationStatus


class Command(BaseCommand):
    help = "Import letters from CMIF (TEI XML) or JSON files, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="CMIF (.xml) or JSON (.json) files.")
        parser.add_argument(
            "--status",
            choices=PublicationStatus.values,
            default=PublicationStatus.PUBLISHED,
            help="Status of the imported letters and of the new records they bring (default: published).",
        )
        parser.add_argument(
            "--language",
            default="",
            help="ISO 639-1 code for letters whose file gives no language (default: the archive's, fr).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report what would be created; write nothing.")

    def handle(self, files, status, language, dry_run, **options):
        if len(language) > 10:
            raise CommandError(f"--language {language!r}: give an ISO 639-1 code such as de or fr.")
        stderr = self.stderr if options.get("verbosity", 1) > 0 else None
        try:
            with fewer_collections():
                report = import_files(
                    files,
                    status=status,
                    language=language,
                    dry_run=dry_run,
                    progress=(lambda line: stderr.write(line)) if stderr else None,
                )
        except ImportFailed as error:
            raise CommandError(f"{error} Nothing was imported.") from None
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        self.stdout.write(self.style.SUCCESS(report.summary()) if not dry_run else report.summary())
        if not dry_run and report.letters >= ANALYZE_AFTER:
            seconds = refresh_planner_statistics()
            if stderr:
                stderr.write(f"Planner statistics refreshed (ANALYZE) in {seconds:.1f} s.")


@contextlib.contextmanager
def fewer_collections(young=50_000):
    """
    Python's cycle collector, less often for the block: the objects already
    there set aside (``gc.freeze``: the full collections that an import's
    hundreds of thousands of new objects set off no longer go through all of
    Django's), and the youngest generation collected every ``young``
    allocations instead of 700. An import makes few cycles; a collection
    pass is mostly cost to it (100,000 letters on PostgreSQL: 105.8 -> 103.4 s,
    the check of the file 23.6 -> 21.9 s; peak memory the same). Put back as
    it was afterwards. This command is a process of its own: nothing else
    shares its collector.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


#: Letters imported at once from which the planner's statistics are refreshed: without them, after a
#: bulk load, SQLite and PostgreSQL choose full scans for the list's facets and charts (seconds at 100k).
ANALYZE_AFTER = 1000


def refresh_planner_statistics():
    """
    ANALYZE the database (SQLite: sampled, ``analysis_limit``); the seconds it
    took. PostgreSQL outside a transaction: VACUUM (ANALYZE), which also marks
    the new rows' pages all-visible, so that counts read from an index alone
    (the whole archive's facets and charts) need not visit the table, and
    autovacuum has nothing left to do while readers arrive.
    """
    started = time.perf_counter()
    connection = connections[router.db_for_write(Letter)]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 2000")
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started
