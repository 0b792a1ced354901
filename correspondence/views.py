"""
The public site: the home page, the list of letters, each letter, and the
pages of the people, organisations, places, cited documents and source
documents they involve.

Only published records appear; a draft's URL is a 404. Every list page also
answers ``?format=json`` and ``?format=csv`` and every detail page
``?format=json`` (see ``exports.py``). Bad input never raises: it becomes a
message for the reader (form errors with status 200, or a 400 or 404 page).
"""

import json
import os
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, Lower, NullIf, RowNumber
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, TemplateView
from django_filters.views import FilterView

from correspondence import charts, citations, cmif, exports, history, tei
from correspondence.filters import (
    AgentFilterSet,
    CitedDocumentFilterSet,
    LetterFilterSet,
    PlaceFilterSet,
    SourceDocumentFilterSet,
    language_name,
    survivor_of,
)
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
from correspondence.search import read_through_index
from correspondence.state import cache_key, cached, request_generation

# ---------------------------------------------------------------------------
# Error pages
# ---------------------------------------------------------------------------


class NotInArchive(Http404):
    """A 404 whose message is written for the reader and shown on the page."""


def page_not_found(request, exception=None):
    message = str(exception) if isinstance(exception, NotInArchive) else ""
    context = {"message": message, "page_title": _("Page not found")}
    return render(request, "404.html", context, status=404)


def bad_request(request, exception=None, message=""):
    context = {"message": message, "page_title": _("Bad request")}
    return render(request, "400.html", context, status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", {"page_title": _("Access denied")}, status=403)


# ---------------------------------------------------------------------------
# What every public page shares
# ---------------------------------------------------------------------------


class PageMixin:
    """Page title and description, and the data formats the page answers in (``?format=``)."""

    formats = ("html",)
    page_title = ""
    page_description = ""

    def dispatch(self, request, *args, **kwargs):
        self.format = request.GET.get("format") or "html"
        if self.format not in self.formats:
            return self.bad_format()
        return super().dispatch(request, *args, **kwargs)

    def bad_format(self):
        shown = self.format[:40]
        others = [fmt for fmt in self.formats if fmt != "html"]
        if others:
            message = _("“%(format)s” is not a format this page offers. It is available as: %(formats)s.") % {
                "format": shown,
                "formats": ", ".join(f"format={fmt}" for fmt in others),
            }
        else:
            message = _("“%(format)s” is not a format this page offers: it exists only as a web page.") % {
                "format": shown
            }
        return bad_request(self.request, message=message)

    def absolute(self, url):
        return self.request.build_absolute_uri(url)

    def get_page_title(self):
        return self.page_title

    def get_page_description(self):
        return self.page_description

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("page_title", self.get_page_title())
        context.setdefault("page_description", self.get_page_description())
        context["data_formats"] = [fmt for fmt in self.formats if fmt != "html"]
        return context


class ListPageMixin(PageMixin):
    """
    A filtered, paginated list with JSON and CSV. Bad filter values are form
    errors shown on the page (status 200) or a 400 in the data formats; a
    page number that is not one is a 400, a page past the end a 404.
    """

    formats = ("html", "json", "csv")
    paginate_by = 20
    csv_filename = "records.csv"
    page_error = None

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = self.request.GET  # always bound, so that the default order applies to the bare list
        return kwargs

    def get(self, request, *args, **kwargs):
        self.filterset = self.get_filterset(self.get_filterset_class())
        valid = self.filterset.is_valid()
        self.object_list = self.filterset.qs if valid else self.filterset.queryset.none()
        if self.format != "html" and not valid:
            return self.errors_response()
        if self.format != "html":
            return getattr(self, f"{self.format}_response")()
        context = self.get_context_data(filter=self.filterset, object_list=self.object_list)
        status = self.page_error[0] if self.page_error else 200
        return self.render_to_response(context, status=status)

    # -- pagination ---------------------------------------------------------

    def result_count(self, queryset):
        """The number of results (``None``: let the paginator count)."""
        return None

    def paginate_queryset(self, queryset, page_size):
        paginator = self.get_paginator(queryset, page_size, allow_empty_first_page=True)
        count = self.result_count(queryset)
        if count is not None:
            paginator.count = count  # a cached_property: the paginator does not count again
        raw = self.request.GET.get("page") or "1"
        if raw == "last":
            number = paginator.num_pages
        else:
            number = int(raw) if raw.isascii() and raw.isdigit() else 0
        if number < 1:
            self.page_error = (
                400,
                _("“%(page)s” is not a page number. Page numbers are whole numbers from 1.") % {"page": raw[:20]},
            )
        elif number > paginator.num_pages:
            self.page_error = (
                404,
                _("There is no page %(page)s: these results fill %(pages)s page(s).")
                % {"page": number, "pages": paginator.num_pages},
            )
        if self.page_error:
            return (paginator, None, [], False)
        page = paginator.page(number)
        page.object_list = self.page_rows(page)
        return (paginator, page, page.object_list, page.has_other_pages())

    def page_rows(self, page):
        """The records of this page (a queryset, evaluated by whoever reads it)."""
        return page.object_list

    # -- data formats -------------------------------------------------------

    def summary(self, record):
        raise NotImplementedError

    def csv_header_and_rows(self, records):
        summaries = (self.summary(record) for record in records)
        first = next(summaries, None)
        if first is None:
            return [], []
        header = exports.record_csv_fields(first)

        def rows():
            yield exports.record_csv_row(first, header)
            for summary in summaries:
                yield exports.record_csv_row(summary, header)

        return header, rows()

    def errors_response(self):
        errors = {
            field: [error["message"] for error in messages]
            for field, messages in self.filterset.form.errors.get_json_data().items()
        }
        if self.format == "json":
            return JsonResponse({"errors": errors}, status=400)
        lines = [f"{field}: {message}" for field, messages in errors.items() for message in messages]
        response = StreamingHttpResponse(iter([_("Invalid parameters") + "\n", *(line + "\n" for line in lines)]))
        response.status_code = 400
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response

    def json_response(self):
        paginator, page, records, _is_paginated = self.paginate_queryset(self.object_list, self.paginate_by)
        if self.page_error:
            return JsonResponse({"error": self.page_error[1]}, status=self.page_error[0])
        return JsonResponse(
            {
                "count": paginator.count,
                "next": self.page_url(page.next_page_number()) if page.has_next() else None,
                "previous": self.page_url(page.previous_page_number()) if page.has_previous() else None,
                "results": [self.summary(record) for record in records],
            },
            json_dumps_params={"ensure_ascii": False},
        )

    def page_url(self, number):
        query = self.request.GET.copy()
        query["page"] = number
        return self.absolute(f"{self.request.path}?{query.urlencode()}")

    def csv_response(self):
        """
        The whole filtered list as CSV, streamed. A file of at most
        ``CSV_CACHE_MAX_CHARS`` is kept in the cache for the archive's
        generation as it goes out, and sent from there to the next reader who
        asks the same (the whole archive is streamed every time, in flat memory).
        """
        key = cache_key(
            f"csv-{self.csv_filename}",
            {"query": sorted(self.request.GET.lists()), "site": self.absolute("/")},
            request_generation(self.request),
        )
        body = cache.get(key)
        if body is None:
            header, rows = self.csv_header_and_rows(self.object_list.iterator(chunk_size=500))
            body = _kept_in_cache(exports.csv_lines(header, rows), key, settings.CSV_CACHE_MAX_CHARS)
        else:
            body = [body]
        response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.csv_filename}"'
        return response

    # -- page context -------------------------------------------------------

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page_error"] = self.page_error[1] if self.page_error else ""
        context["active_filters"] = self.active_filters()
        context["ignored_parameters"] = self.ignored_parameters()
        context["data_links"] = {fmt: self.format_url(fmt) for fmt in ("json", "csv")}
        return context

    def known_parameters(self):
        return {*self.filterset.filters, "page", "format"}

    def ignored_parameters(self):
        return [name[:40] for name in self.request.GET if name not in self.known_parameters()]

    def active_filters(self):
        """The filters in the query string, each with the URL of the list without it."""
        form = self.filterset.form
        active = []
        for name, bound_filter in self.filterset.filters.items():
            raw = self.request.GET.get(name, "")
            if not raw.strip() or name == "sort":
                continue
            value = form.cleaned_data.get(name) if hasattr(form, "cleaned_data") else None
            active.append(
                {
                    "name": name,
                    "label": bound_filter.label,
                    "value": self.display_value(name, value) if value not in (None, "") else raw[:80],
                    "valid": name not in form.errors,
                    "remove_url": self.url_without(name),
                }
            )
        return active

    def display_value(self, name, value):
        """The value as the reader knows it: a record's name, a choice's label."""
        if isinstance(value, SourceDocument):
            return value.symbol or value.title
        choices = self.filterset.filters[name].extra.get("choices")
        if choices and not callable(choices):
            return str(dict(choices).get(value, value))
        return str(value)

    def url_without(self, *names):
        query = self.request.GET.copy()
        for name in (*names, "page", "format"):
            query.pop(name, None)
        encoded = query.urlencode()
        return f"{self.request.path}?{encoded}" if encoded else self.request.path

    def format_url(self, fmt):
        query = self.request.GET.copy()
        query.pop("page", None)
        query["format"] = fmt
        return f"{self.request.path}?{query.urlencode()}"


# ---------------------------------------------------------------------------
# Home
# ---------------------------------------------------------------------------


def letter_count(*relations):
    """
    A subquery counting the published letters linked to the outer record
    through any of the given (model, field) relations, without joining them
    together (which would multiply the rows).
    """
    condition = Q()
    for model, field in relations:
        condition |= Q(Exists(model.objects.filter(letter=OuterRef("pk"), **{field: OuterRef(OuterRef("pk"))})))
    letters = (
        Letter.objects.published()
        .filter(condition)
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT", output_field=IntegerField()))
        .values("n")
    )
    return Coalesce(Subquery(letters, output_field=IntegerField()), Value(0))


def items_count():
    letters = (
        Letter.objects.published()
        .filter(source=OuterRef("pk"))
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT", output_field=IntegerField()))
        .values("n")
    )
    return Coalesce(Subquery(letters, output_field=IntegerField()), Value(0))


class HomeView(PageMixin, TemplateView):
    template_name = "correspondence/home.html"
    page_title = gettext_lazy("Diplomatic correspondence archive")
    page_description = gettext_lazy(
        "Letters, replies, annexes and reports about the conflict between Armenia and Azerbaijan, "
        "transcribed from published documents, with their senders, recipients, places and cited documents."
    )
    latest_count = 5
    #: Sources listed on the home page (the largest, when there are more); the index lists them all.
    sources_count = 10

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(cached("home", {}, self.summary, request=self.request))
        return context

    def summary(self):
        """What the archive holds: counts, date span, the largest sources (cached per generation)."""
        letters = Letter.objects.published()
        sources = SourceDocument.objects.published()
        counts = {
            "letters": letters.count(),
            "people": Agent.objects.published().people().count(),
            "organisations": Agent.objects.published().organisations().count(),
            "places": Place.objects.published().count(),
            "cited": CitedDocument.objects.published().count(),
            "sources": sources.count(),
        }
        if counts["sources"] > self.sources_count:
            # The sources with the most published items, in one grouped query over the letters.
            largest = (
                letters.filter(source__status=PublicationStatus.PUBLISHED, source__merged_into=None)
                .values("source")
                .annotate(n=Count("pk"))
                .order_by("-n", "source")
                .values_list("source", flat=True)[: self.sources_count]
            )
            sources = sources.filter(pk__in=list(largest))
        return {
            "latest_letters": list(
                letters.with_people().order_by("-date_from", "-date_to", "slug")[: self.latest_count]
            ),
            "span": letters.aggregate(earliest=Min("date_from"), latest=Max("date_to")),
            "counts": counts,
            "sources": list(sources.select_related("issuing_body").annotate(letter_count=items_count())),
        }


# ---------------------------------------------------------------------------
# Letters
# ---------------------------------------------------------------------------

CITATIONS = Prefetch("citations", queryset=Citation.objects.select_related("cited_document"))


class LetterListView(ListPageMixin, FilterView):
    model = Letter
    filterset_class = LetterFilterSet
    template_name = "correspondence/letter_list.html"
    context_object_name = "letters"
    csv_filename = "letters.csv"
    formats = ("html", "json", "csv", "cmif")
    page_description = gettext_lazy("Search and filter the letters of the archive by person, place, date and source.")

    def cmif_response(self):
        """The whole filtered list (not one page) as a CMIF file."""
        data = cmif.write_cmif(
            self.object_list, base_url=site_root(self.request), file_url=self.request.build_absolute_uri()
        )
        return HttpResponse(data, content_type=XML_CONTENT_TYPE)

    def get_queryset(self):
        letters = Letter.objects.published().with_people()
        if self.format != "html":
            letters = letters.prefetch_related(CITATIONS)
        return letters

    def get_page_title(self):
        if self.filterset.is_valid() and self.filterset.form.cleaned_data.get("q"):
            return _("Letters matching “%(query)s”") % {"query": self.filterset.form.cleaned_data["q"]}
        return _("Letters")

    def summary(self, letter):
        data = exports.letter_summary(letter, self.absolute)
        if hasattr(letter, "search_rank"):
            from correspondence.search import MARK_END, MARK_START

            data["search_rank"] = letter.search_rank
            data["search_snippet"] = (letter.search_snippet or "").replace(MARK_START, "").replace(MARK_END, "")
        return data

    def display_value(self, name, value):
        if name == "language":
            return language_name(value)
        return super().display_value(name, value)

    def csv_header_and_rows(self, letters):
        return exports.LETTER_CSV_FIELDS, (exports.letter_csv_row(letter, self.absolute) for letter in letters)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = self.filterset
        context["searching"] = filterset.searching
        context["facets"] = SimpleLazyObject(lambda: filterset.cached_facets(self.request))
        sort = filterset.form.cleaned_data.get("sort") if filterset.is_valid() else None
        context["sort_value"] = sort[0] if sort else ("relevance" if filterset.searching else "date")
        context["sort_options"] = [
            (value, label)
            for value, label in filterset.filters["sort"].build_choices((), {})
            if value != "relevance" or filterset.searching
        ]
        context["clear_url"] = self.request.path
        context["data_links"] = {**context.get("data_links", {}), "cmif": self.format_url("cmif")}
        # Lazy: on PostgreSQL narrowing to a search reads the matches, which a cached page does not need.
        letters = SimpleLazyObject(lambda: self.filterset.matching() if self.filterset.is_valid() else self.object_list)
        # Drawn only when the template's fragment cache has not got them for these filters and this generation.
        context["charts_key"] = cache_key("charts", self.filterset.cache_parts(), request_generation(self.request))
        query = sorted(self.request.GET.lists())
        context["content_key"] = cache_key("list-content", {"query": query}, request_generation(self.request))
        context["charts_timeout"] = settings.SUMMARY_CACHE_SECONDS
        context["timeline"] = SimpleLazyObject(lambda: charts.timeline_data(letters))
        context["network"] = SimpleLazyObject(lambda: charts.network_data(letters))
        context["letter_map"] = SimpleLazyObject(lambda: charts.map_data(letters))
        return context

    def result_count(self, queryset):
        if not self.filterset.is_valid():
            return None
        return cached("count", self.filterset.cache_parts(), self.filterset.count, request=self.request)

    def page_rows(self, page):
        """
        The letters of the page, with their people, rank and snippet, cached
        for the archive's generation: ranking every letter that holds a
        common word is the costliest query of the archive.
        """
        if self.format != "html" or not self.filterset.is_valid():
            return page.object_list
        parts = {**self.filterset.cache_parts(excluded=()), "page": page.number}
        # Lazy: not even read from the cache when the template's cached content has the page already.
        rows = page.object_list  # the queryset (the page's object_list becomes what this returns)
        read = read_through_index if self.filterset.searching else list
        return SimpleLazyObject(lambda: cached("rows", parts, lambda: read(rows), request=self.request))


CITATION_FORMATS = {
    "bibtex": (citations.bibtex, "application/x-bibtex; charset=utf-8", "bib"),
    "ris": (citations.ris, "application/x-research-info-systems; charset=utf-8", "ris"),
    "csl": (citations.csl_json, "application/vnd.citationstyles.csl+json; charset=utf-8", "json"),
}


#: Context of the letter page that only its cached content shows (``LetterDetailView.content_parts``).
CONTENT_PARTS = (
    "participants",
    "footnotes",
    "notes_by_paragraph",
    "mentioned_people",
    "mentioned_organisations",
    "mentioned_places",
    "citation_text",
)


class LetterDetailView(PageMixin, DetailView):
    formats = ("html", "json", *CITATION_FORMATS)
    queryset = Letter.objects.published().with_everything()
    context_object_name = "letter"
    template_name = "correspondence/letter_detail.html"

    def get_object(self, queryset=None):
        try:
            return super().get_object(queryset)
        except Http404:
            raise NotInArchive(
                _("No published letter has the identifier “%(slug)s”.") % {"slug": self.kwargs["slug"]}
            ) from None

    def get_page_title(self):
        return self.object.title

    def get_page_description(self):
        return self.object.summary or self.object.title

    def neighbours(self, letter):
        """The items before and after this one in its source document."""
        if not letter.source_id:
            return None, None
        siblings = Letter.objects.published().filter(source_id=letter.source_id)
        previous = siblings.filter(source_position__lt=letter.source_position).order_by("-source_position").first()
        following = siblings.filter(source_position__gt=letter.source_position).order_by("source_position").first()
        return previous, following

    def load(self):
        """The letter with everything its page shows, its neighbours and its public change log."""
        letter = self.get_object()
        previous, following = self.neighbours(letter)
        return letter, previous, following, history.public_change_log(letter)

    def get(self, request, *args, **kwargs):
        # Cached for the archive's generation: a letter page builds a dozen queries, and building them
        # (Django's SQL compiler) costs more than running them.
        self.object, self.previous, self.following, self.change_log = cached(
            "letter", {"slug": self.kwargs["slug"]}, self.load, request=request
        )
        if self.format == "json":
            data = exports.letter_detail(self.object, self.absolute, self.previous, self.following)
            return JsonResponse(data, json_dumps_params={"ensure_ascii": False})
        if self.format in CITATION_FORMATS:
            return self.citation_response()
        return self.render_to_response(self.get_context_data(object=self.object))

    def citation_response(self):
        write, content_type, extension = CITATION_FORMATS[self.format]
        data = write(self.object, self.absolute(self.object.get_absolute_url()))
        body = json.dumps(data, ensure_ascii=False, indent=1) if isinstance(data, list) else data
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.object.slug}.{extension}"'
        return response

    def content_parts(self, letter):
        """What only the page's content shows: made when the content is not in the cache already."""
        notes = exports.sorted_footnotes(letter.footnotes.all())
        notes_by_paragraph = {}
        for note in notes:
            notes_by_paragraph.setdefault(note.paragraph_id, []).append(note)
        mentions = list(letter.mentions.all())
        return {
            "participants": exports.participants_by_role(letter),
            "footnotes": notes,
            "notes_by_paragraph": notes_by_paragraph,
            "mentioned_people": [m for m in mentions if m.agent_id and m.agent.is_person],
            "mentioned_organisations": [m for m in mentions if m.agent_id and not m.agent.is_person],
            "mentioned_places": [m for m in mentions if m.place_id],
            "citation_text": citations.citation_text(letter, self.absolute(letter.get_absolute_url())),
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        letter = self.object
        parts = SimpleLazyObject(lambda: self.content_parts(letter))
        context.update({name: SimpleLazyObject(lambda name=name: parts[name]) for name in CONTENT_PARTS})
        context.update(
            {
                "previous_letter": self.previous,
                "next_letter": self.following,
                "permalink": self.absolute(letter.get_absolute_url()),
                "change_log": self.change_log,
                "json_ld": citations.json_ld(citations.schema_org(letter, self.absolute(letter.get_absolute_url()))),
                "open_graph": citations.open_graph(
                    letter.title, letter.summary, self.absolute(letter.get_absolute_url())
                ),
                "content_language": letter.language or "fr",
                "language_name": language_name(letter.language),
                "content_key": cache_key(
                    "letter-content",
                    {"permalink": self.absolute(letter.get_absolute_url())},
                    request_generation(self.request),
                ),
                "page_cache_seconds": settings.SUMMARY_CACHE_SECONDS,
            }
        )
        return context


def _kept_in_cache(lines, key, max_chars):
    """
    ``lines``, passed on one by one; once they are all out, and if they
    came to at most ``max_chars`` characters, cached whole under ``key``.
    A reader who leaves half-way leaves nothing in the cache.
    """
    kept, size = [], 0
    for line in lines:
        if kept is not None:
            size += len(line)
            if size <= max_chars:
                kept.append(line)
            else:
                kept = None  # too large to keep: stream it, in flat memory
        yield line
    if kept is not None:
        cache.set(key, "".join(kept), settings.SUMMARY_CACHE_SECONDS)


# ---------------------------------------------------------------------------
# Authority records: index pages
# ---------------------------------------------------------------------------


class RecordListView(ListPageMixin, FilterView):
    paginate_by = 50
    context_object_name = "records"

    def get_page_title(self):
        return self.model._meta.verbose_name_plural.capitalize()

    def summary(self, record):
        raise NotImplementedError


class AgentListView(RecordListView):
    model = Agent
    filterset_class = AgentFilterSet
    template_name = "correspondence/agent_list.html"
    people = True

    def get_queryset(self):
        agents = Agent.objects.published()
        agents = agents.people() if self.people else agents.organisations()
        return (
            agents.annotate(letter_count=letter_count((Participation, "agent"), (Mention, "agent")))
            .prefetch_related("variants")
            .order_by(Lower(Coalesce(NullIf("sort_name", Value("")), "name")), "slug")
        )

    def get_page_title(self):
        return _("People") if self.people else _("Organisations")

    def get_page_description(self):
        if self.people:
            return _("The people who wrote, signed, received or are named in the letters of the archive.")
        return _("The organisations and groups that wrote, received or are named in the letters of the archive.")

    @property
    def csv_filename(self):
        return "people.csv" if self.people else "organisations.csv"

    def summary(self, agent):
        return exports.agent_summary(agent, self.absolute)


class PlaceListView(RecordListView):
    model = Place
    filterset_class = PlaceFilterSet
    template_name = "correspondence/place_list.html"
    csv_filename = "places.csv"
    page_description = gettext_lazy("The places where the letters were written and the places they name.")

    def get_queryset(self):
        written = Letter.objects.published().filter(place_written=OuterRef("pk"))
        return (
            Place.objects.published()
            .select_related("country")
            .prefetch_related("variants")
            .annotate(
                letter_count=letter_count((Mention, "place")),
                written_count=Coalesce(
                    Subquery(
                        written.order_by()
                        .annotate(n=Func(F("pk"), function="COUNT", output_field=IntegerField()))
                        .values("n"),
                        output_field=IntegerField(),
                    ),
                    Value(0),
                ),
            )
            .order_by("name", "slug")
        )

    def get_page_title(self):
        return _("Places")

    def summary(self, place):
        data = exports.place_summary(place, self.absolute)
        data["letter_count"] = place.letter_count
        data["written_count"] = place.written_count
        return data


class CitedDocumentListView(RecordListView):
    model = CitedDocument
    filterset_class = CitedDocumentFilterSet
    template_name = "correspondence/citeddocument_list.html"
    csv_filename = "cited-documents.csv"
    page_description = gettext_lazy("The resolutions, conventions, declarations and reports the letters cite.")

    def get_queryset(self):
        return (
            CitedDocument.objects.published()
            .select_related("issuing_body")
            .annotate(letter_count=letter_count((Citation, "cited_document")))
        )

    def get_page_title(self):
        return _("Cited documents")

    def summary(self, document):
        return exports.cited_document_summary(document, self.absolute)


class SourceDocumentListView(RecordListView):
    model = SourceDocument
    filterset_class = SourceDocumentFilterSet
    template_name = "correspondence/sourcedocument_list.html"
    csv_filename = "sources.csv"
    page_description = gettext_lazy("The published documents from which the letters were transcribed.")

    def get_queryset(self):
        return SourceDocument.objects.published().select_related("issuing_body").annotate(letter_count=items_count())

    def get_page_title(self):
        return _("Source documents")

    def summary(self, source):
        return exports.source_document_summary(source, self.absolute)


# ---------------------------------------------------------------------------
# Authority records: one page each
# ---------------------------------------------------------------------------


class RecordDetailView(PageMixin, DetailView):
    """
    One authority record and the published letters linked to it, by role.

    Each role shows its first letters in date order (``letters_shown``), how
    many there are in all, and where the list of letters has a filter for the
    role, a link to all of them there; so that the page costs the same number
    of queries, and about the same time, for three letters as for ten thousand.
    """

    formats = ("html", "json")
    context_object_name = "record"
    not_found_message = gettext_lazy("No published record has the identifier “%(slug)s”.")
    letters_shown = 20

    def get_object(self, queryset=None):
        try:
            return super().get_object(queryset)
        except Http404:
            raise NotInArchive(self.not_found_message % {"slug": self.kwargs["slug"]}) from None

    def get_page_title(self):
        return str(self.object)

    def get_page_description(self):
        return self.object.note or str(self.object)

    def letter_groups(self):
        """[LetterGroup, ...] for the roles that have letters, in the order the page shows them."""
        raise NotImplementedError

    def count_letters(self):
        """How many published letters are linked to the record, in any role (each counted once)."""
        raise NotImplementedError

    def summary(self):
        raise NotImplementedError

    def letters_and_total(self):
        """The letter groups (first letters of each role, with totals) and the number of distinct letters."""
        self.groups = [group for group in self.letter_groups() if group.total]
        return self.groups, self.count_letters()

    def charts_context(self):
        """The key under which the template caches this record's charts (drawn only when it has not got them)."""
        parts = {"model": self.object._meta.label, "pk": self.object.pk}
        return {
            "charts_key": cache_key("record-charts", parts, request_generation(self.request)),
            "charts_timeout": settings.SUMMARY_CACHE_SECONDS,
        }

    def letter_list_url(self, parameter):
        """The list of letters filtered to this record: /letters/?sender=slug."""
        return f"{reverse('correspondence:letter_list')}?{urlencode({parameter: self.object.slug})}"

    def get(self, request, *args, **kwargs):
        try:
            self.object = self.get_object()
        except NotInArchive:
            survivor = survivor_of(self.get_queryset().model, self.kwargs["slug"])
            if survivor is None:
                raise
            return redirect_to_survivor(request, survivor.get_absolute_url())
        self.groups, self.letter_total = cached(
            "record-letters",
            {"model": self.object._meta.label, "pk": self.object.pk},
            self.letters_and_total,
            request=request,
        )
        if self.format == "json":
            data = self.summary()
            data.update(letters_json(self.groups, self.letter_total, self.absolute))
            return JsonResponse(data, json_dumps_params={"ensure_ascii": False})
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        permalink = self.absolute(self.object.get_absolute_url())
        if isinstance(self.object, (Agent, Place)):
            prefetch_related_objects([self.object], "variants")  # read by the page and by its JSON-LD
            context["json_ld"] = citations.json_ld(citations.record_schema_org(self.object, permalink))
            context["open_graph"] = citations.open_graph(str(self.object), self.object.note, permalink, kind="profile")
        context["letter_groups"] = self.groups
        context["letter_total"] = self.letter_total
        return context


def redirect_to_survivor(request, url):
    """
    The old address of a record merged into another leads to the survivor,
    with the same query (?format=json). Temporary (302): a merge can be undone.
    """
    query = request.META.get("QUERY_STRING", "")
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


ROLE_HEADINGS = {
    Participation.Role.SENDER: gettext_lazy("Sent"),
    Participation.Role.SIGNATORY: gettext_lazy("Signed"),
    Participation.Role.RECIPIENT: gettext_lazy("Received"),
    Participation.Role.COPY: gettext_lazy("Received in copy"),
}

#: The filter of the list of letters that finds exactly the letters of a role, where there is one.
ROLE_FILTERS = {Participation.Role.SENDER: "sender", Participation.Role.RECIPIENT: "recipient"}


class AgentDetailView(RecordDetailView):
    template_name = "correspondence/agent_detail.html"
    people = True

    def get_queryset(self):
        agents = Agent.objects.published()
        return agents.people() if self.people else agents.organisations()

    def get_object(self, queryset=None):
        self.not_found_message = (
            gettext_lazy("No published person has the identifier “%(slug)s”.")
            if self.people
            else gettext_lazy("No published organisation has the identifier “%(slug)s”.")
        )
        return super().get_object(queryset)

    def letter_groups(self):
        agent, shown = self.object, self.letters_shown
        participations = first_letters(
            linked_letter_rows(Participation.objects.filter(agent=agent)), shown, role="role"
        )
        by_role = {}
        for p in participations:
            by_role.setdefault(p.role, []).append(p)
        groups = [
            letter_group(
                role,
                ROLE_HEADINGS[role],
                by_role.get(role, []),
                lambda p: exports.LinkedLetter(p.letter, p.name_as_written, p.title_as_written),
                self.letter_list_url(ROLE_FILTERS[role]) if role in ROLE_FILTERS else "",
            )
            for role in Participation.Role.values
        ]
        on_behalf = first_letters(
            linked_letter_rows(Participation.objects.filter(on_behalf_of=agent).select_related("agent")),
            shown,
        )
        groups.append(
            letter_group(
                "on_behalf_of",
                gettext_lazy("Written or received on its behalf"),
                on_behalf,
                lambda p: exports.LinkedLetter(p.letter, exports.participant_name(p), p.title_as_written),
            )
        )
        mentions = first_letters(linked_letter_rows(Mention.objects.filter(agent=agent)), shown)
        groups.append(
            letter_group(
                "mentioned",
                gettext_lazy("Mentioned"),
                mentions,
                lambda m: exports.LinkedLetter(m.letter, m.name_as_written),
            )
        )
        return groups

    def count_letters(self):
        agent = self.object
        return distinct_letter_count(
            Participation.objects.filter(agent=agent),
            Participation.objects.filter(on_behalf_of=agent),
            Mention.objects.filter(agent=agent),
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["variants"] = self.object.variants.all()
        letters = Letter.objects.published().filter(participations__agent=self.object)
        context.update(self.charts_context())
        context["timeline"] = SimpleLazyObject(lambda: charts.timeline_data(letters))
        context["network"] = SimpleLazyObject(lambda: charts.network_data(letters, focus_agent=self.object))
        context["issued_documents"] = self.object.issued_documents.filter(status=PublicationStatus.PUBLISHED)
        context["issued_sources"] = self.object.source_documents.filter(status=PublicationStatus.PUBLISHED)
        if any(group.role in Participation.Role.values for group in self.groups):
            context["participant_list_url"] = self.letter_list_url("participant")
        return context

    def summary(self):
        return exports.agent_summary(self.object, self.absolute)


class PlaceDetailView(RecordDetailView):
    template_name = "correspondence/place_detail.html"
    queryset = Place.objects.published().select_related("country")
    not_found_message = gettext_lazy("No published place has the identifier “%(slug)s”.")

    def letter_groups(self):
        place, shown = self.object, self.letters_shown
        written = first_letters(
            Letter.objects.published().filter(place_written=place).defer(*LETTER_LONG_TEXTS), shown, path=""
        )
        mentions = first_letters(linked_letter_rows(Mention.objects.filter(place=place)), shown)
        return [
            letter_group(
                "written_at",
                gettext_lazy("Written at"),
                written,
                lambda letter: exports.LinkedLetter(letter, letter.place_as_written),
                self.letter_list_url("place_written"),
            ),
            letter_group(
                "mentioned",
                gettext_lazy("Mentioned"),
                mentions,
                lambda m: exports.LinkedLetter(m.letter, m.name_as_written),
                self.letter_list_url("place_mentioned"),
            ),
        ]

    def count_letters(self):
        return distinct_letter_count(
            Letter.objects.filter(place_written=self.object), Mention.objects.filter(place=self.object)
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["variants"] = self.object.variants.all()
        written, mentions = Letter.objects.filter(place_written=self.object), Mention.objects.filter(place=self.object)
        letters = Letter.objects.filter(pk__in=published_letter_ids(written).union(published_letter_ids(mentions)))
        context.update(self.charts_context())
        context["timeline"] = SimpleLazyObject(lambda: charts.timeline_data(letters))
        context["letter_map"] = SimpleLazyObject(lambda: charts.map_data(letters))
        return context

    def summary(self):
        return exports.place_summary(self.object, self.absolute)


class CitedDocumentDetailView(RecordDetailView):
    template_name = "correspondence/citeddocument_detail.html"
    queryset = CitedDocument.objects.published().select_related("issuing_body")
    not_found_message = gettext_lazy("No published cited document has the identifier “%(slug)s”.")

    def letter_groups(self):
        citations = first_letters(
            linked_letter_rows(Citation.objects.filter(cited_document=self.object)),
            self.letters_shown,
            then=("position",),
        )
        return [
            letter_group(
                "cited",
                gettext_lazy("Cited in"),
                citations,
                lambda c: exports.LinkedLetter(c.letter, quote=c.quote),
                self.letter_list_url("cited"),
            )
        ]

    def count_letters(self):
        return distinct_letter_count(Citation.objects.filter(cited_document=self.object))

    def summary(self):
        return exports.cited_document_summary(self.object, self.absolute)


class SourceDocumentDetailView(RecordDetailView):
    template_name = "correspondence/sourcedocument_detail.html"
    queryset = SourceDocument.objects.published().select_related("issuing_body")
    not_found_message = gettext_lazy("No published source document has the identifier “%(slug)s”.")

    def get_page_description(self):
        return self.object.title

    def letter_groups(self):
        items = first_letters(
            Letter.objects.published().filter(source=self.object).with_people(),
            self.letters_shown,
            path="",
            order=("source_position",),
        )
        return [
            letter_group(
                "contains",
                gettext_lazy("Items in this document"),
                items,
                exports.LinkedLetter,
                self.letter_list_url("source"),
            )
        ]

    def count_letters(self):
        return self.groups[0].total if self.groups else 0  # the items are the letters

    def summary(self):
        return exports.source_document_summary(self.object, self.absolute)


# ---------------------------------------------------------------------------
# The source text of a source document
# ---------------------------------------------------------------------------


def source_texts_directory():
    return Path(getattr(settings, "SOURCE_TEXTS_DIR", settings.BASE_DIR / "fixtures" / "sources")).resolve()


def source_text(request, slug):
    """
    The shipped text file a published source document was transcribed from,
    as text/plain. Only a plain file name stored on the record is served, and
    only from the source texts directory.
    """
    source = SourceDocument.objects.published().filter(slug=slug).first()
    if source is None and (survivor := survivor_of(SourceDocument, slug)) is not None:
        return redirect_to_survivor(request, survivor.get_source_text_url())
    if source is None:
        raise NotInArchive(_("No published source document has the identifier “%(slug)s”.") % {"slug": slug})
    name = source.source_file
    unsafe = not name or name in {".", ".."} or os.path.basename(name) != name or "\\" in name or "\x00" in name
    directory = source_texts_directory()
    path = directory / name if not unsafe else None
    if unsafe or path.resolve().parent != directory or not path.is_file():
        raise NotInArchive(_("The source text of this document is not available."))
    return FileResponse(path.open("rb"), content_type="text/plain; charset=utf-8", filename=name)


def site_root(request):
    return f"{request.scheme}://{request.get_host()}"


XML_CONTENT_TYPE = "application/tei+xml; charset=utf-8"


def cmif_file(request):
    """The whole archive as one CMIF file, for correspSearch and other harvesters."""
    data = cmif.write_cmif(Letter.objects.all(), base_url=site_root(request), file_url=request.build_absolute_uri())
    return HttpResponse(data, content_type=XML_CONTENT_TYPE)


def letter_tei(request, slug):
    """One letter as a complete TEI document, header and transcription."""
    try:
        letter = Letter.objects.published().with_everything().get(slug=slug)
    except Letter.DoesNotExist:
        raise NotInArchive(_("No published letter has the identifier “%(slug)s”.") % {"slug": slug}) from None
    return HttpResponse(tei.letter_tei(letter, base_url=site_root(request)), content_type=XML_CONTENT_TYPE)


def robots_txt(request):
    """Crawlers may read the public site, not the admin; the sitemap lists every page."""
    lines = ["User-agent: *", "Disallow: /admin/", f"Sitemap: {site_root(request)}/sitemap.xml", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


# ---------------------------------------------------------------------------
# The letters listed on an authority record's page
# ---------------------------------------------------------------------------

#: The list of letters' default order (``LetterOrderingFilter`` "date"), so that
#: its first page continues the few letters a record page shows.
LETTER_ORDER = ("date_from", "date_to", "source_position", "slug")

#: Long texts of a letter that a record page does not show: not loaded, nor sorted.
LETTER_LONG_TEXTS = ("summary", "letterhead", "editorial_note", "enclosures")


class LetterGroup(NamedTuple):
    """The letters of one role on a record page."""

    role: str
    label: str
    entries: list  # [exports.LinkedLetter, ...]: the first ones, in date order
    total: int  # how many the role has in all
    list_url: str = ""  # the list of letters filtered to this role, where it has such a filter


def linked_letter_rows(rows):
    """Rows (participations, mentions, citations) of published letters, with the part of each letter a page shows."""
    return (
        rows.filter(of_published_letter())
        .select_related("letter")
        .defer(*(f"letter__{name}" for name in LETTER_LONG_TEXTS))
    )


def of_published_letter():
    """
    The condition that a row's letter is published, tested row by row. Written
    as a lookup by primary key rather than a join on the status, so that SQLite
    without statistics (no ANALYZE) starts from the record's own rows, not from
    every published letter in date order (a scan of the whole archive).
    """
    return Exists(Letter.objects.published().filter(pk=OuterRef("letter")))


def first_letters(rows, count, *, role=None, path="letter__", order=LETTER_ORDER, then=()):
    """
    The first ``count`` rows of each role (or of all, when ``role`` is None) in
    the order of their letters, each with ``role_total``, the number of rows of
    its role: one query, however many rows there are. ``path`` leads from a row
    to its letter ("" for letters themselves); ``then`` breaks ties.
    """
    partition = [F(role)] if role else None
    ranked = rows.annotate(
        role_rank=Window(RowNumber(), partition_by=partition, order_by=[*(path + name for name in order), *then]),
        role_total=Window(Count("pk"), partition_by=partition),
    ).filter(role_rank__lte=count)
    return list(ranked.order_by(*([role] if role else []), "role_rank"))


def letter_group(role, label, rows, entry, list_url=""):
    """A LetterGroup from rows given by first_letters(); ``entry`` makes a row a LinkedLetter."""
    return LetterGroup(role, label, [entry(row) for row in rows], rows[0].role_total if rows else 0, list_url)


def published_letter_ids(rows):
    """The ids of the published letters of the rows (participations, mentions... or letters themselves)."""
    if rows.model is Letter:
        return rows.filter(status=PublicationStatus.PUBLISHED).order_by().values_list("pk", flat=True)
    return rows.filter(of_published_letter()).order_by().values_list("letter", flat=True)


def distinct_letter_count(*rows):
    """How many published letters the rows (participations, mentions... or letters) name, each once: one query."""
    first, *others = (published_letter_ids(each) for each in rows)
    return first.union(*others).count() if others else first.distinct().count()


def letters_json(groups, total, absolute):
    """The letters of a record page as data: the first of each role, the counts, the full lists' addresses."""
    return {
        "letter_count": total,
        "letter_counts": {group.role: group.total for group in groups},
        "letters": exports.letters_by_role([(group.role, group.label, group.entries) for group in groups], absolute),
        "letter_lists": {group.role: absolute(f"{group.list_url}&format=json") for group in groups if group.list_url},
    }
