"""
Dump the whole archive to one file, for ``restore_archive``.

Usage::

    python manage.py backup_archive backups/archive-2026-11-23.json.gz

The file holds every record of the archive with its primary key (letters,
their parts, people, organisations, places, cited and source documents), the
full history (django-reversion), staff accounts and the admin log. The search
index is left out: ``restore_archive`` rebuilds it; so are the facet counts
(``facet_counts``), which the database keeps as the letters are restored. A name ending in ``.gz``,
``.bz2``, ``.xz`` or ``.lzma`` is compressed.
"""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DERIVED_MODELS = [
    "correspondence.lettersearchtext",
    "correspondence.spellingkey",
    "correspondence.letterfulltextrow",
    "correspondence.facetcount",  # kept by PostgreSQL's triggers as the letters are restored
]
BACKED_UP = ["correspondence", "reversion", "auth.user", "admin.logentry"]


class Command(BaseCommand):
    help = "Write the whole archive (records, history, staff accounts) to a file that restore_archive reads."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Where to write, e.g. backups/archive.json.gz")

    def handle(self, file, **options):
        path = Path(file)
        if not path.parent.exists():
            raise CommandError(f"The folder {path.parent} does not exist: create it first.")
        call_command(
            "dumpdata",
            *BACKED_UP,
            exclude=DERIVED_MODELS,
            natural_foreign=True,
            indent=None,
            output=str(path),
            verbosity=0,
        )
        self.stdout.write(self.style.SUCCESS(f"Archive written to {path} ({path.stat().st_size} bytes)."))
