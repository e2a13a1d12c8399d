"""The audit log in the Django admin: searchable, filterable, read-only."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from audit.models import AuditLog


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
