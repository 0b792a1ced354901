"""Malformed or unknown input is answered with a message for the reader, never with a server error."""

import pytest
from django.template.loader import get_template
from django.test import override_settings

from correspondence.models import PublicationStatus
from tests.conftest import make_agent, make_published_letter, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def letters():
    make_published_letter("Lettre", slug="lettre")
    make_agent("Anders Knape", slug="anders-knape")


def form_errors(response):
    return {name: list(errors) for name, errors in response.context["filter"].form.errors.items()}


@pytest.mark.parametrize("value", ["2020-13-45", "2020-02-30", "0000", "20-10-2020", "2020/10", "hier", "٢٠٢٠"])
def test_a_malformed_date_is_a_form_error_shown_on_the_page(client, value):
    response = client.get("/letters/", {"date_from": value})
    assert response.status_code == 200
    assert "date_from" in form_errors(response)
    html = response.content.decode()
    assert 'role="alert"' in html
    assert 'aria-invalid="true"' in html
    assert response.context["letters"].count() == 0 if hasattr(response.context["letters"], "count") else True


def test_an_impossible_date_names_the_value(client):
    response = client.get("/letters/?date_from=2020-13-45")
    assert form_errors(response)["date_from"] == ["«\u00a02020-13-45\u00a0» n’est pas une date du calendrier."]


def test_a_period_that_ends_before_it_starts_is_a_form_error(client):
    response = client.get("/letters/?date_from=2021&date_to=2020")
    assert response.status_code == 200
    assert "date_to" in form_errors(response)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "\x00", "９"])
def test_a_page_that_is_not_a_whole_number_from_one_is_a_400_with_a_message(client, page):
    response = client.get("/letters/", {"page": page})
    assert response.status_code == 400
    assert "numéro de page" in response.content.decode()


def test_a_page_past_the_end_is_a_404_that_says_how_many_pages_there_are(client):
    response = client.get("/letters/?page=999999")
    assert response.status_code == 404
    html = response.content.decode()
    assert "999999" in html
    assert "1 page" in html
    assert 'href="?"' in html  # back to the first page of the same results


def test_page_last_goes_to_the_last_page(client):
    assert client.get("/letters/?page=last").status_code == 200


def test_an_unknown_sort_order_is_a_form_error(client):
    response = client.get("/letters/?sort=secret_field")
    assert response.status_code == 200
    assert "sort" in form_errors(response)
    assert "secret_field" in response.content.decode()


@pytest.mark.parametrize(
    "name", ["sender", "recipient", "participant", "place_written", "place_mentioned", "cited", "source"]
)
def test_an_unknown_slug_in_a_filter_is_a_form_error_naming_it(client, name):
    response = client.get("/letters/", {name: "nobody-here"})
    assert response.status_code == 200
    (message,) = form_errors(response)[name]
    assert "nobody-here" in message


def test_an_unpublished_record_in_a_filter_is_reported_as_unknown(client):
    make_agent("Brouillon", slug="brouillon", status=PublicationStatus.DRAFT)
    response = client.get("/letters/?sender=brouillon")
    assert "sender" in form_errors(response)


def test_a_numeric_id_in_a_filter_is_not_accepted(client):
    response = client.get("/letters/?sender=1")
    assert "sender" in form_errors(response)


def test_an_unknown_kind_or_malformed_language_is_a_form_error(client):
    assert "kind" in form_errors(client.get("/letters/?kind=treaty"))
    assert "language" in form_errors(client.get("/letters/?language=Français!"))


def test_a_very_long_query_is_a_form_error(client):
    response = client.get("/letters/", {"q": "mine " * 2000})
    assert response.status_code == 200
    (message,) = form_errors(response)["q"]
    assert "200" in message


@pytest.mark.parametrize("value", ["mines\x00", "\x00", "\ufffe\u202e", "𝕸𝖎𝖓𝖊𝖘", "ə ş ı č"])
def test_stray_unicode_and_nul_bytes_in_the_query_never_break_the_page(client, value):
    response = client.get("/letters/", {"q": value})
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["sender", "source", "date_from", "sort", "kind", "language", "format", "page"])
def test_nul_bytes_in_any_parameter_never_break_the_page(client, name):
    response = client.get("/letters/", {name: "a\x00b"})
    assert response.status_code in (200, 400)


def test_invalid_utf8_in_the_query_string_never_breaks_the_page(client):
    response = client.get("/letters/?q=%ff%fe&sender=%c3%28")
    assert response.status_code == 200


def test_unknown_parameters_are_ignored_and_said_so(client):
    response = client.get("/letters/?utm_source=newsletter")
    assert response.status_code == 200
    assert "utm_source" in response.content.decode()
    assert response.context["ignored_parameters"] == ["utm_source"]


@pytest.mark.parametrize(
    "url",
    ["/letters/?format=xml", "/letters/lettre/?format=csv", "/people/?format=pdf", "/?format=json"],
)
def test_an_unknown_format_is_a_400_that_names_the_formats_on_offer(client, url):
    response = client.get(url)
    assert response.status_code == 400
    html = response.content.decode()
    assert "<h1>" in html
    assert "format" in html


def test_the_data_formats_answer_bad_filters_with_a_400(client):
    response = client.get("/letters/?date_from=2020-13-45&format=json")
    assert response.status_code == 400
    assert "date_from" in response.json()["errors"]
    response = client.get("/letters/?date_from=2020-13-45&format=csv")
    assert response.status_code == 400
    assert "date_from" in b"".join(response.streaming_content).decode()
    assert client.get("/letters/?page=abc&format=json").status_code == 400
    assert client.get("/letters/?page=99&format=json").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/letters/no-such-letter/",
        "/people/no-such-person/",
        "/organisations/no-such-organisation/",
        "/places/nowhere/",
        "/cited/nothing/",
        "/sources/nothing/",
        "/sources/nothing/text/",
        "/letters/12345/",
    ],
)
def test_an_identifier_that_does_not_exist_is_a_helpful_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page introuvable" in html
    assert 'action="/letters/"' in html  # a search box to go on from


def test_the_404_names_the_missing_letter(client):
    html = client.get("/letters/no-such-letter/").content.decode()
    assert "no-such-letter" in html


@pytest.mark.parametrize("url", ["/letters/%00/", "/letters/caf%C3%A9/", "/no/such/page/", "/people/%ED%A0%80/"])
def test_odd_paths_are_404s(client, url):
    assert client.get(url).status_code == 404


def test_the_500_page_renders_without_context_or_database():
    html = get_template("500.html").render()
    assert "<h1>" in html
    assert "<main" in html


def test_the_503_page_is_the_500_page_with_its_own_words():
    from django.utils import translation

    with translation.override("en"):
        unavailable = get_template("503.html").render()
        error = get_template("500.html").render()
    assert unavailable.startswith("<!doctype html>") and error.startswith("<!doctype html>")
    assert "<title>Temporarily unavailable — " in unavailable
    assert "The archive is briefly unavailable" in unavailable
    assert "Something went wrong" not in unavailable
    assert "Something went wrong on our side" in error and "briefly unavailable" not in error
    assert unavailable.count("<h1>") == error.count("<h1>") == 1


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_bad_host_is_a_400_page(client):
    response = client.get("/", headers={"host": "evil.example"})
    assert response.status_code == 400


def test_the_source_text_of_a_source_without_file_is_a_404(client):
    make_source("Sans texte", slug="sans-texte")
    assert client.get("/sources/sans-texte/text/").status_code == 404


def test_the_403_page_renders(client, rf):
    from correspondence.views import permission_denied

    response = permission_denied(rf.get("/"), Exception("no"))
    assert response.status_code == 403
    assert b"<h1>" in response.content
