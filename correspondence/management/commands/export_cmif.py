"""
Write the archive's published letters as a CMIF file (TEI XML).

Usage::

    python manage.py export_cmif --base-url https://archive.example.org [--output FILE]

The file lists every published letter: who sent it, from where and when, to
whom, and the source document it comes from, with links to the letters'
permalinks (made from ``--base-url``). It is valid CMIF v1.1 (checked against
the RelaxNG schema shipped in correspondence/schemas/ before it is written),
ready for correspSearch and other aggregators. Without ``--output`` it goes to
standard output.
"""

from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from correspondence.cmif import schema_errors, write_cmif
from correspondence.models import Letter


class Command(BaseCommand):
    help = "Write the published letters as a CMIF file (TEI XML) for correspSearch and other aggregators."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            required=True,
            help="Public address of the archive, e.g. https://archive.example.org: permalinks are made from it.",
        )
        parser.add_argument("--output", "-o", default="-", help="File to write (default: standard output).")

    def handle(self, base_url, output, **options):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CommandError(f"--base-url {base_url!r}: give the archive's address, e.g. https://archive.example.org")
        data = write_cmif(Letter.objects.all(), base_url=base_url)
        errors = schema_errors(data)
        if errors:
            raise CommandError("The CMIF written is not valid; nothing was saved:\n" + "\n".join(errors[:20]))
        if output == "-":
            self.stdout.write(data.decode("utf-8"), ending="")
            return
        try:
            Path(output).write_bytes(data)
        except OSError as error:
            raise CommandError(f"{output}: cannot be written: {error.strerror or error}") from None
        count = data.count(b"<correspDesc ")
        self.stderr.write(self.style.SUCCESS(f"Wrote {count} letters to {output}."))
