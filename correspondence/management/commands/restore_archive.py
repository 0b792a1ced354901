"""
Restore a file written by ``backup_archive`` into an empty, migrated database.

Usage::

    python manage.py migrate
    python manage.py restore_archive backups/archive-2026-11-23.json.gz

All or nothing: the records are loaded in one transaction, then the search
index is rebuilt. The command refuses a database that already holds letters
or authority records, so that a restore never mixes two archives.
"""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from correspondence import search
from correspondence.models import Agent, CitedDocument, Letter, Place, SourceDocument


class Command(BaseCommand):
    help = "Load a backup_archive file into an empty database and rebuild the search index."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, file, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No backup file at {path}.")
        if any(model.objects.exists() for model in (Letter, Agent, Place, CitedDocument, SourceDocument)):
            raise CommandError(
                "The database already holds records: restore into an empty database "
                "(create it, run `manage.py migrate`, then restore)."
            )
        try:
            with transaction.atomic(), search.deferred_indexing():
                call_command("loaddata", str(path), verbosity=0)
        except Exception as error:
            raise CommandError(f"Could not restore {path}: {error}") from error
        self.stdout.write(self.style.SUCCESS(f"Restored {Letter.objects.count()} letters from {path}."))
