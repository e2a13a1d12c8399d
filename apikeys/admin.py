"""
Django admin for API keys and API-key requests: the operators' main tool.

Secrets never appear here: neither the digest nor the encrypted copies are
fields of any form or list. Keys change through `apikeys.services` (limits,
revocation) and requests through `apikeys.request_services`, so the audit log
sees the operator as the actor.
"""

from __future__ import annotations

from dataclasses import replace

from django import forms
from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from apikeys.models import ApiKey, ApiKeyRequest
from apikeys.request_serializers import GB_FIELD_OPTIONS, OBJECTS_FIELD_OPTIONS
from apikeys.request_services import (
    CAPABILITIES,
    Capabilities,
    Overrides,
    api_key_request_decide,
    bytes_to_gb_decimal,
    gb_to_bytes,
)
from apikeys.services import api_key_revoke, api_key_set_limits
from tiers.admin import bound_limit_fields
from tiers.admin_decisions import CommentForm, DecisionAdminMixin
from tiers.models import RequestStatus


def _format_bytes(value) -> str:
    if value is None:
        return "unlimited"
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value} B"


def _capability_text(obj, prefix="can_") -> str:
    names = Capabilities.of(obj, prefix).names()
    if set(names) == set(CAPABILITIES):
        return "all"
    return ", ".join(names) or "none"


class ApiKeyAdminForm(forms.ModelForm):
    read_only = forms.BooleanField(
        required=False,
        label="Read-only key",
        help_text="List and read only: clears write and delete when saved.",
    )

    class Meta:
        model = ApiKey
        fields = (
            "name",
            "storage_bytes_limit",
            "object_limit",
            "can_list",
            "can_read",
            "can_write",
            "can_delete",
            "expires_at",
        )
        help_texts = {
            "storage_bytes_limit": "Bytes (1 GB = 2**30). Empty means unlimited; "
            "below current usage, uploads stop until usage falls.",
            "object_limit": "Empty means unlimited.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_limit_fields(self, ("storage_bytes_limit", "object_limit"))
        if self.instance.pk and self.instance.limits_from_tier:
            # Show the figures in force (the owner's current tier); saving
            # other figures pins them on the key from then on.
            self.initial["storage_bytes_limit"] = (
                self.instance.effective_storage_bytes_limit
            )
            self.initial["object_limit"] = self.instance.effective_object_limit
            for name in ("storage_bytes_limit", "object_limit"):
                self.fields[
                    name
                ].help_text += " Now following the owner's tier; a change here pins it."
        if self.instance.pk:
            self.fields["read_only"].initial = not (
                self.instance.can_write or self.instance.can_delete
            )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("read_only"):
            cleaned["can_write"] = False
            cleaned["can_delete"] = False
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyAdminForm
    list_display = (
        "name",
        "owner_email",
        "access_key_id",
        "storage_limit",
        "object_limit",
        "usage",
        "capabilities",
        "expires_at",
        "is_active",
        "last_used_at",
    )
    list_filter = (
        "is_active",
        "can_write",
        "can_delete",
        "tier",
        "expires_at",
        "created_at",
    )
    search_fields = ("owner__email", "access_key_id", "name")
    date_hierarchy = "created_at"
    list_select_related = ("owner", "owner__tier", "tier", "namespace")
    actions = ["revoke_selected"]
    fieldsets = (
        (None, {"fields": ("name", "owner", "access_key_id", "tier")}),
        (
            "Quota",
            {"fields": ("storage_bytes_limit", "object_limit", "namespace_usage")},
        ),
        (
            "Capabilities",
            {
                "fields": (
                    "read_only",
                    "can_list",
                    "can_read",
                    "can_write",
                    "can_delete",
                )
            },
        ),
        (
            "State",
            {
                "fields": (
                    "expires_at",
                    "is_active",
                    "revoked_at",
                    "last_used_at",
                    "created_at",
                )
            },
        ),
    )
    readonly_fields = (
        "owner",
        "access_key_id",
        "tier",
        "namespace_usage",
        "is_active",
        "revoked_at",
        "last_used_at",
        "created_at",
    )

    @admin.display(description="Owner", ordering="owner__email")
    def owner_email(self, obj):
        return obj.owner.email

    @admin.display(description="Storage limit", ordering="storage_bytes_limit")
    def storage_limit(self, obj):
        return _format_bytes(obj.effective_storage_bytes_limit)

    @admin.display(description="Usage")
    def usage(self, obj):
        namespace = getattr(obj, "namespace", None)
        if namespace is None:
            return "-"
        return f"{_format_bytes(namespace.bytes_used)} / {namespace.object_count} obj"

    @admin.display(description="Capabilities")
    def capabilities(self, obj):
        return _capability_text(obj)

    @admin.display(description="Usage of its namespace")
    def namespace_usage(self, obj):
        namespace = getattr(obj, "namespace", None)
        if namespace is None:
            return "No namespace"
        objects = obj.effective_object_limit
        text = (
            f"{namespace.prefix}: {_format_bytes(namespace.bytes_used)} of "
            f"{_format_bytes(obj.effective_storage_bytes_limit)}, "
            f"{namespace.object_count} of "
            f"{objects if objects is not None else 'unlimited'} "
            "objects"
        )
        try:
            url = reverse("admin:storage_namespace_change", args=[namespace.pk])
        except NoReverseMatch:
            return text
        return format_html('<a href="{}">{}</a>', url, text)

    def has_add_permission(self, request):
        # Keys are issued through the API or by approving a request, both of
        # which hand the secret to its owner; the admin never sees one.
        return False

    def has_delete_permission(self, request, obj=None):
        # Revoke instead: the namespace and the audit trail stay intact.
        return False

    def save_model(self, request, obj, form, change):
        # Limits go through the service so the change is audited with the
        # operator as actor; the other fields are saved as usual.
        limits = ("storage_bytes_limit", "object_limit")
        other = [name for name in form.changed_data if name not in limits]
        other = [name for name in other if name != "read_only"]
        if form.cleaned_data.get("read_only"):
            other = sorted(set(other) | {"can_write", "can_delete"})
        if other:
            obj.save(update_fields=other)
        if any(name in form.changed_data for name in limits):
            # The service compares against the stored limits, which `obj`
            # (already carrying the form's values) no longer shows.
            api_key_set_limits(
                api_key=ApiKey.objects.get(pk=obj.pk),
                storage_bytes_limit=form.cleaned_data["storage_bytes_limit"],
                object_limit=form.cleaned_data["object_limit"],
                actor=request.user,
            )

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key, actor=request.user, reason="admin")
            revoked += 1
        self.message_user(
            request,
            f"{revoked} key{'s' if revoked != 1 else ''} revoked.",
            messages.SUCCESS,
        )


class KeyApprovalForm(CommentForm):
    """A single request's approval, with figures an operator may narrow."""

    storage_gb = forms.DecimalField(
        label="Storage (GB)",
        required=False,
        max_digits=GB_FIELD_OPTIONS["max_digits"],
        decimal_places=GB_FIELD_OPTIONS["decimal_places"],
        min_value=GB_FIELD_OPTIONS["min_value"],
        max_value=GB_FIELD_OPTIONS["max_value"],
        help_text="1 GB = 2**30 bytes. At most what was requested.",
    )
    objects = forms.IntegerField(
        label="Objects",
        required=False,
        min_value=OBJECTS_FIELD_OPTIONS["min_value"],
        max_value=OBJECTS_FIELD_OPTIONS["max_value"],
        help_text="At most what was requested.",
    )

    def overrides(self) -> Overrides:
        # Only what the operator changed overrides the request, so that an
        # untouched field never differs from the request by rounding.
        changed = self.changed_data
        data = self.cleaned_data
        return Overrides(
            storage_bytes=gb_to_bytes(data["storage_gb"])
            if "storage_gb" in changed and data.get("storage_gb") is not None
            else None,
            objects=data.get("objects") if "objects" in changed else None,
        )


class NewKeyApprovalForm(KeyApprovalForm):
    capabilities = forms.MultipleChoiceField(
        choices=[(name, name) for name in CAPABILITIES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="A subset of what was requested.",
    )
    read_only = forms.BooleanField(
        label="Read-only key",
        required=False,
        help_text="List and read only, whatever is ticked above.",
    )
    expires_at = forms.DateTimeField(
        label="Expires at",
        required=False,
        help_text="UTC, e.g. 2030-01-31 23:59. No later than requested.",
    )

    def clean_capabilities(self):
        names = self.cleaned_data.get("capabilities")
        if "capabilities" in self.changed_data and not names:
            raise forms.ValidationError("Keep at least one capability.")
        return names

    def overrides(self) -> Overrides:
        base = super().overrides()
        changed = self.changed_data
        data = self.cleaned_data
        capabilities = None
        if "capabilities" in changed or "read_only" in changed:
            capabilities = Capabilities.from_names(data["capabilities"] or [])
        if data.get("read_only") and capabilities is not None:
            capabilities = replace(capabilities, can_write=False, can_delete=False)
        return Overrides(
            storage_bytes=base.storage_bytes,
            objects=base.objects,
            capabilities=capabilities,
            expires_at=data.get("expires_at") if "expires_at" in changed else None,
        )


class OverridesForm(CommentForm):
    """Several requests at once: only a comment, the figures stay as asked."""

    def overrides(self) -> Overrides:
        return Overrides()


@admin.register(ApiKeyRequest)
class ApiKeyRequestAdmin(DecisionAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "user_email",
        "key_name",
        "target_key",
        "requested_storage",
        "requested_objects",
        "requested_capabilities",
        "status",
        "created_at",
        "reviewer",
    )
    list_filter = ("status", "kind", "created_at")
    search_fields = ("user__email", "api_key__access_key_id", "key_name", "reason")
    date_hierarchy = "created_at"
    list_select_related = ("user", "api_key", "reviewer")
    fieldsets = (
        (None, {"fields": ("kind", "user", "key_name", "key_link", "reason")}),
        (
            "Requested",
            {
                "fields": (
                    "requested_storage",
                    "requested_objects",
                    "requested_capabilities",
                    "requested_expires_at",
                )
            },
        ),
        (
            "Decision",
            {
                "fields": (
                    "status",
                    "reviewer",
                    "reviewer_comment",
                    "reviewed_at",
                    "granted_storage",
                    "granted_objects",
                    "granted_capabilities",
                    "granted_expires_at",
                    "secret_state",
                )
            },
        ),
        (None, {"fields": ("created_at",)}),
    )
    readonly_fields = (
        "kind",
        "user",
        "key_name",
        "key_link",
        "reason",
        "requested_storage",
        "requested_objects",
        "requested_capabilities",
        "requested_expires_at",
        "status",
        "reviewer",
        "reviewer_comment",
        "reviewed_at",
        "granted_storage",
        "granted_objects",
        "granted_capabilities",
        "granted_expires_at",
        "secret_state",
        "created_at",
    )

    @admin.display(description="User", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description="Key", ordering="api_key__access_key_id")
    def target_key(self, obj):
        return obj.api_key.access_key_id if obj.api_key else "-"

    @admin.display(description="API key")
    def key_link(self, obj):
        if obj.api_key is None:
            return "-"
        url = reverse("admin:apikeys_apikey_change", args=[obj.api_key.pk])
        return format_html('<a href="{}">{}</a>', url, obj.api_key)

    @admin.display(description="Storage", ordering="requested_storage_bytes")
    def requested_storage(self, obj):
        return _format_bytes(obj.requested_storage_bytes)

    @admin.display(description="Capabilities")
    def requested_capabilities(self, obj):
        return _capability_text(obj)

    @admin.display(description="Granted storage")
    def granted_storage(self, obj):
        if obj.status != RequestStatus.APPROVED:
            return "-"
        return _format_bytes(obj.granted_storage_bytes)

    @admin.display(description="Granted capabilities")
    def granted_capabilities(self, obj):
        if obj.granted_can_read is None:
            return "-"
        return _capability_text(obj, "granted_can_")

    @admin.display(description="Secret")
    def secret_state(self, obj):
        if obj.pending_secret_encrypted:
            return "Waiting for its owner to read it once"
        if obj.secret_revealed_at:
            return f"Read by its owner at {obj.secret_revealed_at:%Y-%m-%d %H:%M} UTC"
        return "-"

    def get_decision_form_class(self, request, queryset, approved):
        if not approved or queryset.count() != 1:
            return OverridesForm
        if queryset.get().kind == ApiKeyRequest.Kind.NEW_KEY:
            return NewKeyApprovalForm
        return KeyApprovalForm

    def get_decision_form_initial(self, queryset, approved) -> dict:
        if not approved or queryset.count() != 1:
            return {}
        obj = queryset.get()
        initial = {
            "storage_gb": bytes_to_gb_decimal(obj.requested_storage_bytes),
            "objects": obj.requested_objects,
        }
        if obj.kind == ApiKeyRequest.Kind.NEW_KEY:
            initial["capabilities"] = Capabilities.of(obj).names()
            initial["read_only"] = obj.requested_read_only
            initial["expires_at"] = obj.requested_expires_at
        return initial

    def decide_one(self, request, obj, approved, form):
        api_key_request_decide(
            api_key_request=obj,
            approved=approved,
            reviewer=request.user,
            comment=form.cleaned_data.get("comment", ""),
            overrides=form.overrides() if approved else None,
        )
