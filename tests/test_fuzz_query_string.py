"""
No query string breaks a list: random parameters never give a server error.

Hypothesis builds query strings for the letter list and the index pages of
people, organisations, places, cited documents and source documents, in each
of their formats: the parameters the lists know and random ones, repeated or
not, with values that are real identifiers of the seed collection, dates
(possible and impossible), numbers (negative, huge), words, any Unicode text
with control characters and NUL, and very long strings; each encoded one of
several ways (UTF-8 percent escapes, ``+`` for spaces, Latin-1 escapes that are
not UTF-8, raw bytes, broken escapes such as ``%`` or ``%zz``). Whatever comes
in, the answer is a page, a 400 or a 404: never a 500 (the test client
re-raises an exception from a view, so a failure shows its traceback).

The seed collection is loaded once for the module. The number of examples is
fixed so that the file runs in under a minute on SQLite (see FUZZ_FACTOR);
the example database is off, so that nothing is written to the working tree,
and a failure prints the blob that reproduces it (``@reproduce_failure``).
"""

import datetime
import os
from urllib.parse import quote, quote_plus

import pytest
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from correspondence.models import Agent, CitedDocument, Letter, Place, SourceDocument

LETTER_PARAMETERS = (
    "q",
    "sender",
    "recipient",
    "participant",
    "date_from",
    "date_to",
    "place_written",
    "place_mentioned",
    "cited",
    "source",
    "kind",
    "language",
    "sort",
    "page",
    "format",
)
RECORD_PARAMETERS = ("q", "kind", "page", "format")

LETTER_LIST = "/letters/"
RECORD_LISTS = ("/people/", "/organisations/", "/places/", "/cited/", "/sources/")

#: Examples per test, each fetched in every format of its page: 480 requests of the letter list and 720 of
#: the index pages, 35 to 50 s on a two-core machine with SQLite (the HTML letter list, with its charts,
#: costs some 70 ms a request, the other answers 10 to 30 ms); a loaded machine takes longer.
#: FUZZ_FACTOR=10 in the environment runs ten times as many (12,000 requests), for a deeper search.
FUZZ_FACTOR = float(os.environ.get("FUZZ_FACTOR") or 1)
LETTER_EXAMPLES = round(120 * FUZZ_FACTOR)
RECORD_EXAMPLES = round(240 * FUZZ_FACTOR)
LETTER_FORMATS = ("html", "json", "csv", "cmif")
RECORD_FORMATS = ("html", "json", "csv")


def fuzz(max_examples):
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The seed collection, loaded once for the module and removed afterwards; its identifiers."""
    with django_db_blocker.unblock():
        call_command("loaddata", "seeds", verbosity=0)
        slugs = sorted(
            {
                *Agent.objects.values_list("slug", flat=True),
                *Place.objects.values_list("slug", flat=True),
                *CitedDocument.objects.values_list("slug", flat=True),
                *SourceDocument.objects.values_list("slug", flat=True),
                *Letter.objects.values_list("slug", flat=True),
            }
        )
        yield slugs
        for model in (Letter, SourceDocument, CitedDocument, Place, Agent):
            model.objects.all().delete()


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


def dates():
    """Dates as a reader types them, possible or not: 2020, 2020-10, 2020-13-45, 0000-00-00, -5-1-1."""
    number = st.integers(min_value=-99, max_value=99_999)
    return st.one_of(
        st.dates(min_value=datetime.date(1, 1, 1)).map(lambda day: day.isoformat()),
        st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", number, number, number),
        st.builds(lambda y, m: f"{y:04d}-{m:02d}", number, number),
        st.builds(lambda y: f"{y}", number),
        st.sampled_from(["2020-13-45", "2020-02-30", "2021-02-29", "0000-00-00", "9999-12-31", "2020-1-1", " 2020 "]),
    )


def numbers():
    return st.one_of(
        st.integers().map(str),
        st.integers(min_value=-(10**40), max_value=10**40).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["0", "-1", "last", "first", "1e9", "0x10", "١٢", "²", "1_000", "+1", " 1", "1 "]),
    )


def values(slugs):
    words = st.sampled_from(
        [
            "",
            " ",
            "date",
            "-date",
            "title",
            "relevance",
            "letter",
            "reply",
            "resolution",
            "fr",
            "en",
            "html",
            "json",
            "csv",
            "cmif",
            '"',
            '"unterminated',
            "AND",
            "OR NOT",
            "NEAR(a b)",
            "a*",
            "*",
            "^",
            "col:val",
            "'; DROP TABLE correspondence_letter; --",
            "%",
            "_",
            "\\",
            "<script>alert(1)</script>",
            "négociation",
            "Haut-Karabagh",
            "S/RES/822 (1993)",
        ]
    )
    return st.one_of(
        st.sampled_from(slugs),
        words,
        dates(),
        numbers(),
        st.text(max_size=30),
        st.text(st.characters(codec="utf-8"), max_size=200),
        st.text(st.characters(max_codepoint=0x1F), max_size=10),  # control characters, NUL included
        st.builds(lambda char, n: char * n, st.characters(codec="utf-8"), st.integers(min_value=150, max_value=3000)),
        st.lists(st.sampled_from(slugs), max_size=5).map(",".join),
    )


def keys(known):
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(lambda key: key + "[]"),
        st.text(max_size=20),
        st.sampled_from(["", " ", "csrfmiddlewaretoken", "o", "ordering", "page_size", "__proto__", "q\x00"]),
    )


# ---------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------


def encode(text, how):
    """``text`` as bytes of a query string, one of several ways, some of them wrong."""
    if how == "utf-8":
        return quote(text, safe="").encode("ascii")
    if how == "plus":
        return quote_plus(text).encode("ascii")
    if how == "latin-1":  # percent escapes of Latin-1 bytes: not UTF-8 once decoded
        return quote(text.encode("latin-1", "replace"), safe="").encode("ascii")
    if how == "raw":  # unescaped UTF-8 bytes, & and = included
        return text.encode("utf-8", "surrogatepass")
    if how == "broken":
        return quote(text, safe="").encode("ascii") + b"%" + b"%z" + b"%e9%"
    raise ValueError(how)


ENCODINGS = st.sampled_from(["utf-8", "utf-8", "plus", "latin-1", "raw", "broken"])


@st.composite
def query_strings(draw, slugs, known):
    """A raw query string (WSGI's QUERY_STRING: bytes read as Latin-1) of random, repeated parameters."""
    pairs = draw(st.lists(st.tuples(keys(known), values(slugs), ENCODINGS), max_size=8))
    if pairs and draw(st.booleans()):
        pairs += draw(st.lists(st.sampled_from(pairs), max_size=3))  # the same parameter again
    separator = draw(st.sampled_from([b"&", b"&", b";", b"&&"]))
    parts = []
    for key, value, how in pairs:
        part = encode(key, how)
        if value or draw(st.booleans()):
            part += b"=" + encode(value, how)
        parts.append(part)
    return separator.join(parts)


@pytest.fixture(scope="module")
def reader():
    """One test client for the module: each new one loads the middleware again (WhiteNoise scans the files)."""
    return Client()


def fetch(reader, path, query, fmt):
    """Status of the list at ``path`` for this query string (``format=fmt`` last, so that it wins)."""
    if fmt != "html":
        query = query + (b"&" if query else b"") + b"format=" + fmt.encode()
    reader.cookies.clear()
    response = reader.get(path, QUERY_STRING=query.decode("latin-1"))
    if response.streaming:
        b"".join(response.streaming_content)  # a CSV fails while it streams, if anywhere
    return response.status_code


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


def failures(reader, path, query, formats):
    """The formats in which the list at ``path`` answers ``query`` with a server error."""
    failed = []
    for fmt in formats:
        note(f"format={fmt}")
        status = fetch(reader, path, query, fmt)
        if status >= 500:
            failed.append(f"{path}?{query!r} (format={fmt}) answered {status}")
    return failed


@pytest.mark.django_db
@fuzz(LETTER_EXAMPLES)
@given(data=st.data())
def test_the_letter_list_never_fails_on_a_query_string(seeded, reader, data):
    query = data.draw(query_strings(seeded, LETTER_PARAMETERS), label="query")
    assert failures(reader, LETTER_LIST, query, LETTER_FORMATS) == []


@pytest.mark.django_db
@fuzz(RECORD_EXAMPLES)
@given(data=st.data(), path=st.sampled_from(RECORD_LISTS))
def test_the_index_pages_never_fail_on_a_query_string(seeded, reader, data, path):
    query = data.draw(query_strings(seeded, RECORD_PARAMETERS), label="query")
    assert failures(reader, path, query, RECORD_FORMATS) == []


def test_the_encodings_give_what_they_promise():
    assert encode("é &", "utf-8") == b"%C3%A9%20%26"
    assert encode("é &", "plus") == b"%C3%A9+%26"
    assert encode("é", "latin-1") == b"%E9"
    assert encode("a=b&c", "raw") == b"a=b&c"
    assert encode("\x00", "broken").startswith(b"%00%")
