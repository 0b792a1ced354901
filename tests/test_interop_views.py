"""CMIF and TEI through the site: /cmif.xml, ?format=cmif on the list, /letters/<slug>/tei.xml."""

import pytest
from lxml import etree

from correspondence.cmif import schema_errors
from tests.conftest import make_letter

TEI = "{http://www.tei-c.org/ns/1.0}"


@pytest.fixture
def seeds(seeded_module, db):
    """The seed collection (loaded once for the module)."""


def test_the_whole_archive_is_one_valid_cmif_file(client, seeds):
    response = client.get("/cmif.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/tei+xml")
    assert schema_errors(response.content) == []
    letters = etree.fromstring(response.content).findall(f".//{TEI}correspDesc")
    assert len(letters) == 7


def test_a_filtered_list_exports_only_its_letters_as_cmif(client, seeds):
    response = client.get("/letters/?sender=anders-knape&format=cmif")
    assert response.status_code == 200
    refs = [c.get("ref") for c in etree.fromstring(response.content).findall(f".//{TEI}correspDesc")]
    assert refs == ["http://testserver/letters/coe-2020-10-29-knape-ibrahimov/"]


def test_a_letter_is_a_tei_document_with_its_transcription(client, seeds):
    response = client.get("/letters/coe-2020-10-20-ibrahimov-knape/tei.xml")
    assert response.status_code == 200
    document = etree.fromstring(response.content)
    text = "".join(document.find(f"{TEI}text").itertext())
    assert "Monsieur le président," in text
    assert "En anglais : « safeguarding … »" in text


def test_a_drafts_tei_is_not_found(client, db):
    draft = make_letter(slug="a-draft")
    assert client.get(f"/letters/{draft.slug}/tei.xml").status_code == 404
    assert client.get("/letters/no-such-letter/tei.xml").status_code == 404
