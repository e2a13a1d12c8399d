"""The interface every payment provider implements, and what it returns.

A provider talks to the outside world (an SDK, a chain, the credit ledger)
and reports what happened; it never changes billing rows itself. The
services in `billing.services` apply its results through the state
machines, so every provider gets the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pockity.exceptions import PockityError, ServiceUnavailable

# Outcomes a provider reports for an intent, a confirmation or a webhook.
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
REFUNDED = "refunded"
IGNORED = "ignored"


class ProviderUnavailable(PockityError):
    code = "provider_unavailable"
    default_message = "This payment provider is not available."


class InvalidSignature(PockityError):
    code = "invalid_signature"
    default_message = "The signature does not match the payload."


class ProviderError(ServiceUnavailable):
    """The provider could not be reached or refused the call; nothing changed."""

    status_code = 502
    code = "payment_provider_error"
    default_message = "The payment provider could not complete the request."


@dataclass
class IntentResult:
    status: str = PENDING
    provider_ref: str | None = None
    charge_ref: str = ""
    client_secret: str = ""
    # Shown to the payer: where and how much to pay (crypto, Razorpay).
    instructions: dict = field(default_factory=dict)
    # Fields of the invoice the provider fills in (crypto address, amount).
    invoice_updates: dict = field(default_factory=dict)


@dataclass
class ConfirmResult:
    status: str
    charge_ref: str = ""
    reason: str = ""


@dataclass
class RefundResult:
    status: str  # a RefundStatus value
    provider_ref: str = ""


@dataclass
class WebhookResult:
    event_id: str
    event_type: str
    payload: dict
    outcome: str = IGNORED
    provider_ref: str = ""
    charge_ref: str = ""
    reason: str = ""
    # For refunds: the provider's refund id and amount (minor units), or,
    # with `refunded_total`, the total refunded so far on the payment.
    refund_ref: str = ""
    refund_amount: int | None = None
    refunded_total: int | None = None


class PaymentProvider:
    name = ""

    def is_configured(self) -> bool:
        raise NotImplementedError

    def webhooks_configured(self) -> bool:
        return False

    def create_intent(self, *, payment, invoice, options: dict) -> IntentResult:
        """Start collecting `payment`; may settle at once."""
        raise NotImplementedError

    def confirm(self, *, payment, data: dict, actor) -> ConfirmResult:
        """Check what the payer reports back (a signature, a tx hash)."""
        raise NotImplementedError

    def refund(self, *, payment, refund, amount_minor: int) -> RefundResult:
        raise NotImplementedError

    def parse_webhook(self, *, body: bytes, headers) -> WebhookResult:
        """Verify the signature and read the event; InvalidSignature if bad."""
        raise ProviderUnavailable(f"{self.name} sends no webhooks.")
