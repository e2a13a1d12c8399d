"""Request and response shapes of the billing and payment API.

Money is `amount` in the currency's minor unit (cents, paise) beside its
`currency`, as Stripe and Razorpay also report it.
"""

from __future__ import annotations

import re

from rest_framework import serializers

from billing.models import (
    CryptoAsset,
    Invoice,
    Payment,
    PaymentMethod,
    Plan,
    Provider,
    Refund,
    Subscription,
)
from billing.services import MAX_AMOUNT_MINOR
from credits.serializers import AmountField, UserIdField


class MinorAmountField(AmountField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_AMOUNT_MINOR)
        super().__init__(**kwargs)


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)


# --- output ----------------------------------------------------------------------


class TierBriefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    storageBytesLimit = serializers.IntegerField(
        source="storage_bytes_limit", allow_null=True
    )
    objectLimit = serializers.IntegerField(source="object_limit", allow_null=True)


class PlanOutput(serializers.ModelSerializer):
    tier = TierBriefOutput()
    amount = serializers.IntegerField(source="price_minor")
    isFree = serializers.BooleanField(source="is_free")

    class Meta:
        model = Plan
        fields = [
            "id",
            "code",
            "name",
            "description",
            "tier",
            "amount",
            "currency",
            "interval",
            "isFree",
        ]


class SubscriptionOutput(serializers.ModelSerializer):
    plan = PlanOutput()
    currentPeriodStart = serializers.DateTimeField(source="current_period_start")
    currentPeriodEnd = serializers.DateTimeField(source="current_period_end")
    cancelAtPeriodEnd = serializers.BooleanField(source="cancel_at_period_end")
    canceledAt = serializers.DateTimeField(source="canceled_at")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Subscription
        fields = [
            "id",
            "plan",
            "status",
            "provider",
            "currentPeriodStart",
            "currentPeriodEnd",
            "cancelAtPeriodEnd",
            "canceledAt",
            "createdAt",
        ]


class CryptoOutput(serializers.Serializer):
    asset = serializers.CharField(source="crypto_asset")
    address = serializers.CharField(source="crypto_address")
    expectedAmount = serializers.DecimalField(
        source="crypto_expected_amount",
        max_digits=38,
        decimal_places=18,
        normalize_output=True,
        coerce_to_string=True,
    )
    txHash = serializers.CharField(source="crypto_tx_hash", allow_null=True)


class InvoiceOutput(serializers.ModelSerializer):
    amount = serializers.IntegerField(source="amount_minor")
    subscriptionId = serializers.IntegerField(source="subscription_id", allow_null=True)
    dueAt = serializers.DateTimeField(source="due_at")
    paidAt = serializers.DateTimeField(source="paid_at")
    voidedAt = serializers.DateTimeField(source="voided_at")
    createdAt = serializers.DateTimeField(source="created_at")
    crypto = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "purpose",
            "description",
            "amount",
            "currency",
            "credits",
            "status",
            "subscriptionId",
            "provider",
            "dueAt",
            "paidAt",
            "voidedAt",
            "crypto",
            "createdAt",
        ]

    def get_crypto(self, invoice) -> dict | None:
        if not invoice.crypto_asset:
            return None
        return CryptoOutput(invoice).data


class PaymentOutput(serializers.ModelSerializer):
    invoiceId = serializers.IntegerField(source="invoice_id")
    invoiceNumber = serializers.CharField(source="invoice.number")
    providerRef = serializers.CharField(source="provider_ref", allow_null=True)
    amount = serializers.IntegerField(source="amount_minor")
    refundedAmount = serializers.IntegerField(source="refunded_minor")
    failureReason = serializers.CharField(source="failure_reason")
    claimedTxHash = serializers.CharField(source="claimed_tx_hash")
    succeededAt = serializers.DateTimeField(source="succeeded_at")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Payment
        fields = [
            "id",
            "invoiceId",
            "invoiceNumber",
            "provider",
            "providerRef",
            "amount",
            "refundedAmount",
            "currency",
            "status",
            "failureReason",
            "claimedTxHash",
            "succeededAt",
            "createdAt",
        ]


class RefundOutput(serializers.ModelSerializer):
    paymentId = serializers.IntegerField(source="payment_id")
    amount = serializers.IntegerField(source="amount_minor")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Refund
        fields = [
            "id",
            "paymentId",
            "amount",
            "currency",
            "status",
            "reason",
            "createdAt",
        ]


class PaymentMethodOutput(serializers.ModelSerializer):
    type = serializers.CharField(source="kind")
    expMonth = serializers.IntegerField(source="exp_month", allow_null=True)
    expYear = serializers.IntegerField(source="exp_year", allow_null=True)
    isDefault = serializers.BooleanField(source="is_default")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = PaymentMethod
        fields = [
            "id",
            "provider",
            "type",
            "brand",
            "last4",
            "expMonth",
            "expYear",
            "label",
            "isDefault",
            "createdAt",
        ]


class IntentOutput(serializers.Serializer):
    payment = PaymentOutput()
    invoice = InvoiceOutput()
    clientSecret = serializers.CharField(
        allow_blank=True, help_text="Stripe only: for Stripe.js on the client."
    )
    instructions = serializers.DictField(
        help_text="Where and how much to pay (crypto address, Razorpay order)."
    )


class SubscriptionCreateOutput(serializers.Serializer):
    subscription = SubscriptionOutput()
    invoice = InvoiceOutput(allow_null=True)
    payment = PaymentOutput(allow_null=True)
    clientSecret = serializers.CharField(allow_blank=True)
    instructions = serializers.DictField()


class SubscriptionCurrentOutput(serializers.Serializer):
    subscription = SubscriptionOutput(allow_null=True)
    pendingSubscription = SubscriptionOutput(allow_null=True)


class MoneyTotalOutput(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.IntegerField()


class BillingSummaryOutput(serializers.Serializer):
    subscription = SubscriptionOutput(allow_null=True)
    pendingSubscription = SubscriptionOutput(allow_null=True)
    tier = TierBriefOutput(allow_null=True)
    openInvoices = serializers.IntegerField()
    amountDue = MoneyTotalOutput(many=True)
    totalPaid = MoneyTotalOutput(many=True)
    totalRefunded = MoneyTotalOutput(many=True)
    creditBalance = serializers.IntegerField()
    recentInvoices = InvoiceOutput(many=True)
    availableProviders = serializers.ListField(child=serializers.CharField())


# --- input -----------------------------------------------------------------------


class ProviderField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Provider.choices, **kwargs)


class SubscriptionCreateInput(serializers.Serializer):
    planId = serializers.CharField(
        max_length=64, help_text='Plan code ("plan_free") or numeric id.'
    )
    provider = ProviderField(required=False, allow_null=True, default=None)
    asset = serializers.ChoiceField(
        choices=CryptoAsset.values, required=False, help_text="Crypto only."
    )


class SubscriptionCancelInput(serializers.Serializer):
    immediately = serializers.BooleanField(
        required=False,
        default=False,
        help_text="End now and return to the default tier (no refund).",
    )


class InvoiceCreateInput(serializers.Serializer):
    credits = AmountField(required=False, help_text="Buy this many credits.")
    userId = UserIdField(help_text="Staff only: invoice this user.")
    amount = MinorAmountField(required=False, help_text="Staff only: minor units.")
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", required=False, help_text="Staff only: ISO 4217."
    )
    description = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs):
        if ("credits" in attrs) == ("amount" in attrs):
            raise serializers.ValidationError("Give either 'credits' or 'amount'.")
        if "amount" in attrs and "currency" not in attrs:
            raise serializers.ValidationError({"currency": "Required with 'amount'."})
        return attrs


class PaymentIntentInput(serializers.Serializer):
    invoiceId = serializers.CharField(max_length=40, help_text="Invoice id or number.")
    provider = ProviderField()
    asset = serializers.ChoiceField(
        choices=CryptoAsset.values, required=False, help_text="Crypto only."
    )
    idempotencyKey = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )


class PaymentProcessInput(serializers.Serializer):
    paymentId = IdField()
    txHash = serializers.CharField(max_length=100, required=False)
    razorpayPaymentId = serializers.CharField(max_length=100, required=False)
    razorpaySignature = serializers.CharField(max_length=200, required=False)

    def to_internal_value(self, data):
        # Razorpay Checkout hands back snake_case names; accept them as is.
        if hasattr(data, "get"):
            data = dict(data.items()) if hasattr(data, "items") else data
            for snake, camel in (
                ("razorpay_payment_id", "razorpayPaymentId"),
                ("razorpay_signature", "razorpaySignature"),
            ):
                if snake in data and camel not in data:
                    data[camel] = data[snake]
        return super().to_internal_value(data)


_RAW_CARD_FIELDS = {"cardNumber", "number", "cvc", "cvv", "card_number", "pan"}


class PaymentMethodInput(serializers.Serializer):
    provider = ProviderField()
    type = serializers.CharField(max_length=32, required=False, default="card")
    providerRef = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="The provider's id for it, e.g. a Stripe pm_… id.",
    )
    brand = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default=""
    )
    last4 = serializers.RegexField(
        r"^\d{4}$", required=False, allow_blank=True, default=""
    )
    expMonth = serializers.IntegerField(
        min_value=1, max_value=12, required=False, allow_null=True, default=None
    )
    expYear = serializers.IntegerField(
        min_value=2000, max_value=2100, required=False, allow_null=True, default=None
    )
    label = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )
    isDefault = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        raw = _RAW_CARD_FIELDS & set(self.initial_data or {})
        if raw:
            raise serializers.ValidationError(
                "Card numbers and security codes are never accepted; save the "
                "method with the provider and send its id ('providerRef')."
            )
        if attrs["type"] and not re.match(r"^[a-z_]+$", attrs["type"]):
            raise serializers.ValidationError({"type": "Lower-case letters only."})
        return attrs


class RefundInput(serializers.Serializer):
    paymentId = IdField()
    amount = MinorAmountField(
        required=False, help_text="Minor units; default: all that is left."
    )
    reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )


class ListFilterInput(serializers.Serializer):
    status = serializers.CharField(max_length=20, required=False)
