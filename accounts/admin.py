"""Operators' view of users: who, which tier, verified or not, how much stored."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    UserChangeForm,
)
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from accounts import services
from accounts.models import EmailVerification, User


class PockityUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with this e-mail address exists.")
        return email


class PockityUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = ("email", "name")

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        taken = User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("A user with this e-mail address exists.")
        return email


class VerifiedFilter(admin.SimpleListFilter):
    title = "e-mail verified"
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        return [("yes", "Verified"), ("no", "Not verified")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(email_verified_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(email_verified_at__isnull=True)
        return queryset


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("ADMIN", "Admin"), ("USER", "User")]

    def queryset(self, request, queryset):
        if self.value() == "ADMIN":
            return queryset.filter(is_staff=True)
        if self.value() == "USER":
            return queryset.filter(is_staff=False)
        return queryset


def _format_bytes(value: int | None) -> str:
    if value is None:
        return "unlimited"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.2f} {unit}"
        size /= 1024
    return f"{value} B"


def _figure(used: int, limit: int | None, *, as_bytes: bool) -> str:
    shown = _format_bytes(used) if as_bytes else f"{used:,}"
    if limit is None:
        return f"{shown} of unlimited"
    total = _format_bytes(limit) if as_bytes else f"{limit:,}"
    percent = used * 100 / limit if limit else (100.0 if used else 0.0)
    return f"{shown} of {total} ({percent:.1f} %)"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = PockityUserChangeForm
    add_form = PockityUserCreationForm

    list_display = [
        "email",
        "name",
        "tier",
        "role_display",
        "is_active",
        "verified",
        "key_count",
        "date_joined",
    ]
    list_filter = [
        RoleFilter,
        "is_active",
        VerifiedFilter,
        "tier",
        "is_superuser",
        "date_joined",
    ]
    search_fields = ["email", "name"]
    ordering = ["-date_joined"]
    date_hierarchy = "date_joined"
    list_select_related = ["tier"]
    readonly_fields = [
        "last_login",
        "date_joined",
        "email_verified_at",
        "token_version",
        "storage_usage",
        "object_usage",
        "namespace_link",
        "api_keys_overview",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name", "tier", "email_verified_at"]}),
        (
            "Usage of users/{id}/",
            {
                "fields": [
                    "storage_usage",
                    "object_usage",
                    "namespace_link",
                    "api_keys_overview",
                ]
            },
        ),
        (
            "Permissions",
            {
                "fields": [
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ]
            },
        ),
        ("Sessions", {"fields": ["last_login", "date_joined", "token_version"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "name",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]
    filter_horizontal = ["groups", "user_permissions"]
    actions = ["end_all_sessions"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_key_count=Count("api_keys", filter=Q(api_keys__is_active=True))
            )
        )

    @admin.display(description="role", ordering="is_staff")
    def role_display(self, user):
        return user.role

    @admin.display(description="verified", boolean=True, ordering="email_verified_at")
    def verified(self, user):
        return user.is_email_verified

    @admin.display(description="active keys", ordering="active_key_count")
    def key_count(self, user):
        return user.active_key_count

    def _namespace(self, user):
        from storage.models import Namespace

        if user.pk is None:
            return None
        return Namespace.objects.filter(prefix=f"users/{user.pk}/").first()

    def _limits(self, namespace):
        from storage.services import namespace_limits

        return namespace_limits(namespace)

    @admin.display(description="storage")
    def storage_usage(self, user):
        namespace = self._namespace(user)
        if namespace is None:
            return "nothing stored yet"
        limits = self._limits(namespace)
        return _figure(namespace.bytes_used, limits.storage_bytes, as_bytes=True)

    @admin.display(description="objects")
    def object_usage(self, user):
        namespace = self._namespace(user)
        if namespace is None:
            return "nothing stored yet"
        limits = self._limits(namespace)
        return _figure(namespace.object_count, limits.objects, as_bytes=False)

    @admin.display(description="namespace")
    def namespace_link(self, user):
        namespace = self._namespace(user)
        if namespace is None:
            return "-"
        try:
            url = reverse("admin:storage_namespace_change", args=[namespace.pk])
        except NoReverseMatch:
            # The namespace admin is registered by storage/admin.py; without
            # it the prefix is still worth showing.
            return namespace.prefix
        return format_html('<a href="{}">{}</a>', url, namespace.prefix)

    @admin.display(description="API keys")
    def api_keys_overview(self, user):
        from apikeys.services import api_key_list

        if user.pk is None:
            return "-"
        counts = {"active": 0, "revoked": 0, "expired": 0}
        for status in counts:
            counts[status] = api_key_list(owner=user, status=status).count()
        return ", ".join(f"{count} {status}" for status, count in counts.items())

    @admin.action(description="End all sessions (every JWT stops working)")
    def end_all_sessions(self, request, queryset):
        for user in queryset:
            services.user_tokens_revoke_all(user=user)
        self.message_user(
            request, f"Ended the sessions of {queryset.count()} user(s).", messages.INFO
        )

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        # Keys, key and tier requests and e-mail codes belong to the user and
        # go with it through `user_delete` (keys revoked, prefixes purged).
        # Their own admins refuse deleting them one by one, which must not
        # stop an operator who may delete users.
        from apikeys.models import ApiKey, ApiKeyRequest
        from tiers.models import TierRequest

        owned = {
            str(model._meta.verbose_name)
            for model in (ApiKey, ApiKeyRequest, TierRequest, EmailVerification)
        }
        return deleted, counts, set(perms_needed) - owned, protected

    def save_model(self, request, obj, form, change):
        if not change and obj.tier_id is None:
            # The manager gives new users the default tier; the add form
            # bypasses it.
            from tiers.models import Tier

            obj.tier = Tier.default()
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        # The same path as the API: keys revoked, S3 prefixes purged, the
        # audit entry written. A bare row delete would orphan the files.
        services.user_delete(user=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.user_delete(user=user, actor=request.user)


@admin.register(EmailVerification)
class EmailVerificationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "user",
        "created_at",
        "expires_at",
        "attempts",
        "consumed_at",
    ]
    list_filter = ["created_at"]
    search_fields = ["email", "user__email"]
    list_select_related = ["user"]
    # Codes are stored as digests; nothing here is worth editing by hand.
    readonly_fields = [
        "user",
        "email",
        "attempts",
        "created_at",
        "expires_at",
        "consumed_at",
    ]
    exclude = ["code_digest"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
