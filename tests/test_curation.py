"""Curation: roles, the review workflow, history and undo, merges, data quality, login throttling."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from correspondence.models import Agent, Letter, Mention, Paragraph, Participation, Place, PublicationStatus
from correspondence.roles import ROLES
from tests.conftest import (
    make_agent,
    make_letter,
    make_mention,
    make_paragraph,
    make_participation,
    make_place,
)
from tests.test_admin import form_errors, formset_management_data, letter_form_data


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def user_in(role, username=None):
    user = get_user_model().objects.create_user(username or role, password="a-long-test-password", is_staff=True)  # noqa: S106
    user.groups.add(Group.objects.get(name=ROLES[role]["group"]))
    return user


@pytest.fixture
def as_role(client, db):
    def login(role):
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the assertions below read the English admin
        client.force_login(user_in(role))
        return client

    return login


def changelist(model):
    return reverse(f"admin:correspondence_{model._meta.model_name}_changelist")


def change(obj):
    return reverse(f"admin:correspondence_{obj._meta.model_name}_change", args=[obj.pk])


def complete_letter(**fields):
    letter = make_letter(**fields)
    make_participation(letter, make_agent("Anar Ibrahimov"), Participation.Role.SENDER)
    make_paragraph(letter, "Monsieur le Président,", position=1)
    return letter


# Roles -------------------------------------------------------------------------------------


def test_the_three_groups_exist_with_their_permissions(db):
    editors = set(Group.objects.get(name="editors").permissions.values_list("codename", flat=True))
    curators = set(Group.objects.get(name="curators").permissions.values_list("codename", flat=True))
    viewers = set(Group.objects.get(name="viewers").permissions.values_list("codename", flat=True))
    assert {"add_letter", "change_letter", "view_letter", "change_agent"} <= editors
    assert not {code for code in editors if code.startswith(("delete_", "publish_", "merge_"))}
    assert {"publish_letter", "delete_letter", "merge_agent", "merge_place", "publish_agent"} <= curators
    assert viewers and all(code.startswith("view_") for code in viewers)


def test_create_archive_user_puts_a_staff_user_in_the_group(db, monkeypatch):
    monkeypatch.setenv("DJANGO_ARCHIVE_PASSWORD", "a-long-test-password")
    out = io.StringIO()
    call_command("create_archive_user", "marie", role="curator", stdout=out)
    user = get_user_model().objects.get(username="marie")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["curators"]
    assert user.has_perm("correspondence.publish_letter")
    assert "Created" in out.getvalue()


def test_create_archive_user_dry_run_creates_nothing(db, monkeypatch):
    monkeypatch.setenv("DJANGO_ARCHIVE_PASSWORD", "a-long-test-password")
    call_command("create_archive_user", "paul", role="editor", dry_run=True, stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="paul").exists()


def test_create_archive_user_refuses_a_weak_password(db, monkeypatch):
    monkeypatch.setenv("DJANGO_ARCHIVE_PASSWORD", "123")
    with pytest.raises(CommandError, match="Password refused"):
        call_command("create_archive_user", "paul", role="editor", stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="paul").exists()


def test_an_editor_saves_a_draft_but_cannot_publish_it(as_role):
    client = as_role("editor")
    add_url = reverse("admin:correspondence_letter_add")
    data = letter_form_data(status=PublicationStatus.PUBLISHED)
    data.update(formset_management_data(client.get(add_url)))
    response = client.post(add_url, data)
    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    assert not Letter.objects.exists()

    data["status"] = PublicationStatus.REVIEW
    response = client.post(add_url, data)
    assert response.status_code == 302, form_errors(response)
    assert Letter.objects.get().status == PublicationStatus.REVIEW


def test_an_editor_cannot_unpublish_by_posting_the_status(as_role):
    letter = complete_letter(status=PublicationStatus.PUBLISHED)
    client = as_role("editor")
    url = change(letter)
    data = letter_form_data(slug=letter.slug, title="Corrected title", status=PublicationStatus.DRAFT)
    data.update(formset_management_data(client.get(url)))
    data.update(
        {
            "participations-0-id": letter.participations.get().pk,
            "participations-0-letter": letter.pk,
            "participations-0-role": "sender",
            "participations-0-agent": letter.participations.get().agent_id,
            "participations-0-position": 1,
            "paragraphs-0-id": letter.paragraphs.get().pk,
            "paragraphs-0-letter": letter.pk,
            "paragraphs-0-position": 1,
            "paragraphs-0-kind": "body",
            "paragraphs-0-text": "Monsieur le Président,",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    letter.refresh_from_db()
    assert letter.title == "Corrected title"
    assert letter.status == PublicationStatus.PUBLISHED


def test_an_editor_cannot_delete_or_run_the_publish_action(as_role):
    letter = complete_letter(status=PublicationStatus.DRAFT)
    client = as_role("editor")
    assert client.get(reverse("admin:correspondence_letter_delete", args=[letter.pk])).status_code == 403
    response = client.post(
        changelist(Letter), {"action": "publish_selected", "_selected_action": [letter.pk], "confirm": "yes"}
    )
    letter.refresh_from_db()
    assert letter.status == PublicationStatus.DRAFT
    assert response.status_code in (200, 302)


def test_a_viewer_reads_but_cannot_change(as_role):
    letter = complete_letter()
    client = as_role("viewer")
    assert client.get(changelist(Letter)).status_code == 200
    assert client.get(change(letter)).status_code == 200
    response = client.post(change(letter), letter_form_data(slug=letter.slug, title="Changed"))
    assert response.status_code == 403
    letter.refresh_from_db()
    assert letter.title != "Changed"


# Publication workflow ---------------------------------------------------------------------------


def test_bulk_publish_asks_for_confirmation_then_records_who_and_when(as_role):
    letters = [complete_letter(title=f"Lettre {n}", status=PublicationStatus.REVIEW) for n in range(2)]
    client = as_role("curator")
    selection = {"action": "publish_selected", "_selected_action": [letter.pk for letter in letters]}

    response = client.post(changelist(Letter), selection)
    assert response.status_code == 200
    assert "Lettre 0" in response.content.decode()
    assert Letter.objects.filter(status=PublicationStatus.PUBLISHED).count() == 0

    response = client.post(changelist(Letter), {**selection, "confirm": "yes"})
    assert response.status_code == 302
    for letter in letters:
        letter.refresh_from_db()
        assert letter.status == PublicationStatus.PUBLISHED
        assert letter.published_by.username == "curator"
        assert letter.published_at is not None


def test_a_letter_without_a_sender_is_not_published_in_bulk(as_role):
    letter = make_letter(status=PublicationStatus.REVIEW)
    client = as_role("curator")
    client.post(changelist(Letter), {"action": "publish_selected", "_selected_action": [letter.pk], "confirm": "yes"})
    letter.refresh_from_db()
    assert letter.status == PublicationStatus.REVIEW


def test_the_form_refuses_to_publish_a_letter_without_a_sender(as_role):
    client = as_role("curator")
    add_url = reverse("admin:correspondence_letter_add")
    data = letter_form_data(status=PublicationStatus.PUBLISHED)
    data.update(formset_management_data(client.get(add_url)))
    response = client.post(add_url, data)
    assert response.status_code == 200
    assert "at least one sender" in response.content.decode()
    assert not Letter.objects.exists()


def test_bulk_unpublish_hides_the_letter_from_readers(as_role):
    letter = complete_letter(status=PublicationStatus.PUBLISHED)
    client = as_role("curator")
    client.post(changelist(Letter), {"action": "unpublish_selected", "_selected_action": [letter.pk], "confirm": "yes"})
    letter.refresh_from_db()
    assert letter.status == PublicationStatus.DRAFT
    client.logout()
    assert client.get(letter.get_absolute_url()).status_code == 404


# History and undo ------------------------------------------------------------------------------


def edit_title_through_the_admin(client, letter, title, reason=""):
    url = change(letter)
    page = client.get(url)
    data = letter_form_data(slug=letter.slug, title=title, status=letter.status, change_reason=reason)
    data.update(formset_management_data(page))
    for index, participation in enumerate(letter.participations.order_by("pk")):
        data.update(
            {
                f"participations-{index}-id": participation.pk,
                f"participations-{index}-letter": letter.pk,
                f"participations-{index}-role": participation.role,
                f"participations-{index}-agent": participation.agent_id,
                f"participations-{index}-position": participation.position,
            }
        )
    for index, paragraph in enumerate(letter.paragraphs.order_by("pk")):
        data.update(
            {
                f"paragraphs-{index}-id": paragraph.pk,
                f"paragraphs-{index}-letter": letter.pk,
                f"paragraphs-{index}-position": paragraph.position,
                f"paragraphs-{index}-kind": paragraph.kind,
                f"paragraphs-{index}-text": paragraph.text,
            }
        )
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)


def test_every_change_is_recorded_with_a_readable_diff_and_reason(as_role):
    client = as_role("curator")
    letter = complete_letter(title="Lettre du maire de Barda")
    edit_title_through_the_admin(client, letter, "Lettre du maire de Barda")
    edit_title_through_the_admin(client, letter, "Lettre du maire de Bərdə", reason="orthographe de la source")
    edit_title_through_the_admin(client, letter, "Lettre de la maire de Bərdə")

    page = client.get(reverse("admin:correspondence_letter_history", args=[letter.pk])).content.decode()
    assert "orthographe de la source" in page
    assert "<del>Barda</del>" in page and "<ins>Bərdə</ins>" in page
    assert "curator" in page
    assert page.count("Revert to this version") >= 1


def test_revert_restores_the_letter_and_its_parts_exactly(as_role):
    client = as_role("curator")
    letter = complete_letter(title="Lettre du maire de Barda")
    edit_title_through_the_admin(client, letter, "Lettre du maire de Barda")  # first recorded version
    from correspondence.history import versions_of

    first = versions_of(letter).last()
    before = list(letter.paragraphs.values_list("position", "text"))

    edit_title_through_the_admin(client, letter, "Titre erroné")
    Paragraph.objects.create(letter=letter, position=2, text="Un paragraphe ajouté par erreur.")

    response = client.post(
        reverse("admin:correspondence_letter_revert", args=[letter.pk, first.pk]), {"reason": "erreur"}
    )
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.title == "Lettre du maire de Barda"
    assert list(letter.paragraphs.values_list("position", "text")) == before
    assert "erreur" in versions_of(letter).first().revision.get_comment()


def test_revert_needs_a_post_and_the_change_permission(as_role):
    client = as_role("curator")
    letter = complete_letter()
    edit_title_through_the_admin(client, letter, "Autre titre")
    from correspondence.history import versions_of

    version = versions_of(letter).first()
    url = reverse("admin:correspondence_letter_revert", args=[letter.pk, version.pk])
    assert client.get(url).status_code == 403
    viewer = as_role("viewer")
    assert viewer.post(url).status_code == 403


def test_a_deleted_letter_stays_recoverable(as_role):
    client = as_role("curator")
    letter = complete_letter(title="Lettre à retrouver")
    edit_title_through_the_admin(client, letter, "Lettre à retrouver")
    response = client.post(reverse("admin:correspondence_letter_delete", args=[letter.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Letter.objects.filter(pk=letter.pk).exists()
    page = client.get(reverse("admin:correspondence_letter_recoverlist")).content.decode()
    assert "Lettre à retrouver" in page


# Authority control -----------------------------------------------------------------------------


def test_merging_people_moves_every_link_and_keeps_every_name(as_role):
    survivor = make_agent("Anar Ibrahimov", wikidata="")
    duplicate = make_agent("Anar Adil Ibrahimov", wikidata="Q4750001")
    first, second = complete_letter(), make_letter()
    make_participation(second, duplicate, Participation.Role.RECIPIENT, title_as_written="Président de la Délégation")
    make_mention(first, agent=duplicate, name_as_written="M. Ibrahimov")
    counts_before = (Participation.objects.count(), Mention.objects.count(), Letter.objects.count())

    client = as_role("curator")
    selection = {"action": "merge_selected", "_selected_action": [survivor.pk, duplicate.pk]}
    assert "Anar Adil Ibrahimov" in client.post(changelist(Agent), selection).content.decode()
    response = client.post(changelist(Agent), {**selection, "confirm": "yes", "survivor": survivor.pk})
    assert response.status_code == 302

    assert (Participation.objects.count(), Mention.objects.count(), Letter.objects.count()) == counts_before
    assert not Participation.objects.filter(agent=duplicate).exists()
    assert survivor.participations.filter(letter=second, title_as_written="Président de la Délégation").exists()
    assert survivor.mentions.filter(letter=first).exists()
    assert "Anar Adil Ibrahimov" in survivor.variants.values_list("name", flat=True)
    duplicate.refresh_from_db()
    survivor.refresh_from_db()
    assert duplicate.merged_into == survivor
    assert survivor.wikidata == "Q4750001"
    assert Agent.objects.published().filter(pk=duplicate.pk).count() == 0


def test_merging_places_moves_letters_written_there_and_the_spelling(as_role):
    barda, berde = make_place("Barda"), make_place("Bərdə")
    letter = complete_letter(place_written=berde)
    make_mention(letter, place=berde, name_as_written="Bərdə")
    client = as_role("curator")
    client.post(
        changelist(Place),
        {"action": "merge_selected", "_selected_action": [barda.pk, berde.pk], "confirm": "yes", "survivor": barda.pk},
    )
    letter.refresh_from_db()
    assert letter.place_written == barda
    assert barda.mentions.count() == 1
    assert "Bərdə" in barda.variants.values_list("name", flat=True)


def test_an_editor_cannot_merge(as_role):
    first, second = make_agent("A"), make_agent("B")
    client = as_role("editor")
    client.post(
        changelist(Agent),
        {"action": "merge_selected", "_selected_action": [first.pk, second.pk], "confirm": "yes", "survivor": first.pk},
    )
    second.refresh_from_db()
    assert second.merged_into is None


def test_the_data_quality_page_lists_what_needs_attention(as_role):
    make_agent("Ganja Municipality")
    make_place("Gandja")
    make_place("GANDJA")
    make_letter(title="Lettre sans résumé", summary="")
    client = as_role("viewer")
    page = client.get(reverse("admin:correspondence_data_quality")).content.decode()
    assert "Ganja Municipality" in page
    assert "Lettre sans résumé" in page
    assert "Gandja" in page and "GANDJA" in page
    assert "Possible duplicate places" in page


# Security of the admin -------------------------------------------------------------------------


def test_login_is_throttled_after_repeated_failures(client, db):
    get_user_model().objects.create_superuser("root", "root@example.org", "the-right-password")  # noqa: S106
    login = reverse("admin:login")
    for _attempt in range(4):
        response = client.post(login, {"username": "root", "password": "wrong"})
        assert response.status_code == 200
    assert client.post(login, {"username": "root", "password": "wrong"}).status_code == 429
    response = client.post(login, {"username": "root", "password": "the-right-password"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_correct_login_still_works_before_the_limit(client, db):
    get_user_model().objects.create_superuser("root", "root@example.org", "the-right-password")  # noqa: S106
    login = reverse("admin:login")
    client.post(login, {"username": "root", "password": "wrong"})
    response = client.post(login, {"username": "root", "password": "the-right-password", "next": "/admin/"})
    assert response.status_code == 302


def test_the_admin_home_links_to_the_curation_pages(as_role):
    page = as_role("viewer").get(reverse("admin:index")).content.decode()
    assert reverse("admin:correspondence_data_quality") in page
    assert "status__exact=review" in page
