"""
Charts of the letters, drawn on the server as SVG: when they were written (a
timeline by month), who wrote to whom (a network) and where they were written
and what places they name (a map). No JavaScript, no external service.

Usage, in a view and its template::

    from correspondence.charts import map_data, network_data, timeline_data

    context["timeline"] = timeline_data(letters)
    context["network"] = network_data(letters, focus_agent=agent)
    context["letter_map"] = map_data(letters)

    {% include "correspondence/snippets/chart_timeline.html" with chart=timeline %}

Each function takes a queryset of letters, already narrowed to what the page
shows (published, the list's filters), counts in the database with a fixed
number of queries whatever the number of letters (one for the timeline, two
for the network and the map; none for an empty queryset), and returns plain
data: the figures, which the template also lists in a table as the chart's
text alternative, and ``svg``, the geometry to draw (coordinates as strings,
never localised), or None when there is nothing to draw.

Only published people, organisations and places appear, as in the facets of
the list of letters: an unpublished record has no page to link to.
"""

import datetime
import json
import math
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import CharField, Count, F, QuerySet
from django.db.models.functions import Cast, Substr
from django.urls import reverse

from correspondence.models import Agent, Letter, Mention, Participation, PublicationStatus

PUBLISHED = PublicationStatus.PUBLISHED

#: Who "wrote" a letter in the network: its senders and its signatories.
WRITER_ROLES = (Participation.Role.SENDER, Participation.Role.SIGNATORY)
#: To whom: its recipients (copies are left out).
ADDRESSEE_ROLES = (Participation.Role.RECIPIENT,)

COASTLINES = Path(__file__).resolve().parent / "geodata" / "coastlines.json"

#: Rough width of a character of the charts' 11px labels, to keep them apart.
CHAR_WIDTH = 6.2


def letter_ids(letters):
    """The letters' primary keys as a subquery, free of the queryset's ordering, annotations and joins."""
    return letters.order_by().values("pk")


#: Up to this many unpublished letters, charts of every published letter count all rows and take theirs off.
UNPUBLISHED_LIMIT = 1000


def letters_among(letters):
    """
    What to count the rows linked to ``letters`` over: (letters, None), the
    letters' ids as a subquery; or, for every published letter (the
    unfiltered list), (None, unpublished): every row, from an index alone,
    less the rows of the drafts and letters in review (usually a few, read
    first by their ids, up to ``UNPUBLISHED_LIMIT``), whose counts the caller
    takes off (``less_unpublished``). Reading every link from an index costs
    far less than testing each one's letter.
    """
    if letters.is_every_published_letter():
        ids = list(Letter.objects.unpublished().values_list("pk", flat=True)[: UNPUBLISHED_LIMIT + 1])
        if len(ids) <= UNPUBLISHED_LIMIT:
            return None, ids
    return letter_ids(letters), None


def links_among(rows, letters, field="letter"):
    """``rows`` (links to letters through ``field``) as ``letters_among`` says: (rows, unpublished rows or None)."""
    among, unpublished = letters_among(letters)
    if among is None:
        return rows, rows.filter(**{f"{field}__in": unpublished})
    return rows.filter(**{f"{field}__in": among}), None


def counted_letters(letters):
    """
    ``letters`` to count over, free of their ordering, annotations and joins:
    every published letter as such (counted from indexes alone), other
    selections by id.
    """
    if letters.is_every_published_letter():
        return Letter.objects.published()
    return Letter.objects.filter(pk__in=letter_ids(letters))


def less_unpublished(rows, unpublished, key, count="count"):
    """The ``rows`` (dicts) with the counts of the same ``key`` among ``unpublished`` taken off; none left at 0."""
    taken = {} if unpublished is None else {key(row): row[count] for row in unpublished}
    if not taken:  # the usual case: no draft holds any of these links (70,000 pairs of a network: 90 ms)
        return list(rows)
    kept = []
    for row in rows:
        row[count] -= taken.get(key(row), 0)
        if row[count] > 0:
            kept.append(row)
    return kept


def svg_number(value):
    """A number for an SVG attribute: one decimal at most, and never localised (12.5, not 12,5)."""
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def nice_scale(maximum, intervals=4):
    """(top, step) of a count axis: a round step (1, 2 or 5 × 10ⁿ) and the first multiple of it ≥ ``maximum``."""
    if maximum <= 0:
        return 1, 1
    raw = maximum / intervals
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    return -(-maximum // step) * step, step


def short_label(name, length=26):
    return name if len(name) <= length else name[: length - 1].rstrip() + "…"


def short_labels(names, length=26):
    """
    {name: label}: each name cut to ``length`` characters; names whose cut
    forms would be the same keep their first word and what tells them apart
    ("Association… villes d'Azerbaïdjan", "Association… communes d'Azerbaïdjan").
    """
    labels = {name: short_label(name, length) for name in names}
    same = defaultdict(set)
    for name, label in labels.items():
        same[label].add(name)
    for group in same.values():
        if len(group) < 2:
            continue
        group = sorted(group)
        words = [name.split(" ") for name in group]
        shared = 0
        while all(len(w) > shared + 1 for w in words) and len({w[shared] for w in words}) == 1:
            shared += 1
        for name, name_words in zip(group, words, strict=True):
            if shared:
                labels[name] = short_label(f"{name_words[0]}… {' '.join(name_words[shared:])}", length + 10)
    return labels


# ---------------------------------------------------------------------------
# Timeline: letters by month
# ---------------------------------------------------------------------------

TIMELINE_WIDTH = 720
TIMELINE_LEFT = 40
TIMELINE_RIGHT = 14
TIMELINE_TOP = 12
TIMELINE_PLOT_HEIGHT = 150


def add_months(day, count):
    years, month = divmod(day.month - 1 + count, 12)
    return datetime.date(day.year + years, month + 1, 1)


def months_between(start, day):
    """How many months ``day`` comes after ``start`` (both first days of a month)."""
    return (day.year - start.year) * 12 + day.month - start.month


def year_month(field):
    """
    ``YYYY-MM`` of a date, in SQL: the first seven characters of its ISO text
    (SQLite stores dates so; PostgreSQL writes them so). On SQLite, Django's
    ``TruncMonth`` calls a Python function for every row: 4 times slower.
    """
    return Substr(Cast(field, CharField()), 1, 7)


def month_start(text):
    """The first day of the month of a ``YYYY-MM`` text (None stays None)."""
    return None if text is None else datetime.date(int(text[:4]), int(text[5:7]), 1)


def timeline_data(letters, *, chart_id="chart-timeline"):
    """
    The letters counted by month, in one query (grouped by the month of
    ``date_from`` and of ``date_to``).

    A letter whose earliest and latest dates fall in the same month (dated to
    the day, to the month, or to a span within a month) counts in that month.
    A letter dated only to a year, or to a span longer than a month, is not
    put in a month it may not belong to: it counts separately, in the year its
    span begins (``years``), drawn as a band under that year. Undated letters
    are only counted (``undated``).
    """
    rows = (
        counted_letters(letters)  # every published letter: from the (status, date_from, date_to) index
        .values(first_month=year_month("date_from"), last_month=year_month("date_to"))
        .annotate(count=Count("*"))
        .order_by()
    )
    by_month, by_year, undated = Counter(), Counter(), 0
    for row in rows:
        first, last, count = month_start(row["first_month"]), month_start(row["last_month"]), row["count"]
        if first is None:
            undated += count
        elif last is None or last == first:
            by_month[first] += count
        else:
            by_year[first.year] += count
    months = [{"month": month, "count": count} for month, count in sorted(by_month.items())]
    years = [{"year": year, "count": count} for year, count in sorted(by_year.items())]
    peak = max(months, key=lambda row: row["count"], default=None)  # the earliest of equal months
    dated = sum(by_month.values()) + sum(by_year.values())
    return {
        "id": chart_id,
        "total": dated + undated,
        "dated": dated,
        "undated": undated,
        "months": months,
        "years": years,
        "peak": peak,
        "first": min([*by_month, *(datetime.date(year, 1, 1) for year in by_year)], default=None),
        "last": max([*by_month, *(datetime.date(year, 12, 1) for year in by_year)], default=None),
        "svg": timeline_svg(by_month, by_year) if dated else None,
    }


def timeline_svg(by_month, by_year):
    starts = [*by_month, *(datetime.date(year, 1, 1) for year in by_year)]
    ends = [*by_month, *(datetime.date(year, 12, 1) for year in by_year)]
    start, end = min(starts), max(ends)
    month_count = months_between(start, end) + 1
    left, plot_width = TIMELINE_LEFT, TIMELINE_WIDTH - TIMELINE_LEFT - TIMELINE_RIGHT
    slot = plot_width / month_count
    base = TIMELINE_TOP + TIMELINE_PLOT_HEIGHT
    top_value, step = nice_scale(max(by_month.values(), default=0))

    bar_width = min(slot * 0.8, 48) if slot >= 6 else slot
    bars = []
    for month, count in sorted(by_month.items()):
        height = max(count / top_value * TIMELINE_PLOT_HEIGHT, 1.5)
        x = left + months_between(start, month) * slot + (slot - bar_width) / 2
        bars.append(
            {
                "x": svg_number(x),
                "y": svg_number(base - height),
                "width": svg_number(bar_width),
                "height": svg_number(height),
                "month": month,
                "count": count,
            }
        )

    y_ticks = [
        {"y": svg_number(base - value / top_value * TIMELINE_PLOT_HEIGHT), "value": value}
        for value in range(0, top_value + 1, step)
    ]

    ticks, labels = [], []
    label_y, second_row_y = base + 14, base + 28
    if month_count <= 24:
        every = next(n for n in (1, 2, 3, 6, 12) if n * slot >= 34)
        for index in range(month_count):
            month = add_months(start, index)
            centre = left + (index + 0.5) * slot
            if (month.month - 1) % every == 0:
                ticks.append({"x": svg_number(centre)})
                labels.append(
                    {"x": svg_number(centre), "y": label_y, "anchor": "middle", "unit": "month", "date": month}
                )
            if index == 0 or month.month == 1:
                labels.append(
                    {
                        "x": svg_number(left + index * slot + 2),
                        "y": second_row_y,
                        "anchor": "start",
                        "unit": "year",
                        "date": month,
                    }
                )
        bottom = second_row_y + 6
    else:
        year_width = 12 * slot
        every = next(n for n in (1, 2, 5, 10, 20, 25, 50, 100, 250, 500, 1000) if n * year_width >= 34)
        for year in range(start.year, end.year + 1):
            boundary = left + months_between(start, datetime.date(year, 1, 1)) * slot
            if boundary >= left:
                ticks.append({"x": svg_number(boundary)})
            if year % every:
                continue
            if every == 1:
                visible_from = max(boundary, left)
                visible_to = min(boundary + year_width, left + plot_width)
                if visible_to - visible_from < 26:
                    continue
                x = (visible_from + visible_to) / 2
            elif boundary >= left:
                x = min(boundary, TIMELINE_WIDTH - 14)
            else:
                continue
            if labels and x - float(labels[-1]["x"]) < 34:  # pushed back from the right edge onto its neighbour
                continue
            labels.append(
                {
                    "x": svg_number(x),
                    "y": label_y,
                    "anchor": "middle",
                    "unit": "year",
                    "date": datetime.date(year, 1, 1),
                }
            )
        bottom = label_y + 6

    spans = []
    if by_year:
        lane_y = bottom + 4
        for year, count in sorted(by_year.items()):
            x0 = max(left + months_between(start, datetime.date(year, 1, 1)) * slot, left)
            x1 = min(left + (months_between(start, datetime.date(year, 12, 1)) + 1) * slot, left + plot_width)
            spans.append(
                {
                    "x": svg_number(x0 + 0.5),
                    "y": svg_number(lane_y),
                    "width": svg_number(max(x1 - x0 - 1, 1)),
                    "height": 16,
                    "text_x": svg_number((x0 + x1) / 2),
                    "text_y": svg_number(lane_y + 12),
                    "show_count": x1 - x0 >= 8 * len(str(count)) + 4,
                    "year": year,
                    "count": count,
                }
            )
        bottom = lane_y + 20

    return {
        "width": TIMELINE_WIDTH,
        "height": svg_number(bottom),
        "left": left,
        "right": left + plot_width,
        "top": TIMELINE_TOP,
        "base": base,
        "y_ticks": y_ticks,
        "bars": bars,
        "ticks": ticks,
        "tick_bottom": base + 4,
        "labels": labels,
        "spans": spans,
    }


# ---------------------------------------------------------------------------
# Network: who wrote to whom
# ---------------------------------------------------------------------------

NETWORK_SIZE = 720
NETWORK_MIN_RADIUS = 120


def agent_url(slug, kind):
    return Agent(slug=slug, kind=kind).get_absolute_url()


#: Lines drawn (and listed) at most in a network: the strongest. Forty busy correspondents can share
#: hundreds of lines, which no one can read and which weigh hundreds of kilobytes.
NETWORK_EDGE_LIMIT = 80


def network_data(letters, focus_agent=None, limit=40, *, chart_id="chart-network", edge_limit=NETWORK_EDGE_LIMIT):
    """
    Who wrote to whom in these letters: an edge from each sender or signatory
    to each recipient of a letter, weighted by the number of letters, counted
    by id in one query (participations joined to the participations of the
    same letter), and the names of those drawn in a second. The ``limit``
    people and organisations with the most letters in the network are drawn
    (and ``focus_agent``, a person's or organisation's own page, always), on
    a circle, in a deterministic order that keeps correspondents together;
    ``focus_agent``, or a hub that corresponds with most of the others, goes
    in the centre.
    """

    among, unpublished = letters_among(letters)
    rows = less_unpublished(
        writer_addressee_pairs(among),
        None if unpublished is None else writer_addressee_pairs(unpublished),
        lambda row: (row["source"], row["target"]),
        "weight",
    )
    letter_totals, correspondents, all_edges = Counter(), defaultdict(set), []
    for row in rows:
        source, target, weight = row["source"], row["target"], row["weight"]
        if source == target:
            continue
        all_edges.append((source, target, weight))
        letter_totals[source] += weight
        letter_totals[target] += weight
        correspondents[source].add(target)
        correspondents[target].add(source)

    def busyness(agent_id):
        return (-letter_totals[agent_id], -len(correspondents[agent_id]))

    # Names are read for the busiest only (and those tied with the last of them, whom names order), not
    # grouped with each of a common word's tens of thousands of pairs (SQLite: 0.9 -> 0.7 s for that query).
    focus_id = getattr(focus_agent, "pk", focus_agent)
    ranked = sorted(letter_totals, key=busyness)
    if 0 < limit < len(ranked):
        last = busyness(ranked[limit - 1])
        ranked = [agent_id for agent_id in ranked if busyness(agent_id) <= last]
    elif limit <= 0:
        ranked = []
    named = set(ranked) | ({focus_id} & set(letter_totals))
    agents = Agent.objects.filter(pk__in=named).values("id", "name", "slug", "kind") if named else []
    nodes = {agent["id"]: agent for agent in agents}

    def rank(node):
        return (*busyness(node["id"]), node["name"].casefold(), node["id"])

    kept = sorted((nodes[agent_id] for agent_id in ranked if agent_id in nodes), key=rank)[: max(limit, 0)]
    if focus_id in nodes and nodes[focus_id] not in kept and limit > 0:
        kept = [*kept[: limit - 1], nodes[focus_id]]
    kept_ids = {node["id"] for node in kept}
    edge_list = [edge for edge in all_edges if edge[0] in kept_ids and edge[1] in kept_ids]
    between = len(edge_list)
    if between > edge_limit:
        edge_list = sorted(edge_list, key=lambda edge: (-edge[2], edge[0], edge[1]))[:edge_limit]
    linked = {end for edge in edge_list for end in edge[:2]}
    kept = [node for node in kept if node["id"] in linked]

    degree = Counter()
    for source, target, weight in edge_list:
        degree[source] += weight
        degree[target] += weight
    labels = short_labels({node["name"] for node in kept})
    shown = {}
    for node in kept:
        shown[node["id"]] = {
            "id": node["id"],
            "name": node["name"],
            "label": labels[node["name"]],
            "url": agent_url(node["slug"], node["kind"]),
            "is_person": node["kind"] == Agent.Kind.PERSON,
            "is_focus": node["id"] == focus_id,
            "letters": degree[node["id"]],
        }
    edge_list.sort(key=lambda edge: (-edge[2], shown[edge[0]]["name"].casefold(), shown[edge[1]]["name"].casefold()))
    edges = [
        {"source": shown[source], "target": shown[target], "weight": weight} for source, target, weight in edge_list
    ]
    node_list = sorted(shown.values(), key=lambda node: (-node["letters"], node["name"].casefold(), node["id"]))
    return {
        "id": chart_id,
        "nodes": node_list,
        "edges": edges,
        "omitted": len(letter_totals) - len(node_list),
        "omitted_edges": between - len(edges),
        "focus": shown.get(focus_id),
        "svg": network_svg(node_list, edges, focus_id) if edges else None,
    }


def writer_addressee_pairs(letters):
    """
    [{source, target, weight}]: each published writer and published addressee
    of the same letters, with the number of those letters, by agent id.
    ``letters``: a subquery of their ids, or a list of ids, or None for every
    letter. The letters come first, so that SQLite, which joins in the order
    written (``CROSS JOIN``), reads the links of those letters alone, not
    every link of the archive (10,000 of 100,000 letters: 0.5 s against 40 ms).
    """
    if letters is not None and not isinstance(letters, QuerySet):
        if not letters:
            return []
        letters = Letter.objects.filter(pk__in=letters).values("pk")
    connection = connections[Participation.objects.db if letters is None else letters.db]
    quote = connection.ops.quote_name
    participation, agent = quote(Participation._meta.db_table), quote(Agent._meta.db_table)
    params = []
    if letters is None:
        first, letter = f"{participation} w", "w.letter_id"
    else:
        try:
            compiler = letters.values(letter_pk=F("pk")).query.get_compiler(connection=connection)
            subquery, params = compiler.as_sql()
        except EmptyResultSet:  # .none(): nothing to ask
            return []
        first, letter = f"({subquery}) l CROSS JOIN {participation} w", "l.letter_pk"
        params = list(params)
    writers = ", ".join("%s" for _ in WRITER_ROLES)
    addressees = ", ".join("%s" for _ in ADDRESSEE_ROLES)
    sql = (
        f"SELECT w.agent_id, a.agent_id, COUNT(DISTINCT w.letter_id) FROM {first} "  # noqa: S608 - names from models
        f"CROSS JOIN {participation} a CROSS JOIN {agent} wa CROSS JOIN {agent} aa "
        f"WHERE w.letter_id = {letter} AND a.letter_id = {letter} AND w.role IN ({writers}) "
        f"AND a.role IN ({addressees}) AND wa.id = w.agent_id AND aa.id = a.agent_id "
        "AND wa.status = %s AND aa.status = %s GROUP BY w.agent_id, a.agent_id"
    )
    params += [str(value) for value in (*WRITER_ROLES, *ADDRESSEE_ROLES, PUBLISHED, PUBLISHED)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [{"source": source, "target": target, "weight": weight} for source, target, weight in cursor.fetchall()]


def circle_order(nodes, edges):
    """
    The nodes in the order they go round the circle: breadth first from the
    busiest, strongest correspondents first, so that those who write to each
    other sit side by side; each group of connected nodes after the last.
    """
    neighbours = defaultdict(Counter)
    for edge in edges:
        source, target = edge["source"]["id"], edge["target"]["id"]
        neighbours[source][target] += edge["weight"]
        neighbours[target][source] += edge["weight"]
    position = {node["id"]: index for index, node in enumerate(nodes)}  # nodes come ranked
    by_id = {node["id"]: node for node in nodes}
    order, seen = [], set()
    for node in nodes:
        if node["id"] in seen:
            continue
        seen.add(node["id"])
        queue = [node["id"]]
        while queue:
            current = queue.pop(0)
            order.append(by_id[current])
            following = sorted(
                (other for other in neighbours[current] if other in by_id and other not in seen),
                key=lambda other: (-neighbours[current][other], position[other]),
            )
            seen.update(following)
            queue.extend(following)
    return order


def network_svg(nodes, edges, focus_id):
    centre = NETWORK_SIZE / 2
    most = max(node["letters"] for node in nodes)
    for node in nodes:
        node["r"] = 3.5 + 6.5 * math.sqrt(node["letters"] / most)

    hub = next((node for node in nodes if node["id"] == focus_id), None)
    if hub is None and len(nodes) >= 5:
        busiest = nodes[0]
        partners = {edge["target"]["id"] for edge in edges if edge["source"] is busiest}
        partners |= {edge["source"]["id"] for edge in edges if edge["target"] is busiest}
        if len(partners) >= 0.6 * (len(nodes) - 1):
            hub = busiest
    ring = [node for node in nodes if node is not hub]
    longest = max((len(node["label"]) for node in ring), default=0)
    radius = max(centre - 16 - 10 - longest * CHAR_WIDTH, NETWORK_MIN_RADIUS)

    positions = {}
    if hub is not None:
        positions[hub["id"]] = (centre, centre)
        hub.update(
            x=svg_number(centre),
            y=svg_number(centre),
            label_x=svg_number(centre),
            label_y=svg_number(centre + hub["r"] + 14),
            anchor="middle",
            rotate="0",
        )
    for index, node in enumerate(circle_order(ring, edges)):
        angle = math.pi + 2 * math.pi * index / len(ring)
        x, y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
        positions[node["id"]] = (x, y)
        label_distance = radius + node["r"] + 5
        degrees = math.degrees(angle) % 360
        right_side = degrees < 90 or degrees > 270
        node.update(
            x=svg_number(x),
            y=svg_number(y),
            label_x=svg_number(centre + label_distance * math.cos(angle)),
            label_y=svg_number(centre + label_distance * math.sin(angle)),
            anchor="start" if right_side else "end",
            rotate=svg_number(degrees if right_side else degrees - 180),
        )
    extent = [(x - 8, y - 8) for x, y in positions.values()] + [(x + 8, y + 8) for x, y in positions.values()]
    for node in ring:
        angle = math.radians(float(node["rotate"]) + (0 if node["anchor"] == "start" else 180))
        reach = radius + node["r"] + 5 + len(node["label"]) * CHAR_WIDTH
        extent.append((centre + reach * math.cos(angle), centre + reach * math.sin(angle)))
    if hub is not None:
        half = len(hub["label"]) * CHAR_WIDTH / 2
        extent += [(centre - half, centre + hub["r"] + 20), (centre + half, centre + hub["r"] + 20)]
    min_x = max(min(x for x, _y in extent) - 6, 0)
    max_x = min(max(x for x, _y in extent) + 6, NETWORK_SIZE)
    min_y = max(min(y for _x, y in extent) - 6, 0)
    max_y = min(max(y for _x, y in extent) + 6, NETWORK_SIZE)
    for node in nodes:
        node["side"] = svg_number(node["r"] * 1.7)
        node["corner_x"] = svg_number(positions[node["id"]][0] - node["r"] * 0.85)
        node["corner_y"] = svg_number(positions[node["id"]][1] - node["r"] * 0.85)
        node["radius"] = svg_number(node["r"])

    heaviest = max(edge["weight"] for edge in edges)
    drawn = []
    for edge in sorted(edges, key=lambda edge: edge["weight"]):  # the heaviest on top
        source, target = edge["source"], edge["target"]
        (x0, y0), (x2, y2) = positions[source["id"]], positions[target["id"]]
        dx, dy = x2 - x0, y2 - y0
        length = math.hypot(dx, dy) or 1
        bend = 0.12 * length + 6  # to the left of the direction of writing: a reply runs alongside
        cx, cy = (x0 + x2) / 2 + dy / length * bend, (y0 + y2) / 2 - dx / length * bend
        start = towards((x0, y0), (cx, cy), source["r"] + 1.5)
        end = towards((x2, y2), (cx, cy), target["r"] + 2)
        width = 1 + 4 * (edge["weight"] - 1) / (heaviest - 1) if heaviest > 1 else 1.25
        drawn.append(
            {
                "d": f"M{svg_number(start[0])},{svg_number(start[1])} Q{svg_number(cx)},{svg_number(cy)} "
                f"{svg_number(end[0])},{svg_number(end[1])}",
                "width": svg_number(width),
                "source": source,
                "target": target,
                "weight": edge["weight"],
            }
        )
    return {
        "view_box": " ".join(svg_number(value) for value in (min_x, min_y, max_x - min_x, max_y - min_y)),
        "width": svg_number(max_x - min_x),
        "height": svg_number(max_y - min_y),
        "nodes": nodes,
        "edges": drawn,
    }


def towards(point, target, distance):
    """The point ``distance`` from ``point`` on the way to ``target``."""
    dx, dy = target[0] - point[0], target[1] - point[1]
    length = math.hypot(dx, dy) or 1
    return point[0] + dx / length * distance, point[1] + dy / length * distance


# ---------------------------------------------------------------------------
# Map: places written from and mentioned
# ---------------------------------------------------------------------------

MAP_WIDTH = 720
MAP_MIN_HEIGHT = 300
MAP_MAX_HEIGHT = 520
MAP_MIN_SPAN = (6.0, 4.0)  # degrees of longitude and latitude shown at least, around a single place
MARKER_MIN, MARKER_MAX = 3.0, 14.0


@cache
def coastlines():
    """The hand-drawn base map (see geodata/README.md): [(kind, name, [(lon, lat), ...]), ...]."""
    document = json.loads(COASTLINES.read_text(encoding="utf-8"))
    return tuple(
        (feature["kind"], feature["name"], tuple((float(lon), float(lat)) for lon, lat in feature["ring"]))
        for feature in document["features"]
    )


def map_data(letters, *, chart_id="chart-map"):
    """
    The places these letters were written at and the places they mention,
    each with its number of letters, in two queries. Places with coordinates
    are drawn on the hand-drawn base map in an equirectangular projection
    fitted to them; the others are listed in the table only.
    """
    written = (
        counted_letters(letters)
        .filter(place_written__status=PUBLISHED)
        .values(
            place_id=F("place_written"),
            place_name=F("place_written__name"),
            place_slug=F("place_written__slug"),
            place_latitude=F("place_written__latitude"),
            place_longitude=F("place_written__longitude"),
        )
        .annotate(count=Count("*"))
        .order_by()
    )

    def per_place(mentions):
        return (
            mentions.filter(place__status=PUBLISHED)
            .values(
                "place_id",
                place_name=F("place__name"),
                place_slug=F("place__slug"),
                place_latitude=F("place__latitude"),
                place_longitude=F("place__longitude"),
            )
            .annotate(count=Count("*"))  # a letter mentions a place once (mention_unique_place)
            .order_by()
        )

    mentions, unpublished = links_among(Mention.objects.all(), letters)
    mentioned = less_unpublished(
        per_place(mentions), None if unpublished is None else per_place(unpublished), lambda row: row["place_id"]
    )
    places = {}
    for key, rows in (("written", written), ("mentioned", mentioned)):
        for row in rows:
            place = places.setdefault(
                row["place_id"],
                {
                    "id": row["place_id"],
                    "name": row["place_name"],
                    "url": reverse("correspondence:place_detail", kwargs={"slug": row["place_slug"]}),
                    "latitude": None if row["place_latitude"] is None else float(row["place_latitude"]),
                    "longitude": None if row["place_longitude"] is None else float(row["place_longitude"]),
                    "written": 0,
                    "mentioned": 0,
                },
            )
            place[key] = row["count"]
    ordered = sorted(
        places.values(), key=lambda place: (-(place["written"] + place["mentioned"]), place["name"].casefold())
    )
    located = [place for place in ordered if place["latitude"] is not None and place["longitude"] is not None]
    cluster = densest_cluster(located)
    return {
        "id": chart_id,
        "places": ordered,
        "located": located,
        "unlocated": [place for place in ordered if place["latitude"] is None or place["longitude"] is None],
        "most_written": max(ordered, key=lambda place: place["written"], default=None),
        "svg": map_svg(located) if located else None,
        "detail": map_svg(cluster) if cluster else None,
        "detail_places": cluster,
    }


#: Half the width and height, in degrees, of the area a detail map may cover.
DETAIL_WINDOW = (5.0, 3.5)


def densest_cluster(located):
    """
    The places of the area (at most 10° by 7°) that holds the most of them,
    for a detail map, when that area holds a third of the places or more and
    the whole map spreads so wide that they crowd together on it; else None.
    """
    if len(located) < 4:
        return None
    lon_span = max(p["longitude"] for p in located) - min(p["longitude"] for p in located)
    lat_span = max(p["latitude"] for p in located) - min(p["latitude"] for p in located)
    if lon_span < 6 * DETAIL_WINDOW[0] and lat_span < 6 * DETAIL_WINDOW[1]:
        return None
    best = []
    for centre in located:  # located places come sorted by letters: ties go to the busier centre
        near = [
            place
            for place in located
            if abs(place["longitude"] - centre["longitude"]) <= DETAIL_WINDOW[0]
            and abs(place["latitude"] - centre["latitude"]) <= DETAIL_WINDOW[1]
        ]
        if len(near) > len(best):
            best = near
    return best if max(3, len(located) / 3) <= len(best) < len(located) else None


def map_frame(located):
    """The region shown, (west, east, south, north), and the size of the drawing in pixels."""
    west = min(place["longitude"] for place in located)
    east = max(place["longitude"] for place in located)
    south = min(place["latitude"] for place in located)
    north = max(place["latitude"] for place in located)
    pad_lon = max((east - west) * 0.12, 1.0)
    pad_lat = max((north - south) * 0.15, 1.0)
    west, east, south, north = west - pad_lon, east + pad_lon, south - pad_lat, north + pad_lat
    for low, high, minimum, index in ((west, east, MAP_MIN_SPAN[0], 0), (south, north, MAP_MIN_SPAN[1], 1)):
        if high - low < minimum:
            middle = (low + high) / 2
            if index == 0:
                west, east = middle - minimum / 2, middle + minimum / 2
            else:
                south, north = middle - minimum / 2, middle + minimum / 2
    south, north = max(south, -85.0), min(north, 85.0)
    scale_x = math.cos(math.radians(max(min((south + north) / 2, 80.0), -80.0)))
    height = MAP_WIDTH * (north - south) / ((east - west) * scale_x)
    if height > MAP_MAX_HEIGHT:  # too tall: show more longitude
        extra = ((north - south) * MAP_WIDTH / MAP_MAX_HEIGHT / scale_x - (east - west)) / 2
        west, east, height = west - extra, east + extra, MAP_MAX_HEIGHT
    elif height < MAP_MIN_HEIGHT:  # too wide: show more latitude
        extra = ((east - west) * scale_x * MAP_MIN_HEIGHT / MAP_WIDTH - (north - south)) / 2
        south, north, height = south - extra, north + extra, MAP_MIN_HEIGHT
    return (west, east, south, north), scale_x, height


def clip_ring(points, west, east, south, north):
    """A ring cut to a rectangle of longitude and latitude (Sutherland–Hodgman)."""

    def cut(points, inside, crossing):
        result = []
        for index, current in enumerate(points):
            previous = points[index - 1]
            if inside(current):
                if not inside(previous):
                    result.append(crossing(previous, current))
                result.append(current)
            elif inside(previous):
                result.append(crossing(previous, current))
        return result

    def at_lon(lon):
        return lambda p, q: (lon, p[1] + (q[1] - p[1]) * (lon - p[0]) / (q[0] - p[0]))

    def at_lat(lat):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (lat - p[1]) / (q[1] - p[1]), lat)

    points = cut(list(points), lambda p: p[0] >= west, at_lon(west))
    points = cut(points, lambda p: p[0] <= east, at_lon(east))
    points = cut(points, lambda p: p[1] >= south, at_lat(south))
    return cut(points, lambda p: p[1] <= north, at_lat(north))


def graticule_step(span):
    return next((step for step in (1, 2, 5, 10, 15, 30) if span / step <= 8), 60)


def map_svg(located):
    (west, east, south, north), scale_x, height = map_frame(located)
    pixels_per_degree = MAP_WIDTH / ((east - west) * scale_x)

    def project(lon, lat):
        return (lon - west) * scale_x * pixels_per_degree, (north - lat) * pixels_per_degree

    # Base map: every ring cut a little outside the frame, so that the cut edges are not seen.
    margin_lon, margin_lat = 4 / (scale_x * pixels_per_degree), 4 / pixels_per_degree
    box = (west - margin_lon, east + margin_lon, south - margin_lat, north + margin_lat)
    land = []
    for _kind, _name, ring in coastlines():
        lons, lats = [lon for lon, _lat in ring], [lat for _lon, lat in ring]
        if max(lons) < box[0] or min(lons) > box[1] or max(lats) < box[2] or min(lats) > box[3]:
            continue
        points, last = [], None
        for lon, lat in clip_ring(ring, *box):
            x, y = project(lon, lat)
            if last is None or abs(x - last[0]) + abs(y - last[1]) >= 1.0:
                points.append(f"{svg_number(x)},{svg_number(y)}")
                last = (x, y)
        if len(points) >= 3:
            land.append("M" + " L".join(points) + "Z")

    meridians, parallels = [], []
    lon_step = graticule_step(east - west)
    lat_step = graticule_step(north - south)
    for lon in range(math.ceil(west / lon_step) * lon_step, math.floor(east) + 1, lon_step):
        x = project(lon, north)[0]
        if 24 < x < MAP_WIDTH - 8:
            meridians.append(
                {"x": svg_number(x), "degrees": abs(lon), "hemisphere": "E" if lon > 0 else "W" if lon < 0 else ""}
            )
    for lat in range(math.ceil(south / lat_step) * lat_step, math.floor(north) + 1, lat_step):
        y = project(west, lat)[1]
        if 12 < y < height - 20:
            parallels.append(
                {"y": svg_number(y), "degrees": abs(lat), "hemisphere": "N" if lat > 0 else "S" if lat < 0 else ""}
            )

    most = max(max(place["written"], place["mentioned"]) for place in located)

    def marker_radius(count):
        return MARKER_MIN + (MARKER_MAX - MARKER_MIN) * math.sqrt(count / most) if count else 0

    markers = []
    for place in located:
        x, y = project(place["longitude"], place["latitude"])
        written, mentioned = marker_radius(place["written"]), marker_radius(place["mentioned"])
        markers.append(
            {"place": place, "x": x, "y": y, "r": max(written, mentioned), "written": written, "mentioned": mentioned}
        )

    # Labels: the places with most letters first, each beside its marker where it overlaps nothing already placed.
    taken = [(m["x"] - m["r"], m["y"] - m["r"], m["x"] + m["r"], m["y"] + m["r"]) for m in markers]
    for marker in markers:  # located places come sorted by letters
        x, y, r = marker["x"], marker["y"], marker["r"]
        width = len(marker["place"]["name"]) * CHAR_WIDTH
        candidates = (
            (x + r + 3, y + 4, "start", (x + r + 2, y - 7, x + r + 4 + width, y + 6)),
            (x - r - 3, y + 4, "end", (x - r - 4 - width, y - 7, x - r - 2, y + 6)),
            (x, y - r - 4, "middle", (x - width / 2, y - r - 15, x + width / 2, y - r - 2)),
            (x, y + r + 12, "middle", (x - width / 2, y + r + 1, x + width / 2, y + r + 14)),
        )
        marker["label"] = None
        for label_x, label_y, anchor, box in candidates:
            inside = box[0] >= 2 and box[1] >= 2 and box[2] <= MAP_WIDTH - 2 and box[3] <= height - 2
            own = (x - r, y - r, x + r, y + r)
            if inside and not any(overlaps(box, other) for other in taken if other != own):
                marker["label"] = {"x": svg_number(label_x), "y": svg_number(label_y), "anchor": anchor}
                taken.append(box)
                break

    drawn = []
    for marker in sorted(markers, key=lambda marker: -marker["r"]):  # small markers over large ones
        drawn.append(
            {
                "place": marker["place"],
                "x": svg_number(marker["x"]),
                "y": svg_number(marker["y"]),
                "written_r": svg_number(marker["written"]) if marker["written"] else None,
                "mentioned_r": svg_number(marker["mentioned"]) if marker["mentioned"] else None,
                "label": marker["label"],
            }
        )
    return {
        "width": MAP_WIDTH,
        "height": svg_number(height),
        "land": " ".join(land),
        "meridians": meridians,
        "parallels": parallels,
        "label_bottom": svg_number(height - 5),
        "markers": drawn,
        "bounds": {"west": west, "east": east, "south": south, "north": north},
    }


def overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
