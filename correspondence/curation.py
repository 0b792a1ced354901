"""
The curation workflow in the admin: publishing, history and undo, merging,
and the data-quality page.

``CurationMixin`` goes on the ModelAdmin of every record that has a status
(letters and authority records). It enforces the roles of
``correspondence.roles`` on the server: only a user with the model's
``publish_*`` permission can move a record to or from "published", whatever
the form posts; bulk publish and unpublish go through a confirmation page;
every change is a reversion revision (with the curator's optional reason),
shown as a readable diff with a one-click revert.
"""

import logging

import reversion
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reversion.admin import VersionAdmin
from reversion.models import Version

from . import authority, history
from .models import Agent, Letter, Participation, Place, PublicationStatus

logger = logging.getLogger("correspondence.curation")


def log_action(request, obj, message):
    """Record a curation action in the admin log and in the application log."""
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=[obj], action_flag=CHANGE, change_message=message, single_object=True
    )
    logger.info("%s: %s %s: %s", request.user.get_username(), obj._meta.label, obj.pk, message)


class ReasonForm(forms.ModelForm):
    """Every change form asks for an optional reason, kept with the revision."""

    change_reason = forms.CharField(
        label=gettext_lazy("Reason for this change"),
        required=False,
        max_length=300,
        help_text=gettext_lazy("Optional; shown in the history with the change (e.g. 'spelling as in the source')."),
    )

    @property
    def changed_data(self):
        return [name for name in super().changed_data if name != "change_reason"]


class CurationMixin(VersionAdmin):
    """Roles, publication, history and undo for a record with a status."""

    form = ReasonForm
    object_history_template = "admin/correspondence/object_history.html"
    actions = ["publish_selected", "unpublish_selected"]
    history_latest_first = True

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if not any("change_reason" in options.get("fields", ()) for _name, options in fieldsets):
            fieldsets.append((gettext_lazy("Reason for this change"), {"fields": ["change_reason"]}))
        return fieldsets

    # Permissions ---------------------------------------------------------------------------

    def has_publish_permission(self, request, obj=None):
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.publish_{opts.model_name}")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not self.has_publish_permission(request) and obj is not None and obj.status == PublicationStatus.PUBLISHED:
            readonly.append("status")
        return readonly

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "status" and not self.has_publish_permission(request):
            kwargs["choices"] = [
                (value, label) for value, label in PublicationStatus.choices if value != PublicationStatus.PUBLISHED
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if not self.has_publish_permission(request):
            initial.setdefault("status", PublicationStatus.DRAFT)
        return initial

    def save_model(self, request, obj, form, change):
        previous = type(obj).objects.filter(pk=obj.pk).values_list("status", flat=True).first() if change else None
        publishing = obj.status == PublicationStatus.PUBLISHED
        if (publishing or previous == PublicationStatus.PUBLISHED) and previous != obj.status:
            if not self.has_publish_permission(request):
                raise PermissionDenied(_("Only curators can publish or unpublish."))
        if not change and publishing and not self.has_publish_permission(request):
            raise PermissionDenied(_("Only curators can publish or unpublish."))
        if publishing and (obj.published_at is None or previous != PublicationStatus.PUBLISHED):
            obj.published_at = timezone.now()
            obj.published_by = request.user
        reason = form.cleaned_data.get("change_reason", "") if hasattr(form, "cleaned_data") else ""
        if reason:
            reversion.set_comment(reason)
        super().save_model(request, obj, form, change)

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        self._add_reason(request)
        return entry

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        self._add_reason(request)
        return entry

    def _add_reason(self, request):
        reason = request.POST.get("change_reason", "").strip()[:300]
        if reason and reversion.is_active():
            comment = reversion.get_comment()
            if reason not in comment:
                reversion.set_comment(f"{reason} — {comment}" if comment else reason)

    # Bulk publication, with a confirmation page ----------------------------------------------

    def _set_status(self, request, queryset, status, verb):
        if not self.has_publish_permission(request):
            raise PermissionDenied
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/correspondence/confirm_status.html",
                {
                    **self.admin_site.each_context(request),
                    "title": verb,
                    "opts": self.model._meta,
                    "objects": queryset,
                    "action": request.POST.get("action"),
                    "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                    "status": status,
                },
            )
        changed = 0
        with transaction.atomic(), reversion.create_revision():
            reversion.set_user(request.user)
            reversion.set_comment(verb)
            for obj in self.model.objects.filter(pk__in=queryset.values("pk")).select_for_update():
                if obj.status == status:
                    continue
                if status == PublicationStatus.PUBLISHED and isinstance(obj, Letter):
                    problems = publication_problems(obj)
                    if problems:
                        self.message_user(request, f"{obj}: {' '.join(problems)}", messages.ERROR)
                        continue
                obj.status = status
                if status == PublicationStatus.PUBLISHED:
                    obj.published_at, obj.published_by = timezone.now(), request.user
                obj.save()
                log_action(request, obj, verb)
                changed += 1
        self.message_user(request, _("%(count)d records changed: %(verb)s.") % {"count": changed, "verb": verb})
        return None

    @admin.action(description=gettext_lazy("Publish selected records"), permissions=["publish"])
    def publish_selected(self, request, queryset):
        return self._set_status(request, queryset, PublicationStatus.PUBLISHED, _("Published"))

    @admin.action(description=gettext_lazy("Unpublish selected records (back to draft)"), permissions=["publish"])
    def unpublish_selected(self, request, queryset):
        return self._set_status(request, queryset, PublicationStatus.DRAFT, _("Unpublished"))

    # History with diffs and one-click revert --------------------------------------------------

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/history/revert/<int:version_id>/",
                self.admin_site.admin_view(self.revert_view),
                name=f"{opts.app_label}_{opts.model_name}_revert",
            ),
            *super().get_urls(),
        ]

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        versions = list(history.versions_of(obj))
        entries = []
        for index, version in enumerate(versions):
            older = versions[index + 1] if index + 1 < len(versions) else None
            entries.append({"version": version, "changes": history.diff_versions(older, version)})
        context = {
            **self.admin_site.each_context(request),
            "title": _("History: %s") % obj,
            "opts": self.model._meta,
            "module_name": str(self.model._meta.verbose_name_plural).capitalize(),
            "object": obj,
            "entries": entries,
            "can_revert": self.has_change_permission(request, obj),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.object_history_template, context)

    def revert_view(self, request, object_id, version_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if request.method != "POST" or not self.has_change_permission(request, obj):
            raise PermissionDenied
        version = get_object_or_404(Version.objects.get_for_object(obj), pk=version_id)
        if (
            version.field_dict.get("status") != obj.status
            and PublicationStatus.PUBLISHED in (version.field_dict.get("status"), obj.status)
            and not self.has_publish_permission(request)
        ):
            raise PermissionDenied(_("Only curators can revert to a version with another publication status."))
        history.revert(version, request.user, request.POST.get("reason", "").strip()[:300])
        log_action(request, obj, _("Reverted to the version of %s") % version.revision.date_created)
        self.message_user(request, _("Reverted to the version of %s.") % version.revision.date_created)
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk]))


def publication_problems(letter):
    """Why a letter cannot be published yet (empty if it can)."""
    problems = []
    if letter.date_precision == Letter.DatePrecision.UNKNOWN or letter.date_from is None:
        problems.append(_("A published letter needs a date."))
    if not letter.participations.filter(role=Participation.Role.SENDER).exists():
        problems.append(_("A published letter needs at least one sender."))
    return problems


class MergeMixin:
    """An admin action that merges the selected people, organisations or places into one."""

    merge_function = None

    def has_merge_permission(self, request, obj=None):
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.merge_{opts.model_name}")

    @admin.action(description=gettext_lazy("Merge selected records into one"), permissions=["merge"])
    def merge_selected(self, request, queryset):
        records = list(queryset.prefetch_related("variants"))
        if len(records) < 2:
            self.message_user(request, _("Choose two or more records to merge."), messages.WARNING)
            return None
        survivor_id = request.POST.get("survivor")
        if request.POST.get("confirm") == "yes" and survivor_id:
            survivor = next((r for r in records if str(r.pk) == survivor_id), None)
            if survivor is None:
                self.message_user(request, _("Choose the surviving record among the selected ones."), messages.ERROR)
                return None
            others = [r for r in records if r.pk != survivor.pk]
            try:
                with reversion.create_revision():
                    reversion.set_user(request.user)
                    reversion.set_comment(
                        _("Merged %(others)s into %(survivor)s")
                        % {
                            "others": ", ".join(str(o) for o in others),
                            "survivor": survivor,
                        }
                    )
                    report = type(self).merge_function(survivor, others)
            except authority.MergeError as error:
                self.message_user(request, str(error), messages.ERROR)
                return None
            for other in others:
                log_action(request, other, _("Merged into %s") % survivor)
            log_action(request, survivor, _("Received the merge of %s") % ", ".join(str(o) for o in others))
            moved = ", ".join(f"{key}: {value}" for key, value in sorted(report.items())) or _("nothing to move")
            self.message_user(
                request, _("Merged into %(survivor)s (%(moved)s).") % {"survivor": survivor, "moved": moved}
            )
            return None
        return TemplateResponse(
            request,
            "admin/correspondence/merge.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Merge records"),
                "opts": self.model._meta,
                "records": records,
                "rows": merge_rows(records),
                "action": request.POST.get("action"),
                "selected": [str(r.pk) for r in records],
            },
        )


def merge_rows(records):
    """The side-by-side comparison of records to merge: one row per field."""
    fields = ["name", "kind", "slug", "wikidata", "viaf", "gnd", "isni", "geonames", "latitude", "longitude", "note"]
    rows = []
    for field in fields:
        if not hasattr(records[0], field):
            continue
        rows.append(
            {"label": records[0]._meta.get_field(field).verbose_name, "values": [getattr(r, field) for r in records]}
        )
    rows.append({"label": _("variants"), "values": [", ".join(v.name for v in r.variants.all()) for r in records]})
    if isinstance(records[0], Agent):
        counts = [r.participations.count() + r.mentions.count() for r in records]
    else:
        counts = [r.letters_written.count() + r.mentions.count() for r in records]
    rows.append({"label": _("letters linked"), "values": counts})
    return rows


def data_quality_context():
    """What the data-quality page lists: records that need a curator's attention."""
    agents = Agent.objects.filter(merged_into__isnull=True)
    return {
        "agents_without_identifiers": agents.filter(wikidata="", viaf="", gnd="", isni="").order_by("name"),
        "places_without_identifiers": Place.objects.filter(merged_into__isnull=True, geonames="", wikidata="").order_by(
            "name"
        ),
        "places_without_coordinates": Place.objects.filter(merged_into__isnull=True, latitude__isnull=True).order_by(
            "name"
        ),
        "letters_with_uncertain_dates": Letter.objects.filter(
            Q(date_precision=Letter.DatePrecision.UNKNOWN)
            | ~Q(date_certainty=Letter.DateCertainty.EXACT)
            | Q(date_precision__in=[Letter.DatePrecision.MONTH, Letter.DatePrecision.YEAR, Letter.DatePrecision.RANGE])
        ).order_by("date_from"),
        "letters_without_summary": Letter.objects.filter(summary="").order_by("date_from"),
        "letters_without_sender": Letter.objects.exclude(participations__role=Participation.Role.SENDER).order_by(
            "date_from"
        ),
        "agent_duplicates": authority.duplicate_candidates(Agent.objects.all()),
        "place_duplicates": authority.duplicate_candidates(Place.objects.all()),
    }
