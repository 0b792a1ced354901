"""
Full-text indexes for LetterSearchText, one per database (see correspondence/search.py).

PostgreSQL: the unaccent extension, a ``french_unaccent`` text search
configuration (``french`` with unaccent before the French stemmer), a trigger
that stores the weighted tsvector in ``vector``, and a GIN index on it.

SQLite: an external-content FTS5 table over the four text columns, kept in
sync by triggers. It also has the letter's id as an UNINDEXED column, which
the search joins on (not on the FTS5 rowid): FTS5 cannot look rows up by
that column, so SQLite has to read the full-text index first and fetch the
letters it names; joined on the rowid, SQLite may instead run the full-text
query once per letter that the other filters keep (seconds to minutes on
100,000 letters). Django drops a table's triggers when it remakes the table on
SQLite (any later AlterField on LetterSearchText): recreate them in that
migration.

Then existing letters are indexed (nothing to do on a new database; on an
existing one, ``manage.py rebuild_search_index`` does the same).
"""

from django.db import migrations

POSTGRESQL_FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'french_unaccent') THEN
            CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = french);
            ALTER TEXT SEARCH CONFIGURATION french_unaccent
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
        END IF;
    END
    $$
    """,
    # PostgreSQL's parser reads S/RES/822, H.Aliyev or a@b.az as single tokens (file, host, email) and
    # drops <tags> and &entities;. Like FTS5, index their words one by one: blank out / . @ : < > & first.
    """
    CREATE FUNCTION correspondence_lettersearchtext_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.vector :=
            setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(NEW.title, ''), '[/.@:<>&]+', ' ', 'g')), 'A')
            || setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(NEW.names, ''), '[/.@:<>&]+', ' ', 'g')), 'A')
            || setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(NEW.summary, ''), '[/.@:<>&]+', ' ', 'g')), 'B')
            || setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(NEW.text, ''), '[/.@:<>&]+', ' ', 'g')), 'C');
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER correspondence_lettersearchtext_vector
        BEFORE INSERT OR UPDATE ON correspondence_lettersearchtext
        FOR EACH ROW EXECUTE FUNCTION correspondence_lettersearchtext_vector()
    """,
    "CREATE INDEX correspondence_lettersearchtext_vector_gin ON correspondence_lettersearchtext USING gin (vector)",
]

POSTGRESQL_BACKWARDS = [
    "DROP INDEX IF EXISTS correspondence_lettersearchtext_vector_gin",
    "DROP TRIGGER IF EXISTS correspondence_lettersearchtext_vector ON correspondence_lettersearchtext",
    "DROP FUNCTION IF EXISTS correspondence_lettersearchtext_vector()",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS french_unaccent",
    # The unaccent extension stays: other code may use it.
]

_FTS_COLUMNS = "letter_id, title, names, summary, text"
_NEW_ROW = "new.letter_id, new.letter_id, new.title, new.names, new.summary, new.text"
_OLD_ROW = "old.letter_id, old.letter_id, old.title, old.names, old.summary, old.text"
# Constants only: no outside input reaches these statements.
_DELETE_OLD = (
    f"INSERT INTO correspondence_letter_fts(correspondence_letter_fts, rowid, {_FTS_COLUMNS}) "  # noqa: S608
    f"VALUES ('delete', {_OLD_ROW});"
)
_INSERT_NEW = f"INSERT INTO correspondence_letter_fts(rowid, {_FTS_COLUMNS}) VALUES ({_NEW_ROW});"  # noqa: S608

SQLITE_FORWARDS = [
    """
    CREATE VIRTUAL TABLE correspondence_letter_fts USING fts5(
        letter_id UNINDEXED, title, names, summary, text,
        content='correspondence_lettersearchtext',
        content_rowid='letter_id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    f"""
    CREATE TRIGGER correspondence_lettersearchtext_fts_insert AFTER INSERT ON correspondence_lettersearchtext
    BEGIN {_INSERT_NEW} END
    """,
    f"""
    CREATE TRIGGER correspondence_lettersearchtext_fts_delete AFTER DELETE ON correspondence_lettersearchtext
    BEGIN {_DELETE_OLD} END
    """,
    f"""
    CREATE TRIGGER correspondence_lettersearchtext_fts_update AFTER UPDATE ON correspondence_lettersearchtext
    BEGIN {_DELETE_OLD} {_INSERT_NEW} END
    """,
    "INSERT INTO correspondence_letter_fts(correspondence_letter_fts) VALUES ('rebuild')",
]

SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS correspondence_lettersearchtext_fts_insert",
    "DROP TRIGGER IF EXISTS correspondence_lettersearchtext_fts_delete",
    "DROP TRIGGER IF EXISTS correspondence_lettersearchtext_fts_update",
    "DROP TABLE IF EXISTS correspondence_letter_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


def index_existing_letters(apps, schema_editor):
    if not apps.get_model("correspondence", "Letter").objects.exists():
        return
    from correspondence.search import rebuild_search_index

    rebuild_search_index(registry=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("correspondence", "0002_search_tables"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_FORWARDS, "sqlite": SQLITE_FORWARDS}),
            _run({"postgresql": POSTGRESQL_BACKWARDS, "sqlite": SQLITE_BACKWARDS}),
            elidable=False,
        ),
        migrations.RunPython(index_existing_letters, migrations.RunPython.noop, elidable=True),
    ]
