"""
Full-text search over the letters: one interface, PostgreSQL or SQLite underneath.

Usage::

    from correspondence.search import search_letters, snippet_html

    letters = search_letters(Letter.objects.published(), request.GET.get("q", ""))
    letters = letters.order_by("-search_rank", "date_from", "slug")  # most relevant first
    for letter in letters[:20]:
        snippet_html(letter.search_snippet)  # '… les <mark>mines</mark> de …'

Indexing
--------
A letter's searchable words live in many tables: the letter itself, its
paragraphs, footnotes, participants, mentions and citations, and the
authority records they point to. ``index_letters`` gathers them into one
``LetterSearchText`` row per letter, in four weighted parts: *title* (A:
title, reference, date as written), *names* (A: people, organisations and
places linked to the letter, as filed and as written), *summary* (B) and
*text* (C: summary, transcription, footnotes, citations, notes; the part that
snippets quote). The database then indexes that row by itself (migration
0003):

* PostgreSQL: a trigger computes a weighted ``tsvector`` with the
  ``french_unaccent`` configuration (the ``french`` one with ``unaccent``
  before the French stemmer), stored in ``LetterSearchText.vector`` and
  indexed with GIN; the vector is ``correspondence_search_vector`` of the
  four texts (migration 0009), which an importer may compute beforehand on
  another connection (``SearchVectors``). A search filters with ``@@``, ranks with ``ts_rank`` and
  quotes with ``ts_headline``.
* SQLite: triggers mirror the row into an external-content FTS5 table
  (``unicode61 remove_diacritics 2``), which the ORM joins through the
  unmanaged ``LetterFullTextRow`` model. A search filters with ``MATCH``,
  ranks with ``bm25()`` and quotes with ``snippet()``. FTS5 has no French
  stemmer: each word typed is matched as a prefix instead (``mine`` finds
  ``mines``, and also ``minerai``).

Signals (``connect_signals``, called by the app config) re-index a letter
whenever it or one of its parts is saved or deleted, and the letters linked to
a person, organisation, place or cited document when its name or title
changes. Raw saves from ``loaddata`` are handled the same way: every save
rebuilds the letter's row from what the database holds at that moment, so the
row is complete once the last object of the fixture is in.

Bulk imports: every save re-indexes the letter it touches, which suits the
admin and fixtures but wastes time in an importer writing thousands of rows.
Either wrap the import in ``with deferred_indexing():`` (each letter and
record is then indexed once, when the block ends), or write with
``bulk_create``/``update`` (which send no signals) and call
``index_spellings()`` and ``index_letters(letter_ids)`` once at the end.
``manage.py rebuild_search_index`` rebuilds everything.

Name variants
-------------
``index_spellings`` keeps a ``SpellingKey`` for every spelling of every
person, organisation and place (preferred name and variants; for people also
the surname alone), folded with ``models.fold``. A query is cut into words;
any run of them whose folded form is such a key (``Barda``, ``Haut-Karabagh``)
stands for "any spelling of that record", so ``Barda`` also finds letters that
write ``Bərdə``. Letters linked to the record carry its preferred name in their
*names* part, so they are found as well.

Queries
-------
No query syntax: every word typed is required, in any order. Quotes, ``*``,
``-``, ``(`` and other punctuation are ignored (``AND`` or ``NEAR`` are just
words), so no input can cause a syntax error. Words joined by punctuation
(``Haut-Karabagh``, ``S/RES/822``) must appear together. French stop words are
dropped, as PostgreSQL's French dictionary does. Control characters are
removed; the query is cut at 200 characters and 20 words.

Cost
----
Filtering always goes through the full-text index: ``@@`` on the GIN-indexed
stored vector; FTS5 ``MATCH`` through a join, never a correlated subquery (one
full-text query per row: minutes at 50,000 letters). The join is on an
UNINDEXED copy of the letter id, not on the FTS5 rowid: joined on the rowid,
SQLite chose to run the full-text query once per letter that the other filters
kept (52 seconds for one ``count()`` of published letters). ``count()``
computes neither rank nor snippet (Django drops unused annotations). The rank
is computed for every matching letter, as ordering needs it; PostgreSQL
evaluates ``ts_headline`` only for the rows of the page (after ORDER BY and
LIMIT: see EXPLAIN VERBOSE), and SQLite's ``snippet()`` adds little.

Measured on 100,000 letters of about 2,000 characters (2 cores), page of 20
sorted by rank, then ``count()``: a word in 2 % of the letters takes 50-80 ms
and 10-60 ms on either database; a word in 15-25 % of them 250-650 ms and
150-480 ms on PostgreSQL, 340-510 ms and 240-400 ms on SQLite; a rare word a
few milliseconds. PostgreSQL numbers assume ``random_page_cost = 1.1`` (the
usual SSD setting): with the default 4.0 the planner scans every vector rather
than use the GIN index for common words (up to 1.5 s).
"""

import concurrent.futures
import re
import unicodedata
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import batched

from django.apps import apps as global_apps
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import NotSupportedError, connections, transaction
from django.db.models import F, FloatField, Func, Lookup, Q, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Replace
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from correspondence.bulk_insert import RowWriter
from correspondence.models import (
    Agent,
    AgentName,
    Citation,
    CitedDocument,
    Footnote,
    Letter,
    LetterFullTextRow,
    Mention,
    Paragraph,
    Participation,
    Place,
    PlaceName,
    SpellingKey,
    fold,
)

#: Wrapped around each match in ``search_snippet``; ``snippet_html`` turns them into ``<mark>``.
MARK_START = "\x02"
MARK_END = "\x03"

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 20
#: Spellings tried for one name found in a query.
MAX_SPELLINGS = 30
#: Letters gathered per round of queries by ``index_letters``.
BATCH_SIZE = 500
#: The same for letters just created (``index_letters(new=True)``): an importer's whole batch.
NEW_BATCH_SIZE = 1000
#: LetterSearchText's text columns, in the order of its FTS5 table's columns.
_PARTS = ("title", "names", "summary", "text")

POSTGRESQL_CONFIG = "french_unaccent"
#: ``ts_rank`` weights are PostgreSQL's defaults (D 0.1, C 0.2, B 0.4, A 1.0); the same ratios for FTS5's
#: columns letter_id (unindexed), title, names, summary, text.
FTS5_WEIGHTS = (0.0, 10.0, 10.0, 4.0, 2.0)
FTS5_TEXT_COLUMN = 4
SNIPPET_TOKENS = 32

#: PostgreSQL's French stop words (``tsearch_data/french.stop``) that survive ``unaccent``: the accented
#: ones (``été``, ``à``) never match once the accents are gone, so PostgreSQL keeps those words.
FRENCH_STOP_WORDS = frozenset(
    """
    au aux avec ce ces dans de des du elle en et eux il je la le leur lui ma mais me mes moi mon ne nos
    notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous
    c d j l m n s t y suis es est sommes sont serai seras sera serons serez seront serais serait serions
    seriez seraient fus fut furent sois soit soyons soyez soient fusse fusses fussions fussiez fussent
    ayant ayante ayantes ayants eu eue eues eus ai as avons avez ont aurai auras aura aurons aurez auront
    aurais aurait aurions auriez auraient avais avait avions aviez avaient eut eurent aie aies ait ayons
    ayez aient eusse eusses eussions eussiez eussent
    """.split()
)

_WORD = re.compile(r"[^\W_]+")
#: Whitespace and apostrophes (l'Arménie is two words) separate chunks; other punctuation joins words.
_CHUNK_SEPARATOR = re.compile(r"[\s'’ʼ‘`´]+")
_LESS_THAN_STAND_IN = "\ufe64"  # SMALL LESS-THAN SIGN
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ---------------------------------------------------------------------------
# Searching
# ---------------------------------------------------------------------------


def search_letters(queryset, query, *, ranked=True):
    """
    Return ``queryset`` (of Letter) narrowed to the letters matching ``query``,
    annotated with ``search_rank`` (float, larger is more relevant) and
    ``search_snippet`` (str: a short passage of the letter with each match
    wrapped in MARK_START / MARK_END, not HTML-escaped: use ``snippet_html``).

    A blank query, or one without a single word (only punctuation or
    operators), returns ``queryset`` unchanged, without annotations. A query of
    stop words only (``de la``) matches nothing, annotations included. The
    ordering is left alone: add ``.order_by("-search_rank", ...)`` for
    relevance. The result composes with further ``filter()``, ``published()``,
    ``count()`` and slicing. Filtering by publication status is the caller's
    job.

    ``ranked=False`` narrows only, without rank or snippet: what counts,
    facets and charts need. On SQLite it is then a ``pk IN (rowids of the
    full-text matches)`` filter, read from the index alone, six times faster
    for a common word than the join that rank and snippet need.
    """
    using = queryset.db
    terms = parse_query(query, using=using)
    if terms is None:
        return queryset
    if not terms:
        if not ranked:
            return queryset.none()
        return queryset.annotate(search_rank=Value(0.0), search_snippet=Value("")).none()
    vendor = connections[using].vendor
    if vendor == "postgresql":
        return _search_postgresql(queryset, terms, ranked)
    if vendor == "sqlite":
        return _search_sqlite(queryset, terms, ranked)
    raise NotSupportedError(f"Full-text search supports PostgreSQL and SQLite, not {vendor}.")


def matching_ids(queryset, query):
    """
    The ids of the letters of ``queryset`` that match ``query`` (a list), as
    ``search_letters(..., ranked=False)`` narrows them, read through the
    full-text index (``read_through_index``).
    """
    return read_through_index(search_letters(queryset, query, ranked=False).order_by().values_list("pk", flat=True))


def read_through_index(queryset):
    """
    The rows of ``queryset``, a search (a list). On PostgreSQL they are read
    with sequential scans left to last resort: for a word in most letters
    the planner would read every row of the search vectors rather than the
    GIN index, not counting that each vector tested is read back from TOAST
    storage. A word in 66,000 of 100,000 letters: its matches 540 against
    35 ms, the first page ranked 610 against 400 ms.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return list(queryset)
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)")
        before = cursor.fetchone()[0]
        try:
            return list(queryset)
        finally:  # within a caller's transaction, the setting would outlast this block
            cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [before])


def snippet_html(raw) -> SafeString:
    """Escape a raw ``search_snippet``, then turn its sentinels into ``<mark>…</mark>``."""
    parts = []
    marking = False
    for piece in re.split(f"([{MARK_START}{MARK_END}])", raw or ""):
        if piece == MARK_START:
            if not marking:
                parts.append("<mark>")
                marking = True
        elif piece == MARK_END:
            if marking:
                parts.append("</mark>")
                marking = False
        else:
            parts.append(escape(piece))
    if marking:
        parts.append("</mark>")
    return mark_safe("".join(parts))  # noqa: S308 -- every piece of text is escaped above


@dataclass(frozen=True)
class Phrase:
    """Words that must follow each other, as typed or as a recorded spelling."""

    words: tuple[str, ...]
    #: The words with their punctuation, for PostgreSQL's parser (which keeps S/RES/822 as one token).
    text: str
    #: Typed by the reader: matched as a prefix on SQLite (no stemmer there).
    typed: bool = False


@dataclass
class Term:
    """One required part of a query: any of its phrases."""

    phrases: list[Phrase] = field(default_factory=list)


def parse_query(query, using="default"):
    """
    The query as a list of required ``Term``; None when it holds no word at all.

    Names found in the query (a run of words whose folded form is a spelling of
    a person, organisation or place) become a term matching any spelling of the
    record.
    """
    if not isinstance(query, str):
        return None
    query = unicodedata.normalize("NFC", query[: MAX_QUERY_CHARS * 4])
    query = "".join(" " if unicodedata.category(char).startswith("C") else char for char in query)
    chunks = []  # (text with punctuation, words)
    words_left = MAX_QUERY_WORDS
    for raw in _CHUNK_SEPARATOR.split(query[:MAX_QUERY_CHARS]):
        words = tuple(_WORD.findall(raw))[:words_left]
        if words:
            chunks.append((raw, words))
            words_left -= len(words)
        if not words_left:
            break
    if not chunks:
        return None

    keys = {
        _key(" ".join(" ".join(words) for _, words in chunks[start:end]))
        for start in range(len(chunks))
        for end in range(start + 1, len(chunks) + 1)
    }
    spellings = _spellings_for(keys, using)

    terms = []
    start = 0
    while start < len(chunks):
        for end in range(len(chunks), start, -1):
            raw = " ".join(text for text, _ in chunks[start:end])
            words = tuple(word for _, chunk_words in chunks[start:end] for word in chunk_words)
            key = _key(" ".join(words))
            if key in spellings:
                alternatives = [Phrase(words, raw, typed=True)] + [
                    Phrase(tuple(_WORD.findall(spelling)), spelling) for spelling in spellings[key]
                ]
                terms.append(Term(_unique(alternatives)[:MAX_SPELLINGS]))
                start = end
                break
        else:
            raw, words = chunks[start]
            if not all(fold(word) in FRENCH_STOP_WORDS for word in words):
                terms.append(Term([Phrase(words, raw, typed=True)]))
            start += 1
    return terms


def _search_postgresql(queryset, terms, ranked=True):
    tsquery = None
    for term in terms:
        alternatives = None
        for phrase in term.phrases:
            for text in dict.fromkeys((" ".join(phrase.words), phrase.text)):
                one = SearchQuery(text, config=POSTGRESQL_CONFIG, search_type="phrase")
                alternatives = one if alternatives is None else alternatives | one
        tsquery = alternatives if tsquery is None else tsquery & alternatives
    if not ranked:
        return queryset.filter(search_text__vector=tsquery)
    # ts_headline drops whatever looks like an HTML tag (``<b>``, ``<script>``) from what it quotes: hide
    # the ``<`` behind a look-alike, then bring it back.
    headline = SearchHeadline(
        Replace(F("search_text__text"), Value("<"), Value(_LESS_THAN_STAND_IN), output_field=TextField()),
        tsquery,
        config=POSTGRESQL_CONFIG,
        start_sel=MARK_START,
        stop_sel=MARK_END,
        max_words=20,
        min_words=8,
        max_fragments=2,
        fragment_delimiter=" … ",
    )
    return queryset.filter(search_text__vector=tsquery).annotate(
        search_rank=SearchRank(F("search_text__vector"), tsquery),
        search_snippet=Replace(headline, Value(_LESS_THAN_STAND_IN), Value("<"), output_field=TextField()),
    )


class _Fts5Match(Lookup):
    """``document MATCH 'query'`` on the FTS5 table's hidden column."""

    lookup_name = "fts5_match"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} MATCH {rhs}", (*lhs_params, *rhs_params)


LetterFullTextRow._meta.get_field("document").register_lookup(_Fts5Match)


class _Fts5Rank(Func):
    """Relevance: FTS5's bm25() is negative, smaller for better matches; turn it round."""

    function = "bm25"
    template = "(-%(function)s(%(expressions)s))"
    output_field = FloatField()


class _Fts5Snippet(Func):
    function = "snippet"
    output_field = TextField()


def _search_sqlite(queryset, terms, ranked=True):
    match = " AND ".join("(" + " OR ".join(_fts5_phrase(phrase) for phrase in term.phrases) + ")" for term in terms)
    if not ranked:
        # The FTS5 rowid is the letter's id (content_rowid, migration 0003): the subquery runs once.
        matches = RawSQL(
            "SELECT rowid FROM correspondence_letter_fts WHERE correspondence_letter_fts MATCH %s", (match,)
        )
        return queryset.filter(pk__in=matches)
    document = F("full_text_row__document")
    return queryset.filter(full_text_row__document__fts5_match=match).annotate(
        search_rank=_Fts5Rank(document, *(Value(weight) for weight in FTS5_WEIGHTS)),
        search_snippet=_Fts5Snippet(
            document,
            Value(FTS5_TEXT_COLUMN),
            Value(MARK_START),
            Value(MARK_END),
            Value("…"),
            Value(SNIPPET_TOKENS),
        ),
    )


def _fts5_phrase(phrase):
    """A quoted FTS5 string: its words are only text to the tokenizer, never syntax."""
    quoted = '"' + " ".join(word.replace('"', '""') for word in phrase.words) + '"'
    # A prefix of one or two letters matches far too much: require the whole word.
    return quoted + "*" if phrase.typed and len(phrase.words[-1]) > 2 else quoted


def _key(text):
    return " ".join(_WORD.findall(fold(text)))[:400]


def _unique(phrases):
    seen = set()
    kept = []
    for phrase in phrases:
        marker = (tuple(word.casefold() for word in phrase.words), phrase.text.casefold())
        if phrase.words and marker not in seen:
            seen.add(marker)
            kept.append(phrase)
    return kept


def _spellings_for(keys, using):
    """{folded key: [spellings of the records it names]} for the keys that name a record."""
    found = list(
        SpellingKey.objects.using(using)
        .filter(key__in=list(keys))
        .values_list("key", "surname", "agent_id", "place_id")
    )
    if not found:
        return {}
    agents = {agent for _, _, agent, _ in found if agent}
    places = {place for _, _, _, place in found if place}
    by_record = {}
    for surname, agent, place, spelling in (
        SpellingKey.objects.using(using)
        .filter(Q(agent_id__in=agents) | Q(place_id__in=places))
        .order_by("surname", "pk")
        .values_list("surname", "agent_id", "place_id", "spelling")
    ):
        by_record.setdefault((surname, agent, place), []).append(spelling)
    spellings = {}
    for key, surname, agent, place in found:
        spellings.setdefault(key, []).extend(by_record.get((surname, agent, place), []))
    return spellings


# ---------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------


def index_letters(letter_ids, registry=global_apps, *, new=False, using=None):
    """
    Rebuild the search text of these letters from the database; remove it for
    letters that no longer exist. Rows whose text has not changed are not
    written. Call it once at the end of a bulk import (see the module
    docstring); ``registry`` is for data migrations (historical models).

    ``new=True`` says the letters have just been created (an importer's batch,
    in the transaction that wrote them): their rows are then inserted with
    one statement per table, without looking for rows to update or remove.
    """
    LetterSearchText = registry.get_model("correspondence", "LetterSearchText")
    ids = sorted({pk for pk in letter_ids if pk is not None})
    if registry is global_apps and ids:
        from correspondence.state import bump

        bump()  # written in bulk, without signals: cached summaries are out of date
    if new:
        using = using or LetterSearchText.objects.db
        for batch in batched(ids, NEW_BATCH_SIZE):
            insert_search_texts(_gather(batch, registry, using=using), using=using, bumped=True)
        return
    for batch in batched(ids, BATCH_SIZE):
        gathered = _gather(batch, registry)
        existing = {
            row[0]: row[1:]
            for row in LetterSearchText.objects.filter(pk__in=batch).values_list(
                "letter_id", "title", "names", "summary", "text"
            )
        }
        created, changed = [], []
        for pk, parts in gathered.items():
            if pk not in existing:
                created.append(LetterSearchText(letter_id=pk, **parts))
            elif existing[pk] != tuple(parts.values()):
                changed.append(LetterSearchText(letter_id=pk, **parts))
        LetterSearchText.objects.bulk_create(created, batch_size=100)
        LetterSearchText.objects.bulk_update(changed, ["title", "names", "summary", "text"], batch_size=100)
        gone = set(existing) - set(gathered)
        if gone:
            LetterSearchText.objects.filter(pk__in=gone).delete()


def insert_search_texts(texts, *, using=None, bumped=False):
    """
    Insert the search rows of letters just created, in one statement:
    ``texts`` is {letter id: ``search_parts(...)``}, built by an importer from
    what it has just written. The letters must have no search row yet.
    """
    from correspondence.state import bump

    if not texts:
        return
    if not bumped:
        bump()  # written in bulk, without signals: cached summaries are out of date
    search_text_writer(using).insert(search_text_rows(texts))


def search_text_writer(using=None, *, vectors=False):
    """
    A ``RowWriter`` of search rows, for ``search_text_rows``: written without
    signals (bump the generation). ``vectors``: the rows end with their
    PostgreSQL vector in its binary form (``SearchVectors``), which the
    database then keeps; they are copied in binary.
    """
    LetterSearchText = global_apps.get_model("correspondence", "LetterSearchText")
    fields = ["letter_id", *_PARTS, *(["vector"] if vectors else [])]
    return RowWriter(LetterSearchText, fields, using=using or LetterSearchText.objects.db, binary=vectors)


def search_text_rows(texts):
    """The rows of ``texts`` ({letter id: ``search_parts(...)``}) for ``search_text_writer``."""
    return [(pk, *(parts[name] for name in _PARTS)) for pk, parts in texts.items()]


class SearchVectors:
    """
    PostgreSQL: the search vectors of search rows (``search_text_rows``),
    computed by ``correspondence_search_vector`` (migration 0009, the
    function the trigger calls) on connections of their own, outside the
    transaction that writes the rows: the function reads no table. An
    importer asks for the next batch's vectors while its own connection
    writes this one; the French parser is most of what an import costs
    PostgreSQL. A batch is shared between ``processes`` server processes
    (two by default): with one, its connection was the last to finish every
    batch at 100,000 letters (44 s of the writing's 50 on 2 cores, while the
    writing connection and the importer used 0.8 of the other core); with
    two, 47 s, all of both cores. The vectors come back in their binary form
    (``tsvectorsend``), for a binary COPY (``search_text_writer(vectors=True)``):
    read from text, a vector costs the writing connection 60 µs a letter.

    Usage::

        with SearchVectors(using) as vectors:
            rows = [(*row, vector) for row, vector in zip(rows, vectors(rows), strict=True)]
    """

    SQL = (
        "SELECT tsvectorsend(correspondence_search_vector(title, names, summary, body)) "
        "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS t(title, names, summary, body, n) "
        "ORDER BY n"
    )

    def __init__(self, using, *, processes=2):
        if processes < 1:
            raise ValueError(f"SearchVectors needs at least one server process, not {processes}.")
        self.wrapper = connections[using]
        self.count = processes
        self.connections, self.pool, self.closing = [], None, None

    def __enter__(self):
        with ExitStack() as stack:
            for _ in range(self.count):
                connection = self.wrapper.get_new_connection(self.wrapper.get_connection_params())
                stack.callback(connection.close)
                self.connections.append(connection)
            if self.count > 1:
                self.pool = stack.enter_context(
                    concurrent.futures.ThreadPoolExecutor(self.count - 1, thread_name_prefix="search-vectors")
                )
            self.closing = stack.pop_all()
        return self

    def __exit__(self, *exc_info):
        self.closing.close()
        self.connections, self.pool, self.closing = [], None, None

    def __call__(self, rows):
        """The vectors of ``rows`` (bytes), in their order."""
        share = -(-len(rows) // self.count) or 1
        shares = [rows[start : start + share] for start in range(0, len(rows), share)] or [[]]
        others = [
            self.pool.submit(self._vectors, connection, part)
            for connection, part in zip(self.connections[1:], shares[1:], strict=False)
        ]
        vectors = self._vectors(self.connections[0], shares[0])
        for other in others:
            vectors.extend(other.result())
        return vectors

    def _vectors(self, connection, rows):
        columns = [list(column) for column in zip(*(row[1:5] for row in rows), strict=True)] or [[], [], [], []]
        try:
            with connection.cursor() as cursor:
                cursor.execute(self.SQL, columns)
                return [bytes(vector) for (vector,) in cursor.fetchall()]
        finally:
            connection.rollback()  # nothing was written: end the read-only transaction, or the failed one


def _gather(ids, registry, using=None):
    """{letter id: {"title", "names", "summary", "text"}} for the letters that exist among ``ids``."""

    def model(name):
        return registry.get_model("correspondence", name).objects.using(using).filter(letter_id__in=ids)

    letters = {}
    for pk, *values in (
        registry.get_model("correspondence", "Letter")
        .objects.using(using)
        .filter(pk__in=ids)
        .values_list("pk", *SEARCHED_LETTER_FIELDS)
    ):
        letters[pk] = (values, [], [], [], [], [])
    if not letters:
        return {}

    def add(index, rows):
        for letter_id, *values in rows:
            if letter_id in letters:
                letters[letter_id][index].append(values)

    add(1, model("Paragraph").order_by("letter_id", "position").values_list("letter_id", "text"))
    add(2, model("Footnote").values_list("letter_id", "marker", "text"))
    add(3, model("Participation").values_list("letter_id", *SEARCHED_PARTICIPATION_FIELDS))
    add(4, model("Mention").order_by("letter_id", "pk").values_list("letter_id", *SEARCHED_MENTION_FIELDS))
    add(
        5, model("Citation").order_by("letter_id", "position", "pk").values_list("letter_id", *SEARCHED_CITATION_FIELDS)
    )
    return {pk: search_parts(*parts) for pk, parts in letters.items()}


#: What the search text holds of a letter and its parts (``search_parts`` takes them in these orders).
SEARCHED_LETTER_FIELDS = (
    "title",
    "reference",
    "date_as_written",
    "summary",
    "place_written__name",
    "place_as_written",
    "translation_note",
    "editorial_note",
    "enclosures",
    "letterhead",
)
SEARCHED_PARTICIPATION_FIELDS = (
    "role",
    "position",
    "agent__name",
    "name_as_written",
    "title_as_written",
    "on_behalf_of__name",
)
SEARCHED_MENTION_FIELDS = ("agent__name", "place__name", "name_as_written")
SEARCHED_CITATION_FIELDS = ("quote", "cited_document__title", "cited_document__symbol")


def search_parts(letter, paragraphs, footnotes, participations, mentions, citations):
    """
    A letter's search text, {"title", "names", "summary", "text"}, from its
    values (``SEARCHED_LETTER_FIELDS``) and its parts' (lists of tuples of the
    other ``SEARCHED_*`` fields, plus the paragraph texts and the footnotes'
    (marker, text)): paragraphs in order of position, mentions in the order
    they were recorded, citations by position. Footnotes (by marker) and
    participants (by role and position) are put in order here. The importer
    calls it with what it has just written (no need to read it back).
    """
    (
        title,
        reference,
        date_as_written,
        summary,
        place_name,
        place_as_written,
        translation_note,
        editorial_note,
        enclosures,
        letterhead,
    ) = letter
    names = [place_name, place_as_written]
    for _role, _position, *values in sorted(participations, key=lambda row: (row[0], row[1])):
        names.extend(values)
    for values in mentions:
        names.extend(values)
    text = [summary, *(paragraph for (paragraph,) in paragraphs)]
    text.extend(note for _marker, note in sorted(footnotes, key=lambda row: row[0]))
    for values in citations:
        text.extend(values)
    return {
        "title": _joined([title, reference, date_as_written]),
        "names": _joined(names),
        "summary": _joined([summary]),
        "text": _joined([*text, enclosures, letterhead, translation_note, editorial_note]),
    }


def _joined(values):
    """Non-empty values, each once (names repeat), without control characters or our sentinels."""
    kept = dict.fromkeys(_NOT_TEXT.sub(" ", value).strip() for value in values if value)
    return "\n".join(value for value in kept if value)


def index_spellings(agents=None, places=None, registry=global_apps):
    """
    Rebuild the ``SpellingKey`` rows of these people/organisations and places
    (ids). With neither argument, rebuild all of them.
    """
    SpellingKey = registry.get_model("correspondence", "SpellingKey")
    rebuild_all = agents is None and places is None
    records = []  # (owner field, model, variant model, ids or None)
    if rebuild_all or agents:
        records.append(("agent", "Agent", "AgentName", None if rebuild_all else set(agents)))
    if rebuild_all or places:
        records.append(("place", "Place", "PlaceName", None if rebuild_all else set(places)))
    for owner, model_name, variant_name, ids in records:
        owners = registry.get_model("correspondence", model_name).objects.all()
        variants = registry.get_model("correspondence", variant_name).objects.all()
        stale = SpellingKey.objects.filter(**{f"{owner}__isnull": False})
        if ids is not None:
            owners = owners.filter(pk__in=ids)
            variants = variants.filter(**{f"{owner}_id__in": ids})
            stale = stale.filter(**{f"{owner}_id__in": ids})
        names = {}
        kinds = {}
        for pk, name, kind in owners.values_list("pk", "name", "kind"):
            names[pk] = [name]
            kinds[pk] = kind
        for pk, name in variants.order_by("pk").values_list(f"{owner}_id", "name"):
            if pk in names:
                names[pk].append(name)
        stale.delete()
        rows = []
        for pk, spellings in names.items():
            is_person = owner == "agent" and kinds[pk] == "person"
            for key, spelling, surname in _spelling_keys(spellings, is_person):
                rows.append(SpellingKey(key=key, spelling=spelling[:400], surname=surname, **{f"{owner}_id": pk}))
        SpellingKey.objects.bulk_create(rows, batch_size=500)


def _spelling_keys(spellings, is_person):
    """(key, spelling, surname?) for each distinct spelling, and for a person each surname."""
    seen = set()
    for spelling in spellings:
        words = _WORD.findall(spelling)
        candidates = [(_key(spelling), spelling, False)]
        # "M. Anders Knape", "ministre Mammadyarov": a capitalised last word is the surname. "Secrétaire
        # général" has none.
        if is_person and len(words) > 1 and words[-1][:1].isupper() and len(words[-1]) > 2:
            candidates.append((_key(words[-1]), words[-1], True))
        for key, text, surname in candidates:
            if key and (key, text.casefold(), surname) not in seen:
                seen.add((key, text.casefold(), surname))
                yield key, text, surname


def rebuild_search_index(registry=global_apps, batch_size=BATCH_SIZE, recompute=False):
    """
    Rebuild every spelling key and every letter's search text; on SQLite also
    rebuild the FTS5 index from its content table. With ``recompute``, also
    recompute every stored PostgreSQL vector, text unchanged or not (after a
    change to the ``french_unaccent`` configuration). Returns the number of
    letters indexed.
    """
    LetterModel = registry.get_model("correspondence", "Letter")
    LetterSearchText = registry.get_model("correspondence", "LetterSearchText")
    with transaction.atomic():
        index_spellings(registry=registry)
        ids = list(LetterModel.objects.order_by("pk").values_list("pk", flat=True))
        for batch in batched(ids, batch_size):
            index_letters(batch, registry=registry)
        LetterSearchText.objects.exclude(letter_id__in=LetterModel.objects.values("pk")).delete()
        connection = connections[LetterModel.objects.db]
        if recompute and connection.vendor == "postgresql":
            LetterSearchText.objects.update(vector=None)  # the trigger computes it again
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO correspondence_letter_fts(correspondence_letter_fts) VALUES ('rebuild')")
    return len(ids)


# ---------------------------------------------------------------------------
# Keeping the index current
# ---------------------------------------------------------------------------


@dataclass
class _Pending:
    letters: set = field(default_factory=set)
    agents: set = field(default_factory=set)
    places: set = field(default_factory=set)


_pending = ContextVar("correspondence_search_pending", default=None)


@contextmanager
def deferred_indexing():
    """
    Index once, when the block ends, what the saves and deletes inside it would
    have indexed one by one. Nothing is indexed if the block raises. Nested
    blocks index when the outermost one ends.
    """
    if _pending.get() is not None:
        yield
        return
    pending = _Pending()
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    _index_now(pending)


def _schedule(letters=(), agents=(), places=()):
    pending = _pending.get()
    if pending is None:
        _index_now(_Pending(set(letters), set(agents), set(places)))
    else:
        pending.letters.update(letters)
        pending.agents.update(agents)
        pending.places.update(places)


def _index_now(pending):
    if pending.agents or pending.places:
        index_spellings(agents=pending.agents, places=pending.places)
    if pending.letters:
        index_letters(pending.letters)


def _deleting(origin, model):
    """Whether this delete cascades from deleting a ``model`` (its index is going with it)."""
    return isinstance(origin, model) or (isinstance(origin, QuerySet) and origin.model is model)


def _letter_changed(sender, instance, **kwargs):
    _schedule(letters=[instance.pk])


def _letter_part_saved(sender, instance, **kwargs):
    _schedule(letters=[instance.letter_id])


def _letter_part_deleted(sender, instance, origin=None, **kwargs):
    # When the letter itself is being deleted, re-indexing it now would write a row that points to it.
    if not _deleting(origin, Letter):
        _schedule(letters=[instance.letter_id])


#: Fields of authority records copied into letters' search text.
_INDEXED_FIELDS = {Agent: ("name",), Place: ("name",), CitedDocument: ("title", "symbol")}


def _record_pre_save(sender, instance, **kwargs):
    fields = _INDEXED_FIELDS[sender]
    instance._search_indexed_values = (
        sender._base_manager.filter(pk=instance.pk).values_list(*fields).first() if instance.pk else None
    )


def _record_saved(sender, instance, created, **kwargs):
    if sender is Agent:
        _schedule(agents=[instance.pk])
    elif sender is Place:
        _schedule(places=[instance.pk])
    current = tuple(getattr(instance, name) for name in _INDEXED_FIELDS[sender])
    if getattr(instance, "_search_indexed_values", None) != current:
        _schedule(letters=_letters_linked_to(instance))


def _letters_linked_to(record):
    if isinstance(record, Agent):
        querysets = [
            Participation.objects.filter(Q(agent=record) | Q(on_behalf_of=record)).values_list("letter_id"),
            Mention.objects.filter(agent=record).values_list("letter_id"),
        ]
    elif isinstance(record, Place):
        querysets = [
            Letter._base_manager.filter(place_written=record).values_list("pk"),
            Mention.objects.filter(place=record).values_list("letter_id"),
        ]
    else:
        querysets = [Citation.objects.filter(cited_document=record).values_list("letter_id")]
    return {pk for queryset in querysets for (pk,) in queryset}


def _variant_changed(sender, instance, origin=None, **kwargs):
    if sender is AgentName and not _deleting(origin, Agent):
        _schedule(agents=[instance.agent_id])
    elif sender is PlaceName and not _deleting(origin, Place):
        _schedule(places=[instance.place_id])


def connect_signals():
    """Connect the handlers that keep the index current (called by the app config)."""
    post_save.connect(_letter_changed, sender=Letter, dispatch_uid="search-letter-saved")
    post_delete.connect(_letter_changed, sender=Letter, dispatch_uid="search-letter-deleted")
    for model in (Paragraph, Footnote, Participation, Mention, Citation):
        post_save.connect(_letter_part_saved, sender=model, dispatch_uid=f"search-{model.__name__}-saved")
        post_delete.connect(_letter_part_deleted, sender=model, dispatch_uid=f"search-{model.__name__}-deleted")
    for model in _INDEXED_FIELDS:
        pre_save.connect(_record_pre_save, sender=model, dispatch_uid=f"search-{model.__name__}-pre-save")
        post_save.connect(_record_saved, sender=model, dispatch_uid=f"search-{model.__name__}-saved")
    for model in (AgentName, PlaceName):
        post_save.connect(_variant_changed, sender=model, dispatch_uid=f"search-{model.__name__}-saved")
        post_delete.connect(_variant_changed, sender=model, dispatch_uid=f"search-{model.__name__}-deleted")
