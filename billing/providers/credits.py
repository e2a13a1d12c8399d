"""Pay an invoice from the payer's credit balance (1 credit = 1 minor unit)."""

from __future__ import annotations

from django.conf import settings

from billing.models import InvoicePurpose, RefundStatus
from billing.providers.base import (
    SUCCEEDED,
    ConfirmResult,
    IntentResult,
    PaymentProvider,
    RefundResult,
)
from credits.models import EntryKind
from credits.services import credits_add, credits_deduct
from pockity.exceptions import InvalidInput


class CreditsProvider(PaymentProvider):
    name = "credits"

    def is_configured(self) -> bool:
        return True

    def create_intent(self, *, payment, invoice, options: dict) -> IntentResult:
        """Deducts the credits at once (409 `insufficient_credits` if short)."""
        if invoice.purpose == InvoicePurpose.CREDITS:
            raise InvalidInput(
                "Credits cannot buy credits.", code="provider_unavailable"
            )
        if invoice.currency != settings.CREDITS_CURRENCY:
            raise InvalidInput(
                f"Credits pay only invoices in {settings.CREDITS_CURRENCY}.",
                code="provider_unavailable",
            )
        entry, _ = credits_deduct(
            user=invoice.user,
            amount=payment.amount_minor,
            actor=options.get("actor"),
            kind=EntryKind.INVOICE_PAYMENT,
            reason=f"Invoice {invoice.number}",
            reference=f"invoice:{invoice.number}",
            idempotency_key=f"payment:{payment.pk}",
        )
        return IntentResult(
            status=SUCCEEDED,
            provider_ref=f"credit-entry:{entry.pk}",
            charge_ref=f"credit-entry:{entry.pk}",
        )

    def confirm(self, *, payment, data: dict, actor) -> ConfirmResult:
        return ConfirmResult(status=SUCCEEDED)

    def refund(self, *, payment, refund, amount_minor: int) -> RefundResult:
        entry, _ = credits_add(
            user=payment.user,
            amount=amount_minor,
            actor=refund.actor,
            kind=EntryKind.REFUND,
            reason=f"Refund of payment {payment.pk}",
            reference=f"refund:{refund.pk}",
            idempotency_key=f"refund:{refund.pk}",
        )
        return RefundResult(
            status=RefundStatus.SUCCEEDED, provider_ref=f"credit-entry:{entry.pk}"
        )
