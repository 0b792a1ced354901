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
per write, not one per row. A letter's links count whichever
is written first, the letter or its parts (keys are checked at commit), and
a change of status publishes or withdraws all of them; a part's trigger
locks its letter (``FOR SHARE``) before reading its status, so that a letter
published while its parts change is counted once. ``TRUNCATE`` of one of the
tables counts again what is left (nothing, after Django's ``flush``). An
import tells the triggers to leave its writes alone and counts the links of
its new letters in one statement at its end (``counted_at_end``: 1.3 s at
100,000 letters, against 4 s of triggers batch by batch).

Costs: a write takes a row lock on the counts it changes until its transaction
ends, so two transactions that change the count of the same record take turns
(a curator's save waits, at most, for the end of an import that counts the
same sender); two that change several counts in opposite orders over several
statements can deadlock, and PostgreSQL then cancels one (a curator saves
again). The table is derived: backups leave it out (``backup_archive``), the
triggers rebuild it as a restore loads the letters, ``recount()`` computes it
from scratch (tests compare the two) and ``manage.py recount_facets`` rebuilds
it.

On SQLite the table stays empty and the facets are counted as before.
"""

import contextlib

from django.db import connections, models, transaction

#: The facets counted here: facet name -> what the rows count.
COUNTED = ("sender", "signatory", "recipient", "copy", "place_written", "source", "place_mentioned")

#: The links of the published letters among ``{letters}``, (facet, record) a row: what the counts must equal.
LINKS_OF = """
    SELECT p.role AS facet, p.agent_id AS record FROM correspondence_participation p
        JOIN {letters} l ON l.id = p.letter_id WHERE l.status = 'published'
    UNION ALL SELECT 'place_written', l.place_written_id FROM {letters} l
        WHERE l.status = 'published' AND l.place_written_id IS NOT NULL
    UNION ALL SELECT 'source', l.source_id FROM {letters} l
        WHERE l.status = 'published' AND l.source_id IS NOT NULL
    UNION ALL SELECT 'place_mentioned', m.place_id FROM correspondence_mention m
        JOIN {letters} l ON l.id = m.letter_id WHERE l.status = 'published' AND m.place_id IS NOT NULL
"""
LINKS_SQL = LINKS_OF.format(letters="correspondence_letter")
RECOUNT_SQL = f"""
    INSERT INTO correspondence_facetcount (facet, record, n)
    SELECT facet, record, count(*) FROM ({LINKS_SQL}) links GROUP BY facet, record
"""  # noqa: S608 - no values

#: Adds the links of the letters whose ids are given (an array) to the counts, in a fixed order (row locks).
ADD_LETTERS_SQL = f"""
    WITH chosen AS MATERIALIZED (
        SELECT id, status, place_written_id, source_id FROM correspondence_letter WHERE id = ANY(%s::bigint[])
    )
    INSERT INTO correspondence_facetcount AS f (facet, record, n)
    SELECT facet, record, count(*) FROM ({LINKS_OF.format(letters="chosen")}) links
    GROUP BY facet, record ORDER BY facet, record
    ON CONFLICT (facet, record) DO UPDATE SET n = f.n + excluded.n
"""  # noqa: S608 - no values but the ids, a parameter


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


def rebuild(using="default"):
    """Compute the table again from the letters (``manage.py recount_facets``): a repair, never needed in use."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("LOCK TABLE correspondence_facetcount IN EXCLUSIVE MODE")  # writers wait; readers read
        cursor.execute("DELETE FROM correspondence_facetcount")
        cursor.execute(RECOUNT_SQL)


def kept(using="default"):
    """{(facet, record): n} as the table holds them, zeros left out."""
    rows = FacetCount.objects.using(using).exclude(n=0).values_list("facet", "record", "n")
    return {(facet, record): n for facet, record, n in rows}


@contextlib.contextmanager
def counted_at_end(using="default"):
    """
    PostgreSQL: the triggers leave uncounted what this transaction writes in
    the block, and at its end the links of the letters whose ids the caller
    added to the list yielded are counted, in one statement; in a savepoint
    (an error undoes both). For an import: the letters it creates, with their
    parts, and nothing else (a change to another letter in the block would
    go uncounted). Its count rows are then locked only from that statement to
    the commit, not from its first batch on: concurrent writers (curators,
    another import) wait for it less, and cannot deadlock with it over the
    order in which batches met the counts. Elsewhere: nothing to do.
    """
    letters = []
    if not is_kept(using):
        yield letters
        return
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT set_config('correspondence.facet_counts', 'deferred', true)")
        yield letters
        cursor.execute("SELECT set_config('correspondence.facet_counts', '', true)")
        if letters:
            cursor.execute(ADD_LETTERS_SQL, [letters])
