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
from django.db.models import Case, Count, Exists, OuterRef, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

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
        the matches are read once per request, and each facet, chart and count
        joins their ids as one array: the full-text condition on a common word
        costs some 400 ms at 100,000 letters, and a list page asks it 14 times.
        SQLite's ``rowid IN (full-text matches)`` reads only the FTS5 index.
        """
        from correspondence.search import search_letters

        if not query:
            return queryset
        if connections[queryset.db].vendor != "postgresql":
            return search_letters(queryset, query, ranked=False)
        if getattr(self, "_matches", None) is None or self._matches[0] != query:
            ids = list(search_letters(Letter.objects.published(), query, ranked=False).values_list("pk", flat=True))
            self._matches = (query, ids)
        return queryset.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (self._matches[1],)))

    def matching(self):
        """The letters these filters keep, unsorted and without search rank: for counts and charts."""
        self.is_valid()
        return self.queryset_without(None, ranked=False)

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
        return {name: self.facet(name) for name in self.FACETS}

    def facet(self, name):
        letters = self.queryset_without(name, ranked=False).order_by()
        selected = self.selected_value(name)
        count = Count("pk", distinct=True)
        if name in ("sender", "recipient", "participant"):
            condition = Q(participations__agent__status=PUBLISHED)
            if name != "participant":
                condition &= Q(participations__role=self.filters[name].role)
            rows = top(
                letters.filter(condition)
                .values("participations__agent__slug", "participations__agent__name")
                .annotate(n=count),
                "participations__agent__slug",
                "participations__agent__name",
                selected,
            )
            options = [
                (row["participations__agent__slug"], row["participations__agent__name"], row["n"]) for row in rows
            ]
        elif name == "place_written":
            rows = top(
                letters.filter(place_written__status=PUBLISHED)
                .values("place_written__slug", "place_written__name")
                .annotate(n=count),
                "place_written__slug",
                "place_written__name",
                selected,
            )
            options = [(row["place_written__slug"], row["place_written__name"], row["n"]) for row in rows]
        elif name == "place_mentioned":
            rows = top(
                letters.filter(mentions__place__status=PUBLISHED)
                .values("mentions__place__slug", "mentions__place__name")
                .annotate(n=count),
                "mentions__place__slug",
                "mentions__place__name",
                selected,
            )
            options = [(row["mentions__place__slug"], row["mentions__place__name"], row["n"]) for row in rows]
        elif name == "cited":
            rows = top(
                letters.filter(citations__cited_document__status=PUBLISHED)
                .values("citations__cited_document__slug", "citations__cited_document__title")
                .annotate(n=count),
                "citations__cited_document__slug",
                "citations__cited_document__title",
                selected,
            )
            options = [
                (row["citations__cited_document__slug"], row["citations__cited_document__title"], row["n"])
                for row in rows
            ]
        elif name == "source":
            rows = top(
                letters.filter(source__status=PUBLISHED)
                .values("source__slug", "source__title", "source__symbol")
                .annotate(n=count),
                "source__slug",
                "source__title",
                selected,
            )
            options = [(row["source__slug"], row["source__symbol"] or row["source__title"], row["n"]) for row in rows]
        elif name == "kind":
            labels = dict(Letter.Kind.choices)
            rows = top(letters.values("kind").annotate(n=count), "kind", "kind", selected)
            options = [(row["kind"], labels.get(row["kind"], row["kind"]), row["n"]) for row in rows]
        elif name == "language":
            rows = top(letters.values("language").annotate(n=count), "language", "language", selected)
            options = [(row["language"], language_name(row["language"]), row["n"]) for row in rows]
        else:  # pragma: no cover - FACETS and this method go together
            raise ValueError(name)

        facet = [FacetOption(value, str(label), n, value == selected) for value, label, n in options]
        if selected and not any(option.selected for option in facet):
            facet.append(FacetOption(selected, self.selected_label(name), 0, True))
        facet.sort(key=lambda option: (-option.count, option.label.casefold()))
        return facet

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


#: Options listed per facet: the most frequent ones in the current results (and the selected one). A
#: select of 48,000 sources helps nobody and weighs megabytes; the index pages list every record.
FACET_LIMIT = 30


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
