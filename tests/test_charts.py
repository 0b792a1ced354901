"""The charts: counts made in the database, fixed query counts, SVG with text alternatives, escaping, scale."""

import datetime
import json
import re
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from correspondence import charts
from correspondence.charts import map_data, network_data, timeline_data
from correspondence.models import (
    Agent,
    CitedDocument,
    Letter,
    Mention,
    Participation,
    Place,
    PublicationStatus,
    SourceDocument,
)
from correspondence.search import deferred_indexing
from tests.conftest import make_agent, make_mention, make_participation, make_place, make_published_letter

pytestmark = pytest.mark.django_db

SENDER = Participation.Role.SENDER
SIGNATORY = Participation.Role.SIGNATORY
RECIPIENT = Participation.Role.RECIPIENT
COPY = Participation.Role.COPY
PUBLISHED = PublicationStatus.PUBLISHED
DRAFT = PublicationStatus.DRAFT


def letters_of(*letters):
    """Only these letters (the seeds may be in the database too)."""
    return Letter.objects.filter(pk__in=[letter.pk for letter in letters])


def render(kind, chart, language="en"):
    with translation.override(language):
        return render_to_string(f"correspondence/snippets/chart_{kind}.html", {"chart": chart})


def count_queries(function, *args, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        function(*args, **kwargs)
    return len(queries.captured_queries)


def dated(day, precision=Letter.DatePrecision.DAY, **fields):
    """A published letter with a date of the given precision (span computed as the model requires)."""
    span = {
        Letter.DatePrecision.DAY: (day, day),
        Letter.DatePrecision.MONTH: (
            day.replace(day=1),
            (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1),
        ),
        Letter.DatePrecision.YEAR: (datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31)),
    }.get(precision)
    if span:
        fields.setdefault("date_from", span[0])
        fields.setdefault("date_to", span[1])
    return make_published_letter(date=day, date_precision=precision, **fields)


# ---------------------------------------------------------------------------
# Timeline
# ---------------------------------------------------------------------------


def test_timeline_counts_letters_by_month_and_keeps_imprecise_dates_apart():
    letters = [
        dated(datetime.date(2020, 10, 20)),
        dated(datetime.date(2020, 10, 29)),
        dated(datetime.date(2020, 10, 1), Letter.DatePrecision.MONTH),
        dated(datetime.date(2020, 11, 5)),
        dated(datetime.date(2019, 1, 1), Letter.DatePrecision.YEAR),
        dated(
            datetime.date(2020, 10, 1),
            Letter.DatePrecision.RANGE,
            date_from=datetime.date(2020, 10, 1),
            date_to=datetime.date(2020, 12, 15),
        ),
        dated(
            datetime.date(2021, 2, 1),
            Letter.DatePrecision.RANGE,
            date_from=datetime.date(2021, 2, 1),
            date_to=datetime.date(2021, 2, 10),
        ),
        make_published_letter(date=None),
    ]
    chart = timeline_data(letters_of(*letters))
    assert chart["months"] == [
        {"month": datetime.date(2020, 10, 1), "count": 3},
        {"month": datetime.date(2020, 11, 1), "count": 1},
        {"month": datetime.date(2021, 2, 1), "count": 1},
    ]
    assert chart["years"] == [{"year": 2019, "count": 1}, {"year": 2020, "count": 1}]
    assert (chart["undated"], chart["dated"], chart["total"]) == (1, 7, 8)
    assert chart["peak"] == {"month": datetime.date(2020, 10, 1), "count": 3}
    assert (chart["first"], chart["last"]) == (datetime.date(2019, 1, 1), datetime.date(2021, 2, 1))
    svg = chart["svg"]
    assert len(svg["bars"]) == 3
    assert [span["year"] for span in svg["spans"]] == [2019, 2020]


def test_timeline_is_not_multiplied_by_the_joins_of_the_queryset_it_is_given():
    knape, ibrahimov, kiefer = make_agent("Anders Knape"), make_agent("Anar Ibrahimov"), make_agent("Andreas Kiefer")
    letter = dated(datetime.date(2020, 10, 20))
    for agent, role in ((ibrahimov, SENDER), (knape, RECIPIENT), (kiefer, COPY)):
        make_participation(letter, agent, role)
    letters = (
        letters_of(letter).with_people().filter(participations__agent__name__startswith="An").distinct().order_by("-pk")
    )
    assert timeline_data(letters)["months"] == [{"month": datetime.date(2020, 10, 1), "count": 1}]


def test_timeline_of_a_single_month_draws_one_sober_bar():
    chart = timeline_data(letters_of(dated(datetime.date(2020, 10, 20))))
    svg = chart["svg"]
    assert len(svg["bars"]) == 1
    assert float(svg["bars"][0]["width"]) <= 48
    assert [label["unit"] for label in svg["labels"]] == ["month", "year"]
    html = render("timeline", chart)
    assert "2020" in html


def test_timeline_of_thirty_five_years_draws_every_month_and_readable_year_labels():
    letters = Letter.objects.bulk_create(
        Letter(
            slug=f"month-{index}",
            title=f"Lettre {index}",
            status=PUBLISHED,
            date_from=datetime.date(1990 + index // 12, index % 12 + 1, 15),
            date_to=datetime.date(1990 + index // 12, index % 12 + 1, 15),
        )
        for index in range(420)
    )
    chart = timeline_data(Letter.objects.filter(slug__startswith="month-"))
    assert len(letters) == len(chart["months"]) == len(chart["svg"]["bars"]) == 420
    svg = chart["svg"]
    xs = [float(bar["x"]) for bar in svg["bars"]]
    assert xs == sorted(xs) and xs[0] >= svg["left"] and xs[-1] + float(svg["bars"][-1]["width"]) <= svg["right"] + 0.1
    years = [label["date"].year for label in svg["labels"]]
    assert years == list(range(1990, 2025, 2))  # every other year: each year is 19px wide
    gaps = [float(b["x"]) - float(a["x"]) for a, b in zip(svg["labels"], svg["labels"][1:], strict=False)]
    assert min(gaps) >= 34


# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------


@pytest.fixture
def exchange():
    """Ibrahimov writes to Knape twice (once signing for a delegation), Knape answers once."""
    knape = make_agent("Anders Knape", slug="anders-knape")
    ibrahimov = make_agent("Anar Ibrahimov", slug="anar-ibrahimov")
    delegation = make_agent("Délégation", slug="delegation", kind=Agent.Kind.ORGANISATION)
    kiefer = make_agent("Andreas Kiefer", slug="andreas-kiefer")
    hidden = make_agent("Brouillon", slug="brouillon", status=DRAFT)
    first = dated(datetime.date(2020, 10, 20))
    make_participation(first, ibrahimov, SENDER)
    make_participation(first, ibrahimov, SIGNATORY)  # sender and signatory: still one letter
    make_participation(first, knape, RECIPIENT)
    make_participation(first, kiefer, COPY)  # copies are not drawn
    make_participation(first, hidden, RECIPIENT)  # unpublished: not drawn
    second = dated(datetime.date(2020, 10, 23))
    make_participation(second, delegation, SENDER)
    make_participation(second, ibrahimov, SIGNATORY)
    make_participation(second, knape, RECIPIENT)
    reply = dated(datetime.date(2020, 10, 29))
    make_participation(reply, knape, SENDER)
    make_participation(reply, knape, RECIPIENT)  # writing to oneself is no link
    make_participation(reply, ibrahimov, RECIPIENT)
    return {"letters": letters_of(first, second, reply), "knape": knape, "ibrahimov": ibrahimov}


def edges_of(chart):
    return {(edge["source"]["name"], edge["target"]["name"]): edge["weight"] for edge in chart["edges"]}


def test_network_counts_letters_from_senders_and_signatories_to_recipients(exchange):
    chart = network_data(exchange["letters"])
    assert edges_of(chart) == {
        ("Anar Ibrahimov", "Anders Knape"): 2,
        ("Anders Knape", "Anar Ibrahimov"): 1,
        ("Délégation", "Anders Knape"): 1,
    }
    assert chart["edges"][0]["weight"] == 2  # strongest first
    nodes = {node["name"]: node for node in chart["nodes"]}
    assert set(nodes) == {"Anders Knape", "Anar Ibrahimov", "Délégation"}
    assert nodes["Anders Knape"]["url"] == "/people/anders-knape/"
    assert nodes["Délégation"]["url"] == "/organisations/delegation/"
    assert not nodes["Délégation"]["is_person"]


def test_network_keeps_the_busiest_correspondents_and_always_the_focus(exchange):
    chart = network_data(exchange["letters"], limit=2)
    assert {node["name"] for node in chart["nodes"]} == {"Anders Knape", "Anar Ibrahimov"}
    assert chart["omitted"] == 1
    focused = network_data(exchange["letters"], focus_agent=Agent.objects.get(slug="delegation"), limit=2)
    assert {node["name"] for node in focused["nodes"]} == {"Anders Knape", "Délégation"}
    assert focused["focus"]["name"] == "Délégation"
    assert edges_of(focused) == {("Délégation", "Anders Knape"): 1}


def test_network_breaks_ties_at_the_limit_by_name():
    """Names are read for the busiest only, and for all those tied with the last kept: the name decides."""
    yann, zoe, adele = (make_agent(name) for name in ("Yann", "Zoé", "Adèle"))
    letters = []
    for writer in (zoe, adele):
        letter = dated(datetime.date(2020, 1, 1))
        make_participation(letter, writer, SENDER)
        make_participation(letter, yann, RECIPIENT)
        letters.append(letter)
    chart = network_data(letters_of(*letters), limit=2)
    assert {node["name"] for node in chart["nodes"]} == {"Yann", "Adèle"}
    assert chart["omitted"] == 1
    assert [node["name"] for node in network_data(letters_of(*letters), limit=0)["nodes"]] == []


def test_network_layout_is_deterministic_and_centres_the_focus(exchange):
    first = network_data(exchange["letters"], focus_agent=exchange["knape"])
    second = network_data(exchange["letters"], focus_agent=exchange["knape"].pk)
    assert render("network", first) == render("network", second)
    knape = next(node for node in first["svg"]["nodes"] if node["name"] == "Anders Knape")
    assert (knape["x"], knape["y"]) == ("360", "360")
    widths = {(e["source"]["name"], e["target"]["name"]): float(e["width"]) for e in first["svg"]["edges"]}
    assert widths[("Anar Ibrahimov", "Anders Knape")] > widths[("Anders Knape", "Anar Ibrahimov")]


def test_network_links_to_the_pages_of_people_and_organisations_from_its_table(exchange):
    html = render("network", network_data(exchange["letters"]))
    drawing = html[html.index("<svg") : html.index("</svg>")]
    assert "<a " not in drawing  # no links hidden inside an image (axe: nested-interactive)
    assert '<a href="/people/anders-knape/">' in html
    assert '<a href="/organisations/delegation/">Délégation</a>' in html  # in the table, for everyone
    assert "Andreas Kiefer" not in html and "Brouillon" not in html


def test_network_of_a_large_correspondence_fits_the_limit_and_stays_apart():
    letters = []
    with deferred_indexing():
        people = [make_agent(f"Personne {index:02d}") for index in range(60)]
        for index, person in enumerate(people):
            letter = dated(datetime.date(2020, 1 + index % 12, 1 + index % 28))
            make_participation(letter, person, SENDER)
            make_participation(letter, people[(index + 1) % 60], RECIPIENT)
            letters.append(letter)
    chart = network_data(letters_of(*letters), limit=40)
    assert len(chart["nodes"]) <= 40 and chart["omitted"] >= 20
    points = {(node["x"], node["y"]) for node in chart["svg"]["nodes"]}
    assert len(points) == len(chart["svg"]["nodes"])


# ---------------------------------------------------------------------------
# Map
# ---------------------------------------------------------------------------


def test_map_counts_places_written_at_and_mentioned_separately():
    bakou = make_place("Bakou", latitude=40.4093, longitude=49.8671)
    erevan = make_place("Erevan", latitude=40.1792, longitude=44.4991)
    middle_east = make_place("Moyen-Orient")
    hidden = make_place("Brouillon", latitude=41, longitude=45, status=DRAFT)
    first = dated(datetime.date(2020, 11, 5), place_written=bakou)
    second = dated(datetime.date(2020, 11, 6), place_written=bakou)
    third = dated(datetime.date(2020, 10, 23), place_written=erevan)
    make_mention(first, place=erevan)
    make_mention(second, place=erevan)
    make_mention(second, place=bakou)
    make_mention(third, place=middle_east)
    make_mention(third, place=hidden)
    chart = map_data(letters_of(first, second, third))
    counts = {place["name"]: (place["written"], place["mentioned"]) for place in chart["places"]}
    assert counts == {"Bakou": (2, 1), "Erevan": (1, 2), "Moyen-Orient": (0, 1)}
    assert [place["name"] for place in chart["unlocated"]] == ["Moyen-Orient"]
    assert {marker["place"]["name"] for marker in chart["svg"]["markers"]} == {"Bakou", "Erevan"}
    html = render("map", chart)
    assert "Moyen-Orient" in html and "not on the map: no coordinates" in html
    assert f'href="{bakou.get_absolute_url()}"' in html


def test_map_is_fitted_to_the_places_with_padding():
    strasbourg = make_place("Strasbourg", latitude=48.5734, longitude=7.7521)
    bakou = make_place("Bakou", latitude=40.4093, longitude=49.8671)
    letters = letters_of(
        dated(datetime.date(2020, 10, 29), place_written=strasbourg),
        dated(datetime.date(2020, 11, 5), place_written=bakou),
    )
    svg = map_data(letters)["svg"]
    bounds = svg["bounds"]
    assert bounds["west"] < 7.7521 and bounds["east"] > 49.8671
    assert bounds["south"] < 40.4093 and bounds["north"] > 48.5734
    for marker in svg["markers"]:
        assert 10 < float(marker["x"]) < svg["width"] - 10
        assert 10 < float(marker["y"]) < float(svg["height"]) - 10
    assert svg["land"].startswith("M")  # the coasts of Europe and the Caspian are drawn


def test_a_single_place_gets_a_map_of_its_surroundings():
    gandja = make_place("Gandja", latitude=40.6828, longitude=46.3606)
    bounds = map_data(letters_of(dated(datetime.date(2020, 10, 20), place_written=gandja)))["svg"]["bounds"]
    assert bounds["east"] - bounds["west"] >= charts.MAP_MIN_SPAN[0]
    assert bounds["north"] - bounds["south"] >= charts.MAP_MIN_SPAN[1]


def test_the_base_map_is_small_and_well_formed():
    assert charts.COASTLINES.stat().st_size < 100_000
    features = json.loads(charts.COASTLINES.read_text(encoding="utf-8"))["features"]
    assert {feature["kind"] for feature in features} == {"land", "water"}
    for feature in features:
        assert len(feature["ring"]) >= 3, feature["name"]
        assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in feature["ring"]), feature["name"]
    assert (charts.COASTLINES.parent / "README.md").exists()


def test_clipping_a_ring_keeps_the_part_inside_the_frame():
    square = [(-10, -10), (10, -10), (10, 10), (-10, 10)]
    assert sorted(charts.clip_ring(square, 0, 5, 0, 5)) == [(0, 0), (0, 5), (5, 0), (5, 5)]
    assert charts.clip_ring(square, 20, 30, 20, 30) == []


# ---------------------------------------------------------------------------
# What every chart shares
# ---------------------------------------------------------------------------


def small_collection(size):
    """``size`` letters, each from a person to an organisation, written at a place and mentioning another."""
    writer = make_agent("Anar Ibrahimov")
    reader = make_agent("Congrès", kind=Agent.Kind.ORGANISATION)
    written_at = make_place("Nakhitchevan", latitude=39.2089, longitude=45.4122)
    mentioned = make_place("Gandja", latitude=40.6828, longitude=46.3606)
    letters = []
    with deferred_indexing():  # search indexing is not under test: once at the end, not at every save
        for index in range(size):
            letter = dated(datetime.date(2018 + index % 4, 1 + index % 12, 1 + index % 28), place_written=written_at)
            make_participation(letter, writer, SENDER)
            make_participation(letter, reader, RECIPIENT)
            make_mention(letter, place=mentioned)
            letters.append(letter)
    return letters_of(*letters)


@pytest.mark.parametrize(("function", "queries"), [(timeline_data, 1), (network_data, 2), (map_data, 2)])
def test_query_counts_do_not_grow_with_the_number_of_letters(function, queries):
    one = small_collection(1)
    assert count_queries(function, one) == queries
    fifty = small_collection(50)
    assert fifty.count() == 50
    assert count_queries(function, fifty) == queries


@pytest.mark.parametrize("limit", [charts.UNPUBLISHED_LIMIT, 1])
def test_charts_of_the_whole_archive_leave_out_the_letters_not_published(exchange, monkeypatch, limit):
    """
    Every published letter (the unfiltered list): the charts count every row
    from the indexes, less the rows of drafts and letters in review, and come
    out as they do counted letter by letter; what only a draft holds is gone.
    With more unpublished letters than ``UNPUBLISHED_LIMIT`` (here 2 > 1),
    they are counted letter by letter.
    """
    monkeypatch.setattr(charts, "UNPUBLISHED_LIMIT", limit)
    bourg = make_place("Bourg", latitude=40.4093, longitude=49.8671)
    cite = make_place("Cité", latitude=40.1792, longitude=44.4991)
    shown = exchange["letters"].first()
    shown.place_written = bourg
    shown.save()
    make_mention(shown, place=cite)
    delegation = Agent.objects.get(slug="delegation")
    for status in (DRAFT, PublicationStatus.REVIEW):
        hidden = dated(datetime.date(2021, 3, 1), status=status, place_written=bourg)
        make_participation(hidden, exchange["knape"], SENDER)
        make_participation(hidden, delegation, RECIPIENT)  # a pair that only unpublished letters hold
        make_participation(hidden, exchange["ibrahimov"], RECIPIENT)  # a pair that published letters hold too
        make_mention(hidden, place=cite)
        make_mention(hidden, place=bourg)  # mentioned only by unpublished letters

    whole = Letter.objects.published()
    among = Letter.objects.published().filter(pk__gt=0)  # the same letters, counted letter by letter
    assert whole.is_every_published_letter() and not among.is_every_published_letter()
    for function in (timeline_data, network_data, map_data):
        assert function(whole) == function(among), function.__name__
    edges = edges_of(network_data(whole))
    assert ("Anders Knape", "Délégation") not in edges
    assert edges[("Anders Knape", "Anar Ibrahimov")] == 1
    places = {place["name"]: (place["written"], place["mentioned"]) for place in map_data(whole)["places"]}
    assert places["Bourg"] == (1, 0) and places["Cité"] == (0, 1)
    assert all(row["month"].year < 2021 for row in timeline_data(whole)["months"])


@pytest.mark.parametrize("kind", ["timeline", "network", "map"])
def test_an_empty_selection_says_there_is_no_data_without_a_query(kind):
    function = {"timeline": timeline_data, "network": network_data, "map": map_data}[kind]
    with CaptureQueriesContext(connection) as queries:
        chart = function(Letter.objects.none())
    assert len(queries.captured_queries) == 0
    assert chart["svg"] is None
    html = render(kind, chart)
    assert "No data to chart" in html
    assert "<svg" not in html and "<table" not in html
    assert f'<figure class="chart chart--{kind}"' in html


def test_letters_without_a_date_sender_or_place_give_empty_charts():
    letter = make_published_letter(date=None)
    letters = letters_of(letter)
    assert "No data to chart" in render("timeline", timeline_data(letters))
    assert "No data to chart" in render("network", network_data(letters))
    assert "No data to chart" in render("map", map_data(letters))


def test_names_are_escaped_in_every_snippet():
    evil = "<script>alert('x')</script>"
    writer = make_agent(evil)
    reader = make_agent("Anders Knape")
    place = make_place(evil, latitude=40.4, longitude=49.9)
    letter = dated(datetime.date(2020, 10, 20), place_written=place)
    make_participation(letter, writer, SENDER)
    make_participation(letter, reader, RECIPIENT)
    make_mention(letter, place=place)
    letters = letters_of(letter)
    for kind, chart in (
        ("timeline", timeline_data(letters)),
        ("network", network_data(letters)),
        ("map", map_data(letters)),
    ):
        html = render(kind, chart)
        assert "<script" not in html, kind
    assert "&lt;script&gt;" in render("network", network_data(letters))
    assert "&lt;script&gt;" in render("map", map_data(letters))


def test_every_chart_has_a_text_alternative_and_no_inline_style():
    letters = small_collection(3)
    for kind, chart in (
        ("timeline", timeline_data(letters)),
        ("network", network_data(letters)),
        ("map", map_data(letters)),
    ):
        html = render(kind, chart)
        match = re.search(r'<svg [^>]*role="img" aria-labelledby="([^"]+) ([^"]+)"', html)
        assert match, kind
        title_id, desc_id = match.groups()
        assert f'<title id="{title_id}">' in html and f'<desc id="{desc_id}">' in html
        assert "<figcaption" in html and "<details" in html and "<summary>" in html and "<table>" in html
        assert "style=" not in html and "<script" not in html
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


COORDINATE = re.compile(r'\s(?:x|y|cx|cy|r|x1|x2|y1|y2|width|height|stroke-width|viewBox|transform)="[^"]*"')


@pytest.mark.parametrize("language", ["fr", "en"])
def test_coordinates_are_never_localised(language):
    """French writes 12,5 for 12.5: no SVG number may go through the template's localisation."""
    letters = small_collection(3)
    html = "".join(
        render(kind, function(letters), language)
        for kind, function in (("timeline", timeline_data), ("network", network_data), ("map", map_data))
    )
    attributes = COORDINATE.findall(html)
    assert len(attributes) > 50
    assert [attribute for attribute in attributes if "," in attribute] == []
    assert any("." in attribute for attribute in attributes)
    for path in re.findall(r'\sd="([^"]*)"', html):
        assert re.fullmatch(r"[MLQZ0-9., -]+", path), path[:80]


# ---------------------------------------------------------------------------
# The seed collection
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Load the seeds once for the module (a load takes seconds), and remove them afterwards."""
    with django_db_blocker.unblock():
        call_command("loaddata", "seeds", verbosity=0)
        yield
        for model in (Letter, SourceDocument, CitedDocument, Place, Agent):
            model.objects.all().delete()


@pytest.fixture
def seed_letters(seeded, db):
    return Letter.objects.published().with_people()


def test_the_seeds_give_a_timeline_of_four_months(seed_letters):
    chart = timeline_data(seed_letters)
    assert [(row["month"], row["count"]) for row in chart["months"]] == [
        (datetime.date(2018, 9, 1), 1),
        (datetime.date(2020, 10, 1), 3),
        (datetime.date(2020, 11, 1), 1),
        (datetime.date(2021, 2, 1), 2),
    ]
    html = render("timeline", chart)
    assert 'datetime="2018-09"' in html and 'datetime="2021-02"' in html


def test_the_seeds_give_a_network_around_anders_knape(seed_letters):
    chart = network_data(seed_letters)
    names = {node["name"] for node in chart["nodes"]}
    assert "Anders Knape" in names and "António Guterres" in names
    busiest = chart["svg"]["nodes"][0]
    assert busiest["name"] == "Anders Knape" and (busiest["x"], busiest["y"]) == ("360", "360")  # the hub, centred
    edges = edges_of(chart)
    assert edges[("Anar Ibrahimov", "Anders Knape")] == 1 and edges[("Anders Knape", "Anar Ibrahimov")] == 1
    knape = Agent.objects.get(slug="anders-knape")
    own = network_data(seed_letters.filter(participations__agent=knape).distinct(), focus_agent=knape)
    assert own["focus"]["name"] == "Anders Knape"
    assert all("Anders Knape" in (edge["source"]["name"], edge["target"]["name"]) for edge in own["edges"])
    html = render("network", own)
    assert "Association… villes d&#x27;Azerbaïdjan" in html  # cut names stay told apart


def test_the_seeds_give_a_map_with_bakou_strasbourg_and_erevan(seed_letters):
    chart = map_data(seed_letters)
    counts = {place["name"]: (place["written"], place["mentioned"]) for place in chart["places"]}
    assert counts["Bakou"] == (1, 0) and counts["Strasbourg"] == (1, 0) and counts["Erevan"] == (1, 0)
    assert counts["Azerbaïdjan"][1] == 6
    assert [place["name"] for place in chart["unlocated"]] == ["Moyen-Orient"]
    drawn = {marker["place"]["name"] for marker in chart["svg"]["markers"]}
    assert {"Bakou", "Strasbourg", "Erevan", "New York", "Dacca"} <= drawn
    detail = {marker["place"]["name"] for marker in chart["detail"]["markers"]}
    assert {"Bakou", "Erevan", "Gandja"} <= detail and "Strasbourg" not in detail
    html = render("map", chart)
    for name in ("Bakou", "Strasbourg", "Erevan", "Moyen-Orient"):
        assert name in html


def test_the_charts_take_the_list_of_letters_as_filtered_and_searched(seed_letters):
    """What the list view will pass: its filterset's queryset, with full-text search and to-many filters."""
    from correspondence.filters import LetterFilterSet

    filterset = LetterFilterSet(data={"q": "Knape", "participant": "anders-knape"}, queryset=seed_letters)
    assert filterset.is_valid(), filterset.errors
    letters = filterset.qs
    slugs = set(letters.values_list("slug", flat=True))
    assert slugs and len(slugs) == letters.count()
    timeline = timeline_data(letters)
    assert timeline["total"] == len(slugs)
    network = network_data(letters)
    assert "Anders Knape" in {node["name"] for node in network["nodes"]}
    written = sum(place["written"] for place in map_data(letters)["places"])
    assert written == Letter.objects.filter(slug__in=slugs, place_written__isnull=False).count()


def test_the_seed_charts_render_whole_figures(seed_letters):
    html = "".join(
        render(kind, function(seed_letters))
        for kind, function in (("timeline", timeline_data), ("network", network_data), ("map", map_data))
    )
    assert html.count("<figure") == 3 and html.count("</figure>") == 3
    assert html.count('role="img"') == 4  # the map has a detail of the Caucasus


# ---------------------------------------------------------------------------
# Scale
# ---------------------------------------------------------------------------


def test_ten_thousand_letters_chart_quickly():
    agents = Agent.objects.bulk_create(
        Agent(
            slug=f"bulk-agent-{index}",
            name=f"Correspondant {index}",
            kind=Agent.Kind.PERSON if index % 3 else Agent.Kind.ORGANISATION,
        )
        for index in range(120)
    )
    places = Place.objects.bulk_create(
        Place(slug=f"bulk-place-{index}", name=f"Lieu {index}", latitude=35 + index % 15, longitude=20 + index % 30)
        for index in range(60)
    )
    agent_ids = [agent.pk for agent in Agent.objects.filter(slug__startswith="bulk-agent-").order_by("pk")]
    place_ids = [place.pk for place in Place.objects.filter(slug__startswith="bulk-place-").order_by("pk")]
    Letter.objects.bulk_create(
        (
            Letter(
                slug=f"bulk-{index}",
                title=f"Lettre {index}",
                status=PUBLISHED,
                date_from=datetime.date(1990 + index % 35, 1 + index % 12, 1 + index % 28),
                date_to=datetime.date(1990 + index % 35, 1 + index % 12, 1 + index % 28),
                place_written_id=place_ids[index % 60],
            )
            for index in range(10_000)
        ),
        batch_size=1000,
    )
    letter_ids = list(Letter.objects.filter(slug__startswith="bulk-").order_by("pk").values_list("pk", flat=True))
    Participation.objects.bulk_create(
        (
            Participation(letter_id=letter_id, agent_id=agent_ids[(index * 7 + offset) % 120], role=role)
            for index, letter_id in enumerate(letter_ids)
            for offset, role in ((0, SENDER), (1 + index % 5, RECIPIENT))
        ),
        batch_size=2000,
    )
    Mention.objects.bulk_create(
        (
            Mention(letter_id=letter_id, place_id=place_ids[(index * 11) % 60])
            for index, letter_id in enumerate(letter_ids)
        ),
        batch_size=2000,
    )
    assert len(agents) == 120 and len(places) == 60
    if connection.vendor == "postgresql":
        # As autovacuum does after a bulk load: without statistics (or with those of the tiny seed
        # tables) the planner takes 10,000 rows for 1 and may cross-join places and letters.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    letters = Letter.objects.published().filter(slug__startswith="bulk-").with_people()

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        timeline, network, letter_map = timeline_data(letters), network_data(letters), map_data(letters)
    html = render("timeline", timeline) + render("network", network) + render("map", letter_map)
    elapsed = time.perf_counter() - started

    assert len(queries.captured_queries) == 5
    assert timeline["total"] == 10_000 and len(timeline["months"]) == 420
    assert 30 <= len(network["nodes"]) <= 40 and len(network["nodes"]) + network["omitted"] == 120
    assert sum(place["written"] for place in letter_map["places"]) == 10_000
    assert sum(place["mentioned"] for place in letter_map["places"]) == 10_000
    assert len(html) < 400_000
    assert elapsed < 5, f"charts of 10,000 letters took {elapsed:.2f}s"


def test_the_network_draws_only_its_strongest_lines_and_says_how_many_it_leaves_out(client):
    """Ten writers each writing to ten recipients: 100 lines, of which the strongest are drawn."""
    writers = [make_agent(f"Writer {n}", slug=f"writer-{n}") for n in range(10)]
    readers = [make_agent(f"Reader {n}", slug=f"reader-{n}") for n in range(10)]
    for w, writer in enumerate(writers):
        for r, reader in enumerate(readers):
            for copy in range(1 + (w + r) % 3):
                letter = make_published_letter(f"L {w} {r} {copy}", slug=f"l-{w}-{r}-{copy}")
                make_participation(letter, writer, Participation.Role.SENDER)
                make_participation(letter, reader, Participation.Role.RECIPIENT)
    chart = network_data(Letter.objects.published().filter(slug__startswith="l-"), limit=40, edge_limit=30)
    assert len(chart["edges"]) == 30
    assert chart["omitted_edges"] == 70
    assert min(edge["weight"] for edge in chart["edges"]) >= 2  # the heaviest lines are kept
    response = client.get("/letters/", HTTP_ACCEPT_LANGUAGE="en")
    network = response.context["network"]
    assert len(network["edges"]) == charts.NETWORK_EDGE_LIMIT
    assert network["omitted_edges"] >= 100 - charts.NETWORK_EDGE_LIMIT
    assert b"weaker lines between them are left out" in response.content
