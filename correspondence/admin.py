"""
The curators' admin: every model of the archive, with a letter editable
complete (people, transcription, footnotes, citations, mentions) on one page.

The search index tables (``LetterSearchText``, ``SpellingKey``) are written
by ``correspondence.search`` alone: they are shown read-only, to answer
"why does this search find that letter?". ``LetterFullTextRow`` is not
registered: it is an unmanaged view of a SQLite-only FTS5 table.

Changelists cost a fixed number of queries whatever their length: counts are
correlated subqueries annotated in ``get_queryset`` and the foreign keys a
list shows are in ``list_select_related``. Searches that reach related rows
(a paragraph's text, a participant's or a place's name variant) run as
``EXISTS`` subqueries instead of joins, so results are never repeated or
multiplied out.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator, smart_split, unescape_string_literal
from django.utils.translation import gettext_lazy as _

from . import authority, history
from .curation import CurationMixin, MergeMixin, data_quality_context
from .models import (
    Agent,
    AgentName,
    Citation,
    CitedDocument,
    Footnote,
    Letter,
    LetterSearchText,
    Mention,
    Paragraph,
    Participation,
    Place,
    PlaceName,
    PublicationStatus,
    SourceDocument,
    SpellingKey,
)

# Before any VersionAdmin registers a model on its own, without following the letter's parts.
history.register_models()

admin.site.site_header = _("Archive of diplomatic correspondence")
admin.site.site_title = _("Archive of diplomatic correspondence")
admin.site.index_title = _("Curation of the archive")

COMPACT_TEXT = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 60})}}


def count_of(related, fk, counted="pk"):
    """Number of distinct ``counted`` values among ``related`` rows pointing at the outer row."""
    rows = related.objects.filter(**{fk: OuterRef("pk")}).order_by().values(fk)
    return Coalesce(Subquery(rows.annotate(n=Count(counted, distinct=True)).values("n")), 0)


def search_words(search_term):
    """The words of a search box, as the admin splits them ("quoted phrases" stay whole)."""
    for word in smart_split(search_term):
        if word.startswith(('"', "'")) and word[0] == word[-1]:
            word = unescape_string_literal(word)
        if word:
            yield word


class RelatedSearchMixin:
    """
    ``search_fields`` searched with one ``EXISTS`` subquery per related table.

    Plain names (``title``) are matched on the row itself; a name crossing a
    reverse relation (``paragraphs__text``, ``variants__name``) is matched in
    a subquery on that relation. Every word must match somewhere, as in the
    stock admin search, and no row comes back twice.
    """

    def get_search_results(self, request, queryset, search_term):
        own, related = [], {}
        for field in self.get_search_fields(request):
            relation, __, path = field.partition("__")
            if path and self.model._meta.get_field(relation).one_to_many:
                related.setdefault(relation, []).append(path)
            else:
                own.append(field)
        for word in search_words(search_term):
            condition = Q.create([(f"{field}__icontains", word) for field in own], connector=Q.OR)
            for relation, paths in related.items():
                reverse_relation = self.model._meta.get_field(relation)
                rows = reverse_relation.related_model._default_manager.filter(
                    Q.create([(f"{path}__icontains", word) for path in paths], connector=Q.OR),
                    **{reverse_relation.field.name: OuterRef("pk")},
                )
                condition |= Exists(rows)
            queryset = queryset.filter(condition)
        return queryset, False


class PermanentSlugMixin:
    """The slug is typed (or filled from the title) until the record is published, then frozen."""

    slug_source = "title"

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status == PublicationStatus.PUBLISHED:
            readonly.append("slug")
        return readonly

    def get_prepopulated_fields(self, request, obj=None):
        if obj is not None and obj.status == PublicationStatus.PUBLISHED:
            return {}
        return {"slug": [self.slug_source]}


def admin_change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def admin_link(obj, text=None):
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


# People, organisations and places ------------------------------------------------------------


class AgentNameInline(admin.TabularInline):
    model = AgentName
    fields = ["name", "note"]
    extra = 1
    verbose_name = _("name variant found in a source")
    verbose_name_plural = _("name variants found in the sources")


@admin.register(Agent)
class AgentAdmin(MergeMixin, CurationMixin, RelatedSearchMixin, PermanentSlugMixin, admin.ModelAdmin):
    slug_source = "name"
    merge_function = authority.merge_agents
    actions = ["publish_selected", "unpublish_selected", "merge_selected"]
    list_display = ["name", "kind", "letter_count", "mention_count", "identifiers", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "sort_name", "slug", "wikidata", "viaf", "gnd", "isni", "variants__name"]
    readonly_fields = ["created", "modified"]
    fieldsets = [
        (None, {"fields": ["name", "sort_name", "slug", "kind", "note"]}),
        (_("Authority identifiers"), {"fields": ["wikidata", "viaf", "gnd", "isni"]}),
        (_("Publication"), {"fields": ["status", "created", "modified"]}),
    ]
    inlines = [AgentNameInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                letter_count=count_of(Participation, "agent", counted="letter"),
                mention_count=count_of(Mention, "agent", counted="letter"),
            )
        )

    @admin.display(description=_("letters"), ordering="letter_count")
    def letter_count(self, obj):
        return obj.letter_count

    @admin.display(description=_("mentioned in"), ordering="mention_count")
    def mention_count(self, obj):
        return obj.mention_count

    @admin.display(description=_("identifiers"))
    def identifiers(self, obj):
        pairs = [("Wikidata", obj.wikidata), ("VIAF", obj.viaf), ("GND", obj.gnd), ("ISNI", obj.isni)]
        return ", ".join(f"{label} {value}" for label, value in pairs if value) or None


@admin.register(AgentName)
class AgentNameAdmin(admin.ModelAdmin):
    list_display = ["name", "agent", "note"]
    list_filter = ["agent__kind"]
    search_fields = ["name", "agent__name", "note"]
    autocomplete_fields = ["agent"]
    list_select_related = ["agent"]


class PlaceNameInline(admin.TabularInline):
    model = PlaceName
    fields = ["name", "note"]
    extra = 1
    verbose_name = _("spelling found in a source")
    verbose_name_plural = _("spellings found in the sources")


@admin.register(Place)
class PlaceAdmin(MergeMixin, CurationMixin, RelatedSearchMixin, PermanentSlugMixin, admin.ModelAdmin):
    merge_function = authority.merge_places
    actions = ["publish_selected", "unpublish_selected", "merge_selected"]
    slug_source = "name"
    list_display = ["name", "kind", "country", "letter_count", "mention_count", "geonames", "status"]
    list_filter = ["kind", "status", ("country", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["country"]
    search_fields = ["name", "slug", "geonames", "wikidata", "variants__name"]
    autocomplete_fields = ["country"]
    readonly_fields = ["created", "modified"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "country", "note"]}),
        (_("Location and identifiers"), {"fields": [("latitude", "longitude"), "geonames", "wikidata"]}),
        (_("Publication"), {"fields": ["status", "created", "modified"]}),
    ]
    inlines = [PlaceNameInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                letter_count=count_of(Letter, "place_written"),
                mention_count=count_of(Mention, "place", counted="letter"),
            )
        )

    @admin.display(description=_("letters written here"), ordering="letter_count")
    def letter_count(self, obj):
        return obj.letter_count

    @admin.display(description=_("mentioned in"), ordering="mention_count")
    def mention_count(self, obj):
        return obj.mention_count


@admin.register(PlaceName)
class PlaceNameAdmin(admin.ModelAdmin):
    list_display = ["name", "place", "note"]
    list_filter = ["place__kind"]
    search_fields = ["name", "place__name", "note"]
    autocomplete_fields = ["place"]
    list_select_related = ["place"]


# Documents ---------------------------------------------------------------------------------


@admin.register(CitedDocument)
class CitedDocumentAdmin(CurationMixin, PermanentSlugMixin, admin.ModelAdmin):
    list_display = ["symbol", "year", "kind", "title", "issuing_body", "citing_letter_count", "status"]
    list_display_links = ["symbol", "title"]
    list_filter = ["kind", "status", "year"]
    list_select_related = ["issuing_body"]
    search_fields = ["title", "symbol", "slug", "issuing_body__name"]
    autocomplete_fields = ["issuing_body"]
    readonly_fields = ["created", "modified"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "kind", "symbol", "issuing_body"]}),
        (_("Date and official text"), {"fields": ["date", "year", "url", "note"]}),
        (_("Publication"), {"fields": ["status", "created", "modified"]}),
    ]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(citing_letter_count=count_of(Citation, "cited_document", "letter"))
        )

    @admin.display(description=_("cited by letters"), ordering="citing_letter_count")
    def citing_letter_count(self, obj):
        return obj.citing_letter_count


class SourceItemInline(admin.TabularInline):
    """The items a source carries, in order: links to their own pages, nothing edited here."""

    model = Letter
    fk_name = "source"
    fields = ["source_position", "item", "kind", "date_display", "source_pages", "status"]
    readonly_fields = fields
    ordering = ["source_position"]
    extra = 0
    can_delete = False
    verbose_name = _("item in this source")
    verbose_name_plural = _("items in this source")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("item"))
    def item(self, obj):
        return admin_link(obj, obj.title)

    @admin.display(description=_("date"))
    def date_display(self, obj):
        return obj.date_display


@admin.register(SourceDocument)
class SourceDocumentAdmin(CurationMixin, PermanentSlugMixin, admin.ModelAdmin):
    list_display = ["title", "symbol", "year", "issuing_body", "item_count", "status"]
    list_filter = ["status", "language", "year"]
    list_select_related = ["issuing_body"]
    search_fields = ["title", "symbol", "slug", "date_as_written", "issuing_body__name"]
    autocomplete_fields = ["issuing_body"]
    readonly_fields = ["created", "modified"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "symbol", "issuing_body", "language"]}),
        (_("Date"), {"fields": ["date", "year", "date_as_written"]}),
        (_("Text and provenance"), {"fields": ["source_file", "source_sha256", "editorial_note", "note"]}),
        (_("Publication"), {"fields": ["status", "created", "modified"]}),
    ]
    inlines = [SourceItemInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=count_of(Letter, "source"))

    @admin.display(description=_("items"), ordering="item_count")
    def item_count(self, obj):
        return obj.item_count


# Letters and their parts -------------------------------------------------------------------


class ParticipationFormSet(BaseInlineFormSet):
    """A letter being published needs at least one sender among its participations."""

    def clean(self):
        super().clean()
        if self.instance.status != PublicationStatus.PUBLISHED:
            return
        roles = [
            form.cleaned_data.get("role")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if Participation.Role.SENDER not in roles:
            raise forms.ValidationError(_("A published letter needs at least one sender."))


class ParticipationInline(admin.TabularInline):
    model = Participation
    formset = ParticipationFormSet
    fields = ["role", "agent", "position", "name_as_written", "title_as_written", "on_behalf_of", "inferred"]
    autocomplete_fields = ["agent", "on_behalf_of"]
    ordering = ["role", "position"]
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent")


class ParagraphInline(admin.TabularInline):
    model = Paragraph
    fields = ["position", "kind", "text", "page"]
    ordering = ["position"]
    formfield_overrides = COMPACT_TEXT
    extra = 1


class FootnoteFormSet(BaseInlineFormSet):
    """Every row offers the same paragraphs: read them once, not once per row."""

    @cached_property
    def paragraph_choices(self):
        return list(self.form.base_fields["paragraph"].choices)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "paragraph" in form.fields:
            form.fields["paragraph"].choices = self.paragraph_choices


class FootnoteInline(admin.TabularInline):
    model = Footnote
    formset = FootnoteFormSet
    fields = ["marker", "paragraph", "anchor", "text"]
    ordering = ["marker"]
    formfield_overrides = COMPACT_TEXT
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        """A footnote hangs on a paragraph of its own letter (saved ones: add paragraphs first)."""
        formset = super().get_formset(request, obj, **kwargs)
        if "paragraph" in formset.form.base_fields:
            paragraphs = obj.paragraphs.all() if obj is not None else Paragraph.objects.none()
            formset.form.base_fields["paragraph"].queryset = paragraphs
        return formset


class CitationInline(admin.TabularInline):
    model = Citation
    fields = ["cited_document", "quote", "position"]
    autocomplete_fields = ["cited_document"]
    ordering = ["position"]
    formfield_overrides = COMPACT_TEXT
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("letter", "cited_document")


class MentionInline(admin.TabularInline):
    model = Mention
    fields = ["agent", "place", "name_as_written"]
    autocomplete_fields = ["agent", "place"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent", "place")


@admin.register(Letter)
class LetterAdmin(CurationMixin, RelatedSearchMixin, PermanentSlugMixin, admin.ModelAdmin):
    def get_deleted_objects(self, objs, request):
        """Search index rows go with their letter: deleting it needs no permission on them."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        derived = {str(model._meta.verbose_name) for model in (LetterSearchText, SpellingKey)}
        return deleted, counts, {name for name in perms_needed if str(name) not in derived}, protected

    list_display = ["title", "date_display", "kind", "source", "status"]
    list_filter = ["status", "kind", "language", "source", "date_precision"]
    list_select_related = ["source"]
    date_hierarchy = "date_from"
    search_fields = [
        "title",
        "slug",
        "reference",
        "summary",
        "paragraphs__text",
        "participations__name_as_written",
        "participations__agent__name",
        "participations__agent__variants__name",
    ]
    autocomplete_fields = ["place_written", "source", "in_reply_to", "annex_of"]
    readonly_fields = ["published_at", "published_by", "created", "modified"]
    save_on_top = True
    fieldsets = [
        (
            _("Description"),
            {
                "fields": [
                    "title",
                    "slug",
                    "kind",
                    ("language", "translation_note"),
                    "reference",
                    "summary",
                    "enclosures",
                    "letterhead",
                    "editorial_note",
                ]
            },
        ),
        (
            _("Date"),
            {
                "fields": [("date_from", "date_to"), ("date_precision", "date_certainty"), "date_as_written"],
                "description": _(
                    "For a date known to the month or the year, give its first day and choose the precision: "
                    "the last day is filled in on saving."
                ),
            },
        ),
        (_("Place of writing"), {"fields": ["place_written", "place_as_written"]}),
        (_("Source"), {"fields": ["source", "source_position", "source_pages"]}),
        (_("Relations to other items"), {"fields": ["in_reply_to", "annex_of"]}),
        (_("Publication"), {"fields": ["status", "published_at", "published_by", "created", "modified"]}),
    ]
    inlines = [ParticipationInline, ParagraphInline, FootnoteInline, CitationInline, MentionInline]

    @admin.display(description=_("date"), ordering="date_from")
    def date_display(self, obj):
        return obj.date_display or None

    def get_urls(self):
        return [
            path("quality/", self.admin_site.admin_view(self.data_quality_view), name="correspondence_data_quality"),
            *super().get_urls(),
        ]

    def data_quality_view(self, request):
        """Records that need a curator's attention, each linked to its change page."""
        if not request.user.is_staff:
            raise PermissionDenied
        found = data_quality_context()

        def items(records):
            return [{"label": str(record), "url": admin_change_url(record)} for record in records]

        def groups(candidates):
            return [
                {
                    "label": " / ".join(f"{record} ({record.slug})" for record in records),
                    "url": admin_change_url(records[0]),
                }
                for _key, records in candidates
            ]

        sections = [
            {
                "title": _("People and organisations without authority identifiers"),
                "items": items(found["agents_without_identifiers"]),
            },
            {"title": _("Places without authority identifiers"), "items": items(found["places_without_identifiers"])},
            {"title": _("Places without coordinates"), "items": items(found["places_without_coordinates"])},
            {
                "title": _("Letters with uncertain or missing dates"),
                "items": items(found["letters_with_uncertain_dates"]),
            },
            {"title": _("Letters without a summary"), "items": items(found["letters_without_summary"])},
            {"title": _("Letters without a sender"), "items": items(found["letters_without_sender"])},
            {"title": _("Possible duplicate people and organisations"), "items": groups(found["agent_duplicates"])},
            {"title": _("Possible duplicate places"), "items": groups(found["place_duplicates"])},
        ]
        context = {**self.admin_site.each_context(request), "title": _("Data quality"), "sections": sections}
        return TemplateResponse(request, "admin/correspondence/data_quality.html", context)


class LetterPartAdmin(admin.ModelAdmin):
    """Parts of a letter, reachable on their own; they are best edited on the letter's page."""

    list_select_related = ["letter"]
    formfield_overrides = COMPACT_TEXT

    @admin.display(description=_("text"))
    def excerpt(self, obj):
        return Truncator(obj.text).chars(80)


@admin.register(Participation)
class ParticipationAdmin(LetterPartAdmin):
    list_display = ["letter", "role", "agent", "name_as_written", "position", "inferred"]
    list_filter = ["role", "inferred"]
    list_select_related = ["letter", "agent"]
    search_fields = ["letter__title", "agent__name", "name_as_written", "title_as_written"]
    autocomplete_fields = ["letter", "agent", "on_behalf_of"]


@admin.register(Paragraph)
class ParagraphAdmin(LetterPartAdmin):
    list_display = ["letter", "position", "kind", "excerpt", "page"]
    list_display_links = ["position", "excerpt"]
    list_filter = ["kind"]
    search_fields = ["text", "letter__title"]
    autocomplete_fields = ["letter"]


class FootnoteForm(forms.ModelForm):
    class Meta:
        model = Footnote
        fields = ["letter", "marker", "paragraph", "anchor", "text"]

    def clean(self):
        cleaned_data = super().clean()
        letter, paragraph = cleaned_data.get("letter"), cleaned_data.get("paragraph")
        if letter and paragraph and paragraph.letter_id != letter.pk:
            self.add_error("paragraph", _("Choose a paragraph of the same letter."))
        return cleaned_data


@admin.register(Footnote)
class FootnoteAdmin(LetterPartAdmin):
    form = FootnoteForm
    list_display = ["letter", "marker", "anchor", "excerpt"]
    list_display_links = ["marker", "excerpt"]
    search_fields = ["text", "anchor", "letter__title"]
    autocomplete_fields = ["letter", "paragraph"]


@admin.register(Citation)
class CitationAdmin(LetterPartAdmin):
    list_display = ["letter", "cited_document", "position", "quote"]
    list_filter = ["cited_document__kind"]
    list_select_related = ["letter", "cited_document"]
    search_fields = ["quote", "letter__title", "cited_document__title", "cited_document__symbol"]
    autocomplete_fields = ["letter", "cited_document"]


@admin.register(Mention)
class MentionAdmin(LetterPartAdmin):
    list_display = ["letter", "agent", "place", "name_as_written"]
    list_filter = [("agent", admin.EmptyFieldListFilter), ("place", admin.EmptyFieldListFilter)]
    list_select_related = ["letter", "agent", "place"]
    search_fields = ["name_as_written", "letter__title", "agent__name", "place__name"]
    autocomplete_fields = ["letter", "agent", "place"]


# Search index (read-only) ------------------------------------------------------------------


class DerivedRecordAdmin(admin.ModelAdmin):
    """Rows computed from the records above: looked at, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LetterSearchText)
class LetterSearchTextAdmin(DerivedRecordAdmin):
    list_display = ["letter", "names"]
    list_select_related = ["letter"]
    search_fields = ["title", "names", "summary", "text"]
    fields = ["letter", "title", "names", "summary", "text"]


@admin.register(SpellingKey)
class SpellingKeyAdmin(DerivedRecordAdmin):
    list_display = ["spelling", "key", "surname", "agent", "place"]
    list_filter = ["surname"]
    list_select_related = ["agent", "place"]
    search_fields = ["key", "spelling"]
