"""Crypto (ETH, USDC, BTC): an invoice paid to a configured address.

Pockity does not watch any chain. The payer is shown the address and the
amount; staff check the transfer themselves and confirm the payment with its
transaction hash (admin action or `payments/process`). A payer may report
the hash they sent; it is kept as a claim until staff confirm. Refunds are
sent by hand and recorded.

Amounts: USDC is pegged 1:1 to the USD invoice. ETH and BTC use a rate
configured by the operator (CRYPTO_ETH_USD_RATE, CRYPTO_BTC_USD_RATE); an
asset without an address, or without a rate, is unavailable.
"""

from __future__ import annotations

import logging
import re
from decimal import ROUND_UP, Decimal, InvalidOperation

from django.conf import settings

from billing.models import CryptoAsset, RefundStatus
from billing.providers.base import (
    PENDING,
    SUCCEEDED,
    ConfirmResult,
    IntentResult,
    PaymentProvider,
    ProviderUnavailable,
    RefundResult,
)
from pockity.exceptions import InvalidInput

logger = logging.getLogger(__name__)

_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BTC_ADDRESS = re.compile(
    r"^(bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$"
)
_EVM_TX = re.compile(r"^0x[0-9a-fA-F]{64}$")
_BTC_TX = re.compile(r"^[0-9a-fA-F]{64}$")

ADDRESS_PATTERNS = {
    CryptoAsset.ETH: _EVM_ADDRESS,
    CryptoAsset.USDC: _EVM_ADDRESS,
    CryptoAsset.BTC: _BTC_ADDRESS,
}
TX_HASH_PATTERNS = {
    CryptoAsset.ETH: _EVM_TX,
    CryptoAsset.USDC: _EVM_TX,
    CryptoAsset.BTC: _BTC_TX,
}
# Decimal places the expected amount is rounded up to (in the payer's
# disfavour by at most one smallest unit shown).
DISPLAY_PLACES = {CryptoAsset.ETH: 8, CryptoAsset.USDC: 6, CryptoAsset.BTC: 8}
NETWORKS = {
    CryptoAsset.ETH: "Ethereum",
    CryptoAsset.USDC: "Ethereum (ERC-20)",
    CryptoAsset.BTC: "Bitcoin",
}


def crypto_address(asset: str) -> str:
    """The configured, well-formed receiving address for `asset`, or ""."""
    address = getattr(settings, f"CRYPTO_{asset}_ADDRESS", "") or ""
    pattern = ADDRESS_PATTERNS.get(asset)
    if address and pattern and not pattern.match(address):
        logger.warning("Ignoring malformed CRYPTO_%s_ADDRESS", asset)
        return ""
    return address


def crypto_usd_rate(asset: str) -> Decimal | None:
    if asset == CryptoAsset.USDC:
        return Decimal(1)
    raw = getattr(settings, f"CRYPTO_{asset}_USD_RATE", "") or ""
    try:
        rate = Decimal(str(raw))
    except InvalidOperation:
        return None
    return rate if rate.is_finite() and rate > 0 else None


def normalize_tx_hash(asset: str, tx_hash) -> str:
    """The hash in canonical lower case, or 400 naming the expected format."""
    value = str(tx_hash or "").strip()
    pattern = TX_HASH_PATTERNS.get(asset)
    if pattern is None or not pattern.match(value):
        expected = "0x + 64 hex digits" if asset != CryptoAsset.BTC else "64 hex"
        raise InvalidInput(
            f"'txHash' is not a valid {asset} transaction hash ({expected}).",
            code="invalid_tx_hash",
            details={"asset": asset, "expected": expected},
        )
    return value.lower()


class CryptoProvider(PaymentProvider):
    name = "crypto"

    def available_assets(self) -> list[str]:
        return [
            asset
            for asset in CryptoAsset.values
            if crypto_address(asset) and crypto_usd_rate(asset) is not None
        ]

    def is_configured(self) -> bool:
        return bool(self.available_assets())

    def create_intent(self, *, payment, invoice, options: dict) -> IntentResult:
        asset = str(options.get("asset") or "").upper()
        if asset not in self.available_assets():
            raise ProviderUnavailable(
                f"Crypto asset '{asset}' is not available.",
                details={"asset": asset, "available": self.available_assets()},
            )
        if payment.currency != "USD":
            raise InvalidInput(
                "Crypto pays only invoices in USD.", code="provider_unavailable"
            )

        usd = Decimal(payment.amount_minor) / 100
        quantum = Decimal(1).scaleb(-DISPLAY_PLACES[asset])
        expected = (usd / crypto_usd_rate(asset)).quantize(quantum, ROUND_UP)
        address = crypto_address(asset)
        return IntentResult(
            status=PENDING,
            provider_ref=f"crypto:{invoice.number}:{payment.pk}",
            instructions={
                "asset": asset,
                "network": NETWORKS[asset],
                "address": address,
                "amount": str(expected),
            },
            invoice_updates={
                "crypto_asset": asset,
                "crypto_address": address,
                "crypto_expected_amount": expected,
            },
        )

    def confirm(self, *, payment, data: dict, actor) -> ConfirmResult:
        """Staff confirm with the hash; anyone else only records a claim."""
        asset = payment.invoice.crypto_asset
        tx_hash = normalize_tx_hash(asset, data.get("txHash"))
        if actor is None or not actor.is_staff:
            return ConfirmResult(
                status=PENDING, charge_ref=tx_hash, reason="awaiting confirmation"
            )
        return ConfirmResult(status=SUCCEEDED, charge_ref=tx_hash)

    def refund(self, *, payment, refund, amount_minor: int) -> RefundResult:
        # Sent by hand from the operator's wallet; this records that it was.
        return RefundResult(status=RefundStatus.SUCCEEDED)
