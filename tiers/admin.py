"""Django admin for tiers and tier requests."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Count

from tiers.admin_decisions import DecisionAdminMixin
from tiers.models import Tier, TierRequest
from tiers.services import MAX_ID, tier_request_decide

LIMIT_FIELDS = (
    "storage_bytes_limit",
    "object_limit",
    "max_file_size_bytes",
    "max_api_keys",
    "price_minor",
)


def bound_limit_fields(form: forms.ModelForm, names) -> None:
    """Limits are 0 .. 2**63-1: -1 or 2**63 is a form error, not a 500."""
    for name in names:
        field = form.fields.get(name)
        if field is None:
            continue
        field.validators.extend([MinValueValidator(0), MaxValueValidator(MAX_ID)])
        field.widget.attrs.setdefault("min", 0)


class TierAdminForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = (
            "name",
            "description",
            "storage_bytes_limit",
            "object_limit",
            "max_file_size_bytes",
            "max_api_keys",
            "price_minor",
            "currency",
            "is_public",
            "is_active",
            "is_default",
            "sort_order",
        )
        help_texts = {
            "storage_bytes_limit": "Bytes (1 GB = 2**30). Empty means unlimited.",
            "object_limit": "Empty means unlimited.",
            "max_file_size_bytes": "Bytes. Empty means unlimited.",
            "max_api_keys": "Empty means unlimited.",
            "price_minor": "Per month, in the currency's minor unit (cents).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_limit_fields(self, LIMIT_FIELDS)

    def clean(self):
        cleaned = super().clean()
        # New users get the default tier; an inactive one would leave them
        # with no tier at all, which storage reads as unlimited.
        if cleaned.get("is_default") and not cleaned.get("is_active"):
            raise forms.ValidationError("The default tier must stay active.")
        return cleaned


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    form = TierAdminForm
    list_display = (
        "name",
        "storage_bytes_limit",
        "object_limit",
        "max_file_size_bytes",
        "max_api_keys",
        "price_minor",
        "currency",
        "is_public",
        "is_active",
        "is_default",
        "user_count",
    )
    list_filter = ("is_public", "is_active", "is_default")
    search_fields = ("name",)
    ordering = ("sort_order", "id")
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_user_count=Count("users"))

    @admin.display(description="Users", ordering="_user_count")
    def user_count(self, obj):
        return obj._user_count

    def has_delete_permission(self, request, obj=None):
        # Users and requests point at tiers; retire a tier with is_active.
        return False


@admin.register(TierRequest)
class TierRequestAdmin(DecisionAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "user_email",
        "current_tier",
        "requested_tier",
        "status",
        "created_at",
        "reviewer",
        "reviewed_at",
    )
    list_filter = ("status", "requested_tier", "created_at")
    search_fields = ("user__email", "user__name", "reason")
    date_hierarchy = "created_at"
    list_select_related = ("user", "current_tier", "requested_tier", "reviewer")
    fields = (
        "user",
        "current_tier",
        "requested_tier",
        "reason",
        "status",
        "reviewer",
        "reviewer_comment",
        "reviewed_at",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="User", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    def decide_one(self, request, obj, approved, form):
        tier_request_decide(
            tier_request=obj,
            approved=approved,
            reviewer=request.user,
            comment=form.cleaned_data.get("comment", ""),
        )
