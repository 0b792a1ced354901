"""
CMIF, the Correspondence Metadata Interchange Format (TEI), written and read.

CMIF describes letters by who sent them, from where and when, and to whom
(``correspAction type="sent"`` and ``type="received"``), one ``correspDesc``
per letter, with the editions they come from as ``bibl`` in the header. It is
what correspSearch and other aggregators harvest. The archive writes CMIF v1.1,
valid against the RelaxNG schema shipped in ``schemas/cmi-customization.rng``
(``relaxng()``), and passing the four error rules of ``cmif.sch``: every
``correspDesc`` has a sent and a received action, its ``@source`` names a
``bibl/@xml:id``, and every ``date`` has a dating attribute.

Writing
-------
``write_cmif(letters, base_url=...)`` returns the file for a queryset of
letters (only the published ones are written), ``correspdesc(letter, ...)``
one letter's description (shared with ``tei.py``). What goes where:

* sent: the senders and signatories, received: the recipients (copies are
  left out), as ``persName`` or ``orgName`` with ``@ref`` listing the
  authority URIs (``Agent.authority_uris()``) and ``evidence="conjecture"``
  when the archive identified the party (``Participation.inferred``). A party
  whose record is not published is written with the name as written in the
  letter and no ``@ref``. An action without anyone gets an empty
  ``persName`` (unknown party): the schematron requires both actions.
* the place of writing: ``placeName`` in the sent action, with the GeoNames
  and Wikidata URIs; ``evidence="conjecture"`` when the letter does not
  state it (no place as written).
* dates (``date_attributes``): day ``when="2020-10-20"``, month
  ``when="2020-10"``, year ``when="2020"``; a range with an exact certainty
  ``from``/``to`` (written over these days), otherwise
  ``notBefore``/``notAfter`` (somewhere within). Uncertain and approximate
  dates get ``cert="low"``, inferred single dates ``evidence="conjecture"``.
  The date as written is the element's text. An undated letter has no
  ``date`` element at all (``cmif.sch`` forbids one without an attribute).
* each published source document: a ``bibl`` with a stable UUID
  (``source_xml_id``), the title, the symbol as ``ref type="symbol"`` and a
  ``ref`` to its page; ``correspDesc/@source`` points to it.
* ``correspDesc/@ref``: the letter's permalink; its language as
  ``note/ref type=".../terms#hasLanguage"``.

Reading
-------
``read_cmif(data, name=...)`` parses a CMIF file into plain records
(``CmifDocument``) for ``importers.py``, without validating against the
schema (real files put the header in orders the schema rejects). It raises
``CmifError`` (file, line, element) for what cannot be read: not XML, not a TEI
root, a date that does not exist. ``parse_date`` is the inverse of
``date_attributes``: writing, reading and writing again gives the same file.
Authority URIs are reduced to identifiers whatever their form (http or
https, ``www.``/``sws.``, trailing slash): ``authority_ids``.
"""

import datetime
import hashlib
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import F, Prefetch
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from correspondence.models import Letter, Participation, PublicationStatus, fold, span_for_precision
from correspondence.xmltext import xml_text

TEI_NS = "http://www.tei-c.org/ns/1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"
TEI = f"{{{TEI_NS}}}"
XML_ID = f"{{{XML_NS}}}id"
HAS_LANGUAGE = "https://lod.academy/cmif/vocab/terms#hasLanguage"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "cmi-customization.rng"
DEFAULT_LICENCE = "https://creativecommons.org/licenses/by/4.0/"

#: Namespace of the UUIDs given to source documents (bibl/@xml:id): the same slug always gives the same UUID.
SOURCE_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:correspondence-archive:source-document")

DatePrecision = Letter.DatePrecision
DateCertainty = Letter.DateCertainty
SENT_ROLES = (Participation.Role.SENDER, Participation.Role.SIGNATORY)
RECEIVED_ROLES = (Participation.Role.RECIPIENT,)


class CmifError(ValueError):
    """A CMIF file that cannot be read, with where: file name, line and element."""

    def __init__(self, file, line, element, message):
        self.file, self.line, self.element, self.message = file, line, element, message
        super().__init__(str(self))

    def __str__(self):
        where = [str(self.file)]
        if self.line:
            where.append(f"line {self.line}")
        if self.element:
            where.append(f"<{self.element}>")
        return f"{', '.join(where)}: {self.message}"


# ---------------------------------------------------------------------------
# Authority identifiers
# ---------------------------------------------------------------------------

#: The GND's own pattern (10-character numbers such as 1035228793 included).
GND_PATTERN = r"1[0-3]?[0-9]{7}[0-9X]|[47][0-9]{6}-[0-9X]|[1-9][0-9]{0,7}-[0-9X]|3[0-9]{7}[0-9X]"
_AUTHORITY_PATTERNS = (
    ("gnd", re.compile(rf"(?:d-nb\.info|lobid\.org)/gnd/({GND_PATTERN})")),
    ("viaf", re.compile(r"viaf\.org/viaf/([1-9][0-9]{0,21})")),
    ("wikidata", re.compile(r"wikidata\.org/(?:wiki|entity)/(Q[1-9][0-9]*)")),
    ("isni", re.compile(r"isni\.org/isni/([0-9]{15}[0-9X])")),
    ("geonames", re.compile(r"geonames\.org/([1-9][0-9]{0,9})(?:/[^/]*)?")),
)
AGENT_SCHEMES = ("wikidata", "viaf", "gnd", "isni")
PLACE_SCHEMES = ("geonames", "wikidata")


def authority_ids(ref):
    """
    ``({scheme: identifier}, [URIs not understood])`` for an ``@ref`` (one or
    more URIs separated by spaces). ``http://www.geonames.org/2761369``,
    ``https://sws.geonames.org/2761369/`` and ``geonames.org/2761369/wien.html``
    all give ``{"geonames": "2761369"}``; schemes are gnd, viaf, wikidata,
    isni and geonames. The first URI of a scheme wins.
    """
    found, unknown = {}, []
    for uri in (ref or "").split():
        parts = urlsplit(uri if "//" in uri else f"//{uri}")
        host = parts.netloc.lower()
        for prefix in ("www.", "sws."):
            host = host.removeprefix(prefix)
        candidate = host + parts.path.rstrip("/")
        for scheme, pattern in _AUTHORITY_PATTERNS:
            match = pattern.fullmatch(candidate)
            if match:
                found.setdefault(scheme, match.group(1).upper() if scheme == "wikidata" else match.group(1))
                break
        else:
            unknown.append(uri)
    return found, unknown


def own_slug(uri, url_name):
    """The slug of a permalink of this archive (``…/letters/<slug>/`` for letter_detail), or None."""
    if not uri:
        return None
    try:
        template = reverse(f"correspondence:{url_name}", kwargs={"slug": "SLUG"})
    except NoReverseMatch:
        return None
    before, after = template.split("SLUG", 1)
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https") or parts.query or parts.fragment:
        return None
    match = re.search(re.escape(before) + r"([-a-zA-Z0-9_]{1,120})" + re.escape(after) + r"\Z", parts.path)
    return match.group(1) if match else None


def normalise_uri(uri):
    """One form for the variants of a URI: https, host in lower case, no trailing slash."""
    parts = urlsplit(uri.strip())
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    return f"{scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def normalise_text(text):
    """NFC, whitespace collapsed: how names and titles from a file are compared and stored."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

_W3C_DATE = re.compile(
    r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?)?(?:T[0-9:.]+(?:Z|[+-][0-9:]+)?)?"
)
_W3C_NO_YEAR = re.compile(r"--[0-9]{2}(?:-[0-9]{2})?")
DATE_ATTRIBUTES = ("when", "from", "to", "notBefore", "notAfter")


@dataclass
class CmifDate:
    """A CMIF dating in the archive's terms (see ``Letter``'s date fields)."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    precision: str = DatePrecision.UNKNOWN
    certainty: str = DateCertainty.EXACT
    as_written: str = ""
    #: A dating the archive cannot hold (a month and day without a year, one bound only), as written in the file.
    unrepresented: str = ""


def _date_point(name, value):
    """(first day, last day, precision) of a W3C date; None for a date without a year; ValueError if invalid."""
    if _W3C_NO_YEAR.fullmatch(value):
        month, _sep, day = value[2:].partition("-")
        try:
            datetime.date(2000, int(month), int(day or 1))  # a leap year: --02-29 exists
        except ValueError:
            raise ValueError(f'{name}="{value}" is not a date: no such month or day.') from None
        return None
    match = _W3C_DATE.fullmatch(value)
    if not match:
        raise ValueError(f'{name}="{value}" is not a date: write YYYY, YYYY-MM or YYYY-MM-DD.')
    year, month, day = match["year"], match["month"], match["day"]
    try:
        if day:
            first = datetime.date(int(year), int(month), int(day))
            return first, first, DatePrecision.DAY
        if month:
            first = datetime.date(int(year), int(month), 1)
            return (*span_for_precision(first, DatePrecision.MONTH), DatePrecision.MONTH)
        first = datetime.date(int(year), 1, 1)
        return (*span_for_precision(first, DatePrecision.YEAR), DatePrecision.YEAR)
    except ValueError:
        raise ValueError(f'{name}="{value}" is not a date: no such month or day.') from None


def parse_date(attributes, text=""):
    """
    The ``CmifDate`` of a ``<date>``'s attributes (a mapping) and text; raises
    ValueError naming the attribute when a value is not a date or the bounds
    are reversed. ``when`` gives the day, month or year; ``from``/``to`` a
    range known exactly, ``notBefore``/``notAfter`` a range inferred;
    ``cert="low"`` makes it uncertain, ``evidence="conjecture"`` inferred.
    A month and day without a year, or a single bound, is kept as
    ``unrepresented`` and the letter counts as undated.
    """
    values = {name: attributes[name].strip() for name in DATE_ATTRIBUTES if (attributes.get(name) or "").strip()}
    points = {name: _date_point(name, value) for name, value in values.items()}
    cert = (attributes.get("cert") or "").strip()
    if cert in ("low", "unknown"):
        certainty = DateCertainty.UNCERTAIN
    elif cert == "medium":
        certainty = DateCertainty.APPROXIMATE
    elif (attributes.get("evidence") or "").strip() == "conjecture":
        certainty = DateCertainty.INFERRED
    else:
        certainty = None
    result = CmifDate(as_written=normalise_text(text))
    lower_name = next((name for name in ("from", "notBefore") if name in values), None)
    upper_name = next((name for name in ("to", "notAfter") if name in values), None)
    if "when" in values:
        point = points["when"]
        if point is None:
            result.unrepresented = f'when="{values["when"]}"'
        else:
            result.date_from, result.date_to, result.precision = point
    elif lower_name and upper_name and points[lower_name] and points[upper_name]:
        result.date_from, result.date_to = points[lower_name][0], points[upper_name][1]
        if result.date_from > result.date_to:
            raise ValueError(
                f'{lower_name}="{values[lower_name]}" comes after {upper_name}="{values[upper_name]}": '
                "the bounds are reversed."
            )
        result.precision = DatePrecision.RANGE
        if certainty is None and lower_name == "notBefore":
            certainty = DateCertainty.INFERRED
    elif values:
        result.unrepresented = " ".join(f'{name}="{value}"' for name, value in values.items())
    result.certainty = certainty or DateCertainty.EXACT
    return result


def date_attributes(letter):
    """The attributes of the letter's CMIF ``<date>``, or None for a letter without a date CMIF can state."""
    if letter.date_precision == DatePrecision.UNKNOWN or letter.date_from is None or letter.date_to is None:
        return None
    first = letter.date_from
    if letter.date_precision == DatePrecision.DAY:
        attributes = {"when": first.isoformat()}
    elif letter.date_precision == DatePrecision.MONTH:
        attributes = {"when": f"{first.year:04d}-{first.month:02d}"}
    elif letter.date_precision == DatePrecision.YEAR:
        attributes = {"when": f"{first.year:04d}"}
    elif letter.date_certainty == DateCertainty.EXACT:
        attributes = {"from": first.isoformat(), "to": letter.date_to.isoformat()}
    else:
        attributes = {"notBefore": first.isoformat(), "notAfter": letter.date_to.isoformat()}
    if letter.date_certainty in (DateCertainty.UNCERTAIN, DateCertainty.APPROXIMATE):
        attributes["cert"] = "low"
    elif letter.date_certainty == DateCertainty.INFERRED and letter.date_precision != DatePrecision.RANGE:
        attributes["evidence"] = "conjecture"
    return attributes


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _tei(tag, parent=None, text=None, **attributes):
    if parent is None:
        element = etree.Element(TEI + tag, nsmap={None: TEI_NS})
    else:
        element = etree.SubElement(parent, TEI + tag)
    for name, value in attributes.items():
        element.set(XML_ID if name == "xml_id" else name, xml_text(value))
    if text:
        element.text = xml_text(text)
    return element


def is_public(record):
    """Published, and not merged into another record (whose URL it now redirects to)."""
    return (
        record is not None
        and getattr(record, "status", None) == PublicationStatus.PUBLISHED
        and getattr(record, "merged_into_id", None) is None
    )


def absolute_url(base_url, record):
    return base_url.rstrip("/") + record.get_absolute_url()


def source_xml_id(source):
    """A stable UUID for the source document's ``bibl`` (xml:id must start with a letter, hence the prefix)."""
    return f"bibl-{uuid.uuid5(SOURCE_UUID_NAMESPACE, source.slug)}"


def source_bibl(source, *, base_url):
    """The ``bibl`` of a source document: title, symbol, link to its page."""
    bibl = _tei("bibl", type="online", xml_id=source_xml_id(source))
    bibl.text = xml_text(source.title) + " "
    if source.symbol:
        _tei("ref", bibl, source.symbol, type="symbol").tail = " "
    url = absolute_url(base_url, source)
    _tei("ref", bibl, url, target=url)
    return bibl


def _participants(letter, roles):
    """The letter's participations in these roles, in order, each agent once."""
    order = {role: index for index, role in enumerate(roles)}
    chosen = sorted(
        (p for p in letter.participations.all() if p.role in order),
        key=lambda p: (order[p.role], p.position, p.pk or 0),
    )
    seen = set()
    for participation in chosen:
        if participation.agent_id not in seen:
            seen.add(participation.agent_id)
            yield participation


def _name_element(parent, participation):
    agent = participation.agent
    tag = "persName" if agent.kind == agent.Kind.PERSON else "orgName"
    if is_public(agent):
        element = _tei(tag, parent, agent.name)
        uris = agent.authority_uris()
        if uris:
            element.set("ref", " ".join(uris))
    elif participation.name_as_written:
        element = _tei(tag, parent, participation.name_as_written)
    else:
        return None
    if participation.inferred:
        element.set("evidence", "conjecture")
    return element


def correspdesc(letter, *, base_url, source_id=None):
    """One letter's ``correspDesc`` (with ``@source="#source_id"`` when given)."""
    desc = _tei("correspDesc", ref=absolute_url(base_url, letter))
    if source_id:
        desc.set("source", f"#{source_id}")
    sent = _tei("correspAction", desc, type="sent")
    for participation in _participants(letter, SENT_ROLES):
        _name_element(sent, participation)
    place = letter.place_written
    if is_public(place):
        element = _tei("placeName", sent, place.name)
        uris = place.authority_uris()
        if uris:
            element.set("ref", " ".join(uris))
        if not letter.place_as_written:
            element.set("evidence", "conjecture")
    elif letter.place_as_written:
        _tei("placeName", sent, letter.place_as_written)
    attributes = date_attributes(letter)
    if attributes:
        _tei("date", sent, letter.date_as_written or None, **attributes)
    if not len(sent):
        _tei("persName", sent)
    received = _tei("correspAction", desc, type="received")
    for participation in _participants(letter, RECEIVED_ROLES):
        _name_element(received, participation)
    if not len(received):
        _tei("persName", received)
    if letter.language:
        note = _tei("note", desc)
        _tei("ref", note, type=HAS_LANGUAGE, target=letter.language)
    return desc


def cmif_queryset(letters):
    """The published letters of ``letters`` with what ``correspdesc`` reads, in a stable order."""
    return (
        letters.filter(status=PublicationStatus.PUBLISHED)
        .select_related("place_written", "source")
        .prefetch_related(None)
        .prefetch_related(Prefetch("participations", queryset=Participation.objects.select_related("agent")))
        .order_by(F("date_from").asc(nulls_last=True), F("date_to").asc(nulls_last=True), "slug")
    )


def write_cmif(letters, *, base_url, file_url=None, title=None, now=None):
    """
    The CMIF file (UTF-8 bytes) for the published letters of the queryset
    ``letters``. ``base_url`` (``https://archive.example.org``) makes the
    permalinks; ``file_url`` is where the file itself is served (default
    ``<base_url>/cmif.xml``); ``now`` the publication timestamp (default: now).
    """
    base_url = base_url.rstrip("/")
    archive = _("Diplomatic correspondence archive")
    now = now or timezone.now()
    root = _tei("TEI")
    header = _tei("teiHeader", root)
    file_desc = _tei("fileDesc", header)
    title_stmt = _tei("titleStmt", file_desc)
    _tei("title", title_stmt, title or archive)
    _tei("editor", title_stmt, archive)
    publication = _tei("publicationStmt", file_desc)
    publisher = _tei("publisher", publication)
    _tei("ref", publisher, archive, target=f"{base_url}/")
    _tei("idno", publication, file_url or f"{base_url}/cmif.xml", type="url")
    _tei("date", publication, when=now.replace(microsecond=0).isoformat())
    availability = _tei("availability", publication)
    licence = getattr(settings, "ARCHIVE_DATA_LICENCE", DEFAULT_LICENCE)
    _tei("licence", availability, licence, target=licence)
    source_desc = _tei("sourceDesc", file_desc)
    profile = _tei("profileDesc", header)

    sources = {}
    for letter in cmif_queryset(letters):
        source_id = None
        if is_public(letter.source):
            sources.setdefault(letter.source.slug, letter.source)
            source_id = source_xml_id(letter.source)
        profile.append(correspdesc(letter, base_url=base_url, source_id=source_id))
    for slug in sorted(sources):
        source_desc.append(source_bibl(sources[slug], base_url=base_url))
    if not len(source_desc):
        # The schema wants at least one bibl: the archive itself, which no letter points to.
        bibl = _tei(
            "bibl",
            source_desc,
            archive + " ",
            type="online",
            xml_id=f"archive-{uuid.uuid5(uuid.NAMESPACE_URL, base_url)}",
        )
        _tei("ref", bibl, f"{base_url}/", target=f"{base_url}/")
    if not len(profile):
        header.remove(profile)
    body = _tei("body", _tei("text", root))
    _tei("p", body)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@cache
def relaxng():
    """The CMIF v1.1 RelaxNG schema shipped with the archive."""
    return etree.RelaxNG(etree.parse(str(SCHEMA_PATH)))


def schema_errors(document):
    """RelaxNG errors (``"line N: message"``) of a CMIF document (bytes or an lxml tree); empty when valid."""
    tree = etree.fromstring(document) if isinstance(document, bytes) else document
    schema = relaxng()
    if schema.validate(tree):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


@dataclass
class CmifName:
    """A person, organisation or place named in a correspAction."""

    kind: str  # "person", "organisation" or "place"
    name: str
    ids: dict
    line: int
    conjecture: bool = False


@dataclass
class CmifBibl:
    """A ``bibl`` of the header: the edition that letters come from."""

    xml_id: str
    slug: str
    title: str
    symbol: str
    line: int


@dataclass
class CmifLetter:
    line: int
    slug: str
    senders: list
    recipients: list
    place: CmifName | None
    date: CmifDate
    source: CmifBibl | None
    language: str = ""
    #: What identifies the letter when the file gives no @ref or @key (see ``_letter_slug``).
    content: list = field(default_factory=list, repr=False)


@dataclass
class CmifDocument:
    name: str
    letters: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _digest(*parts):
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:20]


def _localname(element):
    return etree.QName(element).localname if isinstance(element.tag, str) else None


def _bibl(element, file_identity):
    """A header ``bibl``: an archive source (linked to its page) keeps its slug; others get a stable one."""
    xml_id = element.get(XML_ID) or ""
    parts = [element.text or ""]
    symbol = slug = ""
    for child in element:
        if _localname(child) == "ref":
            if child.get("type") == "symbol":
                symbol = normalise_text("".join(child.itertext()))
            slug = slug or own_slug(child.get("target"), "sourcedocument_detail") or ""
        elif isinstance(child.tag, str):
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    title = normalise_text(" ".join(parts))
    if not slug:
        match = _UUID.search(xml_id)
        slug = (
            f"cmif-{match.group(0).lower()}" if match else f"cmif-{_digest('bibl', file_identity, xml_id, fold(title))}"
        )
    return CmifBibl(xml_id=xml_id, slug=slug, title=title, symbol=symbol, line=element.sourceline)


def _identity_key(names):
    return [(name.kind, sorted(name.ids.items()) or fold(name.name)) for name in names]


def read_cmif(data, *, name="CMIF file"):
    """
    Parse CMIF (bytes) into a ``CmifDocument``; raise ``CmifError`` naming the
    file, line and element for a file that is not XML, not TEI, or holds a
    date that does not exist. Each letter's slug is stable across imports:
    the one in ``correspDesc/@ref`` when it is a permalink of this archive,
    else a digest of the ``@ref``, of ``@key`` (with the file and its
    edition), or of the letter's content.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise CmifError(name, error.lineno, None, f"not well-formed XML: {error.msg}") from None
    if root.tag != f"{TEI}TEI":
        raise CmifError(
            name,
            root.sourceline,
            _localname(root) or root.tag,
            f"not a CMIF file: the root element must be <TEI> in the TEI namespace ({TEI_NS}).",
        )
    document = CmifDocument(name=name)
    identity = root.findtext(f".//{TEI}publicationStmt/{TEI}idno") or root.findtext(f".//{TEI}titleStmt/{TEI}title")
    file_identity = normalise_uri(identity) if identity and "://" in identity else normalise_text(identity)
    bibls = {}
    for element in root.iter(f"{TEI}bibl"):
        if element.get(XML_ID):
            bibls[element.get(XML_ID)] = _bibl(element, file_identity)
    descs = list(root.iter(f"{TEI}correspDesc"))
    if not descs:
        raise CmifError(name, root.sourceline, "TEI", "holds no <correspDesc>: there is no letter to import.")
    seen_content = {}
    unknown_refs = set()
    for desc in descs:
        letter = _read_correspdesc(desc, name, bibls, unknown_refs, document.warnings)
        if letter is None:
            document.warnings.append(f"{name}, line {desc.sourceline}: a <correspDesc> without correspAction, skipped.")
            continue
        letter.slug = _letter_slug(desc, letter, file_identity, seen_content)
        document.letters.append(letter)
    if unknown_refs:
        document.warnings.append(
            f"{name}: {len(unknown_refs)} authority URI(s) of unsupported registers ignored "
            f"(matched by name instead), e.g. {sorted(unknown_refs)[0]}"
        )
    return document


def _read_name(element, kind, unknown_refs):
    ids, unknown = authority_ids(element.get("ref"))
    unknown_refs.update(unknown)
    schemes = PLACE_SCHEMES if kind == "place" else AGENT_SCHEMES
    ids = {scheme: value for scheme, value in ids.items() if scheme in schemes}
    return CmifName(
        kind=kind,
        name=normalise_text("".join(element.itertext())),
        ids=ids,
        line=element.sourceline,
        conjecture=element.get("evidence") == "conjecture",
    )


def _read_correspdesc(desc, name, bibls, unknown_refs, warnings):
    actions = [child for child in desc if _localname(child) == "correspAction"]
    if not actions:
        return None
    parties = {"sent": [], "received": []}
    places = {"sent": [], "received": []}
    dates = {"sent": [], "received": []}
    content = []
    for action in actions:
        kind = action.get("type")
        action_content = [kind]
        for child in action:
            tag = _localname(child)
            if tag in ("persName", "orgName", "placeName"):
                kind_of_name = {"persName": "person", "orgName": "organisation"}.get(tag, "place")
                named = _read_name(child, kind_of_name, unknown_refs)
                action_content.append(_identity_key([named]))
                if not named.name and not named.ids:
                    continue  # an empty name: nobody known
                if kind in parties:
                    (places if tag == "placeName" else parties)[kind].append(named)
            elif tag == "date":
                try:
                    parsed = parse_date(child.attrib, "".join(child.itertext()))
                except ValueError as error:
                    raise CmifError(name, child.sourceline, "date", str(error)) from None
                action_content.append(sorted(child.attrib.items()))
                if kind in dates:
                    dates[kind].append(parsed)
        content.append(action_content)
    source_id = (desc.get("source") or "").rpartition("#")[2]
    source = bibls.get(source_id) if source_id else None
    if source_id and source is None:
        warnings.append(f"{name}, line {desc.sourceline}: @source #{source_id} names no bibl; no source recorded.")
    language = ""
    for ref in desc.iter(f"{TEI}ref"):
        if ref.get("type") == HAS_LANGUAGE and ref.get("target"):
            language = ref.get("target").rstrip("/").rpartition("/")[2][:10]
            break
    letter = CmifLetter(
        line=desc.sourceline,
        slug="",
        senders=parties["sent"],
        recipients=parties["received"],
        place=places["sent"][0] if places["sent"] else None,
        date=dates["sent"][0] if dates["sent"] else CmifDate(),
        source=source,
        language=language,
        content=content,
    )
    return letter


def _letter_slug(desc, letter, file_identity, seen_content):
    ref = (desc.get("ref") or "").strip()
    if ref:
        slug = own_slug(ref.split()[0], "letter_detail")
        return slug or f"cmif-{_digest('ref', normalise_uri(ref.split()[0]))}"
    edition = letter.source.xml_id if letter.source else ""
    key = (desc.get("key") or "").strip()
    if key:
        return f"cmif-{_digest('key', file_identity, edition, key)}"
    content = [letter.content, fold(letter.source.title) if letter.source else ""]
    marker = json.dumps(content, ensure_ascii=False)
    seen_content[marker] = seen_content.get(marker, 0) + 1
    return f"cmif-{_digest('content', content, seen_content[marker])}"
