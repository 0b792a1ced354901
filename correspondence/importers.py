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
written in one transaction: a file that is not XML or JSON, has the wrong
root, holds a date that does not exist or a letter without a required key
raises ``ImportFailed`` naming the file, the line and the element, and the
database is left as it was. ``dry_run=True`` does all the work, reports what
would be created, and rolls back.

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

Speed
-----
Existing records are read with one query per model; records and letters are
written with ``bulk_create`` (letters in batches of ``BATCH_SIZE``, reported
through ``progress``), which sends no signals: the search index is updated
once at the end (``search.index_spellings`` and ``search.index_letters``).
"""

import datetime
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.db import transaction
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.text import slugify

from correspondence import cmif, search
from correspondence.models import (
    Agent,
    AgentName,
    Citation,
    CitedDocument,
    Footnote,
    Letter,
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

BATCH_SIZE = 500
ROLES = [role for role, _label in Participation.Role.choices]
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


def read_file(path, *, language=""):
    """(letter records, warnings) of one file; raises ImportFailed."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImportFailed(name, None, None, f"cannot be read: {error.strerror or error}") from None
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<" or (start not in (b"{", b"[") and Path(path).suffix.lower() != ".json"):
        try:
            document = cmif.read_cmif(data, name=name)
        except cmif.CmifError as error:
            element = f"<{error.element}>" if error.element else None
            raise ImportFailed(error.file, error.line, element, error.message) from None
        return records_from_cmif(document, language=language), document.warnings
    return read_json(data, name=name, language=language)


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


def _clip(text, model, field_name):
    return (text or "")[: model._meta.get_field(field_name).max_length]


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

_WHITESPACE = re.compile(r"\s*")


def _item_lines(text):
    """The line where each letter starts, for a list at the top or under "results" ([] if not found)."""
    decoder = json.JSONDecoder()

    def skip(index):
        return _WHITESPACE.match(text, index).end()

    def array(index):
        lines, line, counted = [], 1, 0
        index = skip(index + 1)
        while index < len(text) and text[index] != "]":
            line += text.count("\n", counted, index)
            counted = index
            lines.append(line)
            _value, index = decoder.raw_decode(text, index)
            index = skip(index)
            if text.startswith(",", index):
                index = skip(index + 1)
        return lines

    try:
        index = skip(0)
        if text.startswith("[", index):
            return array(index)
        if text.startswith("{", index):
            index = skip(index + 1)
            while index < len(text) and text[index] != "}":
                key, index = decoder.raw_decode(text, index)
                index = skip(skip(index) + 1)
                if key == "results" and text.startswith("[", index):
                    return array(index)
                _value, index = decoder.raw_decode(text, index)
                index = skip(index)
                if text.startswith(",", index):
                    index = skip(index + 1)
    except (ValueError, IndexError):
        pass
    return []


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
            limit = model._meta.get_field(field_name or key).max_length
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
        if kind not in Agent.Kind.values:
            self.fail(f"{where}.kind", f"“{kind}” is not one of: {', '.join(Agent.Kind.values)}.")
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
            kind=self.choice(data, "kind", where, Place.Kind.values, Place.Kind.CITY),
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
            kind=self.choice(item, "kind", "", Letter.Kind.values, Letter.Kind.LETTER),
            date_from=self.date(item, "date_from", ""),
            date_to=self.date(item, "date_to", ""),
            date_certainty=self.choice(
                item, "date_certainty", "", Letter.DateCertainty.values, Letter.DateCertainty.EXACT
            ),
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
        precisions = Letter.DatePrecision.values
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
            kind = self.choice(entry, "kind", where, Paragraph.Kind.values, Paragraph.Kind.BODY)
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
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return {"person_detail": Agent.Kind.PERSON, "organisation_detail": Agent.Kind.ORGANISATION}.get(match.url_name)


def read_json(data, *, name, language=""):
    """(letter records, warnings) of a JSON file in the archive's format; raises ImportFailed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFailed(name, None, None, f"not UTF-8 text (byte {error.start}).") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFailed(name, error.lineno, None, f"not valid JSON: {error.msg} (column {error.colno}).") from None
    warnings = []
    if isinstance(payload, dict) and "results" in payload:
        items, path = payload["results"], "results"
        if not isinstance(items, list):
            raise ImportFailed(name, None, "results", "must be a list of letters.")
        if payload.get("next"):
            warnings.append(f"{name}: one page of a longer list; the letters of the other pages are not in the file.")
    elif isinstance(payload, list):
        items, path = payload, ""
    elif isinstance(payload, dict) and "id" in payload:
        items, path = [payload], None
    else:
        raise ImportFailed(
            name,
            1,
            None,
            'not the archive\'s JSON: expected {"count", "next", "previous", "results": [...]}, '
            "a list of letters, or one letter.",
        )
    lines = None
    records = []
    for index, item in enumerate(items):
        where = "letter" if path is None else f"{path}[{index}]"
        reader = _JsonLetter(name, where, None, item)
        try:
            record = reader.record()
        except ImportFailed as error:
            if lines is None:
                lines = _item_lines(text) if path is not None else [1]
            error.line = lines[index] if index < len(lines) else None
            raise ImportFailed(error.file, error.line, error.element, error.message) from None
        record.language = record.language or language
        records.append(record)
    return records, warnings


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


class _Registry:
    """The people and organisations (or places) of the archive and of this import, by slug, identifier and name."""

    def __init__(self, model, variant_model, schemes, status, now):
        self.model, self.variant_model, self.schemes, self.status, self.now = model, variant_model, schemes, status, now
        self.is_agent = model is Agent
        self.by_slug, self.by_id, self.by_name, self.by_variant = {}, {}, {}, {}
        self.created, self.changed, self.variants = [], [], []
        owner = variant_model.owner_field
        fields = ["slug", "name", *schemes] + (["kind"] if self.is_agent else [])
        fields.append("merged_into")
        records = list(model.objects.order_by("pk").only(*fields))
        by_pk = {record.pk: record for record in records}
        variants = {}
        for pk, name in variant_model.objects.order_by("pk").values_list(f"{owner}_id", "name"):
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
        if filled and not entry.new and entry not in self.changed:
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
        self.model.objects.bulk_create([entry.record for entry in self.created], batch_size=BATCH_SIZE)
        if self.changed:
            self.model.objects.bulk_update(
                [entry.record for entry in self.changed], list(self.schemes), batch_size=BATCH_SIZE
            )
        owner = self.variant_model.owner_field
        limit = self.variant_model._meta.get_field("name").max_length
        self.variant_model.objects.bulk_create(
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


def _documents(model, refs, status, now):
    """
    ({slug: instance}, [created]) for the source or cited documents named:
    the archive's (the surviving one for a merged record), else new ones.
    """
    slugs = {ref.slug for ref in refs}
    found = {record.slug: record for record in _by_slug(model.objects.all(), slugs)}
    for slug, record in list(found.items()):
        seen = set()
        while record.merged_into_id and record.pk not in seen:
            seen.add(record.pk)
            record = model.objects.get(pk=record.merged_into_id)
        found[slug] = record
    created = []
    for ref in refs:
        if ref.slug not in found:
            fields = {"slug": ref.slug, "status": status, "symbol": ref.symbol, "title": ref.title, **ref.extra}
            fields["published_at"] = now if status == PublicationStatus.PUBLISHED else None
            record = model(**fields)
            found[ref.slug] = record
            created.append(record)
    model.objects.bulk_create(created, batch_size=BATCH_SIZE)
    return found, created


def _letter(record, *, sources, status, now):
    place = record.place.entry.record if record.place else None
    return Letter(
        slug=record.slug,
        title=record.title,
        kind=record.kind,
        date_from=record.date_from,
        date_to=record.date_to,
        date_precision=record.date_precision,
        date_certainty=record.date_certainty,
        date_as_written=record.date_as_written,
        place_written=place,
        place_as_written=record.place_as_written,
        language=record.language or Letter._meta.get_field("language").default,
        source=sources[record.source.slug] if record.source else None,
        source_pages=record.source_pages,
        source_position=record.source_position or 1,
        status=status,
        published_at=now if status == PublicationStatus.PUBLISHED else None,
        **record.texts,
    )


def _assign_positions(records, sources):
    """Give letters a free position in their source: the one the file gives if free, else the next one."""
    taken = {}
    existing = [source.pk for source in sources.values() if source.pk]
    for source_id, position in Letter.objects.filter(source_id__in=existing).values_list(
        "source_id", "source_position"
    ):
        taken.setdefault(source_id, set()).add(position)
    for record in records:
        if record.source is None:
            continue
        used = taken.setdefault(sources[record.source.slug].pk, set())
        position = record.source_position
        if position is None or position in used:
            position = max(used, default=0) + 1
        used.add(position)
        record.source_position = position


def _parts(record, letter, paragraphs_out, footnotes_out, rows):
    """Participations, paragraphs, footnotes, citations and mentions of one new letter."""
    positions, seen = {}, set()
    for participant in record.participants:
        agent = participant.agent.entry.record
        if (id(agent), participant.role) in seen:
            continue  # the same person listed twice in one role
        seen.add((id(agent), participant.role))
        positions[participant.role] = positions.get(participant.role, 0) + 1
        rows["participations"].append(
            Participation(
                letter=letter,
                agent=agent,
                role=participant.role,
                name_as_written=participant.name_as_written,
                title_as_written=participant.title_as_written,
                on_behalf_of=participant.on_behalf_of.entry.record if participant.on_behalf_of else None,
                inferred=participant.inferred,
                position=positions[participant.role],
            )
        )
    by_position = {}
    for position, kind, page, text in record.paragraphs:
        paragraph = Paragraph(letter=letter, position=position, kind=kind, page=page, text=text)
        by_position[position] = paragraph
        paragraphs_out.append(paragraph)
    for marker, paragraph, anchor, text in record.footnotes:
        footnotes_out.append(
            Footnote(letter=letter, marker=marker, paragraph=by_position.get(paragraph), anchor=anchor, text=text)
        )
    for position, (document, quote) in enumerate(record.citations, start=1):
        rows["citations"].append(
            Citation(letter=letter, cited_document=rows["cited"][document.slug], quote=quote, position=position)
        )
    mentioned = set()
    for ref, name_as_written in record.mentions:
        target = ref.entry.record
        if id(target) in mentioned:
            continue
        mentioned.add(id(target))
        field_name = "place" if isinstance(ref, PlaceRef) else "agent"
        rows["mentions"].append(Mention(letter=letter, name_as_written=name_as_written, **{field_name: target}))


def import_files(paths, *, status=PublicationStatus.PUBLISHED, language="", dry_run=False, progress=None):
    """
    Import the letters of these files (CMIF or JSON) in one transaction;
    return an ``ImportReport``. Raises ``ImportFailed`` (nothing written) when
    a file cannot be read. ``progress`` receives short lines of text.
    """
    started = time.monotonic()
    progress = progress or (lambda line: None)
    report = ImportReport(files=len(paths), dry_run=dry_run)
    records = []
    for path in paths:
        file_records, warnings = read_file(path, language=language)
        records.extend(file_records)
        report.warnings.extend(warnings)
        progress(f"{path}: {len(file_records)} letter(s) read.")
    with transaction.atomic():
        _write(records, report, status=status, progress=progress)
        report.seconds = time.monotonic() - started
        if dry_run:
            transaction.set_rollback(True)
    return report


def _write(records, report, *, status, progress):
    now = timezone.now()
    existing = set(_by_slug(Letter.objects.values_list("slug", flat=True), {record.slug for record in records}))
    new_records, seen = [], set()
    for record in records:
        if record.slug in existing or record.slug in seen:
            report.already_present += 1
            continue
        seen.add(record.slug)
        new_records.append(record)
    without_language = sum(1 for record in new_records if not record.language)
    if without_language:
        report.warnings.append(
            f"{without_language} letter(s) without a language in their file: set to the archive's default "
            f"({Letter._meta.get_field('language').default}); --language chooses another."
        )

    agents = _Registry(Agent, AgentName, cmif.AGENT_SCHEMES, status, now)
    agent_refs = [p.agent for r in new_records for p in r.participants]
    agent_refs += [p.on_behalf_of for r in new_records for p in r.participants if p.on_behalf_of]
    agent_refs += [ref for r in new_records for ref, _name in r.mentions if isinstance(ref, AgentRef)]
    agents.resolve(agent_refs)
    places = _Registry(Place, PlaceName, cmif.PLACE_SCHEMES, status, now)
    place_refs = [r.place for r in new_records if r.place]
    place_refs += [ref for r in new_records for ref, _name in r.mentions if isinstance(ref, PlaceRef)]
    places.resolve(place_refs)
    touched_agents, touched_places = agents.save(), places.save()
    sources, created_sources = _documents(SourceDocument, [r.source for r in new_records if r.source], status, now)
    cited, created_cited = _documents(CitedDocument, [d for r in new_records for d, _q in r.citations], status, now)
    _assign_positions(new_records, sources)

    report.people = sum(1 for entry in agents.created if entry.record.kind == Agent.Kind.PERSON)
    report.organisations = len(agents.created) - report.people
    report.places = len(places.created)
    report.sources, report.cited_documents = len(created_sources), len(created_cited)

    letters = {}
    for start in range(0, len(new_records), BATCH_SIZE):
        batch = new_records[start : start + BATCH_SIZE]
        built = [_letter(record, sources=sources, status=status, now=now) for record in batch]
        Letter.objects.bulk_create(built)
        rows = {"participations": [], "citations": [], "mentions": [], "cited": cited}
        paragraphs, footnotes = [], []
        for record, letter in zip(batch, built, strict=True):
            _parts(record, letter, paragraphs, footnotes, rows)
            letters[record.slug] = letter
        Participation.objects.bulk_create(rows["participations"], batch_size=BATCH_SIZE)
        Paragraph.objects.bulk_create(paragraphs, batch_size=BATCH_SIZE)
        Footnote.objects.bulk_create(footnotes, batch_size=BATCH_SIZE)
        Citation.objects.bulk_create(rows["citations"], batch_size=BATCH_SIZE)
        Mention.objects.bulk_create(rows["mentions"], batch_size=BATCH_SIZE)
        progress(f"{start + len(batch)}/{len(new_records)} letters written.")
    report.letters = len(letters)

    _link_threads(new_records, letters, report)
    search.index_spellings(agents=touched_agents, places=touched_places)
    search.index_letters([letter.pk for letter in letters.values()])


def _link_threads(records, letters, report):
    """in_reply_to and annex_of, once every letter exists (the target may come later in the file)."""
    wanted = {slug for record in records for slug in (record.in_reply_to, record.annex_of) if slug}
    targets = {slug: letter.pk for slug, letter in letters.items() if slug in wanted}
    targets.update(_by_slug(Letter.objects.values_list("slug", "pk"), wanted - set(targets)))
    changed = []
    for record in records:
        letter = letters[record.slug]
        for field_name in ("in_reply_to", "annex_of"):
            slug = getattr(record, field_name)
            if not slug:
                continue
            if slug not in targets or targets[slug] == letter.pk:
                report.warnings.append(f"{record.file}: {record.slug}: {field_name} {slug} is not in the archive.")
                continue
            setattr(letter, f"{field_name}_id", targets[slug])
            if letter not in changed:
                changed.append(letter)
    if changed:
        Letter.objects.bulk_update(changed, ["in_reply_to", "annex_of"], batch_size=BATCH_SIZE)
