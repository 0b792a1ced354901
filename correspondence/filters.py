"""
Filters for the public lists, declared once for the pages and the data
formats (JSON, CSV) alike.

Filter values in the query string are the records' permanent identifiers
(``?sender=anders-knape``), never database ids, so that a shared URL keeps
meaning the same thing. Invalid input becomes form errors that the page shows
to the reader.
"""

import calendar
import datetime
import re
from dataclasses import dataclass

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connections
from django.db.models import Case, Count, Exists, F, Lookup, OuterRef, Q, TextField, Value, When
from django.utils.translation import gettext_lazy as _

from correspondence import facet_counts
from correspondence.models import (
    Agent,
    Citation,
    CitedDocument,
    Letter,
    Mention,
    Participation,
    Place,
    PublicationStatus,
    SourceDocument,
)

QUERY_MAX_LENGTH = 200
PUBLISHED = PublicationStatus.PUBLISHED


# ---------------------------------------------------------------------------
# Dates known to the year, the month or the day
# ---------------------------------------------------------------------------

PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)


@dataclass(frozen=True)
class DateSpan:
    """The days a date given as YYYY, YYYY-MM or YYYY-MM-DD covers."""

    start: datetime.date
    end: datetime.date
    text: str

    def __str__(self):
        return self.text


def parse_partial_date(text):
    """Return the DateSpan for 2020, 2020-10 or 2020-10-20; raise ValueError otherwise."""
    match = PARTIAL_DATE.fullmatch(text)
    if not match:
        raise ValueError(text)
    year, month, day = (int(part) if part else None for part in match.groups())
    if day is not None:
        start = end = datetime.date(year, month, day)
    elif month is not None:
        start = datetime.date(year, month, 1)
        end = datetime.date(year, month, calendar.monthrange(year, month)[1])
    else:
        start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    return DateSpan(start, end, text)


class PartialDateField(forms.Field):
    widget = forms.TextInput
    default_error_messages = {
        "invalid": _("Enter a date as YYYY, YYYY-MM or YYYY-MM-DD, for example 2020, 2020-10 or 2020-10-20."),
        "impossible": _("“%(value)s” is not a date in the calendar."),
    }

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        if not PARTIAL_DATE.fullmatch(value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return parse_partial_date(value)
        except ValueError:
            raise ValidationError(
                self.error_messages["impossible"], code="impossible", params={"value": value}
            ) from None


class DateBoundFilter(django_filters.Filter):
    """
    One end of the requested period. A letter matches when its own span
    [date_from, date_to] overlaps the period, so a letter dated only
    "October 2020" is found by ``date_from=2020-10-15``.
    """

    field_class = PartialDateField

    def __init__(self, *args, bound, **kwargs):
        self.bound = bound
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        if self.bound == "from":
            return qs.filter(date_to__gte=value.start)
        return qs.filter(date_from__lte=value.end)


# ---------------------------------------------------------------------------
# Authority records chosen by their permanent identifier
# ---------------------------------------------------------------------------


def survivor_of(model, slug):
    """
    The published record that the record ``slug`` was merged into (following
    merges of merges), or None. Old URLs and filter values keep working after
    a merge.
    """
    record = model.objects.filter(slug=slug, merged_into__isnull=False).first()
    seen = set()
    while record is not None and record.merged_into_id and record.pk not in seen:
        seen.add(record.pk)
        record = model.objects.filter(pk=record.merged_into_id).first()
    if record is None or record.status != PUBLISHED or record.merged_into_id:
        return None
    return record


class RecordChoiceField(forms.ModelChoiceField):
    """A published record by its slug; the slug of a record merged into another gives the survivor."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            survivor = (
                survivor_of(self.queryset.model, value) if isinstance(value, str) and "\x00" not in value else None
            )
            if survivor is None or not self.queryset.filter(pk=survivor.pk).exists():
                raise
            return survivor


class RecordChoiceFilter(django_filters.ModelChoiceFilter):
    """A published authority record, given by its slug; unknown slugs are form errors."""

    field_class = RecordChoiceField

    def __init__(self, *args, not_found, **kwargs):
        kwargs.setdefault("to_field_name", "slug")
        kwargs.setdefault("error_messages", {"invalid_choice": not_found})
        super().__init__(*args, **kwargs)


class ParticipantFilter(RecordChoiceFilter):
    """Letters in which the agent takes part in the given role (any role when role is None)."""

    def __init__(self, *args, role=None, **kwargs):
        self.role = role
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        participations = Participation.objects.filter(letter=OuterRef("pk"), agent=value)
        if self.role:
            participations = participations.filter(role=self.role)
        return qs.filter(Exists(participations))


class RelatedRecordFilter(RecordChoiceFilter):
    """Letters with a row in a related table pointing at the record (mentions, citations)."""

    def __init__(self, *args, through, through_field, **kwargs):
        self.through = through
        self.through_field = through_field
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        rows = self.through.objects.filter(letter=OuterRef("pk"), **{self.through_field: value})
        return qs.filter(Exists(rows))


# ---------------------------------------------------------------------------
# Sorting
# ---------------------------------------------------------------------------


class LetterOrderingFilter(django_filters.OrderingFilter):
    """A whitelist of sort orders; relevance only means something when searching."""

    ORDERS = {
        "date": ("date_from", "date_to", "source_position", "slug"),
        "-date": ("-date_from", "-date_to", "source_position", "slug"),
        "title": ("title", "date_from", "slug"),
        "relevance": ("-search_rank", "date_from", "slug"),
    }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fields", ())
        super().__init__(*args, **kwargs)

    def build_choices(self, fields, labels):
        return [
            ("date", _("date, oldest first")),
            ("-date", _("date, newest first")),
            ("title", _("title")),
            ("relevance", _("relevance")),
        ]

    @classmethod
    def ordering_for(cls, key, searching):
        if key == "relevance" and not searching:
            key = "date"
        return cls.ORDERS[key]

    def filter(self, qs, value):
        searching = "search_rank" in qs.query.annotations
        key = value[0] if value else ("relevance" if searching else "date")
        return qs.order_by(*self.ordering_for(key, searching))


# ---------------------------------------------------------------------------
# The letter list
# ---------------------------------------------------------------------------


class LetterFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start.start > end.end:
            self.add_error("date_to", _("The end of the period comes before its start."))
        return cleaned


AGENT_NOT_FOUND = _("No published person or organisation has the identifier “%(value)s”.")
PLACE_NOT_FOUND = _("No published place has the identifier “%(value)s”.")


class LetterFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search the letters"),
        method="filter_search",
        max_length=QUERY_MAX_LENGTH,
        help_text=_("Words from the text, names or titles."),
    )
    sender = ParticipantFilter(
        label=_("Sender"),
        role=Participation.Role.SENDER,
        queryset=Agent.objects.published(),
        not_found=AGENT_NOT_FOUND,
    )
    recipient = ParticipantFilter(
        label=_("Recipient"),
        role=Participation.Role.RECIPIENT,
        queryset=Agent.objects.published(),
        not_found=AGENT_NOT_FOUND,
    )
    participant = ParticipantFilter(
        label=_("Any participant"),
        help_text=_("Sender, signatory, recipient or copied."),
        queryset=Agent.objects.published(),
        not_found=AGENT_NOT_FOUND,
    )
    date_from = DateBoundFilter(label=_("From"), bound="from", help_text=_("YYYY, YYYY-MM or YYYY-MM-DD"))
    date_to = DateBoundFilter(label=_("To"), bound="to", help_text=_("YYYY, YYYY-MM or YYYY-MM-DD"))
    place_written = RecordChoiceFilter(
        label=_("Place of writing"),
        field_name="place_written",
        queryset=Place.objects.published(),
        not_found=PLACE_NOT_FOUND,
    )
    place_mentioned = RelatedRecordFilter(
        label=_("Place mentioned"),
        through=Mention,
        through_field="place",
        queryset=Place.objects.published(),
        not_found=PLACE_NOT_FOUND,
    )
    cited = RelatedRecordFilter(
        label=_("Cited document"),
        through=Citation,
        through_field="cited_document",
        queryset=CitedDocument.objects.published(),
        not_found=_("No published cited document has the identifier “%(value)s”."),
    )
    source = RecordChoiceFilter(
        label=_("Source document"),
        field_name="source",
        queryset=SourceDocument.objects.published(),
        not_found=_("No published source document has the identifier “%(value)s”."),
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"),
        choices=Letter.Kind.choices,
        error_messages={"invalid_choice": _("“%(value)s” is not a kind of item in the archive.")},
    )
    language = django_filters.CharFilter(
        label=_("Language"),
        max_length=10,
        validators=[
            RegexValidator(
                r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$",
                _("Give a language as an ISO 639-1 code, for example fr or en."),
            )
        ],
    )
    sort = LetterOrderingFilter(
        label=_("Sort by"),
        error_messages={"invalid_choice": _("“%(value)s” is not a sort order this list knows.")},
    )

    class Meta:
        model = Letter
        fields = []
        form = LetterFilterForm

    #: Filters with facet counts, in the order the page shows them.
    FACETS = (
        "kind",
        "sender",
        "recipient",
        "participant",
        "place_written",
        "place_mentioned",
        "cited",
        "source",
        "language",
    )

    def filter_search(self, queryset, name, value):
        from correspondence.search import search_letters  # written alongside; imported when first needed

        return search_letters(queryset, value)

    def filter_queryset(self, queryset):
        return self.queryset_without(None, queryset)

    def queryset_without(self, excluded, queryset=None, *, ranked=True):
        """
        The valid filters applied to the queryset, without ``excluded``: the
        letters a facet counts are those that the *other* active filters keep.
        Sorting is applied only to the full list. ``ranked=False``: a search
        narrows without rank or snippet (see ``search_letters``), unsorted.
        """

        queryset = self.queryset.all() if queryset is None else queryset
        cleaned = self.form.cleaned_data
        for name, value in cleaned.items():
            if name in (excluded, "sort"):
                continue
            if name == "q" and not ranked:
                queryset = self.narrow_to_matches(queryset, value)
                continue
            queryset = self.filters[name].filter(queryset, value)
        if excluded is None and ranked:
            queryset = self.filters["sort"].filter(queryset, cleaned.get("sort"))
        return queryset

    def narrow_to_matches(self, queryset, query):
        """
        ``queryset`` narrowed to the letters matching the search. On PostgreSQL
        the matches are read once per request, through the full-text index
        (``search.matching_ids``), and each facet, chart and count tests their
        ids as one array (``AnyOf``): a list page asks for them 14 times.
        SQLite's ``rowid IN (full-text matches)`` reads only the FTS5 index.
        """
        from correspondence.search import matching_ids, search_letters

        if not query:
            return queryset
        if connections[queryset.db].vendor != "postgresql":
            return search_letters(queryset, query, ranked=False)
        if getattr(self, "_matches", None) is None or self._matches[0] != query:
            ids = matching_ids(Letter.objects.using(queryset.db).published(), query)
            # One array literal ('{1,2,3}'): PostgreSQL reads it three times faster than ARRAY[1, 2, 3], the
            # form a Python list becomes (65,000 ids: 84 ms against 247 ms per query).
            self._matches = (query, "{" + ",".join(str(pk) for pk in ids) + "}", len(ids))
        return queryset.filter(AnyOf(F("pk"), Value(self._matches[1], output_field=TextField())))

    def matching(self):
        """The letters these filters keep, unsorted and without search rank: for counts and charts."""
        self.is_valid()
        return self.queryset_without(None, ranked=False)

    def count(self):
        """
        The number of letters these filters keep. A search alone, among the
        published letters, on PostgreSQL: its matches, read once already.
        """
        self.is_valid()
        query = self.cache_parts().get("q")
        searching_only = query is not None and len(self.cache_parts()) == 1
        if searching_only and self.queryset.is_every_published_letter():
            self.narrow_to_matches(self.queryset, self.form.cleaned_data["q"])
            if getattr(self, "_matches", None) is not None:  # PostgreSQL
                return self._matches[2]
        return self.matching().count()

    def cache_parts(self, excluded=("sort",)):
        """
        The valid filters as plain values (identifiers, dates, words), for the
        key of what is cached about these results: two URLs that filter alike
        share it, whatever order or spelling their query strings have.
        """
        self.is_valid()
        cleaned = getattr(self.form, "cleaned_data", {})
        return {
            name: getattr(value, "slug", str(value))
            for name, value in sorted(cleaned.items())
            if name not in excluded and value not in (None, "", [])
        }

    def cached_facets(self, request=None):
        """:meth:`facets`, cached for the archive's generation (see ``correspondence.state``)."""
        from correspondence.state import cached

        return cached("facets", self.cache_parts(), self.facets, request=request)

    @property
    def searching(self):
        return bool(self.form.is_valid() and self.form.cleaned_data.get("q"))

    # -- facets -------------------------------------------------------------

    def facets(self):
        """
        For each faceted filter, its options with the number of letters each
        would give, counted in the database over the letters kept by the other
        active filters. The selected option is always listed.
        """
        self.is_valid()  # validate, so that cleaned_data holds the valid filters
        if self.matching().query.is_empty():
            # Nothing can match (on SQLite, a search of stop words alone): no SQL to count with.
            return {name: self.facet(name, []) for name in self.FACETS}
        together = self.facets_counted_together()
        return {name: self.facet(name, together.get(name)) for name in self.FACETS}

    def facet(self, name, options=None):
        """A facet's options; ``options``: its [(value, label, n)], counted already (``facets_counted_together``)."""
        selected = self.selected_value(name)
        if options is None:
            options = self.counted_options(name, selected)
        facet = [FacetOption(value, str(label), n, value == selected) for value, label, n in options]
        if selected and not any(option.selected for option in facet):
            facet.append(FacetOption(selected, self.selected_label(name), 0, True))
        facet.sort(key=lambda option: (-option.count, option.label.casefold()))
        return facet

    def counted_options(self, name, selected):
        """[(value, label, n)] of facet ``name``, its largest options, counted among the letters it narrows."""
        if name in ("kind", "language"):
            letters = self.queryset_without(name, ranked=False).order_by()
            label = self.LETTER_COLUMN_FACETS[name][1]
            # The whole archive: from the (status, kind) and (status, language) indexes alone.
            counted = letters if self.counts_whole_archive(name) else Letter.objects.filter(pk__in=letters.values("pk"))
            counted = counted.values(name).annotate(n=Count("*"))
            return [(row[name], label(row[name]) or row[name], row["n"]) for row in top(counted, name, name, selected)]
        letters = None if self.counts_whole_archive(name) else self.queryset_without(name, ranked=False).order_by()
        return self.counted_records(name, letters, selected)

    def counts_whole_archive(self, name):
        """
        Whether facet ``name`` counts every published letter: the list is of
        the published letters (the public list) and no other filter is active.
        """
        return not self.cache_parts(excluded=("sort", name)) and self.queryset.is_every_published_letter()

    #: For the facets of authority records: the rows that link a letter to a record (model, its letter
    #: column, its record column, conditions, whether a letter can have several links to one record),
    #: the record's model and the columns of its label (the first that is not empty). A person is a
    #: sender of a letter once and a place is mentioned once (unique constraints); a participant can
    #: have several roles, and a document can be cited at several places of a letter.
    RECORD_FACETS = {
        "sender": (
            Participation,
            "letter_id",
            "agent_id",
            {"role": Participation.Role.SENDER},
            False,
            Agent,
            ("name",),
        ),
        "recipient": (
            Participation,
            "letter_id",
            "agent_id",
            {"role": Participation.Role.RECIPIENT},
            False,
            Agent,
            ("name",),
        ),
        "participant": (Participation, "letter_id", "agent_id", {}, True, Agent, ("name",)),
        "place_written": (Letter, "pk", "place_written_id", {}, False, Place, ("name",)),
        "place_mentioned": (Mention, "letter_id", "place_id", {}, False, Place, ("name",)),
        "cited": (Citation, "letter_id", "cited_document_id", {}, True, CitedDocument, ("title",)),
        "source": (Letter, "pk", "source_id", {}, False, SourceDocument, ("symbol", "title")),
    }

    def facets_counted_together(self):
        """
        {facet name: [(value, label, n)]} of the facets that one query can
        count together: not selected (so each counts the same letters, those
        all the active filters keep) and read from the same rows: the sender,
        recipient and participant facets (``counted_together``), and those of
        the letters' own columns, kind, language, place of writing and source
        (``counted_letter_columns``). A common-word search at 100,000 letters
        (66,000 matches) on PostgreSQL: the three participant facets in one
        query of 84 ms against 212 ms in three. Empty for the whole archive,
        whose facets are read or counted otherwise.
        """
        active = self.cache_parts()
        shared = {}
        for name in self.FACETS:
            if name in active or self.counts_whole_archive(name):
                continue
            if name in self.LETTER_COLUMN_FACETS:
                shared.setdefault(Letter, []).append(name)
            else:
                links, letter_column, record_column, _conditions, _several, model, _labels = self.RECORD_FACETS[name]
                shared.setdefault((links, letter_column, record_column, model), []).append(name)
        groups = [(kind, names) for kind, names in shared.items() if len(names) > 1]
        counted = {}
        if groups:
            letters = self.queryset_without(None, ranked=False).order_by()
            for kind, names in groups:
                if kind is Letter:
                    counted.update(self.counted_letter_columns(names, letters))
                else:
                    counted.update(self.counted_together(names, letters))
        return counted

    #: Facets of a letter's own columns, which ``counted_letter_columns`` counts together: the column, and the
    #: label of a value (a choice's) or the record it points to (``RECORD_FACETS``).
    LETTER_COLUMN_FACETS = {
        "kind": ("kind", lambda value: dict(Letter.Kind.choices).get(value)),
        "language": ("language", lambda value: language_name(value)),
        "place_written": ("place_written_id", None),
        "source": ("source_id", None),
    }

    def counted_letter_columns(self, names, letters):
        """
        The options of several facets of the letters' own columns (kind,
        language, place of writing, source) among the same ``letters``, none
        selected, in one query: the letters' columns read once (a common
        table expression), then grouped by each column, each facet's largest
        groups (and their published records) in a branch of a ``UNION ALL``.
        """
        connection = connections[self.queryset.db]
        quote = connection.ops.quote_name
        columns = [self.LETTER_COLUMN_FACETS[name][0] for name in names]
        kept = Letter.objects.filter(pk__in=letters.values("pk")).values(*columns).order_by()
        inner, params = kept.query.get_compiler(connection=connection).as_sql()
        branches = []
        for name, column in zip(names, columns, strict=True):
            column = quote(column)
            if name in self.RECORD_FACETS:
                counts = f"(SELECT m.{column} AS record, COUNT(*) AS n FROM m GROUP BY m.{column}) c"  # noqa: S608
                branches.append(self.largest_records_branch(name, counts, "c.record", "c.n", quote, labels=2))
                continue
            branches.append(
                (
                    f"SELECT * FROM (SELECT %s AS facet, m.{column} AS value, NULL AS label, NULL AS other, "  # noqa: S608
                    f"COUNT(*) AS n FROM m GROUP BY m.{column} ORDER BY n DESC, m.{column} LIMIT {FACET_LIMIT:d}) "
                    f"{quote(f'b_{name}')}",
                    [name],
                )
            )
        counted = {name: [] for name in names}
        for name, value, *labels, n in _union_over(connection, "m", inner, params, branches):
            if name in self.RECORD_FACETS:
                label = _first_label(labels, value)
            else:
                label = self.LETTER_COLUMN_FACETS[name][1](value) or value
            counted[name].append((value, label, n))
        return counted

    def counted_together(self, names, letters):
        """
        ``counted_records`` of several facets (``facets_counted_together``)
        among the same ``letters``, none selected: the links grouped once by
        record, each facet counted with its own conditions (an aggregate's
        ``FILTER``), then each facet's largest published records named (one
        branch of a ``UNION ALL`` each).
        """
        links, letter_column, record_column = self.RECORD_FACETS[names[0]][:3]
        aggregates = {}
        for name in names:
            conditions, several = self.RECORD_FACETS[name][3:5]
            condition = Q(**conditions) if conditions else None
            aggregates[f"n_{name}"] = Count(letter_column, distinct=several, filter=condition)
        rows = (
            links.objects.filter(**{f"{letter_column}__in": letters.values("pk")})
            .values(record_column)
            .annotate(**aggregates)
            .order_by()
        )
        connection = connections[self.queryset.db]
        quote = connection.ops.quote_name
        inner, params = rows.query.get_compiler(connection=connection).as_sql()
        record = f"c.{quote(record_column)}"
        branches = [self.largest_records_branch(name, "c", record, f"c.{quote(f'n_{name}')}", quote) for name in names]
        counted = {name: [] for name in names}
        for name, slug, *labels, n in _union_over(connection, "c", inner, params, branches):
            counted[name].append((slug, _first_label(labels, slug), n))
        return counted

    def largest_records_branch(self, name, counts, record, n, quote, *, labels=None):
        """
        A branch of a ``UNION ALL`` and its parameters: the facet's name, then
        the slug, the label columns (``labels`` of them, NULL after the
        record's own) and the count of record facet ``name``'s ``FACET_LIMIT``
        largest published records, as ``counted_records`` orders them; from
        ``counts``, a table expression giving the ``record`` id and its ``n``.
        """
        model, label_columns = self.RECORD_FACETS[name][5:7]
        columns = [f"r.{quote(column)}" for column in label_columns]
        columns += ["NULL"] * ((labels or len(columns)) - len(columns))
        sql = (
            f"SELECT * FROM (SELECT %s AS facet, r.slug, {', '.join(columns)}, {n} AS n "  # noqa: S608 - names from models
            f"FROM {quote(model._meta.db_table)} r INNER JOIN {counts} ON {record} = r.id "
            f"WHERE r.status = %s AND {n} > 0 "
            f"ORDER BY n DESC, r.{quote(label_columns[-1])}, r.id LIMIT {FACET_LIMIT:d}) {quote(f'b_{name}')}"
        )
        return sql, [name, str(PUBLISHED)]

    def counted_records(self, name, letters, selected):
        """
        [(slug, label, number of letters)] of a record facet's largest
        options: the links are counted per record id among ``letters`` (a
        subquery, so that no join of the filters multiplies them), then the
        published records among the ``FACET_LIMIT`` largest groups are named.
        Counting by id before joining the records is several times faster at
        100,000 letters than grouping the joined rows by name.

        ``letters=None``: among all the published letters. On PostgreSQL the
        simple facets are read from the counts the database keeps
        (``facet_counts``: a millisecond); the others, and all of them on
        SQLite, count every link from an index alone, less the links of the
        letters not published (a few drafts): 15-30 ms a facet at 100,000
        letters, against 100-300 ms for testing each link's letter. Filtered
        lists count letter by letter (the letters passed).
        """
        links, letter_column, record_column, conditions, several, model, label_columns = self.RECORD_FACETS[name]

        def counted(among=None):
            """Links per record among these letters (all letters: ``None``)."""
            rows = links.objects.filter(**conditions)
            if among is not None:
                rows = rows.filter(**{f"{letter_column}__in": among.values("pk")})
            counts = Count(letter_column, distinct=True) if several else Count("*")
            return rows.values(record_column).annotate(n=counts).order_by()

        connection = connections[self.queryset.db]
        quote = connection.ops.quote_name
        record = quote(record_column)

        def compiled(rows):
            return rows.query.get_compiler(connection=connection).as_sql()

        if letters is None and name in facet_counts.COUNTED and facet_counts.is_kept(self.queryset.db):
            # Kept by the database as letters are written (facet_counts): read, not counted.
            joined = f"INNER JOIN {quote(facet_counts.FacetCount._meta.db_table)} c ON c.record = r.id AND c.facet = %s"
            params = [name]
            count = "c.n"
        elif letters is None:
            inner, params = compiled(counted())
            hidden, hidden_params = compiled(counted(Letter.objects.unpublished()))
            joined = f"INNER JOIN ({inner}) c ON c.{record} = r.id LEFT JOIN ({hidden}) h ON h.{record} = r.id"
            params = [*params, *hidden_params]
            count = "c.n - COALESCE(h.n, 0)"
        else:
            inner, params = compiled(counted(letters))
            joined = f"INNER JOIN ({inner}) c ON c.{record} = r.id"
            count = "c.n"
        label_sql = ", ".join(f"r.{quote(column)}" for column in label_columns)
        params = [*params, str(PUBLISHED)]
        first = ""
        if selected is not None:
            first = "CASE WHEN r.slug = %s THEN 0 ELSE 1 END, "
            params.append(selected)
        sql = (
            f"SELECT r.slug, {label_sql}, {count} AS n FROM {quote(model._meta.db_table)} r {joined} "  # noqa: S608 - names from models
            f"WHERE r.status = %s AND {count} > 0 "
            f"ORDER BY {first}n DESC, r.{quote(label_columns[-1])}, r.id LIMIT {FACET_LIMIT:d}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [(slug, _first_label(labels, slug), n) for slug, *labels, n in rows]

    def selected_value(self, name):
        value = self.form.cleaned_data.get(name) if hasattr(self.form, "cleaned_data") else None
        if value is None or value == "":
            return None
        return getattr(value, "slug", value)

    def selected_label(self, name):
        value = self.form.cleaned_data.get(name)
        if name == "kind":
            return str(Letter.Kind(value).label)
        if name == "language":
            return str(language_name(value))
        if isinstance(value, SourceDocument):
            return value.symbol or value.title
        return str(value)


class AnyOf(Lookup):
    """
    ``column = ANY('{1,2,3}'::bigint[])``, a PostgreSQL array of ids: tested
    with a hash table against each row, so that the planner can scan and hash
    the letters the other filters keep. Through ``IN (SELECT unnest(...))``
    it takes the array for 200 rows and reads the letters one by one from
    the primary key: a facet over 98,600 matches in 100,000 letters took
    400 ms, against 200 ms so.
    """

    lookup_name = "any_of"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(({rhs})::bigint[])", (*lhs_params, *rhs_params)


#: Options listed per facet: the most frequent ones in the current results (and the selected one). A
#: select of 48,000 sources helps nobody and weighs megabytes; the index pages list every record.
FACET_LIMIT = 30


def _first_label(labels, slug):
    """A record's label: the first of its label columns that is not empty (a source's symbol, else title)."""
    return next((label for label in labels if label), slug)


def _union_over(connection, name, inner, params, branches):
    """The rows of the ``UNION ALL`` of ``branches`` ([(sql, params)]) over ``inner`` as common table ``name``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {name} AS ({inner}) " + " UNION ALL ".join(sql for sql, _params in branches),
            [*params, *(value for _sql, more in branches for value in more)],
        )
        return cursor.fetchall()


def top(rows, value, label, selected=None):
    """
    The ``FACET_LIMIT`` largest groups of ``rows``, counted in the database,
    and the ``selected`` value's group whatever its size (ordered first).
    """
    order = ["-n", label]
    if selected is not None:
        order.insert(0, Case(When(**{value: selected}, then=Value(0)), default=Value(1)))
    return rows.order_by(*order)[:FACET_LIMIT]


@dataclass
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


def language_name(code):
    """The language's name in the interface language, or the code itself."""
    from django.utils.translation import get_language_info

    try:
        return get_language_info(code)["name_translated"]
    except KeyError:
        return code


# ---------------------------------------------------------------------------
# Index pages of authority records
# ---------------------------------------------------------------------------


class NameSearchFilterSet(django_filters.FilterSet):
    """Index pages: find a record by any of its names."""

    q = django_filters.CharFilter(label=_("Find by name"), method="filter_name", max_length=QUERY_MAX_LENGTH)

    name_fields = ("name", "variants__name")

    def filter_name(self, queryset, name, value):
        condition = Q()
        for field in self.name_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition).distinct()


class AgentFilterSet(NameSearchFilterSet):
    class Meta:
        model = Agent
        fields = []


class PlaceFilterSet(NameSearchFilterSet):
    class Meta:
        model = Place
        fields = []


class CitedDocumentFilterSet(NameSearchFilterSet):
    name_fields = ("title", "symbol")
    q = django_filters.CharFilter(label=_("Find by title or symbol"), method="filter_name", max_length=QUERY_MAX_LENGTH)
    kind = django_filters.ChoiceFilter(
        label=_("Type"),
        choices=CitedDocument.Kind.choices,
        empty_label=_("All types"),
        error_messages={"invalid_choice": _("“%(value)s” is not a type of cited document.")},
    )

    class Meta:
        model = CitedDocument
        fields = []


class SourceDocumentFilterSet(NameSearchFilterSet):
    name_fields = ("title", "symbol")
    q = django_filters.CharFilter(label=_("Find by title or symbol"), method="filter_name", max_length=QUERY_MAX_LENGTH)

    class Meta:
        model = SourceDocument
        fields = []
