"""Webhooks, their messages and delivery attempts, and quota-alert state."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from notifications.models import (
    QuotaAlertState,
    Webhook,
    WebhookDelivery,
    WebhookMessage,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the services; operators read them, never edit."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ("user", "url", "created_at", "updated_at")
    search_fields = ("user__email", "url")
    list_select_related = ("user",)
    # The encrypted secret is of no use to an operator.
    exclude = ("secret_encrypted",)

    # An operator may remove a webhook (its undelivered messages go with it),
    # e.g. one that keeps failing; editing stays with its owner.
    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("notifications.delete_webhook")


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    extra = 0
    can_delete = False
    fields = ("attempt", "created_at", "status_code", "succeeded", "error", "url")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "event",
        "webhook",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "event")
    search_fields = ("webhook__user__email", "webhook__url")
    list_select_related = ("webhook__user",)
    inlines = [WebhookDeliveryInline]


@admin.register(QuotaAlertState)
class QuotaAlertStateAdmin(ReadOnlyAdmin):
    list_display = (
        "namespace",
        "limit_kind",
        "threshold",
        "usage",
        "limit",
        "crossed_at",
    )
    list_filter = ("limit_kind", "threshold")
    search_fields = ("namespace__prefix",)
    list_select_related = ("namespace",)
