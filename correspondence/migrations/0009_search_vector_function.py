"""
PostgreSQL: a letter's search vector as a function of its four search texts,
``correspondence_search_vector(title, names, summary, text)``, which the
trigger of migration 0003 now calls, and a vector given with a new row kept.

The importer computes the vectors of a batch with that function on a second
connection while the first one writes the previous batch (two server
processes instead of one: the French parser is most of an import's cost), and
inserts them with the rows. Any other insert gives no vector, and every update
computes it again: the stored vector is always the function of the texts.
Nothing changes on SQLite.
"""

from django.db import migrations

VECTOR = """
    CREATE FUNCTION correspondence_search_vector(title text, names text, summary text, body text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(title, ''), '[/.@:<>&]+', ' ', 'g')), 'A')
            || setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(names, ''), '[/.@:<>&]+', ' ', 'g')), 'A')
            || setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(summary, ''), '[/.@:<>&]+', ' ', 'g')), 'B')
            || setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(body, ''), '[/.@:<>&]+', ' ', 'g')), 'C')
    $$
"""

TRIGGER = """
    CREATE OR REPLACE FUNCTION correspondence_lettersearchtext_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' AND NEW.vector IS NOT NULL THEN
            RETURN NEW;  -- computed by the importer with correspondence_search_vector
        END IF;
        NEW.vector := correspondence_search_vector(NEW.title, NEW.names, NEW.summary, NEW.text);
        RETURN NEW;
    END
    $$
"""

# The trigger function of migration 0003, as it was.
TRIGGER_BEFORE = """
    CREATE OR REPLACE FUNCTION correspondence_lettersearchtext_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.vector :=
            setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(NEW.title, ''), '[/.@:<>&]+', ' ', 'g')), 'A')
            || setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(NEW.names, ''), '[/.@:<>&]+', ' ', 'g')), 'A')
            || setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(NEW.summary, ''), '[/.@:<>&]+', ' ', 'g')), 'B')
            || setweight(to_tsvector('french_unaccent', regexp_replace(coalesce(NEW.text, ''), '[/.@:<>&]+', ' ', 'g')), 'C');
        RETURN NEW;
    END
    $$
"""


def _run(*statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("correspondence", "0008_facet_count_indexes"),
    ]

    operations = [
        migrations.RunPython(
            _run(VECTOR, TRIGGER),
            _run(TRIGGER_BEFORE, "DROP FUNCTION IF EXISTS correspondence_search_vector(text, text, text, text)"),
            elidable=False,
        ),
    ]
