"""
Every place curator or reader text is shown is escaped.

One published letter and everything around it (participations, paragraphs of
every kind, footnotes, a citation, mentions, a place with its country, people
and an organisation with name variants, a cited document, a source document, a
reply, two revisions with a comment) is stored with a hostile value in every
text field of every model of the app, found by introspection so that a field
added later is covered without touching this file: HTML that would run a
script or break out of an attribute, and CSV formulas. Fields that cannot hold
such a value keep a valid one (slugs, choices, authority identifiers, whose
validators refuse it; a URL gets a hostile but valid URL).

Then every public output is fetched and checked for what it must do with it:

* HTML (public pages and the admin): no raw markup from the data, no attribute
  the data would add, and the text shown as written;
* JSON: parses, and gives back the exact string;
* CSV: parses, and a cell a spreadsheet would run as a formula (leading =, +,
  -, @, tab or carriage return) starts with an apostrophe;
* XML (TEI, CMIF, Atom feeds, the sitemap): parses with lxml, and the text
  holds the exact string; what an Atom feed marks as HTML is escaped HTML.
"""

import csv
import datetime
import io
import itertools
import json
from urllib.parse import urlencode

import lxml.html
import pytest
import reversion
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import models
from django.urls import reverse
from lxml import etree
from reversion.models import Revision

from correspondence.facet_counts import FacetCount
from correspondence.models import (
    Agent,
    AgentName,
    Citation,
    CitedDocument,
    Footnote,
    Letter,
    LetterFullTextRow,
    LetterSearchText,
    Mention,
    Paragraph,
    Participation,
    Place,
    PlaceName,
    PublicationStatus,
    SourceDocument,
    SpellingKey,
)

# ---------------------------------------------------------------------------
# Hostile values
# ---------------------------------------------------------------------------

#: A script, a double-quoted and a single-quoted attribute break-out, spreadsheet formulas.
HOSTILE = """<script>alert("x")</script>" onmouseover='y' ' onfocus="z" =HYPERLINK("http://evil") +1 -1 @SUM(1)"""
#: Shorter forms for short fields, tried in this order.
MEDIUM = """<script>alert("x")</script>" onmouseover='y'"""
SHORT = """<script>alert(1)</script>"'"""
TINY = """"'<xss>&"""
#: A URL that passes URLValidator and still tries to leave its href.
HOSTILE_URL = """https://evil.example/"onmouseover='y'"><script>alert("x")</script>"""

#: What a spreadsheet runs as a formula when a cell starts with it.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Prefixes given in turn to the hostile values, so that every output meets each trigger.
PREFIXES = ("", *FORMULA_TRIGGERS)

#: Where a prefix is chosen rather than taken in turn: the letter CSV's own columns get one trigger each.
PREFIX_OF = {
    (Letter, "title"): "=",
    (Letter, "date_as_written"): "+",
    (Letter, "place_as_written"): "-",
    (Letter, "summary"): "@",
    (Letter, "source_pages"): "\t",
    (SourceDocument, "title"): "\r",
    # The TEI writes the letterhead line by line, each stripped: no leading white space there.
    (Letter, "letterhead"): "=",
}

#: Written by the search indexer from the other models, never by hand: hostile through them.
DERIVED_MODELS = {LetterSearchText, SpellingKey, LetterFullTextRow, FacetCount}  # no text of anyone
#: Validators that any text passes once it fits.
HARMLESS_VALIDATORS = (MaxLengthValidator, ProhibitNullCharactersValidator)

#: Fragments of the hostile values that must never reach an HTML page as markup.
RAW_MARKUP = ("<script>alert(", "<xss>")
#: Attributes the hostile values would add if they broke out of an attribute.
INJECTED_ATTRIBUTES = {"onmouseover", "onfocus"}


def is_hostile(text):
    return isinstance(text, str) and ("<script>" in text or "<xss>" in text)


def text_fields(model):
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField) and field.editable
    ]


def constrained(field):
    """A field that cannot hold free text: a slug, a choice, or one with a validator of its own."""
    return (
        isinstance(field, models.SlugField)
        or bool(field.choices)
        or any(not isinstance(validator, HARMLESS_VALIDATORS) for validator in field.validators)
    )


def neutralised(text):
    """What a CSV cell must hold for ``text``: an apostrophe before a formula trigger."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def squeeze(text):
    """White space collapsed: HTML parsers turn CR into LF, and pages indent."""
    return " ".join(text.split())


class HostileValues:
    """Hostile values for every free-text field of a model, each tagged with where it is stored."""

    def __init__(self):
        self.counter = itertools.count()

    def value(self, model, field, tag):
        number = next(self.counter)
        prefix = PREFIX_OF.get((model, field.name), PREFIXES[number % len(PREFIXES)])
        limit = field.max_length or 100_000
        for body in (f"{HOSTILE} #{tag}", f"{MEDIUM} #{tag}", f"{SHORT}#{number}", f"{TINY}{number % 10}"):
            if len(prefix + body) <= limit:
                return prefix + body
        raise AssertionError(f"{model.__name__}.{field.name}: max_length {limit} is too short for any hostile value")

    def fields(self, model, tag, **overrides):
        """Keyword arguments for ``model``: every free-text field hostile, then ``overrides``."""
        values = {}
        for field in text_fields(model):
            if field.name in overrides or isinstance(field, models.SlugField) or field.choices:
                continue
            value = self.value(model, field, f"{tag}.{field.name}")
            try:
                field.run_validators(value)
            except ValidationError:
                value = HOSTILE_URL if isinstance(field, models.URLField) else ""
                field.run_validators(value)
            if value or not field.blank:
                values[field.name] = value
        values.update(overrides)
        return values


def create(model, **fields):
    """A record that passes the model's own validation (max_length, validators, choices, clean())."""
    record = model(**fields)
    record.full_clean()
    record.save()
    return record


# ---------------------------------------------------------------------------
# The archive
# ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def hostile_archive(django_db_setup, django_db_blocker):
    """Built once for the module (it takes a second), and removed afterwards."""
    with django_db_blocker.unblock():
        records = build_archive()
        yield records
        Letter.objects.filter(slug__in=["hostile-letter", "hostile-reply"]).delete()
        CitedDocument.objects.filter(slug="hostile-cited").delete()
        SourceDocument.objects.filter(slug="hostile-source").delete()
        Place.objects.filter(slug__in=["hostile-city", "hostile-country"]).delete()
        Agent.objects.filter(slug__in=["hostile-person", "hostile-organisation", "hostile-draft"]).delete()
        Revision.objects.filter(comment__contains="<script>").delete()


@pytest.fixture
def archive(hostile_archive, db):
    """The hostile archive, in a test transaction of its own."""
    return hostile_archive


def build_archive():
    """One published letter with a reply, every text field of every record hostile."""
    hostile = HostileValues()
    published = PublicationStatus.PUBLISHED

    country = create(Place, **hostile.fields(Place, "country", slug="hostile-country", kind=Place.Kind.COUNTRY))
    city = create(
        Place,
        **hostile.fields(
            Place, "city", slug="hostile-city", country=country, latitude="40.682778", longitude="46.360556"
        ),
    )
    create(PlaceName, **hostile.fields(PlaceName, "placename", place=city))
    person = create(Agent, **hostile.fields(Agent, "person", slug="hostile-person"))
    create(AgentName, **hostile.fields(AgentName, "agentname", agent=person))
    organisation = create(
        Agent, **hostile.fields(Agent, "organisation", slug="hostile-organisation", kind=Agent.Kind.ORGANISATION)
    )
    create(AgentName, **hostile.fields(AgentName, "orgname", agent=organisation))
    draft_agent = create(Agent, **hostile.fields(Agent, "draft", slug="hostile-draft", status=PublicationStatus.DRAFT))
    source = create(
        SourceDocument,
        **hostile.fields(
            SourceDocument,
            "source",
            slug="hostile-source",
            issuing_body=organisation,
            date=datetime.date(2020, 10, 21),
            year=2020,
        ),
    )
    cited = create(
        CitedDocument,
        **hostile.fields(CitedDocument, "cited", slug="hostile-cited", issuing_body=organisation, year=1993),
    )

    day = datetime.date(2020, 10, 20)
    letter_fields = hostile.fields(
        Letter,
        "letter",
        slug="hostile-letter",
        status=published,
        date_from=day,
        date_to=day,
        place_written=city,
        source=source,
        source_position=1,
    )
    final_summary = letter_fields["summary"]
    letter_fields["summary"] = "@" + MEDIUM + " #first version"
    with reversion.create_revision():
        reversion.set_comment(hostile.value(Revision, Revision._meta.get_field("comment"), "revision.first"))
        letter = create(Letter, **letter_fields)
        for role, agent, on_behalf_of in (
            (Participation.Role.SENDER, person, organisation),
            (Participation.Role.SIGNATORY, person, None),
            (Participation.Role.RECIPIENT, organisation, None),
            (Participation.Role.COPY, draft_agent, None),
        ):
            create(
                Participation,
                **hostile.fields(
                    Participation,
                    f"participation.{role}",
                    letter=letter,
                    agent=agent,
                    role=role,
                    on_behalf_of=on_behalf_of,
                ),
            )
        paragraphs = [
            create(
                Paragraph, **hostile.fields(Paragraph, f"paragraph.{kind}", letter=letter, position=position, kind=kind)
            )
            for position, kind in enumerate(Paragraph.Kind.values, start=1)
        ]
        body = next(paragraph for paragraph in paragraphs if paragraph.kind == Paragraph.Kind.BODY)
        anchor = hostile.fields(Footnote, "footnote.anchored")["anchor"]
        body.text = f"{body.text} {anchor} suite"  # the call sign goes inside the text, after the anchor
        body.full_clean()
        body.save()
        create(Footnote, **hostile.fields(Footnote, "footnote.anchored", letter=letter, paragraph=body, anchor=anchor))
        create(Footnote, **hostile.fields(Footnote, "footnote.loose", letter=letter))
        create(Citation, **hostile.fields(Citation, "citation", letter=letter, cited_document=cited))
        create(Mention, **hostile.fields(Mention, "mention.person", letter=letter, agent=person))
        create(Mention, **hostile.fields(Mention, "mention.organisation", letter=letter, agent=organisation))
        create(Mention, **hostile.fields(Mention, "mention.place", letter=letter, place=city))
    with reversion.create_revision():
        reversion.set_comment(hostile.value(Revision, Revision._meta.get_field("comment"), "revision.second"))
        letter.summary = final_summary
        letter.full_clean()
        letter.save()

    reply_day = datetime.date(2020, 11, 2)
    reply = create(
        Letter,
        **hostile.fields(
            Letter,
            "reply",
            slug="hostile-reply",
            kind=Letter.Kind.REPLY,
            status=published,
            date_from=reply_day,
            date_to=reply_day,
            in_reply_to=letter,
            source=source,
            source_position=2,
        ),
    )
    create(
        Participation,
        **hostile.fields(
            Participation, "reply.sender", letter=reply, agent=organisation, role=Participation.Role.SENDER
        ),
    )
    create(
        Participation,
        **hostile.fields(
            Participation, "reply.recipient", letter=reply, agent=person, role=Participation.Role.RECIPIENT
        ),
    )
    create(Paragraph, **hostile.fields(Paragraph, "reply.paragraph", letter=reply, position=1))

    letter = Letter.objects.with_everything().get(pk=letter.pk)
    return {
        "letter": letter,
        "reply": reply,
        "person": person,
        "organisation": organisation,
        "city": city,
        "country": country,
        "source": source,
        "cited": cited,
        "paragraphs": list(letter.paragraphs.all()),
        "footnotes": list(letter.footnotes.all()),
        "participations": list(letter.participations.all()),
        "mentions": list(letter.mentions.all()),
        "citations": list(letter.citations.all()),
    }


def stored_hostile_values():
    """Every hostile value in the database: what an output may show, exactly."""
    values = set()
    for model in apps.get_app_config("correspondence").get_models():
        if model in DERIVED_MODELS:
            continue
        for field in text_fields(model):
            values.update(value for value in model.objects.values_list(field.name, flat=True) if is_hostile(value))
    values.update(comment for comment in Revision.objects.values_list("comment", flat=True) if is_hostile(comment))
    return values


def test_every_free_text_field_of_every_model_holds_a_hostile_value(archive):
    """The fixture covers every model and field of the app, including those added after this test."""
    missing = []
    for model in apps.get_app_config("correspondence").get_models():
        if model in DERIVED_MODELS:
            continue
        for field in text_fields(model):
            if constrained(field) and not isinstance(field, models.URLField):
                continue
            values = model.objects.values_list(field.name, flat=True)
            if not any(is_hostile(value) for value in values):
                missing.append(f"{model.__name__}.{field.name}")
    assert not missing, f"no record holds a hostile value in: {', '.join(missing)} (extend the fixture)"
    assert {text[0] for text in stored_hostile_values()} >= set(FORMULA_TRIGGERS)


# ---------------------------------------------------------------------------
# The outputs
# ---------------------------------------------------------------------------

SEARCH = '<script>alert("x")</script> HYPERLINK'

PUBLIC_PAGES = [
    "/",
    "/letters/",
    "/letters/?" + urlencode({"q": SEARCH}),
    "/letters/?" + urlencode({"q": "HYPERLINK", "sort": "relevance"}),
    "/letters/?" + urlencode({"sender": "hostile-person", "place_written": "hostile-city", "cited": "hostile-cited"}),
    # What the reader typed comes back in form errors, notices and links.
    "/letters/?" + urlencode({"sender": HOSTILE, "date_from": HOSTILE, "kind": HOSTILE, "sort": HOSTILE}),
    "/letters/?" + urlencode({HOSTILE: HOSTILE, "language": HOSTILE}),
    "/letters/?" + urlencode({"page": HOSTILE}),
    "/letters/?" + urlencode({"format": HOSTILE}),
    "/letters/hostile-letter/",
    "/letters/hostile-reply/",
    "/people/",
    "/people/?" + urlencode({"q": HOSTILE}),
    "/people/hostile-person/",
    "/organisations/",
    "/organisations/hostile-organisation/",
    "/places/",
    "/places/hostile-city/",
    "/places/hostile-country/",
    "/cited/",
    "/cited/?" + urlencode({"q": HOSTILE, "kind": HOSTILE}),
    "/cited/hostile-cited/",
    "/sources/",
    "/sources/hostile-source/",
    "/sources/hostile-source/text/",
]

ENTITY_PAGES = [
    "/people/hostile-person/",
    "/organisations/hostile-organisation/",
    "/places/hostile-city/",
    "/places/hostile-country/",
    "/cited/hostile-cited/",
    "/sources/hostile-source/",
]
LISTS = ["/letters/", "/people/", "/organisations/", "/places/", "/cited/", "/sources/"]

JSON_URLS = [
    "/letters/?format=json",
    "/letters/?" + urlencode({"q": SEARCH, "format": "json"}),
    "/letters/hostile-letter/?format=json",
    "/letters/hostile-reply/?format=json",
    *(f"{url}?format=json" for url in ENTITY_PAGES),
    *(f"{url}?format=json" for url in LISTS[1:]),
]
CSV_URLS = [f"{url}?format=csv" for url in LISTS]
XML_URLS = [
    "/letters/hostile-letter/tei.xml",
    "/letters/hostile-reply/tei.xml",
    "/cmif.xml",
    "/letters/?format=cmif",
    "/letters/?" + urlencode({"q": "HYPERLINK", "format": "cmif"}),
]
FEED_URLS = [
    "/feeds/letters.atom",
    "/feeds/people/hostile-person.atom",
    "/feeds/people/hostile-organisation.atom",
    "/feeds/cited/hostile-cited.atom",
]
ATOM = "{http://www.w3.org/2005/Atom}"
#: JSON keys whose text is an excerpt of the records, not a field of one.
EXCERPT_KEYS = {"search_snippet"}


def html_problems(body):
    """What is wrong with an HTML page that shows hostile values: [] when they are escaped."""
    problems = [f"raw {fragment!r} in the page" for fragment in RAW_MARKUP if fragment in body]
    document = lxml.html.document_fromstring(body)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "xss":
            problems.append(f"an <xss> element at line {element.sourceline}")
        if element.tag == "script" and (element.text or "").strip() in ('alert("x")', "alert(1)"):
            problems.append(f"an injected <script> at line {element.sourceline}")
        for name in INJECTED_ATTRIBUTES & set(element.attrib):
            problems.append(f"<{element.tag} {name}=...> at line {element.sourceline}: an attribute was broken out of")
    return problems


def page_text(body):
    return squeeze(lxml.html.document_fromstring(body).text_content())


def test_public_pages_escape_every_value(client, archive, subtests):
    for url in PUBLIC_PAGES:
        with subtests.test(url=url):
            response = client.get(url)
            assert response.status_code < 500
            body = response.content.decode()
            assert html_problems(body) == []
            if response.status_code == 200 and "q=" not in url:
                assert "&lt;script&gt;" in body or "&lt;xss&gt;" in body, "the page shows no hostile value at all"


def test_the_letter_page_shows_every_value_as_written(client, archive):
    letter = archive["letter"]
    body = client.get(letter.get_absolute_url()).content.decode()
    text = page_text(body)
    shown = [
        letter.title,
        letter.summary,
        letter.date_as_written,
        letter.reference,
        letter.translation_note,
        letter.enclosures,
        letter.editorial_note,
        archive["source"].title,
        archive["citations"][0].quote,
        *(footnote.text for footnote in archive["footnotes"]),
        *(participation.title_as_written for participation in archive["participations"]),
        *(paragraph.text for paragraph in archive["paragraphs"] if paragraph.kind != Paragraph.Kind.BODY),
    ]
    missing = [value for value in shown if squeeze(value) not in text]
    assert missing == []
    document = lxml.html.document_fromstring(body)
    description = document.xpath('//meta[@name="description"]/@content')
    assert [squeeze(value) for value in description] == [squeeze(letter.summary)]
    assert squeeze(letter.title) in squeeze(document.findtext(".//title"))


def test_the_search_echoes_the_query_escaped(client, archive):
    response = client.get("/letters/", {"q": SEARCH})
    body = response.content.decode()
    assert html_problems(body) == []
    document = lxml.html.document_fromstring(body)
    assert document.xpath('//input[@name="q"]/@value') == [SEARCH]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; HYPERLINK" in body
    found = client.get("/letters/", {"q": SEARCH, "format": "json"}).json()["results"]
    assert "hostile-letter" in [result["id"] for result in found], "the search should find the hostile letter"


def json_strings(data, key=None):
    """(key, string) for every string in a JSON document."""
    if isinstance(data, dict):
        for name, value in data.items():
            yield from json_strings(value, name)
    elif isinstance(data, list):
        for value in data:
            yield from json_strings(value, key)
    elif isinstance(data, str):
        yield key, data


def test_json_gives_back_every_value_exactly(client, archive, subtests):
    stored = stored_hostile_values()
    for url in JSON_URLS:
        with subtests.test(url=url):
            response = client.get(url)
            assert response.status_code < 500
            assert response["Content-Type"].startswith("application/json")
            assert response["X-Content-Type-Options"] == "nosniff"
            data = json.loads(response.content.decode("utf-8"))
            altered = [
                (key, text)
                for key, text in json_strings(data)
                if is_hostile(text) and key not in EXCERPT_KEYS and text not in stored
            ]
            assert altered == [], "hostile values changed on their way to JSON"


def test_json_errors_give_back_what_the_reader_typed_exactly(client, archive):
    response = client.get("/letters/", {"sender": HOSTILE, "format": "json"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    (message,) = response.json()["errors"]["sender"]
    assert HOSTILE in message


def test_the_letter_json_carries_every_text_of_the_letter(client, archive):
    letter = archive["letter"]
    data = client.get(letter.get_absolute_url(), {"format": "json"}).json()
    strings = {text for _key, text in json_strings(data)}
    expected = [
        *(
            getattr(letter, name)
            for name in (
                "title",
                "date_as_written",
                "place_as_written",
                "reference",
                "language",
                "translation_note",
                "summary",
                "enclosures",
                "letterhead",
                "editorial_note",
                "source_pages",
            )
        ),
        *(value for p in archive["participations"] for value in (p.name_as_written, p.title_as_written)),
        *(value for p in archive["paragraphs"] for value in (p.text, p.page)),
        *(value for f in archive["footnotes"] for value in (f.marker, f.anchor, f.text)),
        archive["citations"][0].quote,
        *(mention.name_as_written for mention in archive["mentions"]),
        archive["person"].name,
        archive["organisation"].name,
        archive["city"].name,
        archive["source"].title,
        archive["source"].symbol,
        archive["cited"].title,
        archive["cited"].symbol,
        archive["reply"].title,
    ]
    assert [value for value in expected if value not in strings] == []


@pytest.mark.parametrize(
    ("url", "record", "fields"),
    [
        ("/people/hostile-person/", "person", ("name", "sort_name", "note")),
        ("/organisations/hostile-organisation/", "organisation", ("name", "sort_name", "note")),
        ("/places/hostile-city/", "city", ("name", "note")),
        ("/cited/hostile-cited/", "cited", ("title", "symbol", "note", "url")),
        ("/sources/hostile-source/", "source", ("title", "symbol", "date_as_written", "language", "editorial_note")),
    ],
)
def test_the_json_of_a_record_carries_its_texts_exactly(client, archive, url, record, fields):
    data = client.get(url, {"format": "json"}).json()
    strings = {text for _key, text in json_strings(data)}
    expected = [getattr(archive[record], name) for name in fields] + [archive["letter"].title]
    assert [value for value in expected if value not in strings] == []


def read_csv(response):
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_cells_never_start_a_formula(client, archive, subtests):
    stored = stored_hostile_values()
    for url in CSV_URLS:
        with subtests.test(url=url):
            response = client.get(url)
            assert response.status_code == 200
            assert response["X-Content-Type-Options"] == "nosniff"
            header, *rows = read_csv(response)
            assert rows, "the CSV has no rows"
            for row in rows:
                assert len(row) == len(header)
                formulas = [cell for cell in row if cell.startswith(FORMULA_TRIGGERS)]
                assert formulas == [], "cells a spreadsheet would run as formulas"
                for cell in filter(is_hostile, row):
                    original = cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_TRIGGERS) else cell
                    parts = original.split(" ; ")
                    assert original in stored or all(part in stored for part in parts), f"altered cell {cell!r}"


def test_the_letter_csv_neutralises_each_formula_trigger(client, archive):
    letter, source = archive["letter"], archive["source"]
    header, *rows = read_csv(client.get("/letters/", {"format": "csv"}))
    row = dict(zip(header, next(row for row in rows if row[0] == letter.slug), strict=True))
    expected = {
        "title": letter.title,
        "date_as_written": letter.date_as_written,
        "place_as_written": letter.place_as_written,
        "summary": letter.summary,
        "source_pages": letter.source_pages,
        "source_title": source.title,
        "language": letter.language,
        "senders": archive["person"].name,
        "recipients": archive["organisation"].name,
        "place_written": archive["city"].name,
    }
    assert {column: row[column] for column in expected} == {
        column: neutralised(value) for column, value in expected.items()
    }
    assert {expected[column][0] for column in expected} >= set(FORMULA_TRIGGERS)


def xml_strings(root):
    """Every text node, the text directly in each element (around its notes), and every attribute value."""
    strings = []
    for element in root.iter():
        strings.extend(element.xpath("text()"))
        strings.append("".join(element.xpath("text()")))
        strings.extend(element.attrib.values())
    return strings


def test_xml_parses_and_holds_every_value_exactly(client, archive, subtests):
    for url in XML_URLS:
        with subtests.test(url=url):
            response = client.get(url)
            assert response.status_code == 200
            assert response["X-Content-Type-Options"] == "nosniff"
            root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False, no_network=True))
            assert root.tag == "{http://www.tei-c.org/ns/1.0}TEI"
            assert not root.xpath("//*[local-name()='script' or local-name()='xss']")


def test_the_tei_of_the_letter_holds_every_text_exactly(client, archive):
    letter, source = archive["letter"], archive["source"]
    root = etree.fromstring(client.get("/letters/hostile-letter/tei.xml").content)
    strings = xml_strings(root)
    expected = [
        *(
            getattr(letter, name)
            for name in (
                "title",
                "reference",
                "translation_note",
                "enclosures",
                "editorial_note",
                "summary",
                "date_as_written",
                "letterhead",
                "source_pages",
                "language",
            )
        ),
        source.title,
        source.symbol,
        source.date_as_written,
        source.editorial_note,
        archive["person"].name,
        archive["organisation"].name,
        archive["city"].name,
        *(paragraph.text for paragraph in archive["paragraphs"]),
        *(paragraph.page for paragraph in archive["paragraphs"]),
        *(value for footnote in archive["footnotes"] for value in (footnote.text, footnote.marker)),
    ]
    missing = [value for value in expected if not any(value in text for text in strings)]
    assert missing == []


@pytest.mark.parametrize("url", ["/cmif.xml", "/letters/?format=cmif"])
def test_the_cmif_holds_every_text_exactly(client, archive, url):
    letter, source = archive["letter"], archive["source"]
    strings = xml_strings(etree.fromstring(client.get(url).content))
    expected = [
        letter.date_as_written,
        letter.language,
        archive["reply"].date_as_written,
        source.title,
        source.symbol,
        archive["person"].name,
        archive["organisation"].name,
        archive["city"].name,
    ]
    missing = [value for value in expected if not any(value in text for text in strings)]
    assert missing == []


def test_the_sitemap_parses(client, archive):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    assert any("hostile-letter" in text for text in xml_strings(root))


def feed_entries(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    return etree.fromstring(response.content)


def test_feeds_parse_and_hold_every_text_exactly(client, archive, subtests):
    letter, reply = archive["letter"], archive["reply"]
    expected = {
        "/feeds/letters.atom": [letter.title, reply.title],
        "/feeds/people/hostile-person.atom": [letter.title, archive["person"].name],
        "/feeds/people/hostile-organisation.atom": [letter.title, archive["organisation"].name],
        "/feeds/cited/hostile-cited.atom": [letter.title, archive["cited"].title],
    }
    for url in FEED_URLS:
        with subtests.test(url=url):
            strings = xml_strings(feed_entries(client, url))
            assert [value for value in expected[url] if not any(value in text for text in strings)] == []


def test_feed_entries_marked_as_html_are_escaped_html(client, archive, subtests):
    """
    Atom's ``type="html"`` (and ``xhtml``) tells a feed reader to render the text
    as HTML: a letter's summary there must be HTML-escaped text, so that a reader
    shows ``<script>`` rather than runs it, and shows the summary as written.
    """
    summaries = {archive["letter"].summary, archive["reply"].summary}
    for url in FEED_URLS:
        with subtests.test(url=url):
            root = feed_entries(client, url)
            for element in root.iter(f"{ATOM}summary", f"{ATOM}content", f"{ATOM}title", f"{ATOM}subtitle"):
                if element.get("type") not in ("html", "xhtml"):
                    continue
                markup = element.text or ""
                assert html_problems(f"<div>{markup}</div>") == [], f"<{etree.QName(element).localname}> {markup!r}"
                if element.tag == f"{ATOM}summary":
                    assert page_text(f"<div>{markup}</div>") in {squeeze(summary) for summary in summaries}


# ---------------------------------------------------------------------------
# Characters XML cannot carry
# ---------------------------------------------------------------------------

#: C0 control characters other than tab, LF and CR: XML 1.0 has no way to write them. A form feed or a
#: vertical tab comes with text copied from a PDF; nothing stops one at the admin or the JSON import.
CONTROL_CHARACTERS = "\x0c\x0b\x01\x1f"


@pytest.fixture
def letter_with_control_characters(db):
    agent = create(Agent, slug="control-agent", name=f"Anders{CONTROL_CHARACTERS}Knape")
    cited = create(CitedDocument, slug="control-cited", title=f"Résolution{CONTROL_CHARACTERS}822")
    letter = create(
        Letter,
        slug="control-letter",
        status=PublicationStatus.PUBLISHED,
        date_from=datetime.date(2020, 10, 20),
        date_to=datetime.date(2020, 10, 20),
        title=f"Lettre{CONTROL_CHARACTERS}page",
        summary=f"Résumé{CONTROL_CHARACTERS}suite",
        date_as_written=f"20{CONTROL_CHARACTERS}octobre 2020",
        place_as_written=f"Gandja{CONTROL_CHARACTERS}",
    )
    create(Participation, letter=letter, agent=agent, role=Participation.Role.SENDER)
    create(Paragraph, letter=letter, position=1, text=f"Monsieur{CONTROL_CHARACTERS}le Président,")
    create(Citation, letter=letter, cited_document=cited, quote=f"la résolution{CONTROL_CHARACTERS}822")
    return letter


def test_control_characters_in_the_text_never_break_an_output(client, letter_with_control_characters, subtests):
    """
    Every output answers, and every XML output parses: a control character is
    dropped or replaced on the way out, never a 500 for the whole CMIF file.
    """
    xml = [
        "/letters/control-letter/tei.xml",
        "/cmif.xml",
        "/letters/?format=cmif",
        "/feeds/letters.atom",
        "/feeds/people/control-agent.atom",
        "/feeds/cited/control-cited.atom",
    ]
    other = [
        "/",
        "/letters/",
        "/letters/?format=json",
        "/letters/?format=csv",
        "/letters/control-letter/",
        "/letters/control-letter/?format=json",
        "/people/control-agent/",
        "/cited/control-cited/",
    ]
    for url in xml + other:
        with subtests.test(url=url):
            response = client.get(url)
            assert response.status_code == 200
            if url in xml:
                etree.fromstring(response.content)


# ---------------------------------------------------------------------------
# The admin
# ---------------------------------------------------------------------------


def admin_urls():
    urls = []
    for model in apps.get_app_config("correspondence").get_models():
        if not admin.site.is_registered(model):
            continue
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{name}_changelist"))
        urls.append(reverse(f"{name}_changelist") + "?" + urlencode({"q": HOSTILE}))
        for pk in model.objects.values_list("pk", flat=True):
            urls.append(reverse(f"{name}_change", args=[pk]))
    for model in (Letter, Agent, Place, CitedDocument, SourceDocument):
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for pk in model.objects.values_list("pk", flat=True):
            urls.append(reverse(f"{name}_history", args=[pk]))
    urls.append(reverse("admin:correspondence_data_quality"))
    return urls


def test_admin_pages_escape_every_value(admin_client, archive, subtests):
    for url in admin_urls():
        with subtests.test(url=url):
            response = admin_client.get(url)
            assert response.status_code == 200
            assert html_problems(response.content.decode()) == []


def test_the_letter_change_form_holds_every_value_in_its_fields(admin_client, archive):
    letter = archive["letter"]
    response = admin_client.get(reverse("admin:correspondence_letter_change", args=[letter.pk]))
    document = lxml.html.document_fromstring(response.content.decode())
    for name in ("title", "date_as_written", "place_as_written", "reference", "source_pages", "enclosures"):
        assert [squeeze(value) for value in document.xpath(f'//input[@name="{name}"]/@value')] == [
            squeeze(getattr(letter, name))
        ]
    for name in ("summary", "letterhead", "editorial_note"):
        assert [squeeze(area.text_content()) for area in document.xpath(f'//textarea[@name="{name}"]')] == [
            squeeze(getattr(letter, name))
        ]


def test_hostile_values_really_are_hostile():
    """The check itself: an unescaped value is caught."""
    assert html_problems(f"<p>{HOSTILE}</p>")
    assert html_problems(f'<a title="{HOSTILE}">x</a>')
    assert html_problems(f"<a title='{HOSTILE}'>x</a>")
    assert html_problems(f"<p>{TINY}</p>")
    assert not html_problems("<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>")
