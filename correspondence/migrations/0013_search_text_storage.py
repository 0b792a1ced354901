"""
PostgreSQL: how the long values of the search text are stored.

* ``vector``: out of line and never compressed (``STORAGE EXTERNAL``). A
  tsvector does not compress (2,800 bytes a letter at 100,000 letters, the
  same after pglz), and the server tried on every row it wrote, for nothing.
* ``text`` (and a paragraph's text, when one is long enough to be
  compressed): lz4 instead of pglz, when the server was built with it (as
  Debian's packages and the official images are). Measured at 100,000
  letters: their search rows copied in 10.0 s instead of 13.2 (GIN index
  aside), for 12% more bytes (1,930 a letter against 1,720).

Only values written from now on change; the stored ones are read as they
are. Without lz4, the columns keep pglz. Nothing changes on SQLite.
"""

from django.db import migrations

FORWARDS = [
    "ALTER TABLE correspondence_lettersearchtext ALTER COLUMN vector SET STORAGE EXTERNAL",
    """
    DO $$
    BEGIN
        ALTER TABLE correspondence_lettersearchtext ALTER COLUMN text SET COMPRESSION lz4;
        ALTER TABLE correspondence_paragraph ALTER COLUMN text SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported THEN
        RAISE NOTICE 'this PostgreSQL server has no lz4: long texts stay compressed with pglz';
    END
    $$
    """,
]

BACKWARDS = [
    "ALTER TABLE correspondence_lettersearchtext ALTER COLUMN vector SET STORAGE EXTENDED",
    "ALTER TABLE correspondence_lettersearchtext ALTER COLUMN text SET COMPRESSION default",
    "ALTER TABLE correspondence_paragraph ALTER COLUMN text SET COMPRESSION default",
]


def _run(*statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("correspondence", "0012_facet_counts"),
    ]

    operations = [
        migrations.RunPython(_run(*FORWARDS), _run(*BACKWARDS), elidable=False),
    ]
