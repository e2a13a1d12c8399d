"""Billing in the admin: read-only money history, actions through services.

Rows that record money (invoices, payments, refunds, webhook events) cannot
be edited or deleted here; every change an operator makes (void, confirm a
crypto payment, refund, cancel) is an action calling the same service as
the API, so the state machines and signals apply.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from billing import services
from billing.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Plan,
    Provider,
    Refund,
    Subscription,
    WebhookEvent,
)
from pockity.exceptions import PockityError

# ISO 4217 currencies without a minor unit; everything else shows 2 places.
ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"}


def money(amount, currency: str) -> str:
    if amount is None:
        return "-"
    if currency in ZERO_DECIMAL:
        return f"{amount:,} {currency}"
    return f"{amount / 100:,.2f} {currency}"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "tier", "price", "interval", "active"]
    list_filter = ["active", "interval", "currency", "tier"]
    search_fields = ["code", "name"]
    ordering = ["sort_order", "id"]
    list_select_related = ["tier"]

    @admin.display(description="price", ordering="price_minor")
    def price(self, plan):
        return money(plan.price_minor, plan.currency)

    def get_readonly_fields(self, request, obj=None):
        # A plan that was sold keeps its price; make a new plan instead.
        return ["price_minor", "currency", "interval", "tier"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user_email",
        "plan",
        "status",
        "provider",
        "current_period_end",
        "cancel_at_period_end",
    ]
    list_filter = ["status", "provider", "plan", "cancel_at_period_end"]
    search_fields = ["user_email"]
    date_hierarchy = "created_at"
    list_select_related = ["plan"]
    actions = ["cancel_immediately"]

    @admin.action(description="Cancel now (user returns to the default tier)")
    def cancel_immediately(self, request, queryset):
        done = 0
        for sub in queryset.exclude(status="CANCELED").exclude(user=None):
            try:
                services.subscription_cancel(
                    user=sub.user, actor=request.user, immediately=True
                )
                done += 1
            except PockityError as exc:
                self.message_user(request, f"{sub}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"Cancelled {done} subscription(s).")


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = [
        "id",
        "provider",
        "status",
        "amount_minor",
        "refunded_minor",
        "created_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class TxHashForm(forms.Form):
    tx_hash = forms.CharField(
        label="Transaction hash",
        max_length=100,
        help_text="ETH/USDC: 0x followed by 64 hex digits. BTC: 64 hex digits.",
    )


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "user_email",
        "purpose",
        "total",
        "status",
        "provider",
        "crypto_asset",
        "due_at",
        "created_at",
    ]
    list_filter = ["status", "purpose", "provider", "crypto_asset", "currency"]
    search_fields = ["number", "user_email", "crypto_tx_hash", "provider_ref"]
    date_hierarchy = "created_at"
    inlines = [PaymentInline]
    actions = ["void_invoices", "mark_uncollectible", "confirm_crypto_payment"]

    @admin.display(description="amount", ordering="amount_minor")
    def total(self, invoice):
        return money(invoice.amount_minor, invoice.currency)

    def _each(self, request, queryset, change, verb: str):
        done = 0
        for invoice in queryset:
            try:
                change(invoice=invoice, actor=request.user)
                done += 1
            except PockityError as exc:
                self.message_user(
                    request, f"{invoice.number}: {exc.message}", messages.ERROR
                )
        if done:
            self.message_user(request, f"{verb} {done} invoice(s).")

    @admin.action(description="Void selected invoices")
    def void_invoices(self, request, queryset):
        self._each(request, queryset, services.invoice_void, "Voided")

    @admin.action(description="Mark selected invoices uncollectible")
    def mark_uncollectible(self, request, queryset):
        self._each(request, queryset, services.invoice_mark_uncollectible, "Marked")

    @admin.action(description="Confirm crypto payment (asks for the tx hash)")
    def confirm_crypto_payment(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one invoice to confirm.", messages.ERROR
            )
            return None
        invoice = queryset.get()
        payment = invoice.payments.filter(
            provider=Provider.CRYPTO, status=PaymentStatus.PENDING
        ).first()
        if invoice.status != InvoiceStatus.OPEN or payment is None:
            self.message_user(
                request,
                f"{invoice.number} has no pending crypto payment.",
                messages.ERROR,
            )
            return None

        form = TxHashForm(request.POST if "apply" in request.POST else None)
        if "apply" not in request.POST:
            form = TxHashForm(initial={"tx_hash": payment.claimed_tx_hash})
        elif form.is_valid():
            try:
                services.crypto_payment_confirm(
                    payment=payment,
                    tx_hash=form.cleaned_data["tx_hash"],
                    actor=request.user,
                )
            except PockityError as exc:
                form.add_error("tx_hash", exc.message)
            else:
                self.message_user(
                    request, f"{invoice.number} is paid.", messages.SUCCESS
                )
                return None

        return TemplateResponse(
            request,
            "billing/admin/confirm_crypto.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Confirm crypto payment for {invoice.number}",
                "invoice": invoice,
                "payment": payment,
                "amount": money(invoice.amount_minor, invoice.currency),
                "form": form,
                "opts": self.model._meta,
                "action": "confirm_crypto_payment",
                "selected": [invoice.pk],
            },
        )


class RefundForm(forms.Form):
    amount = forms.IntegerField(
        min_value=1,
        max_value=services.MAX_AMOUNT_MINOR,
        help_text="In minor units (cents, paise).",
    )
    reason = forms.CharField(max_length=255, required=False)


class RefundInline(admin.TabularInline):
    model = Refund
    fields = ["id", "amount_minor", "status", "reason", "actor_label", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "invoice",
        "user_email",
        "provider",
        "total",
        "refunded",
        "status",
        "created_at",
    ]
    list_filter = ["status", "provider", "currency"]
    search_fields = [
        "user_email",
        "invoice__number",
        "provider_ref",
        "provider_charge_ref",
        "claimed_tx_hash",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["invoice"]
    inlines = [RefundInline]
    actions = ["refund_payment"]

    @admin.display(description="amount", ordering="amount_minor")
    def total(self, payment):
        return money(payment.amount_minor, payment.currency)

    @admin.display(description="refunded", ordering="refunded_minor")
    def refunded(self, payment):
        return money(payment.refunded_minor, payment.currency)

    @admin.action(description="Refund (asks for amount and reason)")
    def refund_payment(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one payment to refund.", messages.ERROR
            )
            return None
        payment = queryset.get()
        if payment.refundable_minor <= 0:
            self.message_user(
                request, f"Payment {payment.pk} has nothing to refund.", messages.ERROR
            )
            return None

        if "apply" in request.POST:
            form = RefundForm(request.POST)
            if form.is_valid():
                try:
                    refund = services.refund_create(
                        payment=payment,
                        amount_minor=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"],
                        actor=request.user,
                    )
                except PockityError as exc:
                    form.add_error("amount", exc.message)
                else:
                    self.message_user(
                        request,
                        f"Refunded {money(refund.amount_minor, refund.currency)} "
                        f"({refund.status.lower()}).",
                        messages.SUCCESS,
                    )
                    return None
        else:
            form = RefundForm(initial={"amount": payment.refundable_minor})

        return TemplateResponse(
            request,
            "billing/admin/refund.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Refund payment {payment.pk}",
                "payment": payment,
                "refundable": money(payment.refundable_minor, payment.currency),
                "form": form,
                "opts": self.model._meta,
                "action": "refund_payment",
                "selected": [payment.pk],
            },
        )


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "provider", "kind", "brand", "last4", "is_default"]
    list_filter = ["provider", "kind", "is_default"]
    search_fields = ["user__email", "label", "provider_ref"]
    list_select_related = ["user"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "payment", "total", "status", "reason", "actor_label"]
    list_filter = ["status", "currency"]
    search_fields = ["payment__user_email", "provider_ref", "reason"]
    list_select_related = ["payment"]
    date_hierarchy = "created_at"

    @admin.display(description="amount", ordering="amount_minor")
    def total(self, refund):
        return money(refund.amount_minor, refund.currency)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "event_type", "event_id", "outcome"]
    list_filter = ["provider", "event_type"]
    search_fields = ["event_id", "outcome"]
    date_hierarchy = "received_at"
