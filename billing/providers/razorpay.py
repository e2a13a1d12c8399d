"""Razorpay through its SDK: orders, checkout signatures, refunds, webhooks.

Orders and refunds need RAZORPAY_KEY_ID and RAZORPAY_SECRET and go to
Razorpay's API (not covered by the tests). The checkout signature a payer
sends back, and webhook signatures (RAZORPAY_WEBHOOK_SECRET), are verified
locally with the SDK's own functions.
"""

from __future__ import annotations

import hashlib
import json
import logging

import razorpay
from django.conf import settings
from razorpay.errors import SignatureVerificationError

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
    "processed": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
}


class RazorpayProvider(PaymentProvider):
    name = "razorpay"

    def is_configured(self) -> bool:
        return bool(settings.RAZORPAY_KEY_ID and settings.RAZORPAY_SECRET)

    def webhooks_configured(self) -> bool:
        return bool(settings.RAZORPAY_WEBHOOK_SECRET)

    def _client(self) -> razorpay.Client:
        options = {}
        api_base = getattr(settings, "RAZORPAY_API_BASE", "")
        if api_base:
            options["base_url"] = api_base
        return razorpay.Client(
            auth=(settings.RAZORPAY_KEY_ID, settings.RAZORPAY_SECRET), **options
        )

    def _call(self, what: str, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (razorpay.errors.BadRequestError, razorpay.errors.ServerError) as exc:
            logger.warning("Razorpay %s failed: %s", what, type(exc).__name__)
            raise ProviderError(
                f"Razorpay could not {what}.", details={"provider": self.name}
            ) from exc
        except OSError as exc:
            logger.warning("Razorpay %s unreachable: %s", what, type(exc).__name__)
            raise ProviderError(
                f"Razorpay could not {what}.", details={"provider": self.name}
            ) from exc

    def create_intent(self, *, payment, invoice, options: dict) -> IntentResult:
        order = self._call(
            "create the order",
            self._client().order.create,
            {
                "amount": payment.amount_minor,
                "currency": payment.currency,
                "receipt": invoice.number,
                "notes": {"pockity_payment": str(payment.pk)},
            },
        )
        return IntentResult(
            status=PENDING,
            provider_ref=order["id"],
            instructions={
                "keyId": settings.RAZORPAY_KEY_ID,
                "orderId": order["id"],
                "amount": payment.amount_minor,
                "currency": payment.currency,
            },
        )

    def confirm(self, *, payment, data: dict, actor) -> ConfirmResult:
        """Checks the signature Razorpay Checkout hands the payer."""
        payment_id = data.get("razorpayPaymentId") or data.get("razorpay_payment_id")
        signature = data.get("razorpaySignature") or data.get("razorpay_signature")
        if not payment_id or not signature:
            raise InvalidInput(
                "'razorpayPaymentId' and 'razorpaySignature' are required."
            )
        try:
            razorpay.Utility().verify_signature(
                f"{payment.provider_ref}|{payment_id}",
                str(signature),
                settings.RAZORPAY_SECRET,
            )
        except SignatureVerificationError as exc:
            raise InvalidSignature("The Razorpay signature is not valid.") from exc
        return ConfirmResult(status=SUCCEEDED, charge_ref=str(payment_id)[:255])

    def refund(self, *, payment, refund, amount_minor: int) -> RefundResult:
        result = self._call(
            "refund the payment",
            self._client().payment.refund,
            payment.provider_charge_ref,
            {"amount": amount_minor, "receipt": f"refund-{refund.pk}"},
        )
        return RefundResult(
            status=_REFUND_STATUS.get(result.get("status"), RefundStatus.PENDING),
            provider_ref=str(result.get("id") or ""),
        )

    def parse_webhook(self, *, body: bytes, headers) -> WebhookResult:
        if not self.webhooks_configured():
            raise ProviderUnavailable("Razorpay webhooks are not configured.")
        signature = headers.get("X-Razorpay-Signature") or ""
        try:
            text = body.decode("utf-8")
            razorpay.Utility().verify_webhook_signature(
                text, signature, settings.RAZORPAY_WEBHOOK_SECRET
            )
        except (SignatureVerificationError, UnicodeDecodeError) as exc:
            raise InvalidSignature("The Razorpay signature is not valid.") from exc
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise InvalidInput("The webhook body is not JSON.") from exc
        if not isinstance(payload, dict):
            raise InvalidInput("The webhook body is not a Razorpay event.")

        # Razorpay names each delivery in a header; a body without one is
        # named by its digest, so an identical replay is still a duplicate.
        event_id = headers.get("X-Razorpay-Event-Id") or (
            "sha256:" + hashlib.sha256(body).hexdigest()
        )
        result = WebhookResult(
            event_id=event_id[:255],
            event_type=str(payload.get("event") or ""),
            payload=payload,
        )
        entities = payload.get("payload") or {}
        pay = _entity(entities, "payment")
        order = _entity(entities, "order")
        refund = _entity(entities, "refund")

        if result.event_type in ("payment.captured", "order.paid"):
            result.outcome = SUCCEEDED
            result.provider_ref = str(order.get("id") or pay.get("order_id") or "")
            result.charge_ref = str(pay.get("id") or "")
        elif result.event_type == "payment.failed":
            result.outcome = FAILED
            result.provider_ref = str(pay.get("order_id") or "")
            result.charge_ref = str(pay.get("id") or "")
            result.reason = str(pay.get("error_description") or "payment failed")
        elif result.event_type == "refund.processed":
            result.outcome = REFUNDED
            result.charge_ref = str(refund.get("payment_id") or "")
            result.refund_ref = str(refund.get("id") or "")
            amount = refund.get("amount")
            if isinstance(amount, int) and not isinstance(amount, bool):
                result.refund_amount = amount
        else:
            result.outcome = IGNORED
        return result


def _entity(entities, name: str) -> dict:
    holder = entities.get(name) if isinstance(entities, dict) else None
    entity = holder.get("entity") if isinstance(holder, dict) else None
    return entity if isinstance(entity, dict) else {}
