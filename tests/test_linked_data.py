"""Cite this (BibTeX, RIS, CSL-JSON), schema.org JSON-LD and Open Graph, Atom feeds, sitemap and robots.txt."""

import json
import re

import pytest
from lxml import etree

from correspondence.models import Letter, PublicationStatus
from tests.conftest import make_agent, make_letter, make_participation

LETTER = "/letters/coe-2020-10-20-ibrahimov-knape/"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def seeds(seeded_module, db):
    """The seed collection (loaded once for the module)."""


def test_bibtex_download_names_author_title_date_and_permalink(client, seeds):
    response = client.get(LETTER + "?format=bibtex")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="coe-2020-10-20-ibrahimov-knape.bib"'
    text = response.content.decode()
    assert text.startswith("@letter{coe_2020_10_20_ibrahimov_knape,")
    assert "author = {{Anar Ibrahimov}}" in text
    assert "date = {2020-10-20}" in text
    assert "url = {http://testserver" + LETTER + "}" in text


def test_ris_download_is_a_complete_record(client, seeds):
    text = client.get(LETTER + "?format=ris").content.decode()
    lines = text.split("\r\n")
    assert lines[0] == "TY  - PCOMM"
    assert "AU  - Anar Ibrahimov" in lines
    assert "A2  - Monsieur Anders Knape" in lines
    assert "DA  - 2020/10/20" in lines
    assert lines[-2] == "ER  - "


def test_csl_json_download_parses(client, seeds):
    data = json.loads(client.get(LETTER + "?format=csl").content)
    assert data[0]["issued"] == {"date-parts": [[2020, 10, 20]]}
    assert data[0]["author"] == [{"literal": "Anar Ibrahimov"}]
    assert data[0]["URL"] == "http://testserver" + LETTER


def test_letter_page_carries_json_ld_and_open_graph(client, seeds):
    page = client.get(LETTER).content.decode()
    block = re.search(r'<script type="application/ld\+json" nonce="[^"]+">(.*?)</script>', page, re.S)
    data = json.loads(block.group(1))
    assert data["@type"] == "Message"
    assert data["dateCreated"] == "2020-10-20"
    assert data["sender"][0]["name"] == "Anar Ibrahimov"
    assert '<meta property="og:url" content="http://testserver' + LETTER + '">' in page


def test_person_and_place_pages_carry_json_ld(client, seeds):
    for url, kind in [("/people/anders-knape/", "Person"), ("/places/barda/", "Place")]:
        page = client.get(url).content.decode()
        data = json.loads(re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S).group(1))
        assert data["@type"] == kind
    assert "Bərdə" in data["alternateName"]


def test_json_ld_cannot_close_its_script_element(client, db):
    letter = make_letter(title="</script><script>alert(1)</script>", status=PublicationStatus.PUBLISHED)
    make_participation(letter, make_agent("Someone"))
    page = client.get(letter.get_absolute_url()).content.decode()
    assert "</script><script>alert(1)" not in page


def test_the_atom_feed_lists_published_letters_only(client, seeds):
    draft = make_letter(title="Brouillon invisible", status=PublicationStatus.DRAFT)
    feed = etree.fromstring(client.get("/feeds/letters.atom").content)
    titles = [entry.findtext(f"{ATOM}title") for entry in feed.findall(f"{ATOM}entry")]
    assert len(titles) == Letter.objects.published().count() == 7
    assert draft.title not in titles


def test_feeds_per_person_and_per_cited_document(client, seeds):
    feed = etree.fromstring(client.get("/feeds/people/anders-knape.atom").content)
    assert len(feed.findall(f"{ATOM}entry")) == 4
    feed = etree.fromstring(client.get("/feeds/cited/csnu-resolution-822.atom").content)
    assert len(feed.findall(f"{ATOM}entry")) == 3
    assert client.get("/feeds/people/nobody.atom").status_code == 404


def test_sitemap_lists_published_pages(client, seeds):
    draft = make_letter(slug="hidden-draft", status=PublicationStatus.DRAFT)
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    text = response.content.decode()
    assert "http://testserver" + LETTER in text
    assert "/people/anders-knape/" in text and "/places/barda/" in text
    assert draft.slug not in text


def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_the_admin(client, db):
    text = client.get("/robots.txt").content.decode()
    assert "Disallow: /admin/" in text
    assert "Sitemap: http://testserver/sitemap.xml" in text
