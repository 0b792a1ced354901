"""Every list answers ?format=json and ?format=csv, every detail page ?format=json."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from correspondence.exports import LETTER_CSV_FIELDS, neutralise
from correspondence.models import Agent, Participation, PublicationStatus
from tests.conftest import (
    make_agent,
    make_citation,
    make_cited_document,
    make_footnote,
    make_mention,
    make_paragraph,
    make_participation,
    make_place,
    make_published_letter,
    make_source,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter():
    source = make_source("Dossier", slug="dossier", symbol="CG-BUR(2020)35-INF56", source_file="000_x.txt")
    place = make_place("Nakhitchevan", slug="nakhitchevan")
    knape = make_agent("Anders Knape", slug="anders-knape")
    ibrahimov = make_agent("Anar Ibrahimov", slug="anar-ibrahimov")
    delegation = make_agent("Délégation", slug="delegation", kind=Agent.Kind.ORGANISATION)
    letter = make_published_letter(
        "Lettre d'Anar Ibrahimov à Anders Knape",
        slug="ibrahimov-knape",
        date_as_written="20 octobre 2020",
        place_written=place,
        place_as_written="Ville de Nakhitchevan",
        source=source,
        source_pages="2-4",
        summary="Résumé neutre.",
    )
    make_participation(
        letter,
        ibrahimov,
        Participation.Role.SENDER,
        name_as_written="Anar Ibrahimov",
        title_as_written="Chef de la délégation",
        on_behalf_of=delegation,
    )
    make_participation(letter, knape, Participation.Role.RECIPIENT, name_as_written="Monsieur Anders Knape")
    paragraph = make_paragraph(letter, "Une garantie fragile.")
    make_footnote(letter, marker="2", paragraph=paragraph, anchor="garantie", text="Note.")
    make_citation(letter, make_cited_document("Résolution 822", slug="res-822"), quote="la résolution 822")
    make_mention(letter, place=make_place("Gandja", slug="gandja"), name_as_written="Gandja")
    return letter


def test_the_json_list_has_count_next_previous_and_results(client, letter):
    response = client.get("/letters/?format=json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["count"] == 1
    assert data["next"] is None and data["previous"] is None
    (row,) = data["results"]
    assert row["id"] == "ibrahimov-knape"
    assert row["url"] == "http://testserver/letters/ibrahimov-knape/"
    assert row["date_from"] == row["date_to"] == "2020-10-20"
    assert row["date_precision"] == "day"
    assert row["date_certainty"] == "exact"
    assert row["date_as_written"] == "20 octobre 2020"
    assert row["title"] == "Lettre d'Anar Ibrahimov à Anders Knape"
    assert row["participants"]["sender"] == [
        {
            "id": "anar-ibrahimov",
            "name": "Anar Ibrahimov",
            "name_as_written": "Anar Ibrahimov",
            "title_as_written": "Chef de la délégation",
            "on_behalf_of": {
                "id": "delegation",
                "name": "Délégation",
                "kind": "organisation",
                "url": "http://testserver/organisations/delegation/",
            },
            "identified_by_archive": False,
            "url": "http://testserver/people/anar-ibrahimov/",
        }
    ]
    assert row["participants"]["recipient"][0]["name_as_written"] == "Monsieur Anders Knape"
    assert row["place_written"]["url"] == "http://testserver/places/nakhitchevan/"
    assert row["place_written"]["as_written"] == "Ville de Nakhitchevan"
    assert row["source"]["id"] == "dossier"
    assert row["source"]["pages"] == "2-4"
    assert row["cited_documents"][0]["url"] == "http://testserver/cited/res-822/"


def test_the_json_list_pages_keep_the_filters(client):
    for number in range(25):
        make_published_letter(f"Lettre {number}", slug=f"lettre-{number:02}", kind="reply")
    data = client.get("/letters/?kind=reply&format=json").json()
    assert data["count"] == 25
    assert len(data["results"]) == 20
    assert data["next"] == "http://testserver/letters/?kind=reply&format=json&page=2"
    second = client.get(data["next"]).json()
    assert second["previous"] == "http://testserver/letters/?kind=reply&format=json&page=1"
    assert len(second["results"]) == 5


def test_the_json_list_answers_the_filters_and_the_search(client, letter):
    make_published_letter("Autre", slug="autre")
    data = client.get("/letters/?sender=anar-ibrahimov&format=json").json()
    assert [row["id"] for row in data["results"]] == ["ibrahimov-knape"]
    data = client.get("/letters/?q=fragile&format=json").json()
    assert [row["id"] for row in data["results"]] == ["ibrahimov-knape"]
    assert "fragile" in data["results"][0]["search_snippet"]
    assert "\x02" not in data["results"][0]["search_snippet"]


def test_the_json_of_a_letter_has_quotes_paragraphs_footnotes_and_thread(client, letter):
    reply = make_published_letter("Réponse", slug="reponse", in_reply_to=letter)
    data = client.get("/letters/ibrahimov-knape/?format=json").json()
    assert data["citations"] == [
        {
            "id": "res-822",
            "title": "Résolution 822",
            "symbol": "",
            "url": "http://testserver/cited/res-822/",
            "quote": "la résolution 822",
        }
    ]
    assert data["paragraphs"] == [{"position": 1, "kind": "body", "page": "", "text": "Une garantie fragile."}]
    assert data["footnotes"] == [{"marker": "2", "paragraph": 1, "anchor": "garantie", "text": "Note."}]
    assert data["mentions"]["places"][0]["id"] == "gandja"
    assert data["thread"]["replies"][0]["url"] == "http://testserver" + reply.get_absolute_url()
    assert data["thread"]["in_reply_to"] is None


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("/people/anders-knape/?format=json", "recipient"),
        ("/organisations/delegation/?format=json", "on_behalf_of"),
        ("/places/nakhitchevan/?format=json", "written_at"),
        ("/places/gandja/?format=json", "mentioned"),
        ("/cited/res-822/?format=json", "cited"),
        ("/sources/dossier/?format=json", "contains"),
    ],
)
def test_the_json_of_a_record_lists_its_letters_by_role(client, letter, url, key):
    data = client.get(url).json()
    assert data["url"] == "http://testserver" + url.split("?")[0]
    assert [entry["id"] for entry in data["letters"][key]] == ["ibrahimov-knape"]


def test_the_json_of_a_cited_document_quotes_the_letters(client, letter):
    data = client.get("/cited/res-822/?format=json").json()
    assert data["letters"]["cited"][0]["quote"] == "la résolution 822"


@pytest.mark.parametrize("url", ["/people/", "/organisations/", "/places/", "/cited/", "/sources/"])
def test_every_index_answers_json_and_csv(client, letter, url):
    data = client.get(url + "?format=json").json()
    assert data["count"] >= 1
    assert all(row["url"].startswith("http://testserver/") for row in data["results"])
    response = client.get(url + "?format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["id", "url"]
    assert len(rows) == data["count"] + 1


# -- CSV ---------------------------------------------------------------------------


def read_csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


def test_the_csv_has_one_streamed_row_per_letter(client, letter):
    make_published_letter("Autre", slug="autre")
    response = client.get("/letters/?format=csv")
    assert 'attachment; filename="letters.csv"' == response["Content-Disposition"]
    rows = read_csv(response)
    assert [row["id"] for row in rows] == ["autre", "ibrahimov-knape"]
    row = next(row for row in rows if row["id"] == "ibrahimov-knape")
    assert list(row) == LETTER_CSV_FIELDS
    assert row["senders"] == "Anar Ibrahimov"
    assert row["recipients"] == "Anders Knape"
    assert row["source"] == "dossier"
    assert row["cited_documents"] == "res-822"
    assert row["url"] == "http://testserver/letters/ibrahimov-knape/"


def test_the_csv_keeps_the_filters(client, letter):
    make_published_letter("Autre", slug="autre", kind="reply")
    rows = read_csv(client.get("/letters/?kind=reply&format=csv"))
    assert [row["id"] for row in rows] == ["autre"]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(client):
    make_published_letter('=HYPERLINK("http://evil")', slug="formule", summary="+33 1 23", date_as_written="-1")
    letter = make_published_letter("@SUM(A1)", slug="arobase", summary="\tcaché")
    make_participation(letter, make_agent("=cmd", slug="cmd"), Participation.Role.SENDER, name_as_written="=cmd")
    rows = {row["id"]: row for row in read_csv(client.get("/letters/?format=csv"))}
    assert rows["formule"]["title"] == '\'=HYPERLINK("http://evil")'
    assert rows["formule"]["summary"] == "'+33 1 23"
    assert rows["formule"]["date_as_written"] == "'-1"
    assert rows["arobase"]["title"] == "'@SUM(A1)"
    assert rows["arobase"]["summary"] == "'\tcaché"
    assert rows["arobase"]["senders"] == "'=cmd"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


# -- drafts ------------------------------------------------------------------------


def test_drafts_are_absent_from_json_csv_and_record_data(client, letter):
    draft = make_published_letter("Brouillon", slug="brouillon", status=PublicationStatus.DRAFT)
    make_participation(draft, Agent.objects.get(slug="anders-knape"), Participation.Role.SENDER)
    make_agent("Caché", slug="cache", status=PublicationStatus.DRAFT)
    assert "brouillon" not in client.get("/letters/?format=json").content.decode()
    assert "brouillon" not in b"".join(client.get("/letters/?format=csv").streaming_content).decode()
    assert "brouillon" not in client.get("/people/anders-knape/?format=json").content.decode()
    assert "cache" not in client.get("/people/?format=json").content.decode()
    assert client.get("/letters/brouillon/?format=json").status_code == 404


def test_a_csv_asked_again_comes_from_the_cache_and_shows_a_change_at_once(client, letter, django_assert_num_queries):
    first = read_csv(client.get("/letters/?kind=letter&format=csv"))
    with django_assert_num_queries(1):  # the archive's generation; the file itself is in the cache
        again = read_csv(client.get("/letters/?kind=letter&format=csv"))
    assert again == first
    letter.title = "Titre corrigé"
    letter.save()
    assert [row["title"] for row in read_csv(client.get("/letters/?kind=letter&format=csv"))] == ["Titre corrigé"]


def test_a_csv_larger_than_the_limit_is_streamed_every_time_and_never_cached(client, letter, settings):
    settings.CSV_CACHE_MAX_CHARS = 200  # the header alone is longer
    first = read_csv(client.get("/letters/?format=csv"))
    with CaptureQueriesContext(connection) as queries:
        again = read_csv(client.get("/letters/?format=csv"))
    assert again == first and [row["id"] for row in again] == ["ibrahimov-knape"]
    assert len(queries) > 1  # read from the database again


def test_a_csv_left_half_way_is_not_cached():
    from django.core.cache import cache

    from correspondence.views import _kept_in_cache

    lines = _kept_in_cache(iter(["id\r\n", "a\r\n", "b\r\n"]), "test-csv", 1000)
    assert next(lines) == "id\r\n"
    lines.close()  # the reader leaves: the server closes the response and its generator
    assert cache.get("test-csv") is None
    assert list(_kept_in_cache(iter(["id\r\n", "a\r\n"]), "test-csv", 1000)) == ["id\r\n", "a\r\n"]
    assert cache.get("test-csv") == "id\r\na\r\n"
