"""The letter page: metadata as in a scholarly edition, footnotes, thread, neighbours, citation, query counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from correspondence.models import Agent, Letter, Paragraph, Participation, PublicationStatus
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
    source = make_source(
        "Dossier d'information", slug="dossier", symbol="CG-BUR(2020)35-INF56", source_file="000_3246880f1fe5901f.txt"
    )
    nakhchivan = make_place("Nakhitchevan", slug="nakhitchevan")
    gandja = make_place("Gandja", slug="gandja")
    ibrahimov = make_agent("Anar Ibrahimov", slug="anar-ibrahimov")
    knape = make_agent("Anders Knape", slug="anders-knape")
    delegation = make_agent("Délégation azerbaïdjanaise", slug="delegation-az", kind=Agent.Kind.ORGANISATION)
    secretariat = make_agent("Secrétariat du Congrès", slug="secretariat", kind=Agent.Kind.ORGANISATION)
    resolution = make_cited_document("Résolution 822 (1993)", slug="s-res-822-1993", symbol="S/RES/822 (1993)")
    letter = make_published_letter(
        "Lettre d'Anar Ibrahimov à Anders Knape, 20 octobre 2020",
        slug="ibrahimov-knape",
        date_as_written="20 octobre 2020",
        place_written=nakhchivan,
        place_as_written="Ville de Nakhitchevan",
        reference="N° 05/1",
        translation_note="Traduction non officielle",
        letterhead="Délégation de l'Azerbaïdjan\nStrasbourg",
        enclosures="PJ : photos",
        source=source,
        source_pages="2-4",
        source_position=2,
        summary="Le chef de la délégation informe le Président du Congrès.",
    )
    make_participation(
        letter,
        ibrahimov,
        Participation.Role.SENDER,
        name_as_written="Anar Ibrahimov",
        title_as_written="Chef de la délégation azerbaïdjanaise",
        on_behalf_of=delegation,
    )
    make_participation(
        letter,
        knape,
        Participation.Role.RECIPIENT,
        name_as_written="Monsieur Anders Knape",
        title_as_written="Président",
    )
    make_participation(letter, secretariat, Participation.Role.COPY, inferred=True)
    make_paragraph(letter, "Monsieur le président,", kind=Paragraph.Kind.OPENING, page="2")
    body = make_paragraph(letter, "Le cessez-le-feu offre une garantie <fragile> ; la garantie doit tenir.", page="2")
    make_paragraph(letter, "Anar Ibrahimov", kind=Paragraph.Kind.SIGNATURE, page="3")
    make_footnote(letter, marker="2", paragraph=body, anchor="garantie", text="Voir la résolution 822.")
    make_citation(letter, resolution, quote="les résolutions 822, 853, 874, 884 de 1993")
    make_mention(letter, place=gandja, name_as_written="Gandja")
    make_mention(letter, agent=knape, name_as_written="M. Knape")
    return letter


def test_the_letter_page_shows_its_metadata(client, letter):
    response = client.get("/letters/ibrahimov-knape/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="letter-title" lang="fr">Lettre d&#x27;Anar Ibrahimov à Anders Knape, 20 octobre 2020</h1>' in html
    assert "20 octobre 2020" in html
    assert '<time datetime="2020-10-20">2020-10-20</time>' in html
    assert '<a href="/places/nakhitchevan/">Nakhitchevan</a>' in html
    assert "Ville de Nakhitchevan" in html
    assert "N° 05/1" in html
    assert "Traduction non officielle" in html
    assert "PJ : photos" in html
    assert "Délégation de l&#x27;Azerbaïdjan<br>Strasbourg" in html
    assert '<a href="/sources/dossier/">' in html
    assert 'href="/sources/dossier/text/"' in html


def test_participants_show_the_name_and_title_as_written_with_a_link_to_their_record(client, letter):
    html = client.get("/letters/ibrahimov-knape/").content.decode()
    assert "Monsieur Anders Knape" in html
    assert '<a href="/people/anders-knape/">Anders Knape</a>' in html
    assert "Chef de la délégation azerbaïdjanaise" in html
    assert '<a href="/organisations/delegation-az/">Délégation azerbaïdjanaise</a>' in html


def test_a_participant_identified_by_the_archive_is_shown_in_brackets(client, letter):
    html = client.get("/letters/ibrahimov-knape/").content.decode()
    assert '[<a href="/organisations/secretariat/">Secrétariat du Congrès</a>]' in html


def test_cited_documents_and_mentions_are_linked(client, letter):
    html = client.get("/letters/ibrahimov-knape/").content.decode()
    assert '<a href="/cited/s-res-822-1993/">Résolution 822 (1993)</a>' in html
    assert "les résolutions 822, 853, 874, 884 de 1993" in html
    assert '<a href="/places/gandja/">Gandja</a>' in html
    assert "M. Knape" in html


def test_the_footnote_call_follows_the_first_occurrence_of_its_anchor_and_the_note_is_listed(client, letter):
    html = client.get("/letters/ibrahimov-knape/").content.decode()
    call = '<sup class="fn-call"><a href="#fn-2" id="fnref-2" role="doc-noteref">2</a></sup>'
    assert f"offre une garantie{call} &lt;fragile&gt; ; la garantie doit tenir." in html
    assert html.count(call) == 1
    assert '<li id="fn-2"><span class="fn-marker">2</span> Voir la résolution 822.' in html
    assert 'href="#fnref-2"' in html


def test_the_transcription_escapes_the_source_text(client, letter):
    make_paragraph(letter, "<script>alert(1)</script>")
    html = client.get("/letters/ibrahimov-knape/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_paragraph_kinds_are_styled_and_page_breaks_marked(client, letter):
    html = client.get("/letters/ibrahimov-knape/").content.decode()
    assert '<p class="tx tx--opening">Monsieur le président,</p>' in html
    assert '<p class="tx tx--signature">Anar Ibrahimov</p>' in html
    assert html.count("[p.&nbsp;2]") == 1 and html.count("[p.&nbsp;3]") == 1


def test_the_transcription_keeps_the_letters_language_in_an_english_interface(client, letter):
    html = client.get("/letters/ibrahimov-knape/", headers={"accept-language": "en"}).content.decode()
    assert '<html lang="en">' in html
    assert '<div class="transcription" lang="fr">' in html


def test_the_thread_links_replies_and_annexes_both_ways(client, letter):
    reply = make_published_letter("Réponse de M. Knape", slug="reponse", in_reply_to=letter, kind=Letter.Kind.REPLY)
    annex = make_published_letter("Annexe", slug="annexe", annex_of=letter, kind=Letter.Kind.ANNEX)
    make_published_letter("Réponse en attente", slug="reponse-draft", in_reply_to=letter, status="draft")

    html = client.get("/letters/ibrahimov-knape/").content.decode()
    assert f'<a href="{reply.get_absolute_url()}" lang="fr">Réponse de M. Knape</a>' in html
    assert f'<a href="{annex.get_absolute_url()}" lang="fr">Annexe</a>' in html
    assert "Réponse en attente" not in html

    reply_html = client.get("/letters/reponse/").content.decode()
    assert '<a href="/letters/ibrahimov-knape/" lang="fr">' in reply_html
    annex_html = client.get("/letters/annexe/").content.decode()
    assert '<a href="/letters/ibrahimov-knape/" lang="fr">' in annex_html


def test_a_draft_letter_answered_is_not_linked_from_its_reply(client, letter):
    letter.status = PublicationStatus.DRAFT
    letter.save()
    make_published_letter("Réponse", slug="reponse", in_reply_to=letter)
    html = client.get("/letters/reponse/").content.decode()
    assert "/letters/ibrahimov-knape/" not in html


def test_previous_and_next_follow_the_order_of_the_source_document(client, letter):
    make_published_letter("Premier", slug="premier", source=letter.source, source_position=1)
    make_published_letter("Brouillon", slug="brouillon", source=letter.source, source_position=3, status="draft")
    make_published_letter("Quatrième", slug="quatrieme", source=letter.source, source_position=4)
    response = client.get("/letters/ibrahimov-knape/")
    assert response.context["previous_letter"].slug == "premier"
    assert response.context["next_letter"].slug == "quatrieme"
    html = response.content.decode()
    assert '<a href="/letters/premier/" lang="fr">Premier</a>' in html
    assert '<a href="/letters/quatrieme/" lang="fr">Quatrième</a>' in html


def test_cite_this_gives_the_absolute_permalink_and_the_last_change(client, letter):
    html = client.get("/letters/ibrahimov-knape/").content.decode()
    assert '<a href="http://testserver/letters/ibrahimov-knape/">http://testserver/letters/ibrahimov-knape/</a>' in html
    assert letter.modified.strftime("%Y-%m-%d") in html


def test_the_page_has_a_title_and_description_from_the_letter(client, letter):
    html = client.get("/letters/ibrahimov-knape/").content.decode()
    assert "<title>Lettre d&#x27;Anar Ibrahimov à Anders Knape, 20 octobre 2020 — " in html
    assert '<meta name="description" content="Le chef de la délégation informe le Président du Congrès.">' in html


def test_a_draft_letter_is_not_found(client):
    make_published_letter("Brouillon", slug="brouillon", status=PublicationStatus.DRAFT)
    make_published_letter("En relecture", slug="relecture", status=PublicationStatus.REVIEW)
    assert client.get("/letters/brouillon/").status_code == 404
    assert client.get("/letters/relecture/").status_code == 404


def test_an_unpublished_record_linked_from_a_letter_is_named_but_not_linked(client, letter):
    Agent.objects.filter(slug="anders-knape").update(status=PublicationStatus.DRAFT)
    html = client.get("/letters/ibrahimov-knape/").content.decode()
    assert "Monsieur Anders Knape" in html
    assert "/people/anders-knape/" not in html


# -- source text -----------------------------------------------------------------


def test_the_source_text_is_served_as_plain_utf8(client, letter):
    response = client.get("/sources/dossier/text/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Traduction non officielle" in b"".join(response.streaming_content).decode("utf-8")


@pytest.mark.parametrize(
    "stored_name", ["../../archive/settings.py", "/etc/passwd", "..", "sub/000_3246880f1fe5901f.txt", "", "missing.txt"]
)
def test_the_source_text_serves_only_a_plain_file_name_from_the_sources_directory(client, stored_name):
    make_source("Source", slug="source", source_file=stored_name)
    response = client.get("/sources/source/text/")
    assert response.status_code == 404


def test_the_source_text_of_a_draft_source_is_not_found(client):
    make_source("Source", slug="source", source_file="000_3246880f1fe5901f.txt", status=PublicationStatus.DRAFT)
    assert client.get("/sources/source/text/").status_code == 404


# -- query counts ------------------------------------------------------------------


def letter_with(count, suffix):
    source = make_source("Dossier", slug=f"dossier-{suffix}")
    letter = make_published_letter("Lettre", slug=f"lettre-{suffix}", source=source, source_position=5)
    make_published_letter("Avant", slug=f"avant-{suffix}", source=source, source_position=1)
    for number in range(count):
        agent = make_agent(f"Agent {number}", slug=f"agent-{suffix}-{number}")
        make_participation(letter, agent, Participation.Role.RECIPIENT, on_behalf_of=agent)
        paragraph = make_paragraph(letter, f"Paragraphe {number} mot.")
        make_footnote(letter, marker=str(number + 1), paragraph=paragraph, anchor="mot")
        document = make_cited_document(f"Résolution {number}", slug=f"res-{suffix}-{number}")
        make_citation(letter, document)
        make_mention(letter, place=make_place(f"Lieu {number}", slug=f"lieu-{suffix}-{number}"))
        make_published_letter(f"Réponse {number}", slug=f"reponse-{suffix}-{number}", in_reply_to=letter)
        make_published_letter(f"Annexe {number}", slug=f"annexe-{suffix}-{number}", annex_of=letter)
    return letter


def test_the_letter_page_runs_as_many_queries_with_ten_participants_as_with_one(client):
    one, ten = letter_with(1, "one"), letter_with(10, "ten")
    counts = []
    for letter in (one, ten):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(letter.get_absolute_url()).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


#: the archive's generation; the letter, participations, paragraphs, footnotes, citations, mentions,
#: replies, annexes, previous, next; its public change log (the versions with their revisions).
LETTER_QUERIES = 12


def test_the_letter_page_query_count_is_pinned(client, django_assert_num_queries):
    letter = letter_with(10, "pin")
    with django_assert_num_queries(LETTER_QUERIES):
        client.get(letter.get_absolute_url())


def test_the_letter_json_query_count_is_pinned(client, django_assert_num_queries):
    letter = letter_with(10, "json")
    with django_assert_num_queries(LETTER_QUERIES):
        client.get(letter.get_absolute_url() + "?format=json")


def test_a_letter_page_again_costs_one_query_and_shows_a_change_at_once(client, django_assert_num_queries):
    letter = letter_with(10, "again")
    first = client.get(letter.get_absolute_url())
    with django_assert_num_queries(1):  # the generation: the letter and its parts come from the cache
        again = client.get(letter.get_absolute_url())
    assert again.context["letter"].title == first.context["letter"].title
    assert [p.text for p in again.context["letter"].paragraphs.all()] == [
        p.text for p in first.context["letter"].paragraphs.all()
    ]
    letter.title = "Titre corrigé"
    letter.save()
    paragraph = letter.paragraphs.first()
    paragraph.text = "Un paragraphe corrigé."
    paragraph.save()
    html = client.get(letter.get_absolute_url()).content.decode()  # the rendered page is cached too
    assert '<h1 id="letter-title" lang="fr">Titre corrigé</h1>' in html
    assert "Un paragraphe corrigé." in html
    assert b"Titre corrig" in client.get(letter.get_absolute_url() + "?format=json").content


def test_a_cached_letter_page_does_not_make_what_only_its_content_shows(client, monkeypatch):
    """Participants, notes, mentions and the citation are made for the content, not again once it is cached."""
    from correspondence.views import LetterDetailView

    letter = letter_with(10, "lazy")
    made, content_parts = [], LetterDetailView.content_parts

    def counted(self, letter):
        made.append(letter.pk)
        return content_parts(self, letter)

    monkeypatch.setattr(LetterDetailView, "content_parts", counted)
    first = client.get(letter.get_absolute_url()).content.decode()
    assert made == [letter.pk]
    again = client.get(letter.get_absolute_url()).content.decode()
    assert made == [letter.pk]  # the cached content was served as it was

    def main(html):  # the head differs: a new CSP nonce for each response
        return html[html.index("<main") : html.index("</main>")]

    assert "Agent 9" in main(first) and "Résolution 9" in main(first) and main(again) == main(first)


def test_a_cached_letter_page_gives_each_address_its_own_permalink(client, settings):
    settings.ALLOWED_HOSTS = ["archive.example", "miroir.example"]
    letter = letter_with(2, "hosts")
    for host in ("archive.example", "miroir.example", "archive.example"):
        html = client.get(letter.get_absolute_url(), headers={"host": host}).content.decode()
        assert f'<a href="http://{host}/letters/lettre-hosts/">http://{host}/letters/lettre-hosts/</a>' in html


def test_an_undated_letter_without_source_is_shown(client):
    letter = make_published_letter("Sans date", slug="sans-date", date=None)
    html = client.get(letter.get_absolute_url()).content.decode()
    assert "Sans date" in html


def test_a_letter_dated_to_a_month_shows_the_month(client):
    make_published_letter(
        "Octobre",
        slug="octobre",
        date_from=datetime.date(2020, 10, 1),
        date_to=datetime.date(2020, 10, 31),
        date_precision=Letter.DatePrecision.MONTH,
        date_certainty=Letter.DateCertainty.INFERRED,
    )
    html = client.get("/letters/octobre/").content.decode()
    assert '<time datetime="2020-10">2020-10</time>' in html


# -- the seed fixture ----------------------------------------------------------------


@pytest.fixture
def seeds():
    """The lead's seed fixture, indexed for search once at the end rather than at every save."""
    from django.core.management import call_command

    from correspondence.search import deferred_indexing

    with deferred_indexing():
        call_command("loaddata", "seeds", verbosity=0)


def test_seeds_every_published_letter_and_record_has_a_page(client, seeds):
    from correspondence.models import Agent, CitedDocument, Place, SourceDocument

    records = [
        *Letter.objects.published(),
        *Agent.objects.published(),
        *Place.objects.published(),
        *CitedDocument.objects.published(),
        *SourceDocument.objects.filter(status="published"),
    ]
    assert records
    for record in records:
        url = record.get_absolute_url()
        assert client.get(url).status_code == 200, url
        assert client.get(url + "?format=json").status_code == 200, url


def test_seeds_the_source_texts_are_served(client, seeds):
    from correspondence.models import SourceDocument

    for source in SourceDocument.objects.filter(status="published").exclude(source_file=""):
        response = client.get(source.get_source_text_url())
        assert response.status_code == 200, source.slug
        assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_seeds_the_reply_links_the_letter_it_answers_and_back(client, seeds):
    reply = client.get("/letters/coe-2020-10-29-knape-ibrahimov/").content.decode()
    assert 'href="/letters/coe-2020-10-20-ibrahimov-knape/"' in reply
    letter = client.get("/letters/coe-2020-10-20-ibrahimov-knape/").content.decode()
    assert 'href="/letters/coe-2020-10-29-knape-ibrahimov/"' in letter


def test_seeds_the_footnote_call_is_placed_after_its_anchor(client, seeds):
    html = client.get("/letters/coe-2020-10-20-ibrahimov-knape/").content.decode()
    assert 'garantie<sup class="fn-call"><a href="#fn-2" id="fnref-2" role="doc-noteref">2</a></sup>' in html
    assert '<li id="fn-2">' in html


def test_seeds_the_annex_is_linked_to_the_covering_letter(client, seeds):
    html = client.get("/letters/onu-2021-02-23-aliyev-secretaire-general/").content.decode()
    assert 'href="/letters/onu-2021-02-22-bayramov-secretaire-general/"' in html


def test_seeds_a_participant_identified_by_the_archive_is_bracketed(client, seeds):
    html = client.get("/letters/onu-2021-02-23-aliyev-secretaire-general/").content.decode()
    assert '[<a href="/people/antonio-guterres/">' in html
