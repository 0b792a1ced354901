"""
The synthetic corpus of the benchmarks (``manage.py generate_corpus``): the
same seed gives the same bytes, the letters have the shape the benchmark
relies on, the file streams in flat memory and ``import_letters`` reads it.
"""

import collections
import datetime
import json
import statistics
import tracemalloc
import types

import pytest
from django.core.management import CommandError, call_command

from correspondence.management.commands.generate_corpus import (
    COMMON_WORD,
    MAX_WORDS,
    MIN_WORDS,
    RARE_WORDS,
    CorpusGenerator,
    write_corpus,
)
from correspondence.models import Letter, Participation, PublicationStatus
from correspondence.search import search_letters


def generate(path, letters, seed=1):
    call_command("generate_corpus", letters=letters, seed=seed, output=str(path), force=True, verbosity=0)
    return path.read_bytes()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """1,000 letters: enough for the distributions to show."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.json"
    generate(path, 1000, seed=3)
    return json.loads(path.read_text(encoding="utf-8"))


def words(letter):
    return sum(len(paragraph["text"].split()) for paragraph in letter["paragraphs"])


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    first = generate(tmp_path / "a.json", 40, seed=7)
    second = generate(tmp_path / "b.json", 40, seed=7)
    assert first == second


def test_another_seed_gives_another_corpus(tmp_path):
    assert generate(tmp_path / "a.json", 40, seed=7) != generate(tmp_path / "b.json", 40, seed=8)


def test_standard_output_gets_the_same_bytes_as_a_file(tmp_path, capsys):
    written = generate(tmp_path / "a.json", 10, seed=2)
    call_command("generate_corpus", letters=10, seed=2, output="-", verbosity=0)
    assert capsys.readouterr().out.encode("utf-8") == written


def test_an_existing_file_is_not_overwritten_without_force(tmp_path):
    path = tmp_path / "corpus.json"
    path.write_text("keep me")
    with pytest.raises(CommandError, match="--force"):
        call_command("generate_corpus", letters=5, output=str(path), verbosity=0)
    assert path.read_text() == "keep me"


def test_the_file_is_the_letter_list_format_with_one_letter_per_line(tmp_path):
    text = generate(tmp_path / "corpus.json", 25).decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == '{"count":25,"next":null,"previous":null,"results":['
    assert lines[-1] == "]}"
    assert len(lines) == 25 + 2
    data = json.loads(text)
    assert data["count"] == len(data["results"]) == 25
    assert len({letter["id"] for letter in data["results"]}) == 25


def test_letters_hold_150_to_600_words_of_french_with_accents_in_paragraphs(corpus):
    counts = [words(letter) for letter in corpus["results"]]
    assert min(counts) >= MIN_WORDS == 150
    assert max(counts) <= MAX_WORDS == 600
    assert statistics.median(counts) > 300
    text = " ".join(p["text"] for letter in corpus["results"][:50] for p in letter["paragraphs"])
    for accented in ("é", "è", "à", "ç", "«"):
        assert accented in text
    for diplomatic in ("résolution", "délégation", "coopération", "Conseil de sécurité"):
        assert diplomatic in text
    letter = corpus["results"][0]
    kinds = [paragraph["kind"] for paragraph in letter["paragraphs"]]
    assert kinds[0] == "opening" and "body" in kinds and kinds.count("body") >= 2
    body = next(p["text"] for p in letter["paragraphs"] if p["kind"] == "body" and len(p["text"]) > 80)
    assert body[0].isupper() and body.rstrip().endswith((".", "?", "»"))


def test_some_letters_are_dated_to_the_month_or_the_year_with_spanning_bounds(corpus):
    letters = corpus["results"]
    precisions = collections.Counter(letter["date_precision"] for letter in letters)
    assert precisions["day"] > precisions["month"] > precisions["year"] > 0
    for letter in letters:
        start = datetime.date.fromisoformat(letter["date_from"])
        end = datetime.date.fromisoformat(letter["date_to"])
        assert datetime.date(1990, 1, 1) <= start <= end <= datetime.date(2025, 12, 31)
        if letter["date_precision"] == "day":
            assert start == end
        elif letter["date_precision"] == "month":
            assert start.day == 1 and (end + datetime.timedelta(days=1)).day == 1 and start.month == end.month
        else:
            assert (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year
    # The file is in chronological order.
    assert [letter["date_from"] for letter in letters] == sorted(letter["date_from"] for letter in letters)


def test_senders_follow_a_skewed_distribution_with_one_prolific_person(corpus):
    letters = corpus["results"]
    senders = collections.Counter(p["id"] for letter in letters for p in letter["participants"]["sender"])
    (top, top_count), *others = senders.most_common()
    assert 0.08 * len(letters) <= top_count <= 0.16 * len(letters)  # 12 % of the letters
    assert top_count > 3 * others[0][1]
    assert statistics.median(count for _slug, count in others) <= 2
    kinds = {p["id"]: p["kind"] for letter in letters for p in letter["participants"]["sender"]}
    assert kinds[top] == "person"


def test_letters_have_participants_places_citations_and_threads(corpus):
    letters = corpus["results"]
    assert all(letter["participants"]["sender"] and letter["participants"]["recipient"] for letter in letters)
    assert sum(1 for letter in letters if letter["place_written"]) > 0.8 * len(letters)
    cited = [citation for letter in letters for citation in letter["citations"]]
    assert len(cited) > 0.5 * len(letters)
    assert all(citation["quote"] and citation["id"] for citation in cited)
    kinds = collections.Counter(letter["kind"] for letter in letters)
    assert kinds["letter"] > kinds["reply"] > 0 and kinds["annex"] > 0 and kinds["note_verbale"] > 0
    slugs = {letter["id"] for letter in letters}
    for letter in letters:
        for key in ("in_reply_to", "annex_of"):
            if letter["thread"][key]:
                assert letter["thread"][key]["id"] in slugs
    for letter in letters:
        roles = letter["participants"]
        for role, people in roles.items():
            assert len({p["id"] for p in people}) == len(people), f"{letter['id']}: {role} listed twice"


def test_the_benchmark_words_are_common_and_rare(corpus):
    texts = [" ".join(p["text"] for p in letter["paragraphs"]) for letter in corpus["results"]]
    assert sum(COMMON_WORD in text for text in texts) > 0.3 * len(texts)
    assert sum(any(word in text for word in RARE_WORDS) for text in texts) < 0.02 * len(texts)


def test_letters_are_generated_one_at_a_time():
    generator = CorpusGenerator(5, seed=1)
    letters = generator.letters()
    assert isinstance(letters, types.GeneratorType)
    assert next(letters)["id"] == "lettre-0000001"


class _Discard:
    def write(self, text):
        return len(text)


def _peak_memory(letters):
    tracemalloc.start()
    try:
        write_corpus(_Discard(), letters, seed=1)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_whatever_the_number_of_letters():
    small, large = _peak_memory(50), _peak_memory(500)
    # Ten times the letters: the same authority records, one more small tuple per letter for the dates.
    assert large < small * 1.5


@pytest.mark.django_db
def test_import_letters_reads_the_corpus(tmp_path):
    path = tmp_path / "corpus.json"
    generate(path, 60, seed=5)
    data = json.loads(path.read_text(encoding="utf-8"))
    call_command("import_letters", str(path), verbosity=0)

    letters = Letter.objects.all()
    assert letters.count() == 60
    assert set(letters.values_list("status", flat=True)) == {PublicationStatus.PUBLISHED}
    by_slug = {letter["id"]: letter for letter in data["results"]}
    for letter in letters.filter(date_precision__in=["month", "year"]):
        source = by_slug[letter.slug]
        assert (letter.date_from.isoformat(), letter.date_to.isoformat()) == (source["date_from"], source["date_to"])
    assert letters.filter(date_precision="month").exists()
    first = letters.get(slug="lettre-0000001")
    assert first.paragraphs.count() == len(by_slug["lettre-0000001"]["paragraphs"])
    expected_senders = collections.Counter(
        p["id"] for letter in data["results"] for p in letter["participants"]["sender"]
    )
    imported_senders = collections.Counter(
        Participation.objects.filter(role="sender").values_list("agent__slug", flat=True)
    )
    assert imported_senders == expected_senders
    assert search_letters(Letter.objects.published(), COMMON_WORD).count() > 0
