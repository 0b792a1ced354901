import datetime

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from correspondence.models import (
    Agent,
    AgentName,
    Citation,
    Footnote,
    Letter,
    LetterSearchText,
    Mention,
    Paragraph,
    Participation,
    Place,
    PlaceName,
    PublicationStatus,
    SpellingKey,
)
from tests.conftest import make_agent, make_cited_document, make_letter, make_place, make_source

ARCHIVE_MODELS = [
    model for model in apps.get_app_config("correspondence").get_models() if admin.site.is_registered(model)
]
# Written by the search indexer only: shown read-only.
DERIVED_MODELS = [LetterSearchText, SpellingKey]
EDITABLE_MODELS = [model for model in ARCHIVE_MODELS if model not in DERIVED_MODELS]


def admin_url(model, page, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The superuser and staff fixtures hash a password each; the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def archive(db):
    """One real record of every model of the archive, around one complete letter."""
    country = make_place("Azerbaïdjan", kind=Place.Kind.COUNTRY)
    city = make_place("Gandja", country=country)
    PlaceName.objects.create(place=city, name="Ganja")
    president = make_agent("Anders Knape")
    AgentName.objects.create(agent=president, name="A. Knape")
    congress = make_agent("Congrès des pouvoirs locaux et régionaux", kind=Agent.Kind.ORGANISATION)
    source = make_source(symbol="CG-BUR(2020)35-INF56", issuing_body=congress)
    resolution = make_cited_document(symbol="S/RES/822 (1993)", year=1993)
    letter = make_letter(
        "Letter from the Mayor of Gandja to the President of the Congress",
        source=source,
        place_written=city,
        status=PublicationStatus.PUBLISHED,
    )
    Participation.objects.create(letter=letter, agent=president, role=Participation.Role.RECIPIENT)
    paragraph = Paragraph.objects.create(letter=letter, position=1, text="Nous demandons une garantie de sécurité.")
    Footnote.objects.create(letter=letter, paragraph=paragraph, marker="1", anchor="garantie", text="Voir annexe.")
    Citation.objects.create(letter=letter, cited_document=resolution, quote="la résolution 822 de 1993")
    Mention.objects.create(letter=letter, place=city, name_as_written="Gandja")
    # The search indexer may already have written these rows; write them if it has not.
    LetterSearchText.objects.filter(letter=letter).first() or LetterSearchText.objects.create(
        letter=letter, title=letter.title, names="Anders Knape"
    )
    SpellingKey.objects.first() or SpellingKey.objects.create(key="ganja", spelling="Ganja", place=city)
    return {model: model.objects.first() for model in ARCHIVE_MODELS}


@pytest.fixture
def staff_client(client, db):
    staff = get_user_model().objects.create_user("clerk", password="unused-password", is_staff=True)  # noqa: S106
    client.force_login(staff)
    return client


def formset_management_data(response, **total_forms):
    """The management form of every inline on an admin form page, with the given number of forms."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data[f"{prefix}-TOTAL_FORMS"] = total_forms.get(prefix, inline.formset.initial_form_count())
        data[f"{prefix}-INITIAL_FORMS"] = inline.formset.initial_form_count()
        data[f"{prefix}-MIN_NUM_FORMS"] = 0
        data[f"{prefix}-MAX_NUM_FORMS"] = 1000
    return data


def letter_form_data(**overrides):
    data = {
        "title": "Letter from the Mayor of Barda to the Secretary General",
        "slug": "barda-2020-10-28",
        "kind": Letter.Kind.LETTER,
        "language": "fr",
        "date_from": "2020-10-28",
        "date_to": "2020-10-28",
        "date_precision": Letter.DatePrecision.DAY,
        "date_certainty": Letter.DateCertainty.EXACT,
        "source_position": 1,
        "status": PublicationStatus.DRAFT,
    }
    data.update(overrides)
    return data


def form_errors(response):
    """Everything the admin form page complains about, for assertion messages."""
    if response.context is None or "adminform" not in response.context:
        return f"status {response.status_code}"
    errors = [response.context["adminform"].form.errors]
    errors += [inline.formset.errors for inline in response.context["inline_admin_formsets"]]
    return errors


def test_every_model_of_the_archive_is_registered():
    """
    All but unmanaged tables (the SQLite-only FTS5 table behind search), the
    archive's generation counter (correspondence/state.py) and the facet counts
    that PostgreSQL keeps (correspondence/facet_counts.py): not data, no one edits them.
    """
    models = [
        model
        for model in apps.get_app_config("correspondence").get_models()
        if model._meta.managed and model.__name__ not in ("ArchiveState", "FacetCount")
    ]
    assert [model.__name__ for model in models if not admin.site.is_registered(model)] == []


def test_admin_configuration_passes_the_system_checks():
    problems = [problem for problem in checks.run_checks(tags=[checks.Tags.admin]) if problem.is_serious()]
    assert problems == []


def test_site_header_names_the_archive(admin_client):
    response = admin_client.get(reverse("admin:index"), headers={"accept-language": "en"})
    assert response.status_code == 200
    assert "Archive of diplomatic correspondence" in response.text


@pytest.mark.parametrize("model", ARCHIVE_MODELS, ids=lambda model: model.__name__)
def test_changelist_loads_for_a_superuser(admin_client, archive, model):
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count()


@pytest.mark.parametrize("model", EDITABLE_MODELS, ids=lambda model: model.__name__)
def test_add_page_loads_for_a_superuser(admin_client, archive, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", DERIVED_MODELS, ids=lambda model: model.__name__)
def test_search_index_rows_are_shown_but_not_written_by_hand(admin_client, archive, model):
    obj = archive[model]
    assert admin_client.get(admin_url(model, "change", obj.pk)).context["has_change_permission"] is False
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.get(admin_url(model, "delete", obj.pk)).status_code == 403


@pytest.mark.parametrize("model", ARCHIVE_MODELS, ids=lambda model: model.__name__)
def test_change_page_loads_for_a_superuser(admin_client, archive, model):
    obj = archive[model]
    response = admin_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert response.context["original"] == obj


@pytest.mark.parametrize("page", ["changelist", "add", "change"])
@pytest.mark.parametrize("model", ARCHIVE_MODELS, ids=lambda model: model.__name__)
def test_anonymous_visitor_is_sent_to_the_login_page(client, archive, model, page):
    url = admin_url(model, page, archive[model].pk) if page == "change" else admin_url(model, page)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize("model", ARCHIVE_MODELS, ids=lambda model: model.__name__)
def test_staff_without_permissions_is_forbidden_to_change_records(staff_client, archive, model):
    assert staff_client.get(admin_url(model, "change", archive[model].pk)).status_code == 403
    assert staff_client.get(admin_url(model, "changelist")).status_code == 403


@pytest.mark.parametrize("model", [Letter, Agent, Place], ids=lambda model: model.__name__)
def test_change_page_links_to_the_record_on_the_public_site(admin_client, archive, model):
    obj = archive[model]
    view_on_site = reverse(
        "admin:view_on_site",
        kwargs={"content_type_id": ContentType.objects.get_for_model(model).pk, "object_id": obj.pk},
    )
    response = admin_client.get(admin_url(model, "change", obj.pk))
    assert view_on_site in response.text


def test_view_on_site_leads_to_the_letters_permalink(admin_client, archive):
    letter = archive[Letter]
    content_type = ContentType.objects.get_for_model(Letter)
    response = admin_client.get(
        reverse("admin:view_on_site", kwargs={"content_type_id": content_type.pk, "object_id": letter.pk})
    )
    assert response.status_code == 302
    assert response.url.endswith(f"/letters/{letter.slug}/")


def test_superuser_creates_a_complete_letter_with_its_people_and_transcription(admin_client, db):
    sender = make_agent("Elmar Valiyev")
    recipient = make_agent("Marija Pejčinović Burić")
    add_url = admin_url(Letter, "add")
    data = letter_form_data()
    data.update(formset_management_data(admin_client.get(add_url), participations=2, paragraphs=2))
    data.update(
        {
            "participations-0-role": Participation.Role.SENDER,
            "participations-0-agent": sender.pk,
            "participations-0-position": 1,
            "participations-0-name_as_written": "E. Valiyev",
            "participations-1-role": Participation.Role.RECIPIENT,
            "participations-1-agent": recipient.pk,
            "participations-1-position": 1,
            "paragraphs-0-position": 2,
            "paragraphs-0-kind": Paragraph.Kind.BODY,
            "paragraphs-0-text": "La ville a été bombardée dans la nuit.",
            "paragraphs-1-position": 1,
            "paragraphs-1-kind": Paragraph.Kind.OPENING,
            "paragraphs-1-text": "Madame la Secrétaire Générale,",
        }
    )

    response = admin_client.post(add_url, data)

    assert response.status_code == 302, form_errors(response)
    letter = Letter.objects.get(slug="barda-2020-10-28")
    assert {(p.role, p.agent, p.name_as_written) for p in letter.participations.all()} == {
        (Participation.Role.SENDER, sender, "E. Valiyev"),
        (Participation.Role.RECIPIENT, recipient, ""),
    }
    assert [p.text for p in letter.paragraphs.order_by("position")] == [
        "Madame la Secrétaire Générale,",
        "La ville a été bombardée dans la nuit.",
    ]


def test_inverted_date_range_is_shown_as_a_form_error_not_a_server_error(admin_client, db):
    add_url = admin_url(Letter, "add")
    data = letter_form_data(date_from="2020-10-28", date_to="2020-10-01", date_precision=Letter.DatePrecision.RANGE)
    data.update(formset_management_data(admin_client.get(add_url)))

    response = admin_client.post(add_url, data)

    assert response.status_code == 200
    assert "date_to" in response.context["adminform"].form.errors
    assert not Letter.objects.exists()


def test_reply_predating_its_letter_is_shown_as_a_form_error(admin_client, db):
    original = make_letter("Letter of 28 October", date=datetime.date(2020, 10, 28))
    add_url = admin_url(Letter, "add")
    data = letter_form_data(date_from="2020-10-01", date_to="2020-10-01", in_reply_to=original.pk)
    data.update(formset_management_data(admin_client.get(add_url)))

    response = admin_client.post(add_url, data)

    assert response.status_code == 200
    assert "in_reply_to" in response.context["adminform"].form.errors


def test_a_month_precise_date_gets_its_last_day_on_saving(admin_client, db):
    add_url = admin_url(Letter, "add")
    data = letter_form_data(date_from="2020-02-01", date_to="", date_precision=Letter.DatePrecision.MONTH)
    data.update(formset_management_data(admin_client.get(add_url)))

    response = admin_client.post(add_url, data)

    assert response.status_code == 302, form_errors(response)
    assert Letter.objects.get().date_to == datetime.date(2020, 2, 29)


def test_publishing_through_the_admin_records_when_and_by_whom(admin_client, admin_user, db):
    add_url = admin_url(Letter, "add")
    data = letter_form_data(status=PublicationStatus.PUBLISHED)
    data.update(formset_management_data(admin_client.get(add_url), participations=1))
    data.update(
        {
            "participations-0-role": Participation.Role.SENDER,
            "participations-0-agent": make_agent("Anar Ibrahimov").pk,
            "participations-0-position": 1,
        }
    )

    response = admin_client.post(add_url, data)

    assert response.status_code == 302, form_errors(response)
    letter = Letter.objects.get()
    assert letter.published_by == admin_user
    assert letter.published_at is not None


def test_a_published_letters_slug_can_no_longer_be_edited(admin_client, db):
    draft = make_letter("A draft")
    published = make_letter("A published letter", status=PublicationStatus.PUBLISHED)

    draft_form = admin_client.get(admin_url(Letter, "change", draft.pk)).context["adminform"].form
    published_form = admin_client.get(admin_url(Letter, "change", published.pk)).context["adminform"].form

    assert "slug" in draft_form.fields
    assert "slug" not in published_form.fields


def test_letter_search_finds_a_word_of_the_transcription_once(admin_client, db):
    letter = make_letter("Letter on the ceasefire")
    Paragraph.objects.create(letter=letter, position=1, text="Le cessez-le-feu humanitaire a été violé.")
    Paragraph.objects.create(letter=letter, position=2, text="Un second cessez-le-feu humanitaire a suivi.")
    make_letter("Letter on something else")

    response = admin_client.get(admin_url(Letter, "changelist"), {"q": "humanitaire"})

    assert list(response.context["cl"].result_list) == [letter]


def test_letter_search_finds_a_participant_by_a_variant_of_the_name(admin_client, db):
    mayor = make_agent("Elmar Valiyev")
    AgentName.objects.create(agent=mayor, name="Elmar Valiev")
    letter = make_letter("Letter from the Mayor of Gandja")
    Participation.objects.create(letter=letter, agent=mayor, role=Participation.Role.SENDER)
    Participation.objects.create(letter=letter, agent=mayor, role=Participation.Role.SIGNATORY)
    make_letter("Letter from someone else")

    response = admin_client.get(admin_url(Letter, "changelist"), {"q": "Valiev Gandja"})

    assert list(response.context["cl"].result_list) == [letter]


def test_agent_search_finds_an_agent_by_a_name_variant(admin_client, db):
    knape = make_agent("Anders Knape")
    AgentName.objects.create(agent=knape, name="A. Knape")
    AgentName.objects.create(agent=knape, name="Anders Knápe")
    make_agent("Leendert Verbeek")

    response = admin_client.get(admin_url(Agent, "changelist"), {"q": "Knápe"})

    assert list(response.context["cl"].result_list) == [knape]


def test_autocomplete_finds_a_participant_by_a_name_variant(admin_client, db):
    knape = make_agent("Anders Knape")
    AgentName.objects.create(agent=knape, name="A. Knápe")
    params = {"app_label": "correspondence", "model_name": "participation", "field_name": "agent", "term": "Knápe"}

    response = admin_client.get(reverse("admin:autocomplete"), params)

    assert [result["id"] for result in response.json()["results"]] == [str(knape.pk)]


def test_country_autocomplete_offers_only_countries(admin_client, db):
    country = make_place("Arménie", kind=Place.Kind.COUNTRY)
    make_place("Armavir", kind=Place.Kind.CITY)
    params = {"app_label": "correspondence", "model_name": "place", "field_name": "country", "term": "Ar"}

    response = admin_client.get(reverse("admin:autocomplete"), params)

    assert [result["id"] for result in response.json()["results"]] == [str(country.pk)]


def changelist_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_letter_changelist_costs_the_same_queries_for_one_or_ten_letters(admin_client, db):
    url = admin_url(Letter, "changelist")
    source = make_source()
    make_letter(source=source, source_position=1)
    admin_client.get(url)  # warm up the session and caches
    with_one = changelist_queries(admin_client, url)

    for position in range(2, 11):
        make_letter(source=make_source(title=f"Source {position}"), source_position=position)
    with_ten = changelist_queries(admin_client, url)

    assert with_ten == with_one


def test_agent_changelist_counts_letters_without_a_query_per_row(admin_client, db):
    url = admin_url(Agent, "changelist")
    letter = make_letter()
    sender = make_agent("Anders Knape", wikidata="Q5753245")
    Participation.objects.create(letter=letter, agent=sender, role=Participation.Role.SENDER)
    Participation.objects.create(letter=letter, agent=sender, role=Participation.Role.SIGNATORY)
    Participation.objects.create(letter=make_letter(), agent=sender, role=Participation.Role.SENDER)
    admin_client.get(url)
    with_one = changelist_queries(admin_client, url)

    for number in range(9):
        other = make_agent(f"Agent {number}")
        Participation.objects.create(letter=letter, agent=other, role=Participation.Role.COPY)
    with_ten = changelist_queries(admin_client, url)

    response = admin_client.get(url)
    row = next(agent for agent in response.context["cl"].result_list if agent == sender)
    assert row.letter_count == 2
    assert "Wikidata Q5753245" in response.text
    assert with_ten == with_one


def test_letter_change_page_costs_the_same_queries_for_one_or_five_footnotes(admin_client, db):
    letter = make_letter()
    paragraphs = [Paragraph.objects.create(letter=letter, position=n, text=f"Paragraph {n}") for n in range(1, 4)]
    Footnote.objects.create(letter=letter, paragraph=paragraphs[0], marker="1", text="Note 1")
    url = admin_url(Letter, "change", letter.pk)
    admin_client.get(url)
    with_one = changelist_queries(admin_client, url)

    for n in range(2, 6):
        Footnote.objects.create(letter=letter, paragraph=paragraphs[n % 3], marker=str(n), text=f"Note {n}")
    with_five = changelist_queries(admin_client, url)

    assert with_five == with_one


def test_footnotes_are_offered_only_the_paragraphs_of_their_letter(admin_client, db):
    letter = make_letter()
    own = Paragraph.objects.create(letter=letter, position=1, text="Own paragraph")
    Paragraph.objects.create(letter=make_letter(), position=1, text="Another letter's paragraph")

    response = admin_client.get(admin_url(Letter, "change", letter.pk))

    footnotes = next(inline for inline in response.context["inline_admin_formsets"] if inline.opts.model is Footnote)
    offered = [value for value, __ in footnotes.formset.empty_form.fields["paragraph"].choices if value]
    assert [str(value) for value in offered] == [str(own.pk)]


def test_footnote_admin_rejects_a_paragraph_of_another_letter(admin_client, db):
    letter = make_letter()
    elsewhere = Paragraph.objects.create(letter=make_letter(), position=1, text="Elsewhere")
    add_url = admin_url(Footnote, "add")

    response = admin_client.post(
        add_url, {"letter": letter.pk, "marker": "1", "paragraph": elsewhere.pk, "anchor": "", "text": "A note"}
    )

    assert response.status_code == 200
    assert "paragraph" in response.context["adminform"].form.errors
    assert not Footnote.objects.exists()


def test_source_document_page_lists_its_items_in_order_with_links(admin_client, db):
    source = make_source()
    second = make_letter("Annex: list of victims", source=source, source_position=2)
    first = make_letter("Covering letter", source=source, source_position=1)

    response = admin_client.get(admin_url(type(source), "change", source.pk))

    items = next(inline for inline in response.context["inline_admin_formsets"] if inline.opts.model is Letter)
    assert [form.instance for form in items.formset.forms] == [first, second]
    assert admin_url(Letter, "change", first.pk) in response.text
    assert admin_url(Letter, "change", second.pk) in response.text
