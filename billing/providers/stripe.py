"""Stripe through its SDK: PaymentIntents, refunds, signed webhooks.

Nothing here runs without STRIPE_SECRET_KEY; webhooks need
STRIPE_WEBHOOK_SECRET. The tests exercise only webhook verification (on
payloads they sign themselves); the intent, retrieve and refund calls go to
Stripe's API and are not covered by the test suite.
"""

from __future__ import annotations

import logging

import stripe
from django.conf import settings

from billing.models import RefundStatus
from billing.providers.base import (
    FAILED,
    IGNORED,
    PENDING,
    REFUNDED,
    SUCCEEDED,
    ConfirmResult,
    IntentResult,
    InvalidSignature,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    RefundResult,
    WebhookResult,
)
from pockity.exceptions import InvalidInput

logger = logging.getLogger(__name__)

_REFUND_STATUS = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


class StripeProvider(PaymentProvider):
    name = "stripe"

    def is_configured(self) -> bool:
        return bool(settings.STRIPE_SECRET_KEY)

    def webhooks_configured(self) -> bool:
        return bool(settings.STRIPE_WEBHOOK_SECRET)

    def _client(self) -> stripe.StripeClient:
        options = {}
        api_base = getattr(settings, "STRIPE_API_BASE", "")
        if api_base:
            options["base_addresses"] = {"api": api_base}
        return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **options)

    def _call(self, what: str, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except stripe.StripeError as exc:
            # The message can carry request details; the log keeps the type.
            logger.warning("Stripe %s failed: %s", what, type(exc).__name__)
            raise ProviderError(
                f"Stripe could not {what}.", details={"provider": self.name}
            ) from exc

    def create_intent(self, *, payment, invoice, options: dict) -> IntentResult:
        intent = self._call(
            "create the payment",
            self._client().v1.payment_intents.create,
            params={
                "amount": payment.amount_minor,
                "currency": payment.currency.lower(),
                "automatic_payment_methods": {"enabled": True},
                "metadata": {
                    "pockity_invoice": invoice.number,
                    "pockity_payment": str(payment.pk),
                },
            },
            options={"idempotency_key": f"pockity-payment-{payment.pk}"},
        )
        return IntentResult(
            status=PENDING, provider_ref=intent.id, client_secret=intent.client_secret
        )

    def confirm(self, *, payment, data: dict, actor) -> ConfirmResult:
        intent = self._call(
            "read the payment",
            self._client().v1.payment_intents.retrieve,
            payment.provider_ref,
        )
        if intent.status == "succeeded":
            return ConfirmResult(
                status=SUCCEEDED, charge_ref=str(intent.latest_charge or "")
            )
        if intent.status == "canceled":
            return ConfirmResult(status=FAILED, reason="canceled at Stripe")
        return ConfirmResult(status=PENDING, reason=intent.status)

    def refund(self, *, payment, refund, amount_minor: int) -> RefundResult:
        result = self._call(
            "refund the payment",
            self._client().v1.refunds.create,
            params={"payment_intent": payment.provider_ref, "amount": amount_minor},
            options={"idempotency_key": f"pockity-refund-{refund.pk}"},
        )
        return RefundResult(
            status=_REFUND_STATUS.get(result.status, RefundStatus.PENDING),
            provider_ref=result.id,
        )

    def parse_webhook(self, *, body: bytes, headers) -> WebhookResult:
        if not self.webhooks_configured():
            raise ProviderUnavailable("Stripe webhooks are not configured.")
        try:
            event = stripe.Webhook.construct_event(
                body, headers.get("Stripe-Signature"), settings.STRIPE_WEBHOOK_SECRET
            )
        except stripe.SignatureVerificationError as exc:
            raise InvalidSignature("The Stripe signature is not valid.") from exc
        except (ValueError, KeyError) as exc:
            raise InvalidInput("The webhook body is not a Stripe event.") from exc

        payload = event.to_dict()
        obj = payload.get("data", {}).get("object", {}) or {}
        result = WebhookResult(
            event_id=str(payload.get("id") or ""),
            event_type=str(payload.get("type") or ""),
            payload=payload,
        )
        if not result.event_id:
            raise InvalidInput("The Stripe event has no id.")

        if result.event_type == "payment_intent.succeeded":
            result.outcome = SUCCEEDED
            result.provider_ref = str(obj.get("id") or "")
            result.charge_ref = str(obj.get("latest_charge") or "")
        elif result.event_type in (
            "payment_intent.payment_failed",
            "payment_intent.canceled",
        ):
            result.outcome = FAILED
            result.provider_ref = str(obj.get("id") or "")
            error = obj.get("last_payment_error") or {}
            result.reason = str(error.get("message") or result.event_type)[:255]
        elif result.event_type == "charge.refunded":
            result.outcome = REFUNDED
            result.provider_ref = str(obj.get("payment_intent") or "")
            result.refunded_total = _int_or_none(obj.get("amount_refunded"))
        else:
            result.outcome = IGNORED
        return result


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
