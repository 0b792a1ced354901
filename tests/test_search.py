"""
Full-text search (correspondence/search.py): the same behaviour on SQLite and PostgreSQL.

Run on both: ``pytest tests/test_search.py`` and
``DATABASE_URL=postgres://… pytest tests/test_search.py``.
"""

import json
import random

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from correspondence import search
from correspondence.models import (
    AgentName,
    Letter,
    LetterSearchText,
    Participation,
    PlaceName,
    PublicationStatus,
    SpellingKey,
)
from correspondence.search import MARK_END, MARK_START, deferred_indexing, search_letters, snippet_html
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
)

pytestmark = pytest.mark.django_db


def found(query, queryset=None):
    """Slugs of the letters found, most relevant first."""
    queryset = Letter.objects.all() if queryset is None else queryset
    return [letter.slug for letter in search_letters(queryset, query).order_by("-search_rank", "slug")]


def letter_with_text(slug, *paragraphs, **fields):
    fields.setdefault("title", "Lettre")
    letter = make_published_letter(slug=slug, **fields)
    for text in paragraphs:
        make_paragraph(letter, text)
    return letter


@pytest.fixture
def unrelated_letters():
    """Letters that match nothing, so that word statistics look like a real collection."""
    return [
        letter_with_text(f"unrelated-{n}", "Monsieur le Président, j'ai l'honneur de vous écrire au sujet du budget.")
        for n in range(4)
    ]


# -- accents, case, French word forms -----------------------------------------


@pytest.mark.parametrize(
    ("written", "typed"),
    [
        ("Azerbaïdjan", "Azerbaidjan"),
        ("Azerbaidjan", "Azerbaïdjan"),
        ("AZERBAÏDJAN", "azerbaidjan"),
        ("la République d'Azerbaïdjan", "république"),
        ("Nakhitchevan", "NAKHITCHEVAN"),
    ],
)
def test_search_ignores_accents_and_case_both_ways(written, typed, unrelated_letters):
    letter_with_text("accented", f"Les villes de {written} ont été bombardées.")

    assert found(typed) == ["accented"]


def test_the_singular_finds_the_plural(unrelated_letters):
    letter_with_text("mines", "Les mines et autres engins explosifs dans les territoires libérés.")

    assert found("mine") == ["mines"]
    assert found("engin explosif") == ["mines"]


def test_every_word_typed_is_required(unrelated_letters):
    letter_with_text("both", "Les mines de Gədəbəy.")
    letter_with_text("one", "Les mines de charbon.")

    assert found("mines Gədəbəy") == ["both"]
    assert sorted(found("mines")) == ["both", "one"]


def test_words_joined_by_punctuation_are_found_together(unrelated_letters):
    letter_with_text("symbol", "Voir la résolution S/RES/822 (1993) du Conseil de sécurité.")

    assert found("S/RES/822") == ["symbol"]


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("title", "Lettre sur le déminage"),
        ("summary", "Le ministre évoque le déminage."),
        ("editorial_note", "Le mot déminage est souligné dans la source."),
        ("translation_note", "Traduction du déminage non officielle"),
        ("reference", "DEMINAGE/05"),
    ],
)
def test_the_letters_own_fields_are_searched(part, value, unrelated_letters):
    fields = {"slug": "fields", part: value}
    if part != "title":
        fields["title"] = "Lettre"
    make_published_letter(**fields)

    assert found("déminage") == ["fields"]


def test_footnotes_citations_and_names_as_written_are_searched(unrelated_letters):
    letter = make_published_letter(slug="parts")
    make_footnote(letter, text="Note de la source sur Lachin.")
    make_citation(letter, make_cited_document(title="Déclaration trilatérale", symbol="TRI/2020"))
    make_participation(letter, make_agent("Elmar Mammadyarov"), title_as_written="Ministre des Affaires étrangères")
    make_mention(letter, place=make_place("Shusha"), name_as_written="Choucha")

    for query in [
        "Lachin",
        "trilatérale",
        "TRI/2020",
        "Mammadyarov",
        "ministre affaires étrangères",
        "Shusha",
        "Choucha",
    ]:
        assert found(query) == ["parts"], query


# -- name variants from the authority records ----------------------------------


def test_a_place_variant_finds_letters_that_use_another_spelling(unrelated_letters):
    barda = make_place("Bərdə")
    PlaceName.objects.create(place=barda, name="Barda")
    letter_with_text("berde", "Le bombardement de la ville de Bərdə au moyen de missiles.")
    letter_with_text("barda", "Les districts d'Aghdam et de Barda.")

    assert sorted(found("Barda")) == ["barda", "berde"]
    assert sorted(found("Bərdə")) == ["barda", "berde"]
    assert sorted(found("BƏRDƏ")) == ["barda", "berde"]


def test_gandja_finds_ganja_and_back(unrelated_letters):
    gandja = make_place("Gandja")
    PlaceName.objects.create(place=gandja, name="Ganja")
    PlaceName.objects.create(place=gandja, name="Gəncə")
    letter_with_text("ganja", "Des villes (Ganja, Mingachevir) ont été victimes de tirs.")
    letter_with_text("gandja", "Gandja, la deuxième ville d'Azerbaïdjan.")

    assert sorted(found("Gandja")) == ["gandja", "ganja"]
    assert sorted(found("ganja")) == ["gandja", "ganja"]
    assert sorted(found("Gəncə")) == ["gandja", "ganja"]


def test_a_hyphenated_place_name_finds_its_variants(unrelated_letters):
    karabakh = make_place("Haut-Karabakh", kind="region")
    PlaceName.objects.create(place=karabakh, name="Haut-Karabagh")
    letter_with_text("karabakh", "La situation au Haut-Karabakh et en Arménie.")
    letter_with_text("karabagh", "Le conflit sur le Haut-Karabagh.")

    assert sorted(found("Haut-Karabagh")) == ["karabagh", "karabakh"]
    assert sorted(found("haut karabakh")) == ["karabagh", "karabakh"]


def test_a_place_finds_the_letters_linked_to_it_whatever_their_text_says(unrelated_letters):
    gandja = make_place("Gandja")
    PlaceName.objects.create(place=gandja, name="Ganja")
    written = make_published_letter(slug="written-there", place_written=gandja)
    mentioning = make_published_letter(slug="mentioning")
    make_mention(mentioning, place=gandja, name_as_written="la deuxième ville du pays")

    assert sorted(found("Ganja")) == ["mentioning", "written-there"]
    assert written.place_written == gandja


def test_a_person_variant_finds_the_person_under_every_spelling(unrelated_letters):
    aliyev = make_agent("Ilham Aliyev")
    AgentName.objects.create(agent=aliyev, name="Ilham Aliev")
    AgentName.objects.create(agent=aliyev, name="Président Əliyev")
    letter_with_text("aliev", "Le Président Ilham Aliev a déclaré que les négociations reprendraient.")
    letter_with_text("surname", "Selon M. Əliyev, les négociations reprendraient.")
    sent = make_published_letter(slug="sent-by-him")
    make_participation(sent, aliyev, name_as_written="le chef de l'État")

    # The full name finds every full spelling; the surname alone, every spelling of the surname.
    assert sorted(found("Ilham Aliyev")) == ["aliev", "sent-by-him"]
    assert sorted(found("Aliyev")) == ["aliev", "sent-by-him", "surname"]
    assert sorted(found("aliev")) == ["aliev", "sent-by-him", "surname"]


def test_a_title_in_a_variant_is_not_taken_for_a_surname(unrelated_letters):
    guterres = make_agent("António Guterres")
    AgentName.objects.create(agent=guterres, name="Secrétaire général")
    letter_with_text("general", "Le général a donné l'ordre.")
    letter_with_text("guterres", "M. Guterres a reçu la lettre.")

    assert found("général") == ["general"]
    assert found("Guterres") == ["guterres"]


def test_a_new_variant_counts_at_once(unrelated_letters):
    letter_with_text("erevan", "La délégation s'est rendue à Erevan.")
    erevan = make_place("Erevan")
    assert found("Yerevan") == []

    PlaceName.objects.create(place=erevan, name="Yerevan")

    assert found("Yerevan") == ["erevan"]


# -- ranking and snippets --------------------------------------------------------


def test_a_match_in_the_title_ranks_above_one_in_the_body(unrelated_letters):
    letter_with_text(
        "body",
        "La délégation a visité plusieurs villes.",
        "Elle s'est aussi rendue à Nakhitchevan pour une réunion.",
        "Les entretiens ont porté sur la coopération régionale.",
        title="Lettre du Président",
    )
    make_published_letter(slug="title", title="Lettre de Nakhitchevan au Président")

    results = list(search_letters(Letter.objects.all(), "Nakhitchevan").order_by("-search_rank"))

    assert [letter.slug for letter in results] == ["title", "body"]
    assert results[0].search_rank > results[1].search_rank > 0


def test_the_snippet_marks_the_match_and_escapes_the_text(unrelated_letters):
    letter_with_text(
        "script",
        "Le rapport <script>alert('x')</script> sur les mines & autres engins explosifs.",
    )

    letter = search_letters(Letter.objects.all(), "mine").get()

    assert MARK_START in letter.search_snippet
    html = snippet_html(letter.search_snippet)
    assert "<mark>mines</mark>" in html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
    assert "&amp;" in html


def test_the_snippet_quotes_the_summary_too(unrelated_letters):
    make_published_letter(slug="summary", summary="Le ministre évoque les mines antipersonnel.")

    letter = search_letters(Letter.objects.all(), "antipersonnel").get()

    assert "<mark>antipersonnel</mark>" in snippet_html(letter.search_snippet)


@pytest.mark.parametrize(
    ("raw", "html"),
    [
        ("", ""),
        (None, ""),
        (f"les {MARK_START}mines{MARK_END} & <b>", "les <mark>mines</mark> &amp; &lt;b&gt;"),
        (f"{MARK_START}a{MARK_START}b{MARK_END}{MARK_END}c", "<mark>ab</mark>c"),
        (f"{MARK_START}ouvert", "<mark>ouvert</mark>"),
        (f"fermé{MARK_END}", "fermé"),
    ],
)
def test_snippet_html_escapes_then_marks(raw, html):
    assert snippet_html(raw) == html


# -- hostile and odd input ---------------------------------------------------------

HOSTILE_QUERIES = [
    '"',
    'AND "',
    '"mines',
    "mines AND",
    "OR",
    "NOT mines",
    "mines NOT",
    "*",
    "mine*",
    "**mines**",
    "NEAR(mines engins)",
    "NEAR(",
    "-mines",
    "mines -engins",
    "^mines",
    "col:mines",
    "title:mines",
    "{title names}: mines",
    "mines + engins",
    "(mines",
    "mines)",
    "'; DROP TABLE correspondence_letter; --",
    "!!!&&&|||",
    "a & b | !c <-> d",
    "mines:*",
    "mines\x00engins",
    "\x00",
    "\x02mines\x03",
    "\ud800mines",
    "mines\u200bengins",
    "🙂 mines 🙂",
    "ﬁnances",
    "m" * 10_000,
    "mines " * 2_000,
    " ".join(f"mot{n}" for n in range(500)),
    "é" * 300,
    "\u0301\u0301\u0301",
    "%",
    "%_\\",
    "$$",
    "'",
    "’",
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_queries_never_raise(query, unrelated_letters):
    letter_with_text("mines", "Les mines et autres engins explosifs.")

    results = search_letters(Letter.objects.all(), query)

    list(results.order_by("-search_rank")[:20] if "search_rank" in results.query.annotations else results[:20])
    results.count()


def test_random_unicode_queries_never_raise(unrelated_letters):
    letter_with_text("mines", "Les mines et autres engins explosifs à Bərdə.")
    rng = random.Random(20201020)
    alphabet = [chr(code) for code in range(0x20, 0x3000)] + ['"', "*", "(", ")", ":", "-", "^", "\x00", "\ud800"]
    for _ in range(200):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        results = search_letters(Letter.objects.all(), query)
        list(results[:5])
        results.count()


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "!!!", '"" *', "—", "\x00"])
def test_a_query_without_words_leaves_the_queryset_alone(query, unrelated_letters):
    queryset = Letter.objects.filter(slug__startswith="unrelated")

    results = search_letters(queryset, query)

    assert list(results) == list(queryset)
    assert "search_rank" not in results.query.annotations


def test_a_query_of_stop_words_finds_nothing(unrelated_letters):
    assert found("de la") == []
    assert found("Où sont-ils ?") == []
    assert len(found("au sujet du")) == 4  # "sujet" is a real word


def test_a_very_long_query_is_cut_not_refused(unrelated_letters):
    letter_with_text("charbon", "Le charbon.")

    assert found("charbon " * 5_000) == ["charbon"]


# -- composing with the rest of the list ---------------------------------------------


def test_drafts_are_found_but_published_narrows_them():
    draft = letter_with_text("draft", "Les mines de Gədəbəy.")
    draft.status = PublicationStatus.DRAFT
    draft.save()
    letter_with_text("public", "Les mines de Daşkəsən.")

    assert sorted(found("mines")) == ["draft", "public"]
    assert found("mines", Letter.objects.published()) == ["public"]
    assert [letter.slug for letter in search_letters(Letter.objects.all(), "mines").published()] == ["public"]


def test_search_composes_with_filters_counts_slices_and_facets(unrelated_letters):
    gandja = make_place("Gandja")
    for n in range(5):
        letter_with_text(f"mines-{n}", "Les mines antipersonnel.", kind="report" if n % 2 else "letter")
    make_published_letter(slug="mines-gandja", place_written=gandja, summary="Les mines de Gandja.")

    results = search_letters(Letter.objects.published(), "mines").filter(kind="letter")

    assert results.count() == 4
    assert len(results.order_by("-search_rank", "slug")[1:3]) == 2
    assert results.filter(place_written=gandja).get().slug == "mines-gandja"
    facets = dict(results.order_by().values_list("kind").annotate(n=Count("pk", distinct=True)))
    assert facets == {"letter": 4}
    assert search_letters(Letter.objects.with_people(), "mines").distinct().count() == 6


def test_count_computes_neither_rank_nor_snippet(unrelated_letters):
    letter_with_text("mines", "Les mines.")
    results = search_letters(Letter.objects.all(), "mines")

    with CaptureQueriesContext(connection) as queries:
        assert results.count() == 1

    sql = queries.captured_queries[-1]["sql"].lower()
    assert "snippet" not in sql and "headline" not in sql and "bm25" not in sql and "ts_rank" not in sql


def test_one_query_for_names_and_one_for_the_page(unrelated_letters):
    letter_with_text("mines", "Les mines.")

    with CaptureQueriesContext(connection) as queries:
        results = search_letters(Letter.objects.all(), "mines")
        list(results[:20])

    assert len(queries) == 2
    page = queries.captured_queries[-1]["sql"].lower()
    assert "join" in page
    assert page.count("select") == 1  # rank and snippet come from the join, not a subquery per row


# -- the index follows the data ---------------------------------------------------------


def test_the_index_follows_an_edited_paragraph(unrelated_letters):
    letter = letter_with_text("edited", "Les mines de charbon.")
    paragraph = letter.paragraphs.get()

    paragraph.text = "Les routes de montagne."
    paragraph.save()

    assert found("charbon") == []
    assert found("montagne") == ["edited"]


def test_the_index_follows_deleted_parts_and_letters(unrelated_letters):
    letter = letter_with_text("deleted", "Les mines de charbon.", "Une autre phrase.")
    footnote = make_footnote(letter, text="Une note sur Lachin.")
    assert found("Lachin") == ["deleted"]

    footnote.delete()
    assert found("Lachin") == []

    letter.paragraphs.filter(position=1).delete()
    assert found("charbon") == []

    letter.delete()
    assert found("phrase") == []
    assert not LetterSearchText.objects.filter(letter_id=letter.pk).exists()


def test_deleting_letters_in_bulk_leaves_no_search_text(unrelated_letters):
    letter_with_text("one", "Les mines.")
    letter_with_text("two", "Les mines.")

    Letter.objects.filter(slug__in=["one", "two"]).delete()

    assert found("mines") == []
    assert LetterSearchText.objects.count() == Letter.objects.count()


def test_renaming_a_record_reindexes_its_letters(unrelated_letters):
    agent = make_agent("Anar Ibrahimov")
    place = make_place("Nakhitchevan")
    document = make_cited_document(title="Déclaration de Moscou")
    letter = make_published_letter(slug="linked", place_written=place)
    make_participation(letter, agent, role=Participation.Role.RECIPIENT)
    make_citation(letter, document, quote="la déclaration")

    agent.name = "Anar Adil Ibrahimov"
    agent.save()
    place.name = "Nakhtchivan"
    place.save()
    document.title = "Déclaration trilatérale"
    document.save()

    assert found("Adil") == ["linked"]
    assert found("Nakhtchivan") == ["linked"]
    assert found("trilatérale") == ["linked"]
    assert found("Moscou") == []


def test_deleting_a_record_and_its_variants_leaves_no_spelling(unrelated_letters):
    place = make_place("Lachin")
    PlaceName.objects.create(place=place, name="Laçın")
    agent = make_agent("Jeyhun Bayramov")
    AgentName.objects.create(agent=agent, name="M. Bayramov")
    assert SpellingKey.objects.filter(place=place).exists()

    place.delete()
    agent.delete()

    assert not SpellingKey.objects.exists()


def test_deferred_indexing_indexes_once_at_the_end(unrelated_letters):
    with CaptureQueriesContext(connection) as queries, deferred_indexing():
        letter = make_published_letter(slug="imported")
        for n in range(20):
            make_paragraph(letter, f"Paragraphe {n} sur les mines.")
        assert found("mines") == []
    writes = [query for query in queries.captured_queries if "lettersearchtext" in query["sql"].lower()]

    assert found("mines") == ["imported"]
    assert len(writes) <= 3


def test_deferred_indexing_indexes_nothing_when_the_block_fails(unrelated_letters):
    with pytest.raises(RuntimeError), deferred_indexing():
        letter_with_text("failed", "Les mines.")
        raise RuntimeError

    assert found("mines") == []


def test_rebuild_command_restores_a_lost_index(unrelated_letters):
    gandja = make_place("Gandja")
    PlaceName.objects.create(place=gandja, name="Ganja")
    letter_with_text("gandja", "Gandja, la deuxième ville.")
    LetterSearchText.objects.all().delete()
    SpellingKey.objects.all().delete()
    assert found("Ganja") == []

    call_command("rebuild_search_index", "--dry-run", verbosity=0)
    assert found("Ganja") == []

    call_command("rebuild_search_index", verbosity=0)
    assert found("Ganja") == ["gandja"]
    assert LetterSearchText.objects.count() == Letter.objects.count()

    call_command("rebuild_search_index", "--recompute", verbosity=0)
    assert found("Ganja") == ["gandja"]


def test_indexing_new_letters_writes_what_a_full_reindex_writes(unrelated_letters):
    letter = letter_with_text("new", "Les mines de Lachin.", summary="Déminage à Choucha.")
    make_footnote(letter, text="Note de la source.")
    make_citation(letter, make_cited_document(title="Déclaration trilatérale", symbol="TRI/2020"))
    make_participation(letter, make_agent("Elmar Mammadyarov"), title_as_written="Ministre")
    make_mention(letter, place=make_place("Shusha"), name_as_written="Choucha")
    columns = ["title", "names", "summary", "text"]
    if connection.vendor == "postgresql":
        columns.append("vector")
    reindexed = LetterSearchText.objects.filter(pk=letter.pk).values(*columns).get()
    LetterSearchText.objects.filter(pk=letter.pk).delete()

    search.index_letters([letter.pk], new=True)

    assert LetterSearchText.objects.filter(pk=letter.pk).values(*columns).get() == reindexed
    assert found("Choucha") == ["new"]
    assert found("TRI/2020") == ["new"]


def test_loaddata_leaves_a_complete_index(tmp_path):
    stamps = {"created": "2026-11-23T00:00:00Z", "modified": "2026-11-23T00:00:00Z"}
    letter = {
        "slug": "loaded",
        "title": "Lettre chargée",
        "date_from": "2020-10-20",
        "date_to": "2020-10-20",
        "place_written": ["barda"],
        "status": "published",
        **stamps,
    }
    fixture = [
        # The letter comes before the place it was written in (a forward reference, set last).
        {"model": "correspondence.letter", "fields": letter},
        {"model": "correspondence.paragraph", "fields": {"letter": ["loaded"], "position": 1, "text": "Les mines."}},
        {"model": "correspondence.place", "fields": {"slug": "barda", "name": "Bərdə", "kind": "city", **stamps}},
        {"model": "correspondence.placename", "fields": {"place": ["barda"], "name": "Barda"}},
        {"model": "correspondence.agent", "fields": {"slug": "knape", "name": "Anders Knape", **stamps}},
        {
            "model": "correspondence.participation",
            "fields": {"letter": ["loaded"], "agent": ["knape"], "role": "sender"},
        },
    ]
    path = tmp_path / "search.json"
    path.write_text(json.dumps(fixture))

    call_command("loaddata", str(path), verbosity=0)

    loaded = Letter.objects.get(slug="loaded")
    stored = LetterSearchText.objects.filter(pk=loaded.pk).values("title", "names", "summary", "text").get()
    assert stored == search._gather([loaded.pk], search.global_apps)[loaded.pk]
    assert found("Barda") == found("mines") == found("Knape") == ["loaded"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query planner")
def test_sqlite_reads_the_full_text_index_first_whatever_the_other_filters(unrelated_letters):
    """Joined on the FTS5 rowid, SQLite ran the full-text query once per published letter instead."""
    letter_with_text("mines", "Les mines.")
    results = search_letters(Letter.objects.published().filter(kind="letter"), "mines")
    sql, params = results.order_by().query.get_compiler(connection.alias).as_sql()

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        steps = [row[-1] for row in cursor.fetchall()]

    assert steps[0].startswith("SCAN correspondence_letter_fts VIRTUAL TABLE"), steps
    assert "USING INTEGER PRIMARY KEY" in steps[1], steps


@pytest.mark.parametrize("query", ["mines", "Bərdə", "Barda", "mines antipersonnel", "S/RES/822", "de la", "zzz", "«»"])
def test_narrowing_without_rank_keeps_exactly_the_ranked_letters(query, unrelated_letters):
    """Counts, facets and charts narrow with ``ranked=False``: the same letters as the ranked list."""
    place = make_place("Bərdə", slug="berde")
    PlaceName.objects.create(place=place, name="Barda")
    letter_with_text("mines", "Les mines antipersonnel posées près de Bərdə.", place_written=place)
    letter_with_text("resolution", "La résolution S/RES/822 du Conseil de sécurité.")
    letter_with_text("autre", "Des mines d'or, encore des mines.")
    search.index_spellings()
    letters = Letter.objects.published()
    ranked = {letter.slug for letter in search_letters(letters, query)}
    unranked = search_letters(letters, query, ranked=False)
    assert {letter.slug for letter in unranked} == ranked
    assert unranked.count() == len(ranked)
    assert "search_rank" not in unranked.query.annotations
    ids = search.matching_ids(letters, query)
    assert sorted(ids) == sorted(letter.pk for letter in letters.filter(slug__in=ranked))


def test_the_list_narrows_to_the_matches_once_and_combines_them_with_other_filters(unrelated_letters):
    """
    The list's counts, facets and charts narrow to the search's matches (on
    PostgreSQL read once, through the index, then joined as an array): the
    same letters as the ranked search, with the other filters applied, and
    the planner's settings left as they were within the caller's transaction.
    """
    from django.http import QueryDict

    from correspondence.filters import LetterFilterSet

    for n in range(4):
        letter_with_text(f"mines-{n}", "Les mines antipersonnel.", kind="report" if n % 2 else "letter")
    letter_with_text("or", "Des mines d'or.", kind="letter")
    letter_with_text("autre", "Rien de tel.", kind="letter")

    def matching(query_string):
        filters = LetterFilterSet(data=QueryDict(query_string), queryset=Letter.objects.published())
        assert filters.is_valid(), filters.errors
        return sorted(filters.matching().values_list("slug", flat=True))

    def counted(query_string):
        filters = LetterFilterSet(data=QueryDict(query_string), queryset=Letter.objects.published())
        with CaptureQueriesContext(connection) as queries:
            number = filters.count()
        return number, [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"].upper()]

    def seqscan():
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_seqscan")
            return cursor.fetchone()[0]

    before = seqscan() if connection.vendor == "postgresql" else None
    assert matching("q=mines") == ["mines-0", "mines-1", "mines-2", "mines-3", "or"]
    assert matching("q=mines&kind=letter") == ["mines-0", "mines-2", "or"]
    assert matching("q=antipersonnel&kind=report") == ["mines-1", "mines-3"]
    assert matching("q=zzz") == []
    for query_string in ("q=mines", "q=mines&kind=letter", "q=zzz", "kind=letter"):
        assert counted(query_string)[0] == len(matching(query_string)), query_string
    # A search alone counts its matches, read once (PostgreSQL); anything else asks the database to count.
    assert (counted("q=mines")[1] == []) == (connection.vendor == "postgresql")
    assert counted("q=mines&kind=letter")[1]
    if connection.vendor == "postgresql":
        assert seqscan() == before == "on"
