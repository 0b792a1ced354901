"""
Importing letters in bulk, from CMIF files and from the archive's own JSON.

Usage (what ``manage.py import_letters`` does)::

    from correspondence.importers import import_files

    report = import_files(["nicolai.xml", "letters.json"], status="published", progress=print)
    print(report.summary())

Formats
-------
A file is CMIF when it starts with ``<`` (see ``cmif.py``), JSON when it starts
with ``{`` or ``[`` (otherwise its extension decides). JSON is what the archive
exports (``exports.py``): the letter list ``{"count", "next", "previous",
"results": [...]}``, a bare list of letters, or one letter; each letter in the
list form (``letter_summary``) or the detail form (``letter_detail``, which
adds the transcription, footnotes, citations, mentions and thread). Every
field the detail form carries is imported; optional keys the exports may add
later are used when present: ``kind`` and ``authority`` on participants,
``authority``/``latitude``/``longitude``/``kind`` on places, ``source_file``
on sources. A letter needs ``id`` and ``title``.

All or nothing
--------------
Every file is read and checked before anything is written, and everything is
written in one transaction (on the database ``router.db_for_write`` names):
a file that is not XML or JSON, has the wrong root, holds a date that does
not exist or a letter without a required key raises ``ImportFailed`` naming
the file, the line and the element, and the database is left as it was; so
does an import killed halfway (``tests/test_atomic_imports.py``).
``dry_run=True`` does all the work, reports what would be created, and rolls
back.

Identity: re-importing creates nothing
--------------------------------------
* A letter already in the archive (same slug) is left unchanged. CMIF
  letters get a stable slug (``cmif.read_cmif``); JSON letters keep theirs.
* People, organisations and places are matched, in this order, by the
  archive identifier a JSON file gives; by an authority identifier (GND,
  VIAF, Wikidata, ISNI; GeoNames, Wikidata), also filling in a missing one on
  a record that had none; then, for a name without an identifier, by its
  folded form (``models.fold``: case and accents) among preferred names, then
  among variants. People are matched with people, organisations and groups
  with each other. A new spelling of a record becomes one of its variants.
* Source documents and cited documents are matched by slug.

Speed and memory
----------------
An import goes through the files once, checks each letter and puts the new
ones aside in a temporary file (``BATCH_SIZE`` letters to a pickled batch,
people, places and documents replaced by numbers), keeping in memory only
each distinct reference to a record (a few thousand for 100,000 letters) and
the letters' identifiers. JSON is read in chunks, one letter decoded at a
time (``JsonFile``), never the whole file: memory does not grow with it.
Then the records referred to are found or created at once (existing ones
read with one query per model), and the batches are written back, each with
one INSERT per table (``bulk_insert.RowWriter``: no model instance and no
ORM compilation per row, primary keys reserved beforehand) with their search
rows (built from the rows written, as ``search.index_letters`` builds them)
in the same transaction; ``progress`` receives a line per batch. On
PostgreSQL the rows of the next batch are made in a thread, and their search
vectors on two more connections (``search.SearchVectors``), while COPY writes
this one. Writes send no signals, so nothing is indexed
twice. A reply written before the letter it answers is linked at the end.
A first load into an archive without letters checks the foreign keys of the
tables it fills once, at the end, on PostgreSQL
(``bulk_insert.foreign_keys_checked_at_end``: those tables are locked until
the import commits, which an empty archive can afford).

Queries: a fixed number for the records, then a fixed number per batch,
whatever the number of letters in a batch (``tests/test_import.py``).

History: an import is not recorded in the records' history (django-reversion
versions are made by the admin's edits); a letter's history starts with its
first curated change. The import's summary is the record of what it created.
"""

import codecs
import concurrent.futures
import contextlib
import datetime
import functools
import itertools
import json
import pickle
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from django.db import connections, router, transaction
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.text import slugify

from correspondence import bulk_insert, cmif, facet_counts, search, state
from correspondence.models import (
    Agent,
    AgentName,
    Citation,
    CitedDocument,
    Footnote,
    Letter,
    LetterSearchText,
    Mention,
    Paragraph,
    Participation,
    Place,
    PlaceName,
    PublicationStatus,
    SourceDocument,
    fold,
    span_for_precision,
)

BATCH_SIZE = 1000
ROLES = [role for role, _label in Participation.Role.choices]
# The choices, once: ``TextChoices.values`` builds a new list at every use.
AGENT_KINDS = Agent.Kind.values
PLACE_KINDS = Place.Kind.values
LETTER_KINDS = Letter.Kind.values
DATE_PRECISIONS = Letter.DatePrecision.values
DATE_CERTAINTIES = Letter.DateCertainty.values
PARAGRAPH_KINDS = Paragraph.Kind.values
DEFAULT_LANGUAGE = Letter._meta.get_field("language").default
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,120}")


class ImportFailed(ValueError):
    """A file that cannot be imported: file, line (when known), element, and what is wrong."""

    def __init__(self, file, line, element, message):
        self.file, self.line, self.element, self.message = file, line, element, message
        super().__init__(str(self))

    def __str__(self):
        where = [str(self.file)]
        if self.line:
            where.append(f"line {self.line}")
        if self.element:
            where.append(self.element)
        return f"{', '.join(where)}: {self.message}"


# ---------------------------------------------------------------------------
# What a file says, before it meets the database
# ---------------------------------------------------------------------------


@dataclass(eq=False)
class AgentRef:
    name: str
    kind: str = Agent.Kind.PERSON
    slug: str = ""
    ids: dict = field(default_factory=dict)
    #: Status of the record if it has to be created; None: the import's status.
    status: str | None = None
    #: Whether the file states the kind (JSON "kind"), rather than it being guessed from a URL or defaulted.
    kind_stated: bool = True
    entry: object = None


@dataclass(eq=False)
class PlaceRef:
    name: str
    slug: str = ""
    ids: dict = field(default_factory=dict)
    kind: str = Place.Kind.CITY
    latitude: float | None = None
    longitude: float | None = None
    status: str | None = None
    entry: object = None


@dataclass(eq=False)
class DocumentRef:
    """A source document or a cited document, known by its slug."""

    slug: str
    title: str
    symbol: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class ParticipantRecord:
    role: str
    agent: AgentRef
    name_as_written: str = ""
    title_as_written: str = ""
    on_behalf_of: AgentRef | None = None
    inferred: bool = False


@dataclass
class LetterRecord:
    slug: str
    file: str
    line: int | None
    element: str
    title: str
    kind: str = Letter.Kind.LETTER
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    date_precision: str = Letter.DatePrecision.UNKNOWN
    date_certainty: str = Letter.DateCertainty.EXACT
    date_as_written: str = ""
    language: str = ""
    place: PlaceRef | None = None
    place_as_written: str = ""
    source: DocumentRef | None = None
    source_pages: str = ""
    source_position: int | None = None
    participants: list = field(default_factory=list)
    texts: dict = field(default_factory=dict)  # summary, reference, translation_note, letterhead, ...
    paragraphs: list = field(default_factory=list)  # (position, kind, page, text)
    footnotes: list = field(default_factory=list)  # (marker, paragraph position or None, anchor, text)
    citations: list = field(default_factory=list)  # (DocumentRef, quote)
    mentions: list = field(default_factory=list)  # (AgentRef or PlaceRef, name as written)
    in_reply_to: str = ""
    annex_of: str = ""


@dataclass
class ImportReport:
    files: int = 0
    letters: int = 0
    already_present: int = 0
    people: int = 0
    organisations: int = 0
    places: int = 0
    sources: int = 0
    cited_documents: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    warnings: list = field(default_factory=list)

    @property
    def letters_per_second(self):
        return self.letters / self.seconds if self.seconds else 0.0

    def summary(self):
        verb = "Would create" if self.dry_run else "Created"
        lines = [
            f"{verb} {self.letters} letter(s), {self.people} person(s), {self.organisations} organisation(s), "
            f"{self.places} place(s), {self.sources} source document(s), {self.cited_documents} cited document(s) "
            f"from {self.files} file(s); {self.already_present} letter(s) already in the archive left unchanged.",
            f"{self.seconds:.2f} s, {self.letters_per_second:.0f} letters/s.",
        ]
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------


def open_file(path, *, language=""):
    """
    A file to import (``CmifFile`` or ``JsonFile``), its format told by its
    first character; raises ImportFailed. A CMIF file is parsed at once; a
    JSON file is read letter by letter, each time its ``records()`` are asked.
    """
    name = str(path)
    try:
        with open(path, "rb") as file:
            start = file.read(4096)
            data = None
            first = start.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
            is_xml = first == b"<" or (first not in (b"{", b"[") and Path(path).suffix.lower() != ".json")
            if is_xml:
                data = start + file.read()
    except OSError as error:
        raise ImportFailed(name, None, None, f"cannot be read: {error.strerror or error}") from None
    if data is None:
        return JsonFile(path, name=name, language=language)
    try:
        document = cmif.read_cmif(data, name=name)
    except cmif.CmifError as error:
        element = f"<{error.element}>" if error.element else None
        raise ImportFailed(error.file, error.line, element, error.message) from None
    return CmifFile(name, records_from_cmif(document, language=language), document.warnings)


class CmifFile:
    """The letters of a CMIF file, parsed (CMIF files are small: an edition's letters, without their text)."""

    def __init__(self, name, records, warnings):
        self.name, self._records, self.warnings = name, records, list(warnings)

    def records(self):
        return iter(self._records)


# -- CMIF ------------------------------------------------------------------

MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def _day(value):
    return f"{'1er' if value.day == 1 else value.day} {MONTHS[value.month - 1]} {value.year}"


def date_phrase(precision, date_from, date_to):
    """The date for a title, in French: 29 avril 1820, avril 1820, 1820, entre 1829 et 1833, sans date."""
    if precision == Letter.DatePrecision.UNKNOWN or date_from is None:
        return "sans date"
    if precision == Letter.DatePrecision.DAY:
        return _day(date_from)
    if precision == Letter.DatePrecision.MONTH:
        return f"{MONTHS[date_from.month - 1]} {date_from.year}"
    if precision == Letter.DatePrecision.YEAR:
        return str(date_from.year)
    if (date_from.month, date_from.day, date_to.month, date_to.day) == (1, 1, 12, 31):
        return f"entre {date_from.year} et {date_to.year}"
    return f"entre le {_day(date_from)} et le {_day(date_to)}"


def _names(names):
    names = [name for name in names if name]
    if len(names) > 3:
        names = [*names[:3], f"{len(names) - 3} autres"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]


def neutral_title(senders, recipients, date_text):
    """'Lettre d'Otto Nicolai à Carl Nicolai, 29 avril 1820': kind, from whom, to whom, date; no judgement."""
    title = "Lettre"
    senders, recipients = [n for n in senders if n], [n for n in recipients if n]
    if senders:
        first = _names(senders)
        title += f" d'{first}" if fold(first)[:1] in set("aeiouy") else f" de {first}"
    if recipients:
        title += f" à {_names(recipients)}"
    return f"{title}, {date_text}"[:500]


@functools.cache
def _max_length(model, field_name):
    return model._meta.get_field(field_name).max_length


def _clip(text, model, field_name):
    return (text or "")[: _max_length(model, field_name)]


def records_from_cmif(document, *, language=""):
    records = []
    for letter in document.letters:
        date = letter.date
        participants = []
        for role, names in (
            (Participation.Role.SENDER, letter.senders),
            (Participation.Role.RECIPIENT, letter.recipients),
        ):
            for named in names:
                ref = AgentRef(name=_clip(named.name, Agent, "name"), kind=named.kind, ids=named.ids)
                participants.append(
                    ParticipantRecord(
                        role=role,
                        agent=ref,
                        name_as_written="" if named.conjecture else _clip(named.name, Participation, "name_as_written"),
                        inferred=named.conjecture,
                    )
                )
        place = letter.place
        source = letter.source
        texts = {}
        if date.unrepresented:
            texts["editorial_note"] = f"Date dans le fichier CMIF : {date.unrepresented}."
        records.append(
            LetterRecord(
                slug=letter.slug,
                file=document.name,
                line=letter.line,
                element="<correspDesc>",
                title=neutral_title(
                    [n.name for n in letter.senders],
                    [n.name for n in letter.recipients],
                    date_phrase(date.precision, date.date_from, date.date_to),
                ),
                date_from=date.date_from,
                date_to=date.date_to,
                date_precision=date.precision,
                date_certainty=date.certainty,
                date_as_written=_clip(date.as_written, Letter, "date_as_written"),
                language=letter.language or language,
                place=PlaceRef(name=_clip(place.name, Place, "name"), ids=place.ids) if place else None,
                place_as_written=""
                if place is None or place.conjecture
                else _clip(place.name, Letter, "place_as_written"),
                source=(
                    DocumentRef(
                        slug=source.slug,
                        title=_clip(source.title or source.xml_id, SourceDocument, "title"),
                        symbol=_clip(source.symbol, SourceDocument, "symbol"),
                    )
                    if source
                    else None
                ),
                participants=participants,
                texts=texts,
            )
        )
    return records


# -- JSON ------------------------------------------------------------------


class _JsonLetter:
    """Reads one letter of a JSON file, raising ImportFailed with the file, line and path of a bad value."""

    def __init__(self, name, path, line, item):
        self.name, self.path, self.line, self.item = name, path, line, item

    def fail(self, where, message):
        raise ImportFailed(self.name, self.line, f"{self.path}{where}", message)

    def text(self, data, key, where, model=None, field_name=None, required=False):
        value = data.get(key)
        if value is None:
            if required:
                self.fail(where, f'missing required key "{key}".')
            return ""
        if not isinstance(value, str):
            self.fail(f"{where}.{key}", f"must be text, not {type(value).__name__}.")
        value = value.strip()
        if required and not value:
            self.fail(f"{where}.{key}", "must not be empty.")
        if model is not None:
            limit = _max_length(model, field_name or key)
            if limit and len(value) > limit:
                self.fail(f"{where}.{key}", f"is {len(value)} characters long; at most {limit} fit.")
        return value

    def choice(self, data, key, where, choices, default):
        value = data.get(key)
        if value in (None, ""):
            return default
        if value not in choices:
            self.fail(f"{where}.{key}", f"“{value}” is not one of: {', '.join(choices)}.")
        return value

    def date(self, data, key, where):
        value = data.get(key)
        if value in (None, ""):
            return None
        try:
            return datetime.date.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{where}.{key}", f"“{value}” is not a date (YYYY-MM-DD).")

    def slug(self, data, key, where, required=False):
        value = data.get(key)
        if value in (None, ""):
            if required:
                self.fail(where, f'missing required key "{key}".')
            return ""
        if not isinstance(value, str) or not SLUG.fullmatch(value):
            self.fail(f"{where}.{key}", f"“{value}” is not an identifier (letters, digits, - and _).")
        return value

    def objects(self, data, key, where):
        value = data.get(key)
        if value in (None, ""):
            return []
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            self.fail(f"{where}.{key}", "must be a list of objects.")
        return value

    def agent(self, data, where, hidden_name=""):
        """An AgentRef from a participant, reference or mention; None when it names nobody."""
        slug = self.slug(data, "id", where)
        name = self.text(data, "name", where) or hidden_name
        if not slug and not name:
            return None
        kind_stated = bool(data.get("kind"))
        kind = data.get("kind") or _kind_from_url(data.get("url")) or Agent.Kind.PERSON
        if kind not in AGENT_KINDS:
            self.fail(f"{where}.kind", f"“{kind}” is not one of: {', '.join(AGENT_KINDS)}.")
        return AgentRef(
            name=_clip(name or slug, Agent, "name"),
            kind=kind,
            slug=slug,
            ids=_authority(data, cmif.AGENT_SCHEMES),
            status=None if slug else PublicationStatus.DRAFT,
            kind_stated=kind_stated,
        )

    def place(self, data, where):
        slug = self.slug(data, "id", where)
        name = self.text(data, "name", where, Place)
        if not slug and not name:
            return None
        coordinates = {}
        for key in ("latitude", "longitude"):
            value = data.get(key)
            if value is not None and not isinstance(value, int | float):
                self.fail(f"{where}.{key}", "must be a number.")
            coordinates[key] = value
        return PlaceRef(
            name=name or slug,
            slug=slug,
            ids=_authority(data, cmif.PLACE_SCHEMES),
            kind=self.choice(data, "kind", where, PLACE_KINDS, Place.Kind.CITY),
            status=None if slug else PublicationStatus.DRAFT,
            **coordinates,
        )

    def document(self, data, where, model):
        slug = self.slug(data, "id", where)
        if not slug:
            return None
        title = self.text(data, "title", where, model) or slug
        extra = {}
        if model is SourceDocument and data.get("source_file"):
            extra["source_file"] = self.text(data, "source_file", where, SourceDocument)
        return DocumentRef(slug=slug, title=title, symbol=self.text(data, "symbol", where, model), extra=extra)

    def record(self):
        item = self.item
        if not isinstance(item, dict):
            self.fail("", "a letter must be a JSON object.")
        slug = self.slug(item, "id", "", required=True)
        record = LetterRecord(
            slug=slug,
            file=self.name,
            line=self.line,
            element=self.path,
            title=self.text(item, "title", "", Letter, required=True),
            kind=self.choice(item, "kind", "", LETTER_KINDS, Letter.Kind.LETTER),
            date_from=self.date(item, "date_from", ""),
            date_to=self.date(item, "date_to", ""),
            date_certainty=self.choice(item, "date_certainty", "", DATE_CERTAINTIES, Letter.DateCertainty.EXACT),
            date_as_written=self.text(item, "date_as_written", "", Letter),
            language=self.text(item, "language", "", Letter),
            place_as_written=self.text(item, "place_as_written", "", Letter),
        )
        self.dates(item, record)
        for key in ("summary", "reference", "translation_note", "letterhead", "enclosures", "editorial_note"):
            value = self.text(item, key, "", Letter)
            if value:
                record.texts[key] = value
        self.participants(item, record)
        if isinstance(item.get("place_written"), dict):
            record.place = self.place(item["place_written"], ".place_written")
            as_written = self.text(item["place_written"], "as_written", ".place_written", Letter, "place_as_written")
            record.place_as_written = record.place_as_written or as_written
        if isinstance(item.get("source"), dict):
            source = item["source"]
            record.source = self.document(source, ".source", SourceDocument)
            record.source_pages = self.text(source, "pages", ".source", Letter, "source_pages")
            position = source.get("position")
            if position is not None and (not isinstance(position, int) or position < 1):
                self.fail(".source.position", "must be a whole number from 1.")
            record.source_position = position
        self.citations(item, record)
        self.parts(item, record)
        thread = item.get("thread") if isinstance(item.get("thread"), dict) else {}
        for key in ("in_reply_to", "annex_of"):
            target = thread.get(key)
            if isinstance(target, dict):
                setattr(record, key, self.slug(target, "id", f".thread.{key}"))
        return record

    def dates(self, item, record):
        precisions = DATE_PRECISIONS
        default = Letter.DatePrecision.UNKNOWN if record.date_from is None else Letter.DatePrecision.RANGE
        if record.date_from is not None and record.date_from == record.date_to:
            default = Letter.DatePrecision.DAY
        record.date_precision = self.choice(item, "date_precision", "", precisions, default)
        if record.date_precision == Letter.DatePrecision.UNKNOWN:
            if (record.date_from is None) != (record.date_to is None):
                self.fail(".date_to", "an undated letter has both bounds or neither.")
            return
        if record.date_from is None or record.date_to is None:
            self.fail(".date_from", f"a letter dated to the {record.date_precision} needs date_from and date_to.")
        if record.date_from > record.date_to:
            self.fail(".date_to", f"{record.date_to} comes before date_from {record.date_from}.")
        expected = span_for_precision(record.date_from, record.date_precision)
        if expected and expected != (record.date_from, record.date_to):
            self.fail(
                ".date_to",
                f"a date precise to the {record.date_precision} spans {expected[0]} to {expected[1]}, "
                f"not {record.date_from} to {record.date_to}.",
            )

    def participants(self, item, record):
        groups = item.get("participants") or {}
        if not isinstance(groups, dict):
            self.fail(".participants", "must be an object with a list per role.")
        for role in groups:
            if role not in ROLES:
                self.fail(f".participants.{role}", f"“{role}” is not a role: {', '.join(ROLES)}.")
            for index, entry in enumerate(self.objects(groups, role, ".participants")):
                where = f".participants.{role}[{index}]"
                name_as_written = self.text(entry, "name_as_written", where, Participation)
                agent = self.agent(entry, where, hidden_name=name_as_written)
                if agent is None:
                    continue
                behalf = entry.get("on_behalf_of")
                record.participants.append(
                    ParticipantRecord(
                        role=role,
                        agent=agent,
                        name_as_written=name_as_written,
                        title_as_written=self.text(entry, "title_as_written", where, Participation),
                        on_behalf_of=self.agent(behalf, f"{where}.on_behalf_of") if isinstance(behalf, dict) else None,
                        inferred=bool(entry.get("identified_by_archive") or entry.get("inferred")),
                    )
                )

    def citations(self, item, record):
        if "citations" in item:
            for index, entry in enumerate(self.objects(item, "citations", "")):
                document = self.document(entry, f".citations[{index}]", CitedDocument)
                if document:
                    record.citations.append((document, self.text(entry, "quote", f".citations[{index}]")))
        else:
            for index, entry in enumerate(self.objects(item, "cited_documents", "")):
                document = self.document(entry, f".cited_documents[{index}]", CitedDocument)
                if document:
                    record.citations.append((document, ""))

    def parts(self, item, record):
        mentions = item.get("mentions") if isinstance(item.get("mentions"), dict) else {}
        for index, entry in enumerate(self.objects(mentions, "agents", ".mentions")):
            where = f".mentions.agents[{index}]"
            agent = self.agent(entry, where)
            if agent:
                record.mentions.append((agent, self.text(entry, "name_as_written", where, Mention)))
        for index, entry in enumerate(self.objects(mentions, "places", ".mentions")):
            where = f".mentions.places[{index}]"
            place = self.place(entry, where)
            if place:
                record.mentions.append((place, self.text(entry, "name_as_written", where, Mention)))
        positions = set()
        for index, entry in enumerate(self.objects(item, "paragraphs", "")):
            where = f".paragraphs[{index}]"
            position = entry.get("position", index + 1)
            if not isinstance(position, int) or position < 1 or position in positions:
                self.fail(f"{where}.position", "must be a whole number from 1, once per letter.")
            positions.add(position)
            kind = self.choice(entry, "kind", where, PARAGRAPH_KINDS, Paragraph.Kind.BODY)
            text = self.text(entry, "text", where, required=True)
            record.paragraphs.append((position, kind, self.text(entry, "page", where, Paragraph), text))
        markers = set()
        for index, entry in enumerate(self.objects(item, "footnotes", "")):
            where = f".footnotes[{index}]"
            marker = self.text(entry, "marker", where, Footnote, required=True)
            if marker in markers:
                self.fail(f"{where}.marker", f"footnote “{marker}” appears twice.")
            markers.add(marker)
            paragraph = entry.get("paragraph")
            if paragraph is not None and paragraph not in positions:
                self.fail(f"{where}.paragraph", f"there is no paragraph {paragraph} in this letter.")
            anchor = self.text(entry, "anchor", where, Footnote)
            record.footnotes.append((marker, paragraph, anchor, self.text(entry, "text", where, required=True)))


def _authority(data, schemes):
    """Authority identifiers of a JSON record: {"authority": {...}} or {"authority_uris": [...]}."""
    ids = {}
    authority = data.get("authority")
    if isinstance(authority, dict):
        ids = {scheme: str(value).strip() for scheme, value in authority.items() if scheme in schemes and value}
    uris = data.get("authority_uris")
    if isinstance(uris, list):
        found, _unknown = cmif.authority_ids(" ".join(str(uri) for uri in uris))
        for scheme, value in found.items():
            if scheme in schemes:
                ids.setdefault(scheme, value)
    return ids


def _kind_from_url(url):
    """person or organisation, from a permalink of this archive (/people/... or /organisations/...)."""
    if not isinstance(url, str) or not url:
        return None
    return _kind_from_path(urlsplit(url).path)


@functools.lru_cache(maxsize=4096)
def _kind_from_path(path):
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return {"person_detail": Agent.Kind.PERSON, "organisation_detail": Agent.Kind.ORGANISATION}.get(match.url_name)


class JsonFile:
    """
    The letters of a JSON file in the archive's format, read in chunks of
    ``CHUNK`` bytes and decoded one letter at a time, so that memory does not
    grow with the file: each call of ``records()`` reads the file again.
    """

    CHUNK = 1 << 20

    def __init__(self, path, *, name, language=""):
        self.path, self.name, self.language = path, name, language
        self.warnings = []

    def records(self):
        """The file's LetterRecords, in order; raises ImportFailed at the first bad letter or bad JSON."""
        warnings = []
        for where, line, item in _JsonStream(self.path, self.name).letters(warnings):
            record = _JsonLetter(self.name, where, line, item).record()
            record.language = record.language or self.language
            yield record
        self.warnings = warnings


class _JsonStream:
    """
    A JSON file read in chunks: the letters of ``{"count", "next", "previous",
    "results": [...]}``, of a list, or the one letter of the file, each with
    its path in the file (``results[3]``) and the line where it starts. Bad
    JSON raises ImportFailed with the line and column, as ``json.loads`` would
    report them.
    """

    def __init__(self, path, name):
        self.path, self.name = path, name
        self.decoder = json.JSONDecoder()
        self.utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self.buffer, self.pos, self.eof, self.bytes_read = "", 0, False, 0
        self.line, self.column = 1, 0  # line and column (from 0) of buffer[0]
        self.counted, self.counted_line = 0, 1  # the line of buffer[counted]
        #: Whether a value read since the last letter escapes NUL or a UTF-16 surrogate (\u0000, \ud800): the
        #: only ways JSON has to put what is not text in a string; ``letters`` then refuses the letter.
        self.escapes_not_text = False

    def letters(self, warnings):
        try:
            with open(self.path, "rb") as self.file:
                for where, line, item in self._letters(warnings):
                    if self.escapes_not_text:
                        _refuse_what_is_not_text(item, self.name, line, where)
                        self.escapes_not_text = False
                    yield where, line, item
        except OSError as error:
            raise ImportFailed(self.name, None, None, f"cannot be read: {error.strerror or error}") from None

    def _letters(self, warnings):
        start = self.peek()
        fields, results = {}, False
        if start == "[":
            yield from self.array("")
        elif start == "{":
            self.pos += 1
            while self.peek() != "}":
                if fields or results:
                    self.expect(",")
                    self.peek()
                if self.peek() != '"':
                    self.fail_json("Expecting property name enclosed in double quotes")
                key = self.value()
                self.expect(":")
                if key == "results" and self.peek() == "[":
                    results = True
                    yield from self.array("results")
                else:
                    fields[key] = self.value()
            self.pos += 1
        else:
            fields = self.value()
        if self.peek() != "":
            self.fail_json("Extra data")
        if results:
            if fields.get("next"):
                warnings.append(
                    f"{self.name}: one page of a longer list; the letters of the other pages are not in the file."
                )
        elif start == "{" and "results" in fields:
            raise ImportFailed(self.name, None, "results", "must be a list of letters.")
        elif start == "{" and "id" in fields:
            yield "letter", 1, fields
        elif start != "[":
            raise ImportFailed(
                self.name,
                1,
                None,
                'not the archive\'s JSON: expected {"count", "next", "previous", "results": [...]}, '
                "a list of letters, or one letter.",
            )

    def array(self, path):
        """Yield (path, line, value) for each value of the array that starts here."""
        self.pos += 1
        index = 0
        while self.peek() != "]":
            if index:
                self.expect(",")
                self.peek()
            line = self.line_at(self.pos)
            yield f"{path}[{index}]", line, self.value()
            index += 1
        self.pos += 1

    # -- reading -------------------------------------------------------------

    def read(self):
        """Append the next chunk of the file to the buffer, dropping what has been read; False at the end."""
        if self.eof:
            return False
        chunk = self.file.read(JsonFile.CHUNK)
        try:
            text = self.utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            raise ImportFailed(
                self.name, None, None, f"not UTF-8 text (byte {self.bytes_read + error.start})."
            ) from None
        self.bytes_read += len(chunk)
        self.eof = not chunk
        done = self.pos
        self.line_at(done)
        newline = self.buffer.rfind("\n", 0, done)
        self.column = done - newline - 1 if newline >= 0 else self.column + done
        self.line = self.counted_line
        self.buffer = self.buffer[done:] + text
        self.pos, self.counted = 0, 0
        return True

    def peek(self):
        """The next character that is not white space ("" at the end of the file), moving to it."""
        while True:
            buffer, pos = self.buffer, self.pos
            while pos < len(buffer) and buffer[pos] in " \t\n\r":
                pos += 1
            self.pos = pos
            if pos < len(buffer) or not self.read():
                return buffer[pos] if pos < len(buffer) else ""

    def expect(self, char):
        if self.peek() != char:
            self.fail_json(f"Expecting {char!r} delimiter")
        self.pos += 1

    def value(self):
        """Decode the JSON value that starts here (after white space), reading more of the file as needed."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                # Cut off by the end of the buffer, not wrong: read on (a string that never ends is
                # reported by the decoder at its first line break, or at the end of the file).
                cut = error.pos >= len(self.buffer) - 32 or error.msg.startswith("Unterminated string")
                if cut and self.read():
                    continue
                self.fail_json(error.msg, position=error.pos)
            if end == len(self.buffer) and self.read():
                continue  # a number may go on in the next chunk
            if self.buffer.find("\\", self.pos, end) >= 0 and _ESCAPED_NOT_TEXT.search(self.buffer, self.pos, end):
                self.escapes_not_text = True
            self.pos = end
            return value

    def line_at(self, position):
        self.counted_line += self.buffer.count("\n", self.counted, position)
        self.counted = position
        return self.counted_line

    def fail_json(self, message, position=None):
        position = self.pos if position is None else position
        newline = self.buffer.rfind("\n", 0, position)
        line = self.line + self.buffer.count("\n", 0, position)
        column = position - newline if newline >= 0 else self.column + position + 1
        raise ImportFailed(self.name, line, None, f"not valid JSON: {message} (column {column}).")


#: In a JSON file's text: an escape that may give NUL or half of a UTF-16 surrogate pair.
_ESCAPED_NOT_TEXT = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
#: In a decoded string: NUL, or a surrogate left alone (a pair decodes to one character).
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def _refuse_what_is_not_text(value, name, line, path):
    """
    Raise ImportFailed at the first string of ``value`` that holds NUL or a
    lone surrogate: no database stores them as text (PostgreSQL refuses NUL,
    neither encodes a lone surrogate in UTF-8), and a transcription has
    neither; the file is damaged, or was made from damaged text. Anywhere in
    the letter, in the keys the importer reads and in the others.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_what_is_not_text(key, name, line, path)
            _refuse_what_is_not_text(item, name, line, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_what_is_not_text(item, name, line, f"{path}[{index}]")
    elif isinstance(value, str) and (found := _NOT_TEXT.search(value)):
        character = found.group()
        what = "NUL" if character == "\x00" else f"half of a UTF-16 surrogate pair (U+{ord(character):04X}) alone"
        raise ImportFailed(name, line, path, f"holds {what}, which is not text: the file is damaged.")


# ---------------------------------------------------------------------------
# Meeting the database
# ---------------------------------------------------------------------------


@dataclass(eq=False)
class _Entry:
    """A person, organisation or place: in the archive already, or to be created by this import."""

    record: object
    group: str
    spellings: set
    new: bool = False
    placeholder: bool = False
    changed: bool = False


class _Registry:
    """The people and organisations (or places) of the archive and of this import, by slug, identifier and name."""

    def __init__(self, model, variant_model, schemes, status, now, using):
        self.model, self.variant_model, self.schemes, self.status, self.now = model, variant_model, schemes, status, now
        self.using = using
        self.is_agent = model is Agent
        self.by_slug, self.by_id, self.by_name, self.by_variant = {}, {}, {}, {}
        self.created, self.changed, self.variants = [], [], []
        owner = variant_model.owner_field
        fields = ["slug", "name", *schemes] + (["kind"] if self.is_agent else [])
        fields.append("merged_into")
        records = list(model.objects.using(using).order_by("pk").only(*fields))
        by_pk = {record.pk: record for record in records}
        variants = {}
        for pk, name in variant_model.objects.using(using).order_by("pk").values_list(f"{owner}_id", "name"):
            variants.setdefault(pk, []).append(name)
        entries = {}
        for record in records:
            entries[record.pk] = _Entry(record, self.group(record), {record.name, *variants.get(record.pk, [])})
        for record in records:
            entry = entries[record.pk]
            survivor = record
            seen = set()
            while survivor.merged_into_id in by_pk and survivor.pk not in seen:
                seen.add(survivor.pk)
                survivor = by_pk[survivor.merged_into_id]
            self.by_slug[record.slug] = entries[survivor.pk]
            self.index(entries[survivor.pk], record, entry.spellings, preferred=record.name)

    def group(self, record_or_kind):
        if not self.is_agent:
            return ""
        kind = record_or_kind if isinstance(record_or_kind, str) else record_or_kind.kind
        return "person" if kind == Agent.Kind.PERSON else "organisation"

    def index(self, entry, record, spellings, preferred):
        for scheme in self.schemes:
            value = getattr(record, scheme)
            if value:
                self.by_id.setdefault((scheme, value), entry)
        self.by_name.setdefault((entry.group, fold(preferred)), []).append(entry)
        for spelling in spellings:
            if spelling != preferred:
                self.by_variant.setdefault((entry.group, fold(spelling)), []).append(entry)

    def find_by_ids(self, ref):
        for scheme in self.schemes:
            value = ref.ids.get(scheme)
            if value and (scheme, value) in self.by_id:
                return self.by_id[(scheme, value)]
        return None

    def find_by_name(self, ref, unidentified_only=False):
        key = (self.group(ref.kind) if self.is_agent else "", fold(ref.name))
        if not key[1]:
            return None
        for index in (self.by_name, self.by_variant):
            for entry in index.get(key, []):
                if not unidentified_only or not any(getattr(entry.record, scheme) for scheme in self.schemes):
                    return entry
        return None

    def resolve(self, refs):
        """Give every ref its entry: by slug, by identifier, then by name (see the module docstring)."""
        # A record known by its slug takes its kind from a reference that states it (a participant's kind is
        # only guessed from its URL, where groups and organisations look alike).
        for ref in sorted(refs, key=lambda ref: not getattr(ref, "kind_stated", True)):
            if ref.slug:
                self.learn(ref, self.by_slug.get(ref.slug) or self.find_by_ids(ref) or self.create(ref))
        for ref in refs:
            if ref.entry is None and ref.ids:
                self.learn(ref, self.find_by_ids(ref) or self.find_by_name(ref, True) or self.create(ref))
        for ref in refs:
            if ref.entry is None:
                self.learn(ref, self.find_by_name(ref) or self.create(ref))

    def create(self, ref):
        name = ref.name
        placeholder = not name
        if placeholder:
            scheme, value = next(iter(ref.ids.items()))
            name = f"{scheme.capitalize()} {value}"
        slug = ref.slug if ref.slug and ref.slug not in self.by_slug else self.new_slug(name)
        status = ref.status or self.status
        fields = {"slug": slug, "name": name, "status": status}
        fields["published_at"] = self.now if status == PublicationStatus.PUBLISHED else None
        if self.is_agent:
            fields["kind"] = ref.kind
            if ref.kind == Agent.Kind.PERSON and re.fullmatch(r"[^,]+, [^,]+", name):
                fields["sort_name"] = name
        else:
            fields.update(kind=ref.kind, latitude=ref.latitude, longitude=ref.longitude)
        record = self.model(**fields)
        for scheme in self.schemes:
            setattr(record, scheme, "")
        entry = _Entry(record, self.group(record), {name}, new=True, placeholder=placeholder)
        self.created.append(entry)
        self.by_slug[slug] = entry
        self.index(entry, record, (), preferred=name)
        return entry

    def new_slug(self, name):
        base = slugify(name)[:100].strip("-") or ("agent" if self.is_agent else "place")
        slug, number = base, 2
        while slug in self.by_slug:
            slug, number = f"{base}-{number}", number + 1
        return slug

    def learn(self, ref, entry):
        """Attach the entry to the ref; take the ref's identifiers and spelling into the record."""
        ref.entry = entry
        record = entry.record
        filled = False
        for scheme in self.schemes:
            value = ref.ids.get(scheme)
            if value and not getattr(record, scheme):
                setattr(record, scheme, value)
                self.by_id.setdefault((scheme, value), entry)
                filled = True
        if filled and not entry.new and not entry.changed:
            entry.changed = True
            self.changed.append(entry)
        name = ref.name
        if entry.placeholder and name:
            record.name, entry.placeholder = name, False
            entry.spellings.add(name)
            self.by_name.setdefault((entry.group, fold(name)), []).append(entry)
            if self.is_agent and record.kind == Agent.Kind.PERSON and re.fullmatch(r"[^,]+, [^,]+", name):
                record.sort_name = name
        elif name and name not in entry.spellings:
            entry.spellings.add(name)
            self.variants.append((entry, name))
            self.by_variant.setdefault((entry.group, fold(name)), []).append(entry)

    def save(self):
        """Write the new records, the identifiers filled in, the new variants; return the ids touched."""
        objects = self.model.objects.using(self.using)
        bulk_insert.create(self.model, [entry.record for entry in self.created], using=self.using)
        if self.changed:
            objects.bulk_update([entry.record for entry in self.changed], list(self.schemes), batch_size=BATCH_SIZE)
        owner = self.variant_model.owner_field
        limit = self.variant_model._meta.get_field("name").max_length
        self.variant_model.objects.using(self.using).bulk_create(
            [self.variant_model(**{owner: entry.record, "name": name[:limit]}) for entry, name in self.variants],
            batch_size=BATCH_SIZE,
            ignore_conflicts=True,
        )
        touched = [entry.record.pk for entry in self.created + self.changed]
        touched += [entry.record.pk for entry, _name in self.variants]
        return set(touched)


def _by_slug(queryset, slugs, chunk=1000):
    """The rows of ``queryset`` with these slugs, asked in chunks (SQLite limits the parameters of a query)."""
    slugs = sorted(slugs)
    for start in range(0, len(slugs), chunk):
        yield from queryset.filter(slug__in=slugs[start : start + chunk])


def _documents(model, refs, status, now, using):
    """
    ({slug: instance}, [created]) for the source or cited documents named (one
    ref per slug): the archive's (the surviving one for a merged record), else new ones.
    """
    objects = model.objects.using(using)
    slugs = {ref.slug for ref in refs}
    found = {record.slug: record for record in _by_slug(objects.all(), slugs)}
    for slug, record in list(found.items()):
        seen = set()
        while record.merged_into_id and record.pk not in seen:
            seen.add(record.pk)
            record = objects.get(pk=record.merged_into_id)
        found[slug] = record
    created = []
    for ref in refs:
        if ref.slug not in found:
            fields = {"slug": ref.slug, "status": status, "symbol": ref.symbol, "title": ref.title, **ref.extra}
            fields["published_at"] = now if status == PublicationStatus.PUBLISHED else None
            record = model(**fields)
            found[ref.slug] = record
            created.append(record)
    bulk_insert.create(model, created, using=using)
    return found, created


def _ref_key(ref):
    """What a reference says: two references that say the same lead to the same record."""
    ids = tuple(sorted(ref.ids.items())) if ref.ids else ()
    if isinstance(ref, AgentRef):
        return (AgentRef, ref.name, ref.kind, ref.slug, ids, ref.status, ref.kind_stated)
    return (PlaceRef, ref.name, ref.slug, ids, ref.kind, ref.latitude, ref.longitude, ref.status)


class _References:
    """
    The people, organisations, places and documents that the new letters
    refer to, each distinct reference once (a corpus of 100,000 letters names
    a few thousand records, hundreds of thousands of times) and known by its
    number, in the order in which ``_Registry.resolve`` takes them:
    participants, then the bodies they act for, then the records mentioned;
    the place written, then the places mentioned.
    """

    def __init__(self):
        self.numbers = {}  # {what a reference says: its number}
        self.refs = []  # by number
        self.agent_numbers = ({}, {}, {})  # participants, on behalf of, mentioned: in order of first appearance
        self.place_numbers = ({}, {})  # place written, mentioned
        self.sources, self.cited = {}, {}  # {slug: first DocumentRef}

    def number(self, ref, order):
        """The number of this reference (the same for every reference that says the same)."""
        key = _ref_key(ref)
        number = self.numbers.get(key)
        if number is None:
            number = self.numbers[key] = len(self.refs)
            self.refs.append(ref)
        order[number] = None
        return number

    def agents(self):
        return [self.refs[number] for number in dict.fromkeys(itertools.chain(*self.agent_numbers))]

    def places(self):
        return [self.refs[number] for number in dict.fromkeys(itertools.chain(*self.place_numbers))]

    def compact(self, record):
        """
        What ``_Import.prepare_batch`` needs of a new letter, in plain tuples
        (references by number, documents by slug), to keep until it is written.
        """
        participants, on_behalf, mentioned = self.agent_numbers
        written, mentioned_places = self.place_numbers
        people = tuple(
            (
                str(participant.role),
                self.number(participant.agent, participants),
                participant.name_as_written,
                participant.title_as_written,
                self.number(participant.on_behalf_of, on_behalf) if participant.on_behalf_of else None,
                participant.inferred,
            )
            for participant in record.participants
        )
        place = self.number(record.place, written) if record.place else None
        mentions = tuple(
            (
                self.number(ref, mentioned if isinstance(ref, AgentRef) else mentioned_places),
                isinstance(ref, PlaceRef),
                name_as_written,
            )
            for ref, name_as_written in record.mentions
        )
        if record.source:
            self.sources.setdefault(record.source.slug, record.source)
        for document, _quote in record.citations:
            self.cited.setdefault(document.slug, document)
        return _Letter(
            slug=record.slug,
            file=record.file,
            values=(
                record.title,
                str(record.kind),
                record.date_from,
                record.date_to,
                str(record.date_precision),
                str(record.date_certainty),
                record.date_as_written,
                record.place_as_written,
                record.language or DEFAULT_LANGUAGE,
                record.source_pages,
                *(record.texts.get(name, "") for name in LETTER_TEXTS),
            ),
            place=place,
            source=record.source.slug if record.source else None,
            source_position=record.source_position,
            in_reply_to=record.in_reply_to,
            annex_of=record.annex_of,
            participants=people,
            paragraphs=tuple((position, str(kind), page, text) for position, kind, page, text in record.paragraphs),
            footnotes=tuple(record.footnotes),
            citations=tuple((document.slug, quote) for document, quote in record.citations),
            mentions=mentions,
        )


class _Letter(NamedTuple):
    """A new letter as ``_References.compact`` keeps it (see there)."""

    slug: str
    file: str
    values: tuple  # LETTER_VALUES
    place: int | None
    source: str | None
    source_position: int | None
    in_reply_to: str
    annex_of: str
    participants: tuple  # (role, agent, name as written, title as written, on behalf of, inferred)
    paragraphs: tuple  # (position, kind, page, text)
    footnotes: tuple  # (marker, paragraph position or None, anchor, text)
    citations: tuple  # (cited document slug, quote)
    mentions: tuple  # (reference, is a place, name as written)


LETTER_TEXTS = ["summary", "reference", "translation_note", "letterhead", "enclosures", "editorial_note"]
#: The values a _Letter carries as they are, in this order.
LETTER_VALUES = [
    "title",
    "kind",
    "date_from",
    "date_to",
    "date_precision",
    "date_certainty",
    "date_as_written",
    "place_as_written",
    "language",
    "source_pages",
    *LETTER_TEXTS,
]
#: The columns of a letter that the importer writes (the others take their defaults).
LETTER_FIELDS = [
    "id",
    "slug",
    *LETTER_VALUES,
    "place_written_id",
    "source_id",
    "source_position",
    "in_reply_to_id",
    "annex_of_id",
    "status",
    "published_at",
]


def import_files(paths, *, status=PublicationStatus.PUBLISHED, language="", dry_run=False, progress=None):
    """
    Import the letters of these files (CMIF or JSON) in one transaction;
    return an ``ImportReport``. Raises ``ImportFailed`` (nothing written) when
    a file cannot be read. ``progress`` receives short lines of text.
    """
    started = time.monotonic()
    report = ImportReport(files=len(paths), dry_run=dry_run)
    files = [open_file(path, language=language) for path in paths]
    using = router.db_for_write(Letter)
    with transaction.atomic(using=using), tempfile.TemporaryFile(prefix="import-letters-") as spool:
        _Import(files, report, spool, status=status, progress=progress, using=using).run()
        report.seconds = time.monotonic() - started
        if dry_run:
            transaction.set_rollback(True, using=using)
    return report


class _Import:
    """
    One import (see "Speed" in the module docstring): ``check`` reads and
    checks every letter, keeps what the new ones refer to and puts them aside
    in ``spool`` (a temporary file), ``BATCH_SIZE`` at a time; ``resolve``
    finds or creates the records they refer to; ``write`` takes the batches
    back and writes them.
    """

    def __init__(self, files, report, spool, *, status, progress, using):
        self.files, self.report, self.spool, self.status, self.using = files, report, spool, status, using
        self.progress = progress or (lambda line: None)
        self.connection = connections[using]
        self.now = timezone.now()
        self.refs = _References()
        self.batches = 0  # in the spool
        self.existing = set()  # slugs of letters in the archive already
        self.new = set()  # slugs of the letters to write
        self.wanted = set()  # slugs that letters answer or are annexed to
        self.targets = {}  # {slug: pk} of the wanted letters, once they exist
        self.forward = []  # (pk, field name, slug): links to letters written later in the import
        self.taken = {}  # {source pk: positions used}
        self.last = {}  # {source pk: highest position used}

    def run(self):
        self.check()
        self.resolve()
        self.write()

    # -- reading -------------------------------------------------------------

    def check(self):
        without_language = 0
        for file in self.files:
            count, group = 0, []
            for record in itertools.chain(file.records(), [None]):
                if record is not None:
                    count += 1
                    group.append(record)
                if group and (record is None or len(group) == BATCH_SIZE):
                    without_language += self.check_group(group)
                    group = []
            self.report.warnings.extend(file.warnings)
            self.progress(f"{file.name}: {count} letter(s) read.")
        if without_language:
            self.report.warnings.append(
                f"{without_language} letter(s) without a language in their file: set to the archive's default "
                f"({DEFAULT_LANGUAGE}); --language chooses another."
            )

    def check_group(self, records):
        """Put the new letters aside; count those the archive has already. Returns the number without a language."""
        letters = Letter.objects.using(self.using).values_list("slug", flat=True)
        self.existing.update(_by_slug(letters, {record.slug for record in records} - self.new - self.existing))
        new, without_language = [], 0
        for record in records:
            if record.slug in self.existing or record.slug in self.new:
                self.report.already_present += 1
                continue
            self.new.add(record.slug)
            new.append(self.refs.compact(record))
            without_language += not record.language
            self.wanted.update(slug for slug in (record.in_reply_to, record.annex_of) if slug)
        if new:
            pickle.dump(new, self.spool, protocol=pickle.HIGHEST_PROTOCOL)
            self.batches += 1
        return without_language

    # -- records -------------------------------------------------------------

    def resolve(self):
        """Find or create the people, organisations, places and documents; the positions taken in the sources."""
        status, now, using = self.status, self.now, self.using
        agents = _Registry(Agent, AgentName, cmif.AGENT_SCHEMES, status, now, using)
        agents.resolve(self.refs.agents())
        places = _Registry(Place, PlaceName, cmif.PLACE_SCHEMES, status, now, using)
        places.resolve(self.refs.places())
        touched_agents, touched_places = agents.save(), places.save()
        search.index_spellings(agents=touched_agents, places=touched_places)
        self.pks = [ref.entry.record.pk for ref in self.refs.refs]
        # Names as written to the database, for the new letters' search text (``search_texts``).
        self.agent_names, self.place_names = {}, {}
        for ref in self.refs.refs:
            names = self.place_names if isinstance(ref, PlaceRef) else self.agent_names
            names[ref.entry.record.pk] = ref.entry.record.name
        sources, created_sources = _documents(SourceDocument, list(self.refs.sources.values()), status, now, using)
        cited, created_cited = _documents(CitedDocument, list(self.refs.cited.values()), status, now, using)
        self.sources = {slug: record.pk for slug, record in sources.items()}
        self.cited = {slug: record.pk for slug, record in cited.items()}
        self.cited_texts = {record.pk: (record.title, record.symbol) for record in cited.values()}

        report = self.report
        report.people = sum(1 for entry in agents.created if entry.record.kind == Agent.Kind.PERSON)
        report.organisations = len(agents.created) - report.people
        report.places = len(places.created)
        report.sources, report.cited_documents = len(created_sources), len(created_cited)

        created = {source.pk for source in created_sources}
        existing_sources = sorted(set(self.sources.values()) - created)
        letters = Letter.objects.using(using)
        for start in range(0, len(existing_sources), 1000):
            chunk = existing_sources[start : start + 1000]
            for source_id, position in letters.filter(source_id__in=chunk).values_list("source_id", "source_position"):
                self.taken.setdefault(source_id, set()).add(position)
        for source_id, positions in self.taken.items():
            self.last[source_id] = max(positions)
        self.targets.update(_by_slug(letters.values_list("slug", "pk"), self.wanted - self.new))

    def position(self, source_id, wanted):
        """The position the file gives the letter in its source if free, else the next one."""
        used = self.taken.setdefault(source_id, set())
        position = wanted
        if position is None or position in used:
            position = self.last.get(source_id, 0) + 1
        used.add(position)
        self.last[source_id] = max(position, self.last.get(source_id, 0))
        return position

    def link(self, letter, pk, field_name):
        """The id of the letter this one answers or is annexed to, if written already (else None)."""
        slug = getattr(letter, field_name)
        if not slug:
            return None
        if slug in self.targets and slug != letter.slug:
            return self.targets[slug]
        if slug in self.new and slug != letter.slug:
            self.forward.append((pk, field_name, slug))
            return None
        self.report.warnings.append(f"{letter.file}: {letter.slug}: {field_name} {slug} is not in the archive.")
        return None

    # -- writing -------------------------------------------------------------

    def write(self):
        using = self.using
        self.writers = {
            Letter: bulk_insert.RowWriter(Letter, LETTER_FIELDS, using=using),
            Participation: bulk_insert.RowWriter(
                Participation,
                ["letter_id", "agent_id", "role", "name_as_written", "title_as_written", "on_behalf_of_id"]
                + ["inferred", "position"],
                using=using,
            ),
            Paragraph: bulk_insert.RowWriter(
                Paragraph, ["id", "letter_id", "position", "kind", "page", "text"], using=using
            ),
            Footnote: bulk_insert.RowWriter(
                Footnote, ["letter_id", "marker", "paragraph_id", "anchor", "text"], using=using
            ),
            Citation: bulk_insert.RowWriter(
                Citation, ["letter_id", "cited_document_id", "quote", "position"], using=using
            ),
            Mention: bulk_insert.RowWriter(
                Mention, ["letter_id", "agent_id", "place_id", "name_as_written"], using=using
            ),
        }
        # A first load (no letter in the archive, so no reader to lock out): on PostgreSQL the foreign keys of
        # the tables written are checked once at the end, not row by row at commit. Any import: the facet counts
        # of the new letters are made once at the end (facet_counts.counted_at_end), not batch by batch.
        with contextlib.ExitStack() as stack:
            if not Letter.objects.using(using).exists():
                written = [*self.writers, LetterSearchText]
                stack.enter_context(
                    bulk_insert.foreign_keys_checked_at_end(
                        written, [Agent, Place, SourceDocument, CitedDocument], using=using
                    )
                )
            self.counted = stack.enter_context(facet_counts.counted_at_end(using))
            self.write_letters()

    def write_letters(self):
        using = self.using
        # PostgreSQL with psycopg2: COPY, the next batch made in a thread and its search vectors computed on a
        # second connection while this one writes (see below).
        pipelined = self.writers[Letter].copies
        self.search_writer = search.search_text_writer(using, vectors=pipelined)
        self.vectors = None
        if self.batches:
            state.bump()  # written in bulk, without signals: cached summaries are out of date
        self.started, self.written = time.monotonic(), 0
        self.spool.seek(0)
        batches = (self.next_batch() for _batch in range(self.batches))
        if not pipelined:
            for batch in batches:
                self.send_batch(*self.prepare_batch(*batch))
        else:
            # Three stages at once: a thread makes the rows of a batch, another has a second server process
            # compute their search vectors (search.SearchVectors), while this one COPYs the batch before:
            # psycopg2 lets go of the GIL for the whole statement (SQLite's driver takes it back after every
            # row, so there they would take turns). Only this thread uses the import's transaction.
            with (
                search.SearchVectors(using) as self.vectors,
                concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-rows") as pool,
                concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-vectors") as vectors,
            ):
                self.vector_pool = vectors
                pending = None
                for batch in batches:
                    prepared = pool.submit(self.prepare_batch, *batch)
                    if pending is not None:
                        self.send_batch(*pending.result())
                    pending = prepared
                if pending is not None:
                    self.send_batch(*pending.result())
        self.report.letters = self.written
        forward = {}
        for pk, field_name, slug in self.forward:
            forward.setdefault(field_name, []).append(Letter(pk=pk, **{f"{field_name}_id": self.targets[slug]}))
        for field_name, letters in forward.items():
            Letter.objects.using(using).bulk_update(letters, [field_name], batch_size=BATCH_SIZE)

    def next_batch(self):
        """The next batch of new letters from the spool, with their ids and their paragraphs' reserved."""
        letters = pickle.load(self.spool)  # noqa: S301 - the file this import wrote
        ids = self.writers[Letter].reserve_ids(len(letters))
        self.counted.extend(ids)
        paragraph_ids = self.writers[Paragraph].reserve_ids(sum(len(letter.paragraphs) for letter in letters))
        return letters, ids, paragraph_ids

    def prepare_batch(self, letters, ids, paragraph_ids):
        """
        (number of letters, {writer: what it sends}, search rows to come or
        None) for a batch of new letters whose ids are reserved: pure Python,
        run in a thread on PostgreSQL (``write``), where the search rows, with
        their vectors, are a future of ``with_vectors``.
        """
        paragraph_ids = iter(paragraph_ids)
        published_at = self.now if self.status == PublicationStatus.PUBLISHED else None
        rows = {model: [] for model in self.writers}
        for letter, pk in zip(letters, ids, strict=True):
            if letter.slug in self.wanted:
                self.targets[letter.slug] = pk
            source = self.sources[letter.source] if letter.source else None
            rows[Letter].append(
                (
                    pk,
                    letter.slug,
                    *letter.values,
                    self.pks[letter.place] if letter.place is not None else None,
                    source,
                    self.position(source, letter.source_position) if source else letter.source_position or 1,
                    self.link(letter, pk, "in_reply_to"),
                    self.link(letter, pk, "annex_of"),
                    self.status,
                    published_at,
                )
            )
            self.parts(letter, pk, rows, paragraph_ids)
        prepared = {writer: writer.prepare(rows[model]) for model, writer in self.writers.items()}
        search_rows = search.search_text_rows(self.search_texts(rows))
        if self.vectors is None:
            prepared[self.search_writer] = self.search_writer.prepare(search_rows)
            return len(letters), prepared, None
        return len(letters), prepared, self.vector_pool.submit(self.with_vectors, search_rows)

    def with_vectors(self, search_rows):
        """The search rows with their vectors, for the search writer (on the vectors' thread)."""
        vectors = self.vectors(search_rows)
        return self.search_writer.prepare([(*row, vector) for row, vector in zip(search_rows, vectors, strict=True)])

    def send_batch(self, count, prepared, search_rows):
        """Write a batch that ``prepare_batch`` made, in the order the rows refer to each other."""
        for writer, data in prepared.items():
            writer.send(data)
        if search_rows is not None:
            self.search_writer.send(search_rows.result())
        if self.connection.queries_logged and not self.connection.force_debug_cursor:
            # DEBUG keeps the last 9,000 queries, INSERTs of whole transcriptions included: not during an
            # import (unless a test is counting them).
            self.connection.queries_log.clear()
        self.written += count
        self.progress(_progress_line(self.written, len(self.new), time.monotonic() - self.started))

    def search_texts(self, rows):
        """
        The search text of the letters of ``rows`` (what ``prepare_batch``
        has just made), built from those rows as ``search.index_letters``
        builds it from the database, without reading them back.
        """
        agents, places = self.agent_names, self.place_names
        fields = dict.fromkeys(LETTER_FIELDS)
        letters = {}
        for row in rows[Letter]:
            values = dict(zip(fields, row, strict=True))
            values["place_written__name"] = places.get(values["place_written_id"])
            letters[row[0]] = ([values[name] for name in search.SEARCHED_LETTER_FIELDS], [], [], [], [], [])
        for _id, letter, _position, _kind, _page, text in rows[Paragraph]:
            letters[letter][1].append((text,))
        for letter, marker, _paragraph, _anchor, text in rows[Footnote]:
            letters[letter][2].append((marker, text))
        for letter, agent, role, name_as_written, title_as_written, on_behalf_of, _inferred, position in rows[
            Participation
        ]:
            letters[letter][3].append(
                (role, position, agents[agent], name_as_written, title_as_written, agents.get(on_behalf_of))
            )
        for letter, agent, place, name_as_written in rows[Mention]:
            letters[letter][4].append((agents.get(agent), places.get(place), name_as_written))
        for letter, document, quote, _position in rows[Citation]:
            letters[letter][5].append((quote, *self.cited_texts[document]))
        return {pk: search.search_parts(*parts) for pk, parts in letters.items()}

    def parts(self, letter, pk, rows, paragraph_ids):
        """Participations, paragraphs, footnotes, citations and mentions of one new letter."""
        pks = self.pks
        positions, seen = {}, set()
        for role, agent, name_as_written, title_as_written, on_behalf_of, inferred in letter.participants:
            agent = pks[agent]
            if (agent, role) in seen:
                continue  # the same person listed twice in one role
            seen.add((agent, role))
            positions[role] = positions.get(role, 0) + 1
            on_behalf_of = pks[on_behalf_of] if on_behalf_of is not None else None
            rows[Participation].append(
                (pk, agent, role, name_as_written, title_as_written, on_behalf_of, inferred, positions[role])
            )
        by_position = {}
        for position, kind, page, text in letter.paragraphs:
            by_position[position] = paragraph = next(paragraph_ids)
            rows[Paragraph].append((paragraph, pk, position, kind, page, text))
        for marker, paragraph, anchor, text in letter.footnotes:
            rows[Footnote].append((pk, marker, by_position.get(paragraph), anchor, text))
        for position, (document, quote) in enumerate(letter.citations, start=1):
            rows[Citation].append((pk, self.cited[document], quote, position))
        mentioned = set()
        for ref, is_place, name_as_written in letter.mentions:
            target = (is_place, pks[ref])
            if target in mentioned:
                continue
            mentioned.add(target)
            rows[Mention].append(
                (pk, None, target[1], name_as_written) if is_place else (pk, target[1], None, name_as_written)
            )


def _progress_line(done, total, seconds):
    """'3000/10000 letters written. [######--------------] 30 %, 1,234 letters/s': a line per batch."""
    share = done / total if total else 1
    bar = "#" * round(share * 20)
    rate = f", {done / seconds:,.0f} letters/s" if seconds else ""
    return f"{done}/{total} letters written. [{bar:-<20}] {share:.0%}{rate}."
