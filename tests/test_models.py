import datetime
from contextlib import contextmanager

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from correspondence.models import (
    Agent,
    AgentName,
    Citation,
    Footnote,
    Letter,
    Mention,
    Paragraph,
    Participation,
    PlaceName,
    span_for_precision,
)
from tests.conftest import make_agent, make_cited_document, make_letter, make_place, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Messages are compared in the language they are written in, whatever the site's default."""
    with translation.override("en"):
        yield


@contextmanager
def rejected_by_the_database():
    """Expect an IntegrityError, inside a savepoint so the test's transaction survives it (PostgreSQL)."""
    with pytest.raises(IntegrityError), transaction.atomic():
        yield


def messages_for(obj, field):
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    return caught.value.message_dict.get(field, [])


# Constraints in the database -------------------------------------------------------------------


def test_database_rejects_the_same_agent_twice_in_the_same_role():
    letter, agent = make_letter(), make_agent()
    Participation.objects.create(letter=letter, agent=agent, role=Participation.Role.SENDER)
    with rejected_by_the_database():
        Participation.objects.create(letter=letter, agent=agent, role=Participation.Role.SENDER, position=2)


def test_database_accepts_the_same_agent_in_two_roles():
    letter, agent = make_letter(), make_agent()
    Participation.objects.create(letter=letter, agent=agent, role=Participation.Role.SENDER)
    Participation.objects.create(letter=letter, agent=agent, role=Participation.Role.SIGNATORY)
    assert letter.participations.count() == 2


def test_database_rejects_a_letter_answering_itself():
    letter = make_letter()
    letter.in_reply_to = letter
    with rejected_by_the_database():
        letter.save()


def test_database_rejects_a_letter_annexed_to_itself():
    letter = make_letter()
    letter.annex_of = letter
    with rejected_by_the_database():
        letter.save()


def test_database_rejects_a_date_range_ending_before_it_starts():
    with rejected_by_the_database():
        make_letter(
            date_from=datetime.date(2020, 10, 28),
            date_to=datetime.date(2020, 10, 1),
            date_precision=Letter.DatePrecision.RANGE,
        )


def test_database_rejects_a_day_precise_date_with_two_different_days():
    with rejected_by_the_database():
        make_letter(date_from=datetime.date(2020, 10, 1), date_to=datetime.date(2020, 10, 2))


def test_database_rejects_an_unknown_date_precision():
    with rejected_by_the_database():
        make_letter(date_precision="hour")


def test_database_rejects_a_dated_letter_without_bounds():
    with rejected_by_the_database():
        make_letter(date=None, date_precision=Letter.DatePrecision.YEAR)


def test_database_accepts_an_undated_letter():
    assert make_letter(date=None).date_display == ""


def test_database_rejects_a_mention_of_both_an_agent_and_a_place():
    with rejected_by_the_database():
        Mention.objects.create(letter=make_letter(), agent=make_agent(), place=make_place())


def test_database_rejects_a_mention_of_nothing():
    with rejected_by_the_database():
        Mention.objects.create(letter=make_letter(), name_as_written="Quelqu'un")


def test_database_rejects_two_paragraphs_at_the_same_position():
    letter = make_letter()
    Paragraph.objects.create(letter=letter, position=1, text="Madame,")
    with rejected_by_the_database():
        Paragraph.objects.create(letter=letter, position=1, text="Monsieur,")


def test_database_rejects_two_items_at_the_same_position_in_a_source():
    source = make_source()
    make_letter(source=source, source_position=1)
    with rejected_by_the_database():
        make_letter(source=source, source_position=1)


def test_database_rejects_an_invalid_agent_kind():
    with rejected_by_the_database():
        make_agent(kind="robot")


# Validation with messages for curators ---------------------------------------------------------


def test_isni_with_a_wrong_check_character_is_explained():
    agent = Agent(name="Anders Knape", slug="anders-knape", isni="0000 0001 2103 2684")
    assert messages_for(agent, "isni") == ["This ISNI's check character is wrong: check for a typing error."]


def test_isni_with_a_right_check_character_is_accepted():
    Agent(name="Anders Knape", slug="anders-knape", isni="0000 0001 2103 2683").full_clean()
    Agent(name="Somebody", slug="somebody", isni="0000 0001 2146 438X").full_clean()


def test_malformed_wikidata_identifier_is_explained():
    agent = Agent(name="Anders Knape", slug="anders-knape", wikidata="42")
    assert messages_for(agent, "wikidata") == ["A Wikidata identifier looks like Q42."]


def test_reply_predating_the_letter_it_answers_is_explained():
    original = make_letter(date=datetime.date(2020, 10, 28))
    reply = Letter(
        title="Reply",
        slug="reply",
        date_from=datetime.date(2020, 10, 1),
        date_to=datetime.date(2020, 10, 1),
        in_reply_to=original,
    )
    assert messages_for(reply, "in_reply_to") == ["A reply cannot predate the letter it answers."]


def test_inverted_date_range_is_explained():
    letter = Letter(
        title="Letter",
        slug="letter",
        date_from=datetime.date(2020, 10, 28),
        date_to=datetime.date(2020, 10, 1),
        date_precision=Letter.DatePrecision.RANGE,
    )
    assert messages_for(letter, "date_to") == ["The latest date cannot come before the earliest date."]


def test_month_precise_date_must_span_the_whole_month():
    letter = Letter(
        title="Letter",
        slug="letter",
        date_from=datetime.date(2020, 2, 1),
        date_to=datetime.date(2020, 2, 15),
        date_precision=Letter.DatePrecision.MONTH,
    )
    assert messages_for(letter, "date_to") == [
        "For a date precise to the month, the dates must span exactly that month (2020-02-01 to 2020-02-29)."
    ]


def test_validation_fills_the_last_day_of_a_month_precise_date():
    letter = Letter(
        title="Letter", slug="letter", date_from=datetime.date(2021, 2, 1), date_precision=Letter.DatePrecision.MONTH
    )
    letter.full_clean()
    assert letter.date_to == datetime.date(2021, 2, 28)


def test_dated_letter_without_a_first_day_is_explained():
    letter = Letter(title="Letter", slug="letter", date_precision=Letter.DatePrecision.DAY)
    assert messages_for(letter, "date_from") == ["Give the earliest date, or set the precision to undated."]


def test_mention_of_both_an_agent_and_a_place_is_explained():
    mention = Mention(letter=make_letter(), agent=make_agent(), place=make_place())
    with pytest.raises(ValidationError, match="exactly one"):
        mention.full_clean()


@pytest.mark.parametrize(
    ("day", "precision", "span"),
    [
        (datetime.date(2020, 10, 20), Letter.DatePrecision.DAY, (datetime.date(2020, 10, 20),) * 2),
        (
            datetime.date(2020, 2, 14),
            Letter.DatePrecision.MONTH,
            (datetime.date(2020, 2, 1), datetime.date(2020, 2, 29)),
        ),
        (
            datetime.date(2021, 2, 14),
            Letter.DatePrecision.MONTH,
            (datetime.date(2021, 2, 1), datetime.date(2021, 2, 28)),
        ),
        (
            datetime.date(2020, 12, 5),
            Letter.DatePrecision.MONTH,
            (datetime.date(2020, 12, 1), datetime.date(2020, 12, 31)),
        ),
        (
            datetime.date(1993, 4, 30),
            Letter.DatePrecision.YEAR,
            (datetime.date(1993, 1, 1), datetime.date(1993, 12, 31)),
        ),
        (datetime.date(1993, 4, 30), Letter.DatePrecision.RANGE, None),
        (datetime.date(1993, 4, 30), Letter.DatePrecision.UNKNOWN, None),
    ],
)
def test_span_for_precision_gives_the_first_and_last_day_covered(day, precision, span):
    assert span_for_precision(day, precision) == span


@pytest.mark.parametrize(
    ("precision", "date_to", "shown"),
    [
        (Letter.DatePrecision.DAY, datetime.date(2020, 10, 20), "2020-10-20"),
        (Letter.DatePrecision.MONTH, datetime.date(2020, 10, 31), "2020-10"),
        (Letter.DatePrecision.YEAR, datetime.date(2020, 12, 31), "2020"),
        (Letter.DatePrecision.RANGE, datetime.date(2020, 11, 2), "2020-10-20/2020-11-02"),
    ],
)
def test_date_display_follows_the_precision(precision, date_to, shown):
    letter = Letter(date_from=datetime.date(2020, 10, 20), date_to=date_to, date_precision=precision)
    assert letter.date_display == shown


# Natural keys ----------------------------------------------------------------------------------


def records_with_natural_keys():
    """One saved record of every model that has a natural key, two for Mention (agent, place)."""
    country = make_place("Azerbaïdjan", kind="country")
    city = make_place("Gandja", country=country)
    agent = make_agent("Anders Knape")
    letter = make_letter(source=make_source())
    paragraph = Paragraph.objects.create(letter=letter, position=1, text="Madame,")
    return [
        agent,
        AgentName.objects.create(agent=agent, name="A. Knape"),
        city,
        PlaceName.objects.create(place=city, name="Ganja"),
        make_cited_document(),
        letter.source,
        letter,
        Participation.objects.create(letter=letter, agent=agent, role=Participation.Role.SENDER),
        paragraph,
        Footnote.objects.create(letter=letter, paragraph=paragraph, marker="1", text="Note."),
        Citation.objects.create(letter=letter, cited_document=make_cited_document(), quote="la résolution"),
        Mention.objects.create(letter=letter, agent=agent),
        Mention.objects.create(letter=letter, place=city),
    ]


def test_every_natural_key_leads_back_to_its_record():
    records = records_with_natural_keys()
    for record in records:
        manager = type(record)._default_manager
        assert manager.get_by_natural_key(*record.natural_key()) == record, type(record).__name__


def test_every_model_with_a_natural_key_is_covered():
    covered = {type(record) for record in records_with_natural_keys()}
    with_natural_key = {
        model for model in apps.get_app_config("correspondence").get_models() if hasattr(model, "natural_key")
    }
    assert with_natural_key <= covered
