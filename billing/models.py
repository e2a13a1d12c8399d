"""Plans, subscriptions, invoices, payments, refunds and provider webhooks.

Money is always an integer in the currency's minor unit (cents, paise) next
to an ISO 4217 code. Financial records (subscriptions, invoices, payments)
keep `user` as SET_NULL plus the e-mail address it had, so deleting an
account never deletes the books. Every status change goes through
`billing.services`, which refuses illegal moves.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class Provider(models.TextChoices):
    FREE = "free", "Free (settles at once)"
    CREDITS = "credits", "Pockity credits"
    STRIPE = "stripe", "Stripe"
    RAZORPAY = "razorpay", "Razorpay"
    CRYPTO = "crypto", "Crypto (ETH, USDC, BTC)"


class CryptoAsset(models.TextChoices):
    ETH = "ETH", "Ether"
    USDC = "USDC", "USD Coin (ERC-20)"
    BTC = "BTC", "Bitcoin"


class Plan(models.Model):
    """A price for a tier, billed every `interval`."""

    # Stable public id, e.g. "plan_free"; the seed README subscribes by it.
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    tier = models.ForeignKey(
        "tiers.Tier", on_delete=models.PROTECT, related_name="plans"
    )
    price_minor = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    interval = models.CharField(
        max_length=8, choices=Interval.choices, default=Interval.MONTH
    )
    active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def is_free(self) -> bool:
        return self.price_minor == 0


class SubscriptionStatus(models.TextChoices):
    # Waiting for the first invoice to be paid; the tier has not changed yet.
    INCOMPLETE = "INCOMPLETE", "Incomplete (awaiting first payment)"
    TRIALING = "TRIALING", "Trialing"
    ACTIVE = "ACTIVE", "Active"
    PAST_DUE = "PAST_DUE", "Past due"
    CANCELED = "CANCELED", "Canceled"


LIVE_SUBSCRIPTION_STATUSES = (
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
)


class Subscription(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    user_email = models.CharField(max_length=254)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    current_period_start = models.DateTimeField(null=True, blank=True)
    # NULL for free plans: nothing is billed, so the period never ends.
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["TRIALING", "ACTIVE", "PAST_DUE"]),
                name="billing_one_live_subscription_per_user",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="INCOMPLETE"),
                name="billing_one_incomplete_subscription_per_user",
            ),
        ]

    def __str__(self):
        return f"{self.user_email} on {self.plan.code} ({self.status})"


class InvoiceStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    OPEN = "OPEN", "Open"
    PAID = "PAID", "Paid"
    VOID = "VOID", "Void"
    UNCOLLECTIBLE = "UNCOLLECTIBLE", "Uncollectible"


class InvoicePurpose(models.TextChoices):
    SUBSCRIPTION = "SUBSCRIPTION", "Subscription"
    CREDITS = "CREDITS", "Credit top-up"
    OTHER = "OTHER", "Other"


class Invoice(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices",
    )
    user_email = models.CharField(max_length=254)
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices",
    )
    number = models.CharField(max_length=40, unique=True)
    purpose = models.CharField(max_length=16, choices=InvoicePurpose.choices)
    description = models.CharField(max_length=255, blank=True)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    # Credits bought by a CREDITS invoice, granted when it is paid.
    credits = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices)
    due_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=16, choices=Provider.choices, blank=True)
    provider_ref = models.CharField(max_length=255, blank=True)
    crypto_asset = models.CharField(
        max_length=8, choices=CryptoAsset.choices, blank=True
    )
    crypto_address = models.CharField(max_length=128, blank=True)
    crypto_expected_amount = models.DecimalField(
        max_digits=38, decimal_places=18, null=True, blank=True
    )
    crypto_tx_hash = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One on-chain transaction can never pay two invoices.
            models.UniqueConstraint(
                fields=["crypto_asset", "crypto_tx_hash"],
                condition=Q(crypto_tx_hash__isnull=False),
                name="billing_invoice_unique_tx_hash",
            ),
        ]

    def __str__(self):
        return self.number


class PaymentStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"
    REFUNDED = "REFUNDED", "Refunded"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED", "Partially refunded"


class Payment(models.Model):
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="payments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payments",
    )
    user_email = models.CharField(max_length=254)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # The provider's id for the attempt: Stripe PaymentIntent, Razorpay order.
    provider_ref = models.CharField(max_length=255, null=True, blank=True)
    # The provider's id for the settled money (Razorpay pay_…, a crypto tx).
    provider_charge_ref = models.CharField(max_length=255, blank=True)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    refunded_minor = models.PositiveBigIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    failure_reason = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    # A tx hash the payer says they sent, until staff confirm it.
    claimed_tx_hash = models.CharField(max_length=100, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_ref"],
                condition=Q(provider_ref__isnull=False),
                name="billing_payment_unique_provider_ref",
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="billing_payment_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(refunded_minor__lte=models.F("amount_minor")),
                name="billing_payment_refund_bounded",
            ),
        ]

    def __str__(self):
        return f"Payment {self.pk} for {self.invoice_id} ({self.status})"

    @property
    def refundable_minor(self) -> int:
        if self.status not in (
            PaymentStatus.SUCCEEDED,
            PaymentStatus.PARTIALLY_REFUNDED,
        ):
            return 0
        return self.amount_minor - self.refunded_minor


class PaymentMethod(models.Model):
    """A saved way to pay, as the provider knows it; never a card number."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="payment_methods",
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_ref = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=32, default="card")
    brand = models.CharField(max_length=32, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    label = models.CharField(max_length=128, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default=True),
                name="billing_one_default_method_per_user",
            ),
        ]

    def __str__(self):
        return self.label or f"{self.brand} ••••{self.last4}"


class RefundStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"


class Refund(models.Model):
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds"
    )
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=RefundStatus.choices)
    reason = models.CharField(max_length=255, blank=True)
    provider_ref = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="billing_refund_positive"
            ),
        ]

    def __str__(self):
        return (
            f"Refund {self.amount_minor} {self.currency} of payment {self.payment_id}"
        )


class WebhookEvent(models.Model):
    """A provider event, stored once: the unique id makes replays no-ops."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    outcome = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="billing_webhook_unique_event"
            ),
        ]

    def __str__(self):
        return f"{self.provider} {self.event_type} {self.event_id}"
