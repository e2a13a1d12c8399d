"""Credits in the admin: balances and the ledger read-only, grants via service."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model

from credits import services
from credits.models import CreditBalance, CreditEntry


@admin.register(CreditBalance)
class CreditBalanceAdmin(admin.ModelAdmin):
    list_display = ["user", "balance", "updated_at"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "balance", "updated_at"]
    list_select_related = ["user"]
    ordering = ["-balance"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CreditEntryAddForm(forms.ModelForm):
    """Grant or deduct credits; the entry is written by `credits.services`."""

    user = forms.ModelChoiceField(queryset=get_user_model().objects.all())
    direction = forms.ChoiceField(
        choices=[("add", "Grant (add)"), ("deduct", "Deduct")], initial="add"
    )
    amount = forms.IntegerField(min_value=1, max_value=services.MAX_CREDIT_AMOUNT)

    class Meta:
        model = CreditEntry
        fields = ["user", "direction", "amount", "reason"]

    def clean(self):
        data = super().clean()
        # Checked again, atomically, by the service; this gives the operator
        # a form error instead of an error page in the common case.
        if (
            data.get("direction") == "deduct"
            and data.get("user")
            and data.get("amount")
        ):
            balance = services.credits_balance_get(user=data["user"])
            if balance < data["amount"]:
                raise forms.ValidationError(
                    f"The user has only {balance} credits.", code="insufficient"
                )
        return data


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "user_email",
        "kind",
        "amount",
        "balance_after",
        "reason",
        "actor_label",
    ]
    list_filter = ["kind", "created_at"]
    search_fields = ["user_email", "reason", "reference", "idempotency_key"]
    date_hierarchy = "created_at"
    add_form = CreditEntryAddForm
    readonly_fields = [
        "user",
        "user_email",
        "kind",
        "amount",
        "balance_after",
        "reason",
        "reference",
        "idempotency_key",
        "actor",
        "actor_label",
        "created_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "direction", "amount", "reason"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        # Entries are only ever written by the service, which also moves the
        # balance; the unsaved form instance is replaced by its result.
        move = (
            services.credits_add
            if form.cleaned_data["direction"] == "add"
            else services.credits_deduct
        )
        entry, _ = move(
            user=form.cleaned_data["user"],
            amount=form.cleaned_data["amount"],
            actor=request.user,
            reason=form.cleaned_data.get("reason") or "Admin adjustment",
        )
        obj.__dict__.update(entry.__dict__)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
