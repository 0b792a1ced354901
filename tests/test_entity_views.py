"""Pages of people, organisations, places, cited and source documents, and their index pages."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from correspondence.models import (
    Agent,
    AgentName,
    Letter,
    Participation,
    PlaceName,
    PublicationStatus,
)
from tests.conftest import (
    make_agent,
    make_citation,
    make_cited_document,
    make_mention,
    make_participation,
    make_place,
    make_published_letter,
    make_source,
)

pytestmark = pytest.mark.django_db

ROLE = Participation.Role


def group_slugs(response):
    """{role: [letter slug, ...]} as the page lists them."""
    return {group.role: [entry.letter.slug for entry in group.entries] for group in response.context["letter_groups"]}


@pytest.fixture
def knape():
    knape = make_agent(
        "Anders Knape", slug="anders-knape", wikidata="Q4755019", viaf="102333412", sort_name="Knape, Anders"
    )
    AgentName.objects.create(agent=knape, name="M. Anders Knape", note="Dossier CG-BUR(2020)35")
    congress = make_agent("Congrès", slug="congres", kind=Agent.Kind.ORGANISATION)
    other = make_agent("Anar Ibrahimov", slug="anar-ibrahimov")
    sent = make_published_letter("Envoyée", slug="envoyee")
    make_participation(sent, knape, ROLE.SENDER, title_as_written="Président du Congrès", on_behalf_of=congress)
    signed = make_published_letter("Signée", slug="signee")
    make_participation(signed, knape, ROLE.SIGNATORY)
    received = make_published_letter("Reçue", slug="recue")
    make_participation(received, knape, ROLE.RECIPIENT, name_as_written="Monsieur Anders Knape")
    make_participation(received, other, ROLE.SENDER)
    copied = make_published_letter("Copie", slug="copie")
    make_participation(copied, knape, ROLE.COPY)
    mentioned = make_published_letter("Mentionné", slug="mentionne")
    make_mention(mentioned, agent=knape, name_as_written="M. Knape")
    draft = make_published_letter("Brouillon", slug="brouillon", status=PublicationStatus.DRAFT)
    make_participation(draft, knape, ROLE.SENDER)
    return knape


def test_a_person_page_lists_every_published_letter_by_role(client, knape):
    response = client.get("/people/anders-knape/")
    assert response.status_code == 200
    assert group_slugs(response) == {
        "sender": ["envoyee"],
        "signatory": ["signee"],
        "recipient": ["recue"],
        "copy": ["copie"],
        "mentioned": ["mentionne"],
    }
    html = response.content.decode()
    assert "Brouillon" not in html
    assert "Monsieur Anders Knape" in html
    assert "Président du Congrès" in html


def test_a_person_page_shows_name_variants_and_authority_links(client, knape):
    html = client.get("/people/anders-knape/").content.decode()
    assert "M. Anders Knape" in html
    assert '<a href="https://www.wikidata.org/entity/Q4755019" rel="external">Q4755019</a>' in html
    assert '<a href="https://viaf.org/viaf/102333412" rel="external">102333412</a>' in html


def test_an_organisation_page_lists_the_letters_written_on_its_behalf(client, knape):
    response = client.get("/organisations/congres/")
    assert response.status_code == 200
    assert group_slugs(response) == {"on_behalf_of": ["envoyee"]}


def test_people_and_organisations_each_have_their_own_address(client, knape):
    assert client.get("/organisations/anders-knape/").status_code == 404
    assert client.get("/people/congres/").status_code == 404


def test_a_place_page_lists_letters_written_there_and_letters_naming_it(client):
    place = make_place("Gandja", slug="gandja", geonames="587084")
    PlaceName.objects.create(place=place, name="Ganja")
    written = make_published_letter("Écrite à Gandja", slug="ecrite", place_written=place, place_as_written="Gandja")
    named = make_published_letter("Nomme Gandja", slug="nomme")
    make_mention(named, place=place, name_as_written="Ganja")
    make_published_letter("Brouillon", slug="brouillon", place_written=place, status=PublicationStatus.DRAFT)
    response = client.get("/places/gandja/")
    assert group_slugs(response) == {"written_at": [written.slug], "mentioned": [named.slug]}
    html = response.content.decode()
    assert "Ganja" in html
    assert 'href="https://sws.geonames.org/587084/"' in html
    assert "Brouillon" not in html


def test_a_cited_document_page_quotes_the_words_that_cite_it(client):
    document = make_cited_document("Résolution 822 (1993)", slug="s-res-822-1993", symbol="S/RES/822 (1993)")
    letter = make_published_letter("Lettre", slug="lettre")
    make_citation(letter, document, quote="la résolution 822 du Conseil de sécurité")
    response = client.get("/cited/s-res-822-1993/")
    assert group_slugs(response) == {"cited": ["lettre"]}
    html = response.content.decode()
    assert "la résolution 822 du Conseil de sécurité" in html
    assert "S/RES/822 (1993)" in html


def test_a_source_document_page_lists_its_items_in_order_and_links_its_text(client):
    source = make_source("Dossier", slug="dossier", source_file="000_3246880f1fe5901f.txt")
    make_published_letter("Deuxième", slug="deuxieme", source=source, source_position=2)
    make_published_letter("Premier", slug="premier", source=source, source_position=1)
    make_published_letter("Brouillon", slug="brouillon", source=source, source_position=3, status="draft")
    response = client.get("/sources/dossier/")
    assert group_slugs(response) == {"contains": ["premier", "deuxieme"]}
    html = response.content.decode()
    assert 'href="/sources/dossier/text/"' in html
    assert "Brouillon" not in html


@pytest.mark.parametrize(
    ("factory", "url"),
    [
        (lambda: make_agent("Brouillon", slug="brouillon", status="draft"), "/people/brouillon/"),
        (
            lambda: make_agent("Brouillon", slug="brouillon", status="draft", kind=Agent.Kind.ORGANISATION),
            "/organisations/brouillon/",
        ),
        (lambda: make_place("Brouillon", slug="brouillon", status="review"), "/places/brouillon/"),
        (lambda: make_cited_document("Brouillon", slug="brouillon", status="draft"), "/cited/brouillon/"),
        (lambda: make_source("Brouillon", slug="brouillon", status="draft"), "/sources/brouillon/"),
    ],
)
def test_an_unpublished_record_is_not_found(client, factory, url):
    factory()
    response = client.get(url)
    assert response.status_code == 404
    assert "brouillon" in response.content.decode()


# -- index pages -------------------------------------------------------------------


def test_the_people_index_lists_published_people_with_their_letter_count(client, knape):
    make_agent("Caché", slug="cache", status=PublicationStatus.DRAFT)
    response = client.get("/people/")
    assert response.status_code == 200
    records = {agent.slug: agent.letter_count for agent in response.context["records"]}
    assert records == {"anders-knape": 5, "anar-ibrahimov": 1}
    html = response.content.decode()
    assert '<a href="/people/anders-knape/">Anders Knape</a>' in html
    assert "Congrès" not in html.split("<main")[1]


def test_the_people_index_finds_a_person_by_a_variant_of_the_name(client, knape):
    response = client.get("/people/?q=M. Anders")
    assert [agent.slug for agent in response.context["records"]] == ["anders-knape"]


def test_the_organisations_index_lists_organisations(client, knape):
    response = client.get("/organisations/")
    assert [agent.slug for agent in response.context["records"]] == ["congres"]


@pytest.mark.parametrize("url", ["/people/", "/organisations/", "/places/", "/cited/", "/sources/"])
def test_every_index_page_answers(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["page_title"]


def test_the_cited_documents_index_counts_the_letters_citing_each(client):
    document = make_cited_document("Résolution 822", slug="res-822")
    for number in range(3):
        make_citation(make_published_letter(f"L{number}", slug=f"l{number}"), document, position=1)
    make_citation(make_published_letter("B", slug="b", status="draft"), document)
    response = client.get("/cited/")
    assert [(d.slug, d.letter_count) for d in response.context["records"]] == [("res-822", 3)]


def test_the_places_index_counts_letters_written_there_and_naming_it(client):
    place = make_place("Bakou", slug="bakou")
    make_published_letter("Écrite", slug="ecrite", place_written=place)
    make_mention(make_published_letter("Nomme", slug="nomme"), place=place)
    response = client.get("/places/")
    (record,) = response.context["records"]
    assert (record.written_count, record.letter_count) == (1, 1)


# -- query counts ----------------------------------------------------------------------


def person_with(count, suffix):
    person = make_agent("Anders Knape", slug=f"knape-{suffix}")
    organisation = make_agent("Congrès", slug=f"congres-{suffix}", kind=Agent.Kind.ORGANISATION)
    for number in range(count):
        for role in ROLE.values:
            letter = make_published_letter(f"{role} {number}", slug=f"{suffix}-{role}-{number}")
            make_participation(letter, person, role, on_behalf_of=organisation)
        make_mention(make_published_letter(f"M {number}", slug=f"{suffix}-m-{number}"), agent=person)
        AgentName.objects.create(agent=person, name=f"Variante {number}")
    return person


def queries_for(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_a_person_page_runs_as_many_queries_for_ten_letters_as_for_one(client):
    one, ten = person_with(1, "one"), person_with(10, "ten")
    assert queries_for(client, one.get_absolute_url()) == queries_for(client, ten.get_absolute_url())


#: agent, the archive's generation (for the cache), participations, on behalf of, mentions, how many letters
#: in all, variants, issued cited documents, issued sources.
PERSON_QUERIES = 11  # 9 for the record and its letters, 2 for the timeline and network


def test_the_person_page_query_count_is_pinned(client, django_assert_num_queries):
    person = person_with(10, "pin")
    with django_assert_num_queries(PERSON_QUERIES):
        client.get(person.get_absolute_url())


def test_the_place_page_query_count_is_pinned(client, django_assert_num_queries):
    place = make_place("Bakou", slug="bakou")
    for number in range(10):
        make_published_letter(f"L{number}", slug=f"l{number}", place_written=place)
        make_mention(make_published_letter(f"M{number}", slug=f"m{number}"), place=place)
    # place (with its country), generation, letters written there, mentions, how many letters in all,
    # variants; timeline (1) and map (2)
    with django_assert_num_queries(9):
        client.get("/places/bakou/")


def test_the_cited_document_page_query_count_is_pinned(client, django_assert_num_queries):
    document = make_cited_document("Résolution", slug="res")
    for number in range(10):
        make_citation(make_published_letter(f"L{number}", slug=f"l{number}"), document)
    # document, generation, its first citations with their count, how many letters cite it
    with django_assert_num_queries(4):
        client.get("/cited/res/")


def test_the_source_document_page_query_count_is_pinned(client, django_assert_num_queries):
    source = make_source("Dossier", slug="dossier")
    for number in range(10):
        letter = make_published_letter(f"L{number}", slug=f"l{number}", source=source, source_position=number)
        make_participation(letter, make_agent(f"A{number}", slug=f"a{number}"), ROLE.SENDER)
    # source, generation, its items, their participants
    with django_assert_num_queries(4):
        client.get("/sources/dossier/")


def test_the_people_index_runs_as_many_queries_for_ten_people_as_for_one(client, django_assert_num_queries):
    person_with(1, "one")
    one = queries_for(client, "/people/")
    for number in range(10):
        person_with(1, f"p{number}")
    assert queries_for(client, "/people/") == one
    # count, page, variants
    with django_assert_num_queries(3):
        client.get("/people/")


def test_letter_count_ignores_unpublished_letters(client):
    person = make_agent("Seul", slug="seul")
    make_participation(make_published_letter("B", slug="b", status="draft"), person, ROLE.SENDER)
    response = client.get("/people/")
    assert [(a.slug, a.letter_count) for a in response.context["records"]] == [("seul", 0)]
    assert Letter.objects.count() == 1


# -- merged records ----------------------------------------------------------------------


def test_the_address_of_a_merged_record_leads_to_the_record_it_was_merged_into(client, knape):
    duplicate = make_agent("A. Knape", slug="a-knape")
    duplicate.merged_into = knape
    duplicate.save()
    response = client.get("/people/a-knape/")
    assert response.status_code == 302
    assert response["Location"] == "/people/anders-knape/"
    assert client.get("/people/a-knape/?format=json")["Location"] == "/people/anders-knape/?format=json"


def test_a_merged_record_is_absent_from_the_index(client, knape):
    duplicate = make_agent("A. Knape", slug="a-knape")
    duplicate.merged_into = knape
    duplicate.save()
    assert "a-knape" not in [agent.slug for agent in client.get("/people/").context["records"]]


def test_a_merge_into_an_unpublished_record_is_still_a_404(client):
    hidden = make_agent("Caché", slug="cache", status=PublicationStatus.DRAFT)
    make_agent("Doublon", slug="doublon", merged_into=hidden)
    assert client.get("/people/doublon/").status_code == 404


def test_a_filter_by_the_slug_of_a_merged_record_finds_the_letters_of_the_survivor(client, knape):
    make_agent("A. Knape", slug="a-knape", merged_into=knape)
    response = client.get("/letters/?sender=a-knape")
    assert response.status_code == 200
    assert not response.context["filter"].errors
    assert [letter.slug for letter in response.context["letters"]] == ["envoyee"]


# -- records with many letters -------------------------------------------------------------


def test_a_person_page_shows_the_first_letters_of_a_role_its_total_and_a_link_to_all(client):
    person = make_agent("Anders Knape", slug="anders-knape")
    for number in range(25):
        letter = make_published_letter(
            f"Lettre {number:02d}",
            slug=f"lettre-{number:02d}",
            date=datetime.date(2020, 1, 1) + datetime.timedelta(number),
        )
        make_participation(letter, person, ROLE.SENDER)
    make_participation(make_published_letter("Brouillon", slug="brouillon", status="draft"), person, ROLE.SENDER)
    response = client.get("/people/anders-knape/", headers={"accept-language": "en"})
    (group,) = response.context["letter_groups"]
    assert group.total == 25
    assert [entry.letter.slug for entry in group.entries] == [f"lettre-{number:02d}" for number in range(20)]
    assert response.context["letter_total"] == 25
    html = response.content.decode()
    assert "Lettre 19" in html
    assert "Lettre 20" not in html
    assert 'Sent <span class="count">(25)</span>' in html
    assert "Only the first 20 of 25 are shown here." in html
    assert '<a href="/letters/?sender=anders-knape">See them all in the list of letters</a>' in html
    listed = client.get("/letters/?sender=anders-knape")
    assert listed.context["paginator"].count == 25
    french = client.get("/people/anders-knape/", headers={"accept-language": "fr"}).content.decode()
    assert "Seules les 20 premières des 25 sont affichées ici." in french
    assert "Les voir toutes dans la liste des lettres" in french


def test_the_json_of_a_record_with_many_letters_gives_the_first_ones_and_the_counts(client):
    place = make_place("Bakou", slug="bakou")
    for number in range(22):
        make_published_letter(f"L{number}", slug=f"l{number:02d}", place_written=place)
    make_mention(make_published_letter("Nomme", slug="nomme"), place=place)
    data = client.get("/places/bakou/?format=json").json()
    assert len(data["letters"]["written_at"]) == 20
    assert data["letter_counts"] == {"written_at": 22, "mentioned": 1}
    assert data["letter_count"] == 23
    assert data["letter_lists"]["written_at"] == "http://testserver/letters/?place_written=bakou&format=json"


def test_a_letter_linked_in_several_roles_counts_once_in_the_total(client, knape):
    make_mention(Letter.objects.get(slug="envoyee"), agent=knape)
    response = client.get("/people/anders-knape/", headers={"accept-language": "en"})
    assert response.context["letter_total"] == 5
    assert "5 letters" in response.content.decode()


def test_a_small_record_shows_no_link_to_the_full_list(client, knape):
    html = client.get("/people/anders-knape/", headers={"accept-language": "en"}).content.decode()
    assert "See them all in the list of letters" not in html
    assert "Only the first" not in html


def organisation_with(count, suffix):
    organisation = make_agent("Congrès", slug=f"congres-{suffix}", kind=Agent.Kind.ORGANISATION)
    for number in range(count):
        letter = make_published_letter(f"L{number}", slug=f"{suffix}-o-{number}")
        make_participation(letter, make_agent(f"A{number}", slug=f"{suffix}-a-{number}"), on_behalf_of=organisation)
        make_participation(letter, organisation, ROLE.RECIPIENT)
    return organisation


def place_with(count, suffix):
    place = make_place("Bakou", slug=f"bakou-{suffix}")
    for number in range(count):
        make_published_letter(f"L{number}", slug=f"{suffix}-w-{number}", place_written=place)
        make_mention(make_published_letter(f"M{number}", slug=f"{suffix}-m-{number}"), place=place)
    return place


def cited_document_with(count, suffix):
    document = make_cited_document("Résolution", slug=f"res-{suffix}")
    for number in range(count):
        make_citation(make_published_letter(f"L{number}", slug=f"{suffix}-c-{number}"), document)
    return document


def source_with(count, suffix):
    source = make_source("Dossier", slug=f"dossier-{suffix}")
    for number in range(count):
        letter = make_published_letter(f"L{number}", slug=f"{suffix}-s-{number}", source=source, source_position=number)
        make_participation(letter, make_agent(f"S{number}", slug=f"{suffix}-s-{number}"), ROLE.SENDER)
    return source


@pytest.mark.parametrize("make_record", [person_with, organisation_with, place_with, cited_document_with, source_with])
def test_a_record_page_runs_as_many_queries_for_sixty_letters_as_for_three(client, make_record):
    three, sixty = make_record(3, "three"), make_record(60, "sixty")
    assert queries_for(client, three.get_absolute_url()) == queries_for(client, sixty.get_absolute_url())
    response = client.get(sixty.get_absolute_url())
    assert all(len(group.entries) <= 20 for group in response.context["letter_groups"])


def test_a_person_page_again_reads_its_letters_and_charts_from_the_cache(client, django_assert_num_queries):
    person = person_with(10, "again")
    first = client.get(person.get_absolute_url())
    # the agent, the generation, variants, issued cited documents and sources; letters and charts are cached
    with django_assert_num_queries(5):
        again = client.get(person.get_absolute_url())
    assert again.content.count(b"<svg") == first.content.count(b"<svg") > 0
    assert again.context["letter_total"] == first.context["letter_total"] == 50  # 4 roles and a mention, 10 times


def test_a_person_page_shows_a_new_letter_at_once(client):
    person = person_with(3, "new")
    assert client.get(person.get_absolute_url()).context["letter_total"] == 15
    letter = make_published_letter("Nouvelle", slug="nouvelle-lettre")
    make_participation(letter, person, ROLE.SENDER)
    response = client.get(person.get_absolute_url())
    assert response.context["letter_total"] == 16
    assert b"nouvelle-lettre" in response.content
