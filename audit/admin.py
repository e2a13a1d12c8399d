"""The audit log in the Django admin: searchable, filterable, read-only."""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.utils.html import format_html

from audit.models import AuditLog
from audit.receivers import record_admin_operation


def delete_selected(modeladmin, request, queryset):
    """Django's "delete selected", with every deleted object audited.

    Django logs a deletion of several objects with one bulk INSERT of
    LogEntry rows, which sends no post_save, so the LogEntry receiver never
    sees them. A single object is saved normally and recorded there; more
    than one is recorded here, one entry per object, once the deletion is
    done (Django returns None only then; otherwise the confirmation page).
    """
    confirmed = bool(request.POST.get("post"))
    doomed = [(obj.pk, str(obj)[:200]) for obj in queryset] if confirmed else []

    response = django_delete_selected(modeladmin, request, queryset)

    if response is None and len(doomed) > 1:
        for pk, text in doomed:
            record_admin_operation(
                operator=request.user,
                model=modeladmin.model,
                object_id=pk,
                object_repr=text,
                operation="deletion",
                message="Deleted with “delete selected”.",
            )
    return response


delete_selected.allowed_permissions = django_delete_selected.allowed_permissions
delete_selected.short_description = django_delete_selected.short_description
# Replaces the site-wide action of the same name for every ModelAdmin.
admin.site.add_action(delete_selected, "delete_selected")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "action",
        "actor_label",
        "user_label",
        "api_key_label",
        "ip_address",
    )
    list_filter = ("action", "created_at")
    search_fields = (
        "actor_label",
        "user_label",
        "api_key_label",
        "ip_address",
        "request_id",
    )
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_per_page = 100
    # Counting a large log on every page is the slow part of the changelist.
    show_full_result_count = False
    actions = None
    fields = (
        "created_at",
        "action",
        "actor_id",
        "actor_label",
        "user_id",
        "user_label",
        "api_key_id",
        "api_key_label",
        "ip_address",
        "user_agent",
        "request_id",
        "pretty_metadata",
    )
    readonly_fields = fields

    @admin.display(description="metadata")
    def pretty_metadata(self, obj: AuditLog):
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.metadata, indent=2, ensure_ascii=False)
        )

    # Viewing is allowed to staff with the view permission; nobody, superusers
    # included, may add, change or delete an entry here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
