"""
PostgreSQL: the number of published letters per record for the simple facets
of the whole archive, kept up to date by the database itself.

Usage::

    from correspondence.facet_counts import COUNTED, FacetCount

    FacetCount.objects.filter(facet="sender").order_by("-n")[:30]  # records by id, with their letters

The public list opens on the whole archive, and every correction empties the
cache of its counts: counting 100,000 senders from an index takes 18-25 ms a
facet, reading them here a millisecond. Kept for the facets whose count is
"links to published letters" (a letter links to a record once in each):

* ``sender``, ``signatory``, ``recipient``, ``copy``: participations by role;
* ``place_written``, ``source``: the letter's own columns;
* ``place_mentioned``: mentions of places.

Statement-level triggers with transition tables (migration 0012) add and take
off the links that each INSERT, UPDATE and DELETE of letters, participations
and mentions makes or unmakes among published letters: one grouped statement
per COPY batch of an import, not one per row. A letter's links count whichever
is written first, the letter or its parts (keys are checked at commit), and
a change of status publishes or withdraws all of them. ``TRUNCATE`` of the
archive's tables (Django's ``flush``) empties this table with them. A first
load into an empty archive turns the triggers off and counts everything once
at the end instead (``recounted_at_end``: 0.5 s at 100,000 letters, against
4 s of triggers).

Costs: a write takes a row lock on the counts it changes until its transaction
ends, so two transactions that change the count of the same record take turns
(a curator's save waits for an import touching the same sender). The table is
derived: backups leave it out (``backup_archive``), the triggers rebuild it as
a restore loads the letters, and ``recount()`` computes it from scratch
(tests compare the two).

On SQLite the table stays empty and the facets are counted as before.
"""

import contextlib

from django.db import connections, models, transaction

from correspondence.bulk_insert import check_pending_keys

#: The facets counted here: facet name -> what the rows count.
COUNTED = ("sender", "signatory", "recipient", "copy", "place_written", "source", "place_mentioned")

#: The links of the published letters, (facet, record) a row: what the counts must equal.
LINKS_SQL = """
    SELECT p.role AS facet, p.agent_id AS record FROM correspondence_participation p
        JOIN correspondence_letter l ON l.id = p.letter_id WHERE l.status = 'published'
    UNION ALL SELECT 'place_written', l.place_written_id FROM correspondence_letter l
        WHERE l.status = 'published' AND l.place_written_id IS NOT NULL
    UNION ALL SELECT 'source', l.source_id FROM correspondence_letter l
        WHERE l.status = 'published' AND l.source_id IS NOT NULL
    UNION ALL SELECT 'place_mentioned', m.place_id FROM correspondence_mention m
        JOIN correspondence_letter l ON l.id = m.letter_id WHERE l.status = 'published' AND m.place_id IS NOT NULL
"""

RECOUNT_SQL = f"""
    INSERT INTO correspondence_facetcount (facet, record, n)
    SELECT facet, record, count(*) FROM ({LINKS_SQL}) links GROUP BY facet, record
"""  # noqa: S608 - no values


class FacetCount(models.Model):
    """The published letters linked to one record in one facet (PostgreSQL; kept by triggers)."""

    facet = models.CharField(max_length=20)
    record = models.BigIntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        app_label = "correspondence"
        verbose_name = "facet count"
        verbose_name_plural = "facet counts"
        constraints = [models.UniqueConstraint(fields=["facet", "record"], name="facetcount_unique")]

    def __str__(self):
        return f"{self.facet} {self.record}: {self.n}"


def is_kept(using):
    """Whether the counts are kept on this database (PostgreSQL)."""
    return connections[using].vendor == "postgresql"


def recount(using="default"):
    """{(facet, record): n} computed from the letters themselves (what the table must hold, zeros aside)."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT facet, record, count(*) FROM ({LINKS_SQL}) links GROUP BY facet, record")  # noqa: S608
        return {(facet, record): n for facet, record, n in cursor.fetchall()}


def kept(using="default"):
    """{(facet, record): n} as the table holds them, zeros left out."""
    rows = FacetCount.objects.using(using).exclude(n=0).values_list("facet", "record", "n")
    return {(facet, record): n for facet, record, n in rows}


#: The tables whose triggers keep the counts.
COUNTED_TABLES = ("correspondence_letter", "correspondence_participation", "correspondence_mention")


@contextlib.contextmanager
def recounted_at_end(using="default"):
    """
    PostgreSQL: the counts' triggers off for the block, and every count
    computed again at its end; in a savepoint, so that an error puts the
    triggers back. Locks the three tables against other writers until the
    transaction ends: for a first load. Elsewhere: nothing.
    """
    if not is_kept(using):
        yield
        return
    triggers = [
        (table, f"{table}_facetcount_{event}") for table in COUNTED_TABLES for event in ("insert", "update", "delete")
    ]
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        check_pending_keys(cursor)
        for table, trigger in triggers:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        yield
        check_pending_keys(cursor)
        for table, trigger in triggers:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        cursor.execute("DELETE FROM correspondence_facetcount")
        cursor.execute(RECOUNT_SQL)
