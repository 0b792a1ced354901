"""The list of letters: filters by slug, date overlap, facets, sorting, pagination, fixed query counts."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from correspondence.models import Agent, Letter, Participation, PublicationStatus
from tests.conftest import (
    make_agent,
    make_citation,
    make_cited_document,
    make_mention,
    make_paragraph,
    make_participation,
    make_place,
    make_published_letter,
    make_source,
)

pytestmark = pytest.mark.django_db

SENDER = Participation.Role.SENDER
RECIPIENT = Participation.Role.RECIPIENT
SIGNATORY = Participation.Role.SIGNATORY
COPY = Participation.Role.COPY


def slugs(response):
    """The letters listed on the page, in order."""
    return [letter.slug for letter in response.context["letters"]]


def facet(response, name):
    return {option.value: option.count for option in response.context["facets"][name]}


@pytest.fixture
def correspondence():
    """Three published letters and a draft between a few agents, places and documents."""
    knape = make_agent("Anders Knape", slug="anders-knape")
    ibrahimov = make_agent("Anar Ibrahimov", slug="anar-ibrahimov")
    guterres = make_agent("António Guterres", slug="antonio-guterres")
    congress = make_agent("Congrès des pouvoirs locaux et régionaux", slug="congres", kind=Agent.Kind.ORGANISATION)
    nakhchivan = make_place("Nakhitchevan", slug="nakhitchevan")
    gandja = make_place("Gandja", slug="gandja")
    resolution = make_cited_document("Résolution 822 (1993)", slug="s-res-822-1993")
    dossier = make_source("Dossier d'information", slug="dossier", symbol="CG-BUR(2020)35-INF56")
    onu = make_source("Lettre à l'ONU", slug="onu-lettre")

    first = make_published_letter(
        "Lettre d'Anar Ibrahimov à Anders Knape",
        slug="ibrahimov-knape",
        date=datetime.date(2020, 10, 20),
        place_written=nakhchivan,
        source=dossier,
        source_position=1,
    )
    make_participation(first, ibrahimov, SENDER)
    make_participation(first, knape, RECIPIENT)
    make_mention(first, place=gandja, name_as_written="Gandja")
    make_citation(first, resolution)

    reply = make_published_letter(
        "Réponse d'Anders Knape à Anar Ibrahimov",
        slug="knape-ibrahimov",
        kind=Letter.Kind.REPLY,
        date=datetime.date(2020, 10, 29),
        source=dossier,
        source_position=2,
        in_reply_to=first,
    )
    make_participation(reply, knape, SENDER)
    make_participation(reply, ibrahimov, RECIPIENT)
    make_participation(reply, congress, COPY)

    annex = make_published_letter(
        "Annexe : rapport",
        slug="annexe-rapport",
        kind=Letter.Kind.ANNEX,
        language="en",
        date=datetime.date(2021, 2, 22),
        source=onu,
        source_position=1,
    )
    make_participation(annex, guterres, RECIPIENT)
    make_participation(annex, knape, SIGNATORY)

    draft = make_published_letter(
        "Brouillon", slug="brouillon", status=PublicationStatus.DRAFT, source=onu, source_position=2
    )
    make_participation(draft, knape, SENDER)
    return locals()


def test_the_list_shows_every_published_letter_and_no_draft(client, correspondence):
    response = client.get("/letters/")
    assert response.status_code == 200
    assert slugs(response) == ["ibrahimov-knape", "knape-ibrahimov", "annexe-rapport"]
    assert "Brouillon" not in response.content.decode()


def test_sender_filter_keeps_the_letters_the_agent_sent(client, correspondence):
    assert slugs(client.get("/letters/?sender=anders-knape")) == ["knape-ibrahimov"]


def test_recipient_filter_keeps_the_letters_the_agent_received(client, correspondence):
    assert slugs(client.get("/letters/?recipient=anders-knape")) == ["ibrahimov-knape"]


def test_participant_filter_matches_every_role(client, correspondence):
    assert slugs(client.get("/letters/?participant=anders-knape")) == [
        "ibrahimov-knape",
        "knape-ibrahimov",
        "annexe-rapport",
    ]
    assert slugs(client.get("/letters/?participant=congres")) == ["knape-ibrahimov"]


def test_place_written_filter(client, correspondence):
    assert slugs(client.get("/letters/?place_written=nakhitchevan")) == ["ibrahimov-knape"]


def test_place_mentioned_filter(client, correspondence):
    assert slugs(client.get("/letters/?place_mentioned=gandja")) == ["ibrahimov-knape"]
    assert slugs(client.get("/letters/?place_mentioned=nakhitchevan")) == []


def test_cited_document_filter(client, correspondence):
    assert slugs(client.get("/letters/?cited=s-res-822-1993")) == ["ibrahimov-knape"]


def test_source_document_filter(client, correspondence):
    assert slugs(client.get("/letters/?source=dossier")) == ["ibrahimov-knape", "knape-ibrahimov"]


def test_kind_filter(client, correspondence):
    assert slugs(client.get("/letters/?kind=reply")) == ["knape-ibrahimov"]


def test_language_filter(client, correspondence):
    assert slugs(client.get("/letters/?language=en")) == ["annexe-rapport"]


def test_filters_combine(client, correspondence):
    assert slugs(client.get("/letters/?participant=anders-knape&source=dossier")) == [
        "ibrahimov-knape",
        "knape-ibrahimov",
    ]
    assert slugs(client.get("/letters/?participant=anders-knape&source=dossier&kind=reply")) == ["knape-ibrahimov"]
    assert slugs(client.get("/letters/?sender=anders-knape&recipient=anders-knape")) == []


# -- dates -------------------------------------------------------------------


@pytest.fixture
def dated():
    make_published_letter("Exact", slug="exact", date=datetime.date(2020, 10, 20))
    make_published_letter(
        "October",
        slug="october",
        date_from=datetime.date(2020, 10, 1),
        date_to=datetime.date(2020, 10, 31),
        date_precision=Letter.DatePrecision.MONTH,
    )
    make_published_letter(
        "Year 2021",
        slug="year-2021",
        date_from=datetime.date(2021, 1, 1),
        date_to=datetime.date(2021, 12, 31),
        date_precision=Letter.DatePrecision.YEAR,
    )
    make_published_letter(
        "Autumn",
        slug="autumn",
        date_from=datetime.date(2020, 11, 15),
        date_to=datetime.date(2021, 1, 10),
        date_precision=Letter.DatePrecision.RANGE,
    )
    make_published_letter("Undated", slug="undated", date=None)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date_from=2020-10-20&date_to=2020-10-20", {"exact", "october"}),
        ("date_from=2020-10-25&date_to=2020-10-25", {"october"}),
        ("date_from=2020-10&date_to=2020-10", {"exact", "october"}),
        ("date_from=2021-06", {"year-2021"}),
        ("date_to=2020-10-19", {"october"}),
        ("date_from=2021-01-05&date_to=2021-01-05", {"year-2021", "autumn"}),
        ("date_from=2020&date_to=2020", {"exact", "october", "autumn"}),
        ("date_from=2022", set()),
    ],
)
def test_a_letter_matches_when_its_date_span_overlaps_the_requested_period(client, dated, query, expected):
    assert set(slugs(client.get(f"/letters/?{query}"))) == expected


def test_undated_letters_are_listed_until_a_date_filter_is_set(client, dated):
    assert "undated" in slugs(client.get("/letters/"))
    assert "undated" not in slugs(client.get("/letters/?date_from=1900"))


# -- facets --------------------------------------------------------------------


def test_facets_count_the_letters_kept_by_the_other_filters(client, correspondence):
    response = client.get("/letters/?source=dossier")
    # The kind facet counts only the letters of the selected source...
    assert facet(response, "kind") == {"letter": 1, "reply": 1}
    assert facet(response, "sender") == {"anar-ibrahimov": 1, "anders-knape": 1}
    # ...while the source facet ignores its own filter, so that the reader can switch sources.
    assert facet(response, "source") == {"dossier": 2, "onu-lettre": 1}


def test_facets_without_filters_count_all_published_letters(client, correspondence):
    response = client.get("/letters/")
    assert facet(response, "participant") == {
        "anders-knape": 3,
        "anar-ibrahimov": 2,
        "congres": 1,
        "antonio-guterres": 1,
    }
    assert facet(response, "place_mentioned") == {"gandja": 1}
    assert facet(response, "cited") == {"s-res-822-1993": 1}
    assert facet(response, "language") == {"fr": 2, "en": 1}


def test_the_selected_option_stays_listed_even_when_other_filters_leave_it_no_letter(client, correspondence):
    response = client.get("/letters/?sender=anar-ibrahimov&kind=reply")
    options = {option.value: option for option in response.context["facets"]["sender"]}
    assert options["anar-ibrahimov"].selected
    assert options["anar-ibrahimov"].count == 0
    assert '<option value="anar-ibrahimov" selected>Anar Ibrahimov (0)</option>' in response.content.decode()


def test_facets_leave_out_unpublished_records(client, correspondence):
    hidden = make_agent("Agent en attente", slug="en-attente", status=PublicationStatus.DRAFT)
    make_participation(correspondence["first"], hidden, COPY)
    response = client.get("/letters/")
    assert "en-attente" not in facet(response, "participant")
    assert "Agent en attente" not in response.content.decode()


def test_facet_options_are_shown_with_their_counts(client, correspondence):
    html = client.get("/letters/").content.decode()
    assert '<option value="anders-knape">Anders Knape (3)</option>' in html
    assert '<label for="id_sender">' in html


# -- sorting -------------------------------------------------------------------


def test_default_order_is_by_date_oldest_first(client, correspondence):
    assert slugs(client.get("/letters/")) == ["ibrahimov-knape", "knape-ibrahimov", "annexe-rapport"]


def test_sort_by_date_newest_first(client, correspondence):
    assert slugs(client.get("/letters/?sort=-date")) == ["annexe-rapport", "knape-ibrahimov", "ibrahimov-knape"]


def test_sort_by_title(client, correspondence):
    assert slugs(client.get("/letters/?sort=title")) == ["annexe-rapport", "ibrahimov-knape", "knape-ibrahimov"]


def test_relevance_without_a_search_falls_back_to_date(client, correspondence):
    response = client.get("/letters/?sort=relevance")
    assert response.status_code == 200
    assert slugs(response) == ["ibrahimov-knape", "knape-ibrahimov", "annexe-rapport"]


def test_relevance_is_offered_only_when_searching(client, correspondence):
    options = [value for value, _label in client.get("/letters/").context["sort_options"]]
    assert options == ["date", "-date", "title"]


# -- pagination and active filters ---------------------------------------------


def test_pagination_shows_the_total_and_page_links_keep_the_filters(client):
    source = make_source("Dossier", slug="dossier")
    for number in range(45):
        make_published_letter(f"Lettre {number:02}", slug=f"lettre-{number:02}", source=source, source_position=number)
    make_published_letter("Hors dossier", slug="hors-dossier")
    response = client.get("/letters/?source=dossier&sort=title&page=2")
    html = response.content.decode()
    assert response.context["paginator"].count == 45
    assert "45 lettres" in html
    assert slugs(response)[0] == "lettre-20"
    assert 'href="?source=dossier&amp;sort=title&amp;page=3"' in html
    assert 'href="?source=dossier&amp;sort=title&amp;page=1"' in html
    assert "Page 2 sur 3" in html or "Page 2 of 3" in html


def test_each_active_filter_can_be_removed_on_its_own(client, correspondence):
    response = client.get("/letters/?sender=anders-knape&kind=reply&page=1")
    active = {item["name"]: item for item in response.context["active_filters"]}
    assert active["sender"]["value"] == "Anders Knape"
    assert active["sender"]["remove_url"] == "/letters/?kind=reply"
    assert active["kind"]["remove_url"] == "/letters/?sender=anders-knape"
    assert 'href="/letters/?kind=reply"' in response.content.decode()


def test_filter_values_in_the_query_string_are_slugs(client, correspondence):
    html = client.get("/letters/").content.decode()
    assert '<option value="anders-knape">' in html
    assert not re.search(r'<option value="\d+">', html)


def test_each_row_shows_date_kind_title_parties_and_source(client, correspondence):
    html = client.get("/letters/?kind=reply").content.decode()
    assert '<time datetime="2020-10-29">2020-10-29</time>' in html
    assert "Réponse d&#x27;Anders Knape à Anar Ibrahimov" in html
    assert "Anders Knape" in html and "Anar Ibrahimov" in html
    assert "CG-BUR(2020)35-INF56" in html


# -- query counts ----------------------------------------------------------------


def populate(count):
    source = make_source("Dossier", slug=f"dossier-{count}")
    place = make_place("Bakou", slug=f"bakou-{count}")
    for number in range(count):
        letter = make_published_letter(
            f"Lettre {number}", slug=f"q-{count}-{number}", source=source, source_position=number, place_written=place
        )
        make_participation(letter, make_agent(f"Auteur {number}", slug=f"auteur-{count}-{number}"), SENDER)
        make_participation(letter, make_agent(f"Destinataire {number}", slug=f"dest-{count}-{number}"), RECIPIENT)
        make_paragraph(letter, "Texte.")


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_list_runs_as_many_queries_for_ten_letters_as_for_one(client):
    populate(1)
    one = count_queries(client, "/letters/")
    populate(10)
    assert count_queries(client, "/letters/") == one


#: A list filtered by date: 1 for the archive's generation; count, page of letters, participations; 4 for the
#: facets (the sender, recipient and participant ones together, those of the letters' kind, language, place of
#: writing and source together, places mentioned and cited documents each on its own); 5 for the charts.
LIST_QUERIES = 13
#: The unfiltered list: a query per facet (9: read or counted each on its own), and the network and the map read
#: every row, then those of unpublished letters to take off.
UNFILTERED_LIST_QUERIES = LIST_QUERIES + 5 + 2


def test_the_list_page_query_count_is_pinned(client, django_assert_num_queries):
    populate(10)
    with django_assert_num_queries(UNFILTERED_LIST_QUERIES):
        client.get("/letters/")


def test_a_filter_by_slug_adds_one_query_to_look_the_record_up(client, django_assert_num_queries):
    populate(10)
    with django_assert_num_queries(LIST_QUERIES + 1 + 1):  # and the source's own facet, counted on its own
        client.get("/letters/?source=dossier-10")
    with django_assert_num_queries(LIST_QUERIES):
        client.get("/letters/?date_from=2020")


def test_the_same_list_again_reads_its_parts_from_the_cache(client, django_assert_num_queries):
    """Facets, charts, the count and the page's rows come from the cache: only the generation is read."""
    populate(10)
    first = client.get("/letters/?sort=-date&source=dossier-10")
    with django_assert_num_queries(2):  # the generation, and the source named in the query string
        again = client.get("/letters/?source=dossier-10&sort=-date")
    assert sorted(slugs(again)) == sorted(f"q-10-{number}" for number in range(10))
    assert slugs(again) == slugs(first)
    assert again.content.count(b"<option") == first.content.count(b"<option")
    assert again.context["paginator"].count == 10


def test_the_same_search_again_reads_only_the_generation(client, searchable, django_assert_num_queries):
    """On PostgreSQL a search's matches are read once per request to narrow the facets: not when cached."""
    first = client.get("/letters/?q=mines&kind=letter")
    assert slugs(first) == ["mines"]
    with django_assert_num_queries(2):  # the names the words may spell (an indexed read), the generation
        again = client.get("/letters/?q=mines&kind=letter")
    assert slugs(again) == ["mines"] and again.context["paginator"].count == 1


def test_a_change_is_in_the_cached_list_at_once(client):
    populate(3)
    before = client.get("/letters/")
    assert before.context["paginator"].count == 3
    letter = make_published_letter("Lettre nouvelle", slug="nouvelle")
    make_participation(letter, make_agent("Nouvel auteur", slug="nouvel-auteur"), SENDER)
    after = client.get("/letters/")
    assert after.context["paginator"].count == 4
    assert "nouvelle" in slugs(after)
    assert "nouvel-auteur" in [option.value for option in after.context["facets"]["sender"]]
    assert b"Nouvel auteur" in after.content  # in the network chart and its table, drawn again
    letter.status = PublicationStatus.DRAFT
    letter.save()
    assert client.get("/letters/").context["paginator"].count == 3


def test_a_bulk_write_that_reindexes_is_in_the_cached_list_at_once(client):
    """Imports write with bulk_create (no signals) and index the letters once at the end."""
    from correspondence.search import index_letters

    populate(2)
    assert client.get("/letters/").context["paginator"].count == 2
    created = Letter.objects.bulk_create(
        [
            Letter(
                slug=f"bulk-{number}",
                title=f"Lettre {number}",
                status=PublicationStatus.PUBLISHED,
                date_from=datetime.date(2020, 1, 1),
                date_to=datetime.date(2020, 1, 1),
            )
            for number in range(3)
        ]
    )
    index_letters([letter.pk for letter in created])
    assert client.get("/letters/").context["paginator"].count == 5
    assert client.get("/").context["counts"]["letters"] == 5


# -- search ----------------------------------------------------------------------------


@pytest.fixture
def searchable():
    mines = make_published_letter("Lettre sur les mines", slug="mines", summary="Déminage des territoires.")
    make_paragraph(mines, "Les mines antipersonnel posées près de Bərdə menacent les civils.")
    make_participation(mines, make_agent("Anar Ibrahimov", slug="anar-ibrahimov"), SENDER)
    other = make_published_letter("Lettre sur le patrimoine", slug="patrimoine", kind=Letter.Kind.REPLY)
    make_paragraph(other, "Le patrimoine culturel et les mines d'or de la région.")
    make_paragraph(other, "Les mines, encore les mines, toujours les mines.")
    hidden = make_published_letter("Brouillon sur les mines", slug="brouillon", status=PublicationStatus.DRAFT)
    make_paragraph(hidden, "Les mines encore.")


def test_search_finds_letters_by_the_words_of_their_text(client, searchable):
    response = client.get("/letters/?q=antipersonnel")
    assert response.status_code == 200
    assert slugs(response) == ["mines"]


def test_search_never_lists_a_draft(client, searchable):
    assert "brouillon" not in slugs(client.get("/letters/?q=mines"))


def test_search_results_are_sorted_by_relevance_by_default(client, searchable):
    response = client.get("/letters/?q=mines")
    assert response.context["sort_value"] == "relevance"
    ranks = [letter.search_rank for letter in response.context["letters"]]
    assert ranks == sorted(ranks, reverse=True)
    assert set(slugs(response)) == {"mines", "patrimoine"}


def test_search_results_can_be_sorted_by_title_instead(client, searchable):
    assert slugs(client.get("/letters/?q=mines&sort=title")) == ["patrimoine", "mines"]


def test_search_results_show_a_snippet_with_the_matches_marked(client, searchable):
    html = client.get("/letters/?q=antipersonnel").content.decode()
    assert "<mark>antipersonnel</mark>" in html


def test_search_combines_with_filters_and_facets(client, searchable):
    response = client.get("/letters/?q=mines&kind=reply")
    assert slugs(response) == ["patrimoine"]
    assert facet(response, "kind") == {"letter": 1, "reply": 1}
    assert facet(response, "sender") == {}


def test_a_search_for_a_name_variant_finds_the_other_spelling(client, searchable):
    from correspondence.models import Place, PlaceName

    barda = Place.objects.create(name="Barda", slug="barda")
    PlaceName.objects.create(place=barda, name="Bərdə")
    assert "mines" in slugs(client.get("/letters/?q=Barda"))


# -- the seed fixture ----------------------------------------------------------------


@pytest.fixture
def seeds():
    """The lead's seed fixture, indexed for search once at the end rather than at every save."""
    from django.core.management import call_command

    from correspondence.search import deferred_indexing

    with deferred_indexing():
        call_command("loaddata", "seeds", verbosity=0)


def test_seeds_the_sender_filter_finds_anders_knapes_reply(client, seeds):
    assert slugs(client.get("/letters/?sender=anders-knape")) == ["coe-2020-10-29-knape-ibrahimov"]


def test_seeds_the_recipient_filter_finds_the_letters_to_anders_knape(client, seeds):
    assert slugs(client.get("/letters/?recipient=anders-knape")) == [
        "coe-2020-10-20-ibrahimov-knape",
        "coe-2020-10-23-delegues-jeunes-armenie-knape",
        "coe-2020-11-05-associations-azerbaidjan-knape",
    ]


def test_seeds_the_source_filter_and_the_date_filter_combine(client, seeds):
    assert slugs(client.get("/letters/?source=cg-bur-2020-35-inf56&date_from=2020-10-21&date_to=2020-10")) == [
        "coe-2020-10-23-delegues-jeunes-armenie-knape",
        "coe-2020-10-29-knape-ibrahimov",
    ]


def test_seeds_a_search_for_a_place_finds_the_letters_naming_it(client, seeds):
    response = client.get("/letters/?q=Nakhitchevan")
    assert response.status_code == 200
    assert "coe-2020-10-20-ibrahimov-knape" in slugs(response)


def test_seeds_every_filter_option_on_the_page_leads_to_results(client, seeds):
    response = client.get("/letters/")
    for name, options in response.context["facets"].items():
        for option in options:
            assert slugs(client.get("/letters/", {name: option.value})), (name, option.value)


# -- the home page ---------------------------------------------------------------------


def test_the_home_page_says_what_the_archive_holds(client, correspondence):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["counts"]["letters"] == 3
    assert response.context["span"] == {"earliest": datetime.date(2020, 10, 20), "latest": datetime.date(2021, 2, 22)}
    assert '<form class="search-box" action="/letters/" method="get" role="search" aria-label=' in html
    assert '<a href="/sources/dossier/" lang="fr">Dossier d&#x27;information</a>' in html
    assert [letter.slug for letter in response.context["latest_letters"]] == [
        "annexe-rapport",
        "knape-ibrahimov",
        "ibrahimov-knape",
    ]
    assert "Brouillon" not in html


#: generation, date span, six counts, sources, latest letters and their participants.
HOME_QUERIES = 11


def test_the_home_page_query_count_is_pinned(client, django_assert_num_queries):
    populate(10)
    with django_assert_num_queries(HOME_QUERIES):
        client.get("/")


def test_no_page_has_inline_style_or_script(client, correspondence):
    """No JavaScript at all: the only script elements are JSON-LD data blocks, which browsers never run."""
    for url in ["/", "/letters/", "/letters/ibrahimov-knape/", "/people/anders-knape/", "/places/", "/nowhere/"]:
        html = client.get(url).content.decode()
        scripts = re.findall(r"<script[^>]*>", html)
        assert all(re.fullmatch(r'<script type="application/ld\+json" nonce="[^"]+">', s) for s in scripts), url
        assert "style=" not in html and "<style" not in html, url


def test_ids_are_unique_on_every_page(client, correspondence):
    for url in ["/", "/letters/", "/letters/ibrahimov-knape/", "/people/anders-knape/", "/sources/dossier/"]:
        ids = re.findall(r'\sid="([^"]+)"', client.get(url).content.decode())
        assert len(ids) == len(set(ids)), (url, sorted({i for i in ids if ids.count(i) > 1}))


def test_the_home_page_of_an_empty_archive_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Aucune lettre n’a encore été publiée." in response.content.decode()


def test_the_json_list_query_count_is_pinned(client, django_assert_num_queries):
    populate(10)
    # generation, count, page of letters, participations, citations
    with django_assert_num_queries(5):
        client.get("/letters/?format=json")


def test_the_csv_query_count_does_not_grow_with_the_letters(client):
    populate(1)
    with CaptureQueriesContext(connection) as one:
        b"".join(client.get("/letters/?format=csv").streaming_content)
    populate(10)
    with CaptureQueriesContext(connection) as eleven:
        b"".join(client.get("/letters/?format=csv").streaming_content)
    assert len(one) == len(eleven)


def test_a_facet_lists_its_largest_options_and_the_selected_one(client):
    """A select of every sender of a large archive would weigh megabytes; the index pages list them all."""
    from correspondence.filters import FACET_LIMIT

    populate(FACET_LIMIT + 5)
    senders = client.get("/letters/").context["facets"]["sender"]
    assert len(senders) == FACET_LIMIT
    listed = {option.value for option in senders}
    quiet = next(
        f"auteur-{FACET_LIMIT + 5}-{n}" for n in range(FACET_LIMIT + 5) if f"auteur-{FACET_LIMIT + 5}-{n}" not in listed
    )
    selected = client.get(f"/letters/?sender={quiet}").context["facets"]["sender"]
    assert [(option.value, option.count) for option in selected if option.selected] == [(quiet, 1)]


@pytest.mark.parametrize(
    "query",
    ["kind=letter", "date_from=2020-10-25", "sender=anders-knape", "recipient=anar-ibrahimov&kind=reply", "q=Knape"],
)
def test_facets_counted_together_are_those_counted_one_by_one(correspondence, query):
    """
    The facets a filtered list counts together (the sender, recipient and
    participant ones in one query, those of the letters' own columns in
    another): the same options as counted one by one, in the same order.
    """
    from django.http import QueryDict

    from correspondence.filters import FACET_LIMIT, LetterFilterSet

    populate(FACET_LIMIT + 5)  # more people than a facet lists: which ones make the cut must not change
    first = Letter.objects.get(slug="ibrahimov-knape")
    make_participation(first, Agent.objects.get(slug="anders-knape"), COPY)  # one letter, two roles
    hidden = make_agent("Personne en brouillon", slug="en-brouillon", status=PublicationStatus.DRAFT)
    make_participation(first, hidden, RECIPIENT)
    filterset = LetterFilterSet(data=QueryDict(query), queryset=Letter.objects.published())
    together = filterset.facets_counted_together()
    grouped = {"sender", "recipient", "participant", "kind", "language", "place_written", "source"}
    selected = {name for name in grouped if f"{name}=" in query}
    assert set(together) == grouped - selected
    for name, options in together.items():
        assert options == filterset.counted_options(name, None), name
        assert "en-brouillon" not in [slug for slug, _label, _n in options]
    assert all(together[name] for name in together if name not in ("place_written", "source")), together
    if "participant" in together:
        assert dict((slug, n) for slug, _label, n in together["participant"])["anders-knape"] >= 1


@pytest.mark.parametrize("query", ["q=de+la", "q=de+la&date_from=2020", "q=de+la&kind=letter&sender=anders-knape"])
def test_a_search_of_stop_words_alone_lists_nothing_and_counts_no_facet(client, correspondence, query):
    """On SQLite such a search matches nothing without any SQL: the facets must not try to count it."""
    response = client.get(f"/letters/?{query}")
    assert response.status_code == 200
    assert response.context["paginator"].count == 0
    facets = response.context["facets"]
    assert all(option.count == 0 for options in facets.values() for option in options)
    if "sender=" in query:
        assert [(option.value, option.selected) for option in facets["sender"]] == [("anders-knape", True)]


def test_the_whole_archive_counts_its_facets_one_by_one(correspondence):
    from django.http import QueryDict

    from correspondence.filters import LetterFilterSet

    filterset = LetterFilterSet(data=QueryDict(""), queryset=Letter.objects.published())
    assert filterset.facets_counted_together() == {}


def test_a_facet_counts_letters_not_links(client, correspondence):
    """A person in two roles, a document cited twice: each letter counts once."""
    first = Letter.objects.get(slug="ibrahimov-knape")
    make_participation(first, Agent.objects.get(slug="anar-ibrahimov"), COPY)
    make_citation(first, first.citations.get().cited_document, quote="encore la résolution", position=2)
    response = client.get("/letters/?sender=anar-ibrahimov")
    assert facet(response, "cited") == {"s-res-822-1993": 1}
    assert facet(response, "place_mentioned") == {"gandja": 1}
    assert facet(response, "participant") == {"anar-ibrahimov": 1, "anders-knape": 1}
    # the sender filter joins the participations: the facets' counts must not multiply through it
    assert facet(response, "kind") == {"letter": 1}
    assert facet(response, "source") == {"dossier": 1}
    labels = {option.value: option.label for option in response.context["facets"]["source"]}
    assert labels == {"dossier": "CG-BUR(2020)35-INF56"}  # a source is named by its symbol, else its title
    assert {o.value: o.label for o in client.get("/letters/").context["facets"]["source"]}["onu-lettre"] == (
        "Lettre à l'ONU"
    )


def test_facets_of_the_whole_archive_leave_out_the_letters_not_published(correspondence):
    """
    Without filters, facets count every link less those of drafts and letters
    in review (from the indexes alone): the same counts as counting among the
    published letters, and a record linked only to unpublished letters is not
    listed.
    """
    from django.http import QueryDict

    from correspondence.filters import LetterFilterSet

    c = correspondence
    review = make_published_letter(
        "En relecture",
        slug="en-relecture",
        status=PublicationStatus.REVIEW,
        kind=Letter.Kind.REPLY,
        language="de",
        source=c["dossier"],
        source_position=3,
        place_written=c["gandja"],
    )
    make_participation(review, c["knape"], SENDER)
    make_participation(review, c["ibrahimov"], RECIPIENT)
    make_participation(review, c["ibrahimov"], COPY)
    make_participation(review, make_agent("Personne publiée", slug="seulement-en-relecture"), SIGNATORY)
    make_mention(review, place=c["gandja"])
    make_citation(review, c["resolution"])
    make_citation(review, c["resolution"], quote="encore", position=2)

    whole = LetterFilterSet(data=QueryDict(""), queryset=Letter.objects.published())
    # The same letters, but not recognisably "the published letters": counted letter by letter.
    among = LetterFilterSet(data=QueryDict(""), queryset=Letter.objects.published().filter(pk__gt=0))
    assert whole.is_valid() and among.is_valid()
    for name in LetterFilterSet.FACETS:
        assert whole.counts_whole_archive(name) and not among.counts_whole_archive(name)
        assert whole.facet(name) == among.facet(name), name
    counts = {name: {option.value: option.count for option in whole.facet(name)} for name in LetterFilterSet.FACETS}
    assert counts["sender"] == {"anar-ibrahimov": 1, "anders-knape": 1}
    assert counts["participant"] == {"anders-knape": 3, "anar-ibrahimov": 2, "antonio-guterres": 1, "congres": 1}
    assert counts["place_written"] == {"nakhitchevan": 1}
    assert counts["place_mentioned"] == {"gandja": 1}
    assert counts["cited"] == {"s-res-822-1993": 1}
    assert counts["source"] == {"dossier": 2, "onu-lettre": 1}
    assert counts["kind"] == {"letter": 1, "reply": 1, "annex": 1}
    assert counts["language"] == {"fr": 2, "en": 1}

    # Another filter active: the facet counts among the letters it keeps; its own facet still counts them all.
    filtered = LetterFilterSet(data=QueryDict("kind=reply"), queryset=Letter.objects.published())
    assert filtered.is_valid()
    assert filtered.counts_whole_archive("kind") and not filtered.counts_whole_archive("sender")
    assert {option.value: option.count for option in filtered.facet("sender")} == {"anders-knape": 1}
