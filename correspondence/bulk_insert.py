"""
Writing many rows of one model at once, without a model instance per row:
what the importer uses for letters and their parts.

Usage::

    from correspondence.bulk_insert import RowWriter

    paragraphs = RowWriter(Paragraph, ["id", "letter_id", "position", "kind", "page", "text"], using="default")
    ids = paragraphs.reserve_ids(len(rows))          # primary keys, before the rows exist
    paragraphs.insert([(ids[0], letter_id, 1, "body", "", "Monsieur le Président,"), ...])

    prepared = paragraphs.prepare(rows)            # the same in two steps: pure Python (a thread may do it)...
    paragraphs.send(prepared)                      # ...then the database

``bulk_create`` builds a model instance per row and compiles every value
through the ORM, which costs more than the database's own work when a
letter brings twenty rows. Here a row is a tuple of values in the order of
``fields`` (attribute names: ``letter_id``, not ``letter``); every other
concrete field takes its default, ``auto_now``/``auto_now_add`` fields the
time the writer was made. Values of types a driver does not take as they are
(dates on SQLite, for instance) go through ``Field.get_db_prep_save``; text,
numbers, booleans and keys are passed through. Like ``bulk_create``, this
sends no signals and validates nothing: the caller has checked the values,
and the database's constraints still apply.

* SQLite: one ``executemany`` per call (the sqlite3 module loops in C).
* PostgreSQL: ``COPY ... FROM STDIN`` (psycopg2's ``copy_expert``), half
  the time of ``INSERT ... SELECT * FROM UNNEST(...)`` (what ``bulk_create``
  does there since Django 5.2), which is the fallback for other drivers.
  COPY goes around Django's cursor wrapper: it is not in ``connection.queries``.
  ``binary=True`` copies in PostgreSQL's binary format: a column of a type
  the writer does not encode itself takes its value as the type's binary form
  (``bytes``, what its send function gives, ``tsvectorsend(vector)`` for
  instance), which the server reads back without parsing text (a search
  vector: 60 µs of the server's time a letter in text, a few in binary).
* Elsewhere: ``executemany``.

A first load into an empty archive may check the foreign keys of the
tables it fills once, at the end (``foreign_keys_checked_at_end``), instead
of once per row.

Primary keys, for rows that others point to, are reserved before the insert
(``reserve_ids``): on PostgreSQL from the table's sequence (safe with
concurrent writers); on SQLite after the larger of the table's
AUTOINCREMENT counter and its largest id, so that the id of a deleted row is
never given again. SQLite lets one writer at a time in: reserve inside the
transaction that inserts the rows (a writer that slipped in between would
make the insert fail on the primary key, and the transaction roll back).
"""

import contextlib
import io
import struct

from django.db import NotSupportedError, connections, transaction
from django.utils import timezone

#: Rows per statement on PostgreSQL.
BATCH_SIZE = 2000

#: Internal types whose Python values every driver takes as they are.
PASSED_THROUGH = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
    "URLField",
}


class RowWriter:
    """Inserts rows of ``model`` given as tuples of the values of ``fields``, in that order."""

    def __init__(self, model, fields, *, using="default", binary=False):
        self.model, self.using = model, using
        self.connection = connection = connections[using]
        meta = model._meta
        given = [meta.get_field(name) for name in fields]
        if [field.attname for field in given] != list(fields):
            raise ValueError(f"{model.__name__}: give attribute names ({[field.attname for field in given]}).")
        now = timezone.now()
        self.defaults = []  # (field, value) for the concrete fields not given, the primary key aside
        for field in meta.concrete_fields:
            if field.attname in fields or field.primary_key:
                continue
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = now
            else:
                value = field.get_default()
            self.defaults.append((field, field.get_db_prep_save(value, connection)))
        self.fields = given + [field for field, _value in self.defaults]
        #: Positions of the given values to adapt, with their field.
        self.adapted = [
            (index, field) for index, field in enumerate(given) if field.get_internal_type() not in PASSED_THROUGH
        ]
        self.default_values = tuple(value for _field, value in self.defaults)
        quote = connection.ops.quote_name
        self.table = quote(meta.db_table)
        self.columns = ", ".join(quote(field.column) for field in self.fields)
        self.next_free = 0  # SQLite: the first id after those this writer has reserved
        #: Rows go in with COPY (psycopg2 on PostgreSQL; psycopg 3 copies otherwise: the fallback serves it).
        self.copies = connection.vendor == "postgresql" and not _is_psycopg3()
        #: Binary COPY: an encoder per column (else the value is the column's binary form already).
        self.encoders = None
        if binary:
            if not self.copies:
                raise NotSupportedError("Binary rows are written with COPY, on PostgreSQL with psycopg2.")
            self.encoders = [
                _BINARY_ENCODERS.get(field.db_type(connection).split("(")[0], _binary_form) for field in self.fields
            ]

    def reserve_ids(self, count):
        """``count`` primary keys that no row has had or will be given by the database: a list."""
        if not count:
            return []
        pk = self.model._meta.pk
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [self.model._meta.db_table, pk.column, count],
                )
                return [row[0] for row in cursor.fetchall()]
            if self.connection.vendor == "sqlite":
                cursor.execute(
                    f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
                    f"COALESCE((SELECT MAX({self.connection.ops.quote_name(pk.column)}) FROM {self.table}), 0))",
                    [self.model._meta.db_table],
                )
                # Ids reserved earlier by this writer may not be written yet (``prepare`` ahead of ``send``).
                start = max(cursor.fetchone()[0] + 1, self.next_free)
                self.next_free = start + count
                return list(range(start, start + count))
        raise NotSupportedError(f"Reserving primary keys is not implemented for {self.connection.vendor}.")

    def insert(self, rows):
        """Write these rows (tuples of the given fields' values) in as few statements as the database allows."""
        self.send(self.prepare(rows))

    def prepare(self, rows):
        """
        What ``send`` writes: the rows adapted for the driver, in COPY's text
        (or binary) format on PostgreSQL. Pure Python, without the database: an importer
        prepares the next batch in a thread while the database writes this one.
        """
        if not rows:
            return None
        if self.adapted:
            connection = self.connection
            adapted = []
            for row in rows:
                row = list(row)
                for index, field in self.adapted:
                    row[index] = field.get_db_prep_save(row[index], connection)
                adapted.append(row)
            rows = adapted
        defaults = self.default_values
        if self.encoders is not None:
            encoders, count = self.encoders, struct.pack(">h", len(self.fields))
            chunks = [_BINARY_HEADER]
            for row in rows:
                chunks.append(count)
                for encode, value in zip(encoders, (*row, *defaults), strict=True):
                    if value is None:
                        chunks.append(_BINARY_NULL)
                    else:
                        value = encode(value)
                        chunks.append(len(value).to_bytes(4, "big"))
                        chunks.append(value)
            chunks.append(_BINARY_TRAILER)
            return b"".join(chunks)
        if self.copies:
            end = "".join(f"\t{_copy_text(value)}" for value in defaults) + "\n"
            return "".join(["\t".join(map(_copy_text, row)) + end for row in rows])
        if self.connection.vendor == "postgresql":
            return rows
        return [(*row, *defaults) for row in rows] if defaults else rows

    def send(self, prepared):
        """Write what ``prepare`` made of the rows."""
        if not prepared:
            return
        with self.connection.cursor() as cursor:
            if self.encoders is not None:
                cursor.copy_expert(
                    f"COPY {self.table} ({self.columns}) FROM STDIN (FORMAT binary)",
                    io.BytesIO(prepared),
                    len(prepared),
                )
                return
            if self.copies:
                cursor.copy_expert(
                    f"COPY {self.table} ({self.columns}) FROM STDIN", io.StringIO(prepared), len(prepared)
                )
                return
            if self.connection.vendor == "postgresql":
                types = ", ".join(f"(%s)::{field.db_type(self.connection).split('(')[0]}[]" for field in self.fields)
                sql = f"INSERT INTO {self.table} ({self.columns}) SELECT * FROM UNNEST({types})"  # noqa: S608
                for start in range(0, len(prepared), BATCH_SIZE):
                    batch = prepared[start : start + BATCH_SIZE]
                    columns = [list(column) for column in zip(*batch, strict=True)]
                    columns += [[value] * len(batch) for value in self.default_values]
                    cursor.execute(sql, columns)
                return
            placeholders = ", ".join(["%s"] * len(self.fields))
            sql = f"INSERT INTO {self.table} ({self.columns}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, prepared)


@contextlib.contextmanager
def foreign_keys_checked_at_end(models, targets, *, using="default"):
    """
    PostgreSQL: the foreign keys from the tables of ``models`` to those of
    ``models`` and ``targets`` are dropped for the block and added again at
    its end, which checks every row in one query per key. Checked row by row,
    at commit (Django's keys are deferred), they cost 14 of the 118 seconds
    of a 100,000-letter import, with nothing else to do meanwhile; added
    again, under a second ("Populating a Database" in PostgreSQL's manual).

    The block runs in a savepoint: a row that breaks a key makes the block
    raise ``IntegrityError`` and everything in it is undone; an error inside
    it puts the keys back as they were (the schema is transactional). Until
    the transaction ends, the tables of the keys (both ends) are locked
    against every other reader: for a first load into an empty archive, not
    for an import into an archive that people are reading.

    Elsewhere (SQLite) the block runs as it is, the keys checked as usual.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    tables = [model._meta.db_table for model in models]
    targeted = tables + [model._meta.db_table for model in targets]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        _check_pending_keys(cursor)  # a table with pending checks cannot be altered
        cursor.execute(
            "SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', conrelid::regclass, conname), "
            "format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', conrelid::regclass, conname, pg_get_constraintdef(oid)) "
            "FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid = ANY(%s::text[]::regclass[]) AND confrelid = ANY(%s::text[]::regclass[]) "
            "ORDER BY conrelid::regclass::text, conname",
            [tables, targeted],
        )
        keys = cursor.fetchall()
        for drop, _add in keys:
            cursor.execute(drop)
        yield
        _check_pending_keys(cursor)
        for _drop, add in keys:
            cursor.execute(add)


def _check_pending_keys(cursor):
    """
    Run the key checks deferred so far, then defer again (as Django's
    ``check_constraints`` does): a table with checks pending cannot be altered.
    """
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _is_psycopg3():
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def _encoded_text(value):
    if not isinstance(value, str):
        raise TypeError(f"Binary COPY takes text for a text column, not {type(value).__name__}.")
    return value.encode()


#: PostgreSQL's binary COPY: the header (signature, flags, no extension), a NULL, the end.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_BINARY_NULL = struct.pack(">i", -1)
_BINARY_TRAILER = struct.pack(">h", -1)

#: Binary forms of the columns' values, by database type (the send functions' output).
_BINARY_ENCODERS = {
    "bigint": struct.Struct(">q").pack,
    "integer": struct.Struct(">i").pack,
    "smallint": struct.Struct(">h").pack,
    "boolean": lambda value: b"\x01" if value else b"\x00",
    "varchar": _encoded_text,
    "text": _encoded_text,
}


def _binary_form(value):
    """The value of a column the writer does not encode: its binary form, made by the caller."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"Binary COPY takes this column's binary form (bytes), not {type(value).__name__}.")
    return value if isinstance(value, bytes) else bytes(value)


def _copy_text(value):
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


def create(model, instances, *, using="default"):
    """
    Like ``bulk_create`` for new instances, without compiling each value
    through the ORM: reserve their primary keys, set them, write their rows.
    ``auto_now``/``auto_now_add`` fields get the current time.
    """
    if not instances:
        return
    fields = [
        field.attname
        for field in model._meta.concrete_fields
        if not (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
    ]
    writer = RowWriter(model, fields, using=using)
    for instance, pk in zip(instances, writer.reserve_ids(len(instances)), strict=True):
        instance.pk = pk
        instance._state.adding, instance._state.db = False, using
    writer.insert([tuple(getattr(instance, name) for name in fields) for instance in instances])
