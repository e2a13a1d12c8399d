"""The free provider: settles zero-amount invoices at once, needs no setup."""

from __future__ import annotations

from billing.models import RefundStatus
from billing.providers.base import (
    SUCCEEDED,
    ConfirmResult,
    IntentResult,
    PaymentProvider,
    RefundResult,
)
from pockity.exceptions import InvalidInput


class FreeProvider(PaymentProvider):
    name = "free"

    def is_configured(self) -> bool:
        return True

    def create_intent(self, *, payment, invoice, options: dict) -> IntentResult:
        # Settling a priced invoice for free would hand out paid tiers.
        if payment.amount_minor != 0:
            raise InvalidInput(
                "The free provider only settles invoices of zero.",
                code="provider_unavailable",
                details={"provider": self.name, "amount": payment.amount_minor},
            )
        return IntentResult(status=SUCCEEDED, provider_ref=None)

    def confirm(self, *, payment, data: dict, actor) -> ConfirmResult:
        return ConfirmResult(status=SUCCEEDED)

    def refund(self, *, payment, refund, amount_minor: int) -> RefundResult:
        return RefundResult(status=RefundStatus.SUCCEEDED)
