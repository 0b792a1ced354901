"""The interface speaks French (default) and English; the letters stay in their own language."""

from pathlib import Path

import pytest
from django.utils import translation

from correspondence.models import Letter, Participation
from tests.conftest import make_agent, make_paragraph, make_participation, make_published_letter

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parent.parent / "correspondence" / "locale"


@pytest.fixture(autouse=True)
def letter():
    letter = make_published_letter("Lettre au Président du Congrès", slug="lettre", summary="Résumé.")
    make_participation(letter, make_agent("Anders Knape", slug="anders-knape"), Participation.Role.RECIPIENT)
    make_paragraph(letter, "Monsieur le président,")
    return letter


def test_the_interface_is_in_french_by_default(client):
    html = client.get("/letters/").content.decode()
    assert '<html lang="fr">' in html
    assert "Rechercher et filtrer" in html
    assert "Aller au contenu principal" in html


def test_accept_language_en_gives_an_english_interface(client):
    html = client.get("/letters/", headers={"accept-language": "en"}).content.decode()
    assert '<html lang="en">' in html
    assert "Search and filter" in html
    assert "Skip to main content" in html
    assert "Rechercher et filtrer" not in html


def test_accept_language_fr_gives_a_french_interface(client):
    html = client.get("/", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"}).content.decode()
    assert "Ce que contient l’archive" in html


def test_an_unsupported_language_falls_back_to_french(client):
    html = client.get("/", headers={"accept-language": "de"}).content.decode()
    assert '<html lang="fr">' in html


def test_the_letters_keep_their_language_in_an_english_interface(client):
    html = client.get("/letters/lettre/", headers={"accept-language": "en"}).content.decode()
    assert "Related letters" in html or "Cite this" in html
    assert '<h1 id="letter-title" lang="fr">Lettre au Président du Congrès</h1>' in html
    assert '<div class="transcription" lang="fr">' in html


def test_the_language_switcher_posts_to_set_language_and_changes_the_interface(client):
    html = client.get("/letters/").content.decode()
    assert '<form class="language-switch" action="/i18n/setlang/" method="post"' in html
    assert '<input type="hidden" name="next" value="/letters/">' in html
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/letters/?kind=letter"})
    assert response.status_code == 302
    assert response["Location"] == "/letters/?kind=letter"
    html = client.get("/letters/").content.decode()
    assert '<html lang="en">' in html
    assert "Search and filter" in html
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert "Rechercher et filtrer" in client.get("/letters/").content.decode()


def test_the_switcher_marks_the_current_language(client):
    html = client.get("/", headers={"accept-language": "en"}).content.decode()
    assert '<button type="submit" name="language" value="en" lang="en" aria-current="true">English</button>' in html
    assert '<button type="submit" name="language" value="fr" lang="fr">Français</button>' in html


def test_form_errors_are_translated(client):
    french = client.get("/letters/?date_from=2020-13-45").content.decode()
    english = client.get("/letters/?date_from=2020-13-45", headers={"accept-language": "en"}).content.decode()
    assert "n’est pas une date du calendrier" in french
    assert "“2020-13-45” is not a date in the calendar." in english


def test_plural_counts_are_translated(client):
    make_published_letter("Deuxième", slug="deuxieme")
    assert "2 lettres" in client.get("/letters/").content.decode()
    assert "2 letters" in client.get("/letters/", headers={"accept-language": "en"}).content.decode()


def test_model_names_have_french_translations():
    with translation.override("fr"):
        assert str(Letter._meta.verbose_name) == "lettre"
        assert str(Letter._meta.verbose_name_plural) == "lettres"
        assert str(Letter._meta.get_field("date_as_written").verbose_name) == "date telle qu’écrite"
        assert str(Participation.Role.RECIPIENT.label) == "destinataire"
    with translation.override("en"):
        assert str(Letter._meta.verbose_name) == "letter"


#: Where the public site's strings and the model names come from.
PUBLIC_SOURCES = (
    "templates/base.html",
    "templates/40",
    "templates/50",
    "templates/correspondence/",
    "correspondence/views.py",
    "correspondence/filters.py",
    "correspondence/exports.py",
    "correspondence/templatetags/",
    "correspondence/models.py",
    "correspondence/apps.py",
    "archive/settings.py",
)


def test_every_french_message_of_the_public_site_and_the_models_is_translated():
    po = (LOCALE / "fr" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in po
    entries = [entry for entry in po.split("\n\n")[1:] if entry.strip()]
    public = [
        entry
        for entry in entries
        if any(
            ref.startswith(PUBLIC_SOURCES)
            for line in entry.splitlines()
            if line.startswith("#: ")
            for ref in line[3:].split()
        )
    ]
    # An entry is untranslated when a msgstr is empty and no continuation line follows it.
    untranslated = [
        entry
        for entry in public
        if any(line.endswith('""') for line in entry.splitlines() if line.startswith("msgstr"))
        and not entry.splitlines()[-1].startswith('"')
    ]
    assert len(public) > 400
    assert untranslated == [], untranslated[:3]


def test_the_compiled_catalogues_are_present():
    assert (LOCALE / "fr" / "LC_MESSAGES" / "django.mo").stat().st_size > 10_000
    assert (LOCALE / "en" / "LC_MESSAGES" / "django.mo").exists()


def test_the_page_says_what_it_is_in_both_languages(client):
    french = client.get("/people/").content.decode()
    english = client.get("/people/", headers={"accept-language": "en"}).content.decode()
    assert "<title>Personnes — Archive de correspondance diplomatique</title>" in french
    assert "<title>People — Diplomatic correspondence archive</title>" in english
