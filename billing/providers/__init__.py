"""Payment providers behind one interface; `get_provider` picks one by name."""

from __future__ import annotations

from billing.providers.base import (
    ConfirmResult,
    IntentResult,
    InvalidSignature,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    RefundResult,
    WebhookResult,
)


def _registry() -> dict[str, PaymentProvider]:
    from billing.providers.credits import CreditsProvider
    from billing.providers.crypto import CryptoProvider
    from billing.providers.free import FreeProvider
    from billing.providers.razorpay import RazorpayProvider
    from billing.providers.stripe import StripeProvider

    providers = [
        FreeProvider(),
        CreditsProvider(),
        StripeProvider(),
        RazorpayProvider(),
        CryptoProvider(),
    ]
    return {provider.name: provider for provider in providers}


def available_providers() -> list[str]:
    """Names of the providers configured in this deployment."""
    return [name for name, p in _registry().items() if p.is_configured()]


def get_provider(name: str | None) -> PaymentProvider:
    """The configured provider called `name`, or 400 `provider_unavailable`."""
    provider = _registry().get(name or "")
    if provider is None or not provider.is_configured():
        raise ProviderUnavailable(
            f"Payment provider '{name}' is not available.",
            details={"provider": name, "available": available_providers()},
        )
    return provider


def get_webhook_provider(name: str) -> PaymentProvider:
    """The provider called `name` if its webhooks are configured; else 400."""
    provider = _registry().get(name)
    if provider is None or not provider.webhooks_configured():
        raise ProviderUnavailable(f"Webhooks from '{name}' are not configured.")
    return provider


__all__ = [
    "ConfirmResult",
    "IntentResult",
    "InvalidSignature",
    "PaymentProvider",
    "ProviderError",
    "ProviderUnavailable",
    "RefundResult",
    "WebhookResult",
    "available_providers",
    "get_provider",
    "get_webhook_provider",
]
