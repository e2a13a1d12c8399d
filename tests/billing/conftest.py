"""Billing fixtures: provider settings for tests, signing helpers, arrangers.

Nothing here reaches a network: webhook payloads are signed in the test with
test secrets, and payments that would need a provider API are arranged
directly in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from billing.models import InvoicePurpose, Payment, Plan, Subscription
from billing.services import invoice_create

STRIPE_WEBHOOK_SECRET = "whsec_test_pockity"
RAZORPAY_SECRET = "rzp_test_secret"
RAZORPAY_WEBHOOK_SECRET = "rzp_test_webhook_secret"
USDC_ADDRESS = "0x" + "ab" * 20
ETH_ADDRESS = "0x" + "cd" * 20
BTC_ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
ETH_TX = "0x" + "1f" * 32
BTC_TX = "9a" * 32


@pytest.fixture(autouse=True)
def billing_settings(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.RAZORPAY_KEY_ID = ""
    settings.RAZORPAY_SECRET = ""
    settings.RAZORPAY_WEBHOOK_SECRET = RAZORPAY_WEBHOOK_SECRET
    settings.CRYPTO_USDC_ADDRESS = USDC_ADDRESS
    settings.CRYPTO_ETH_ADDRESS = ETH_ADDRESS
    settings.CRYPTO_BTC_ADDRESS = BTC_ADDRESS
    settings.CRYPTO_ETH_USD_RATE = "2500"
    settings.CRYPTO_BTC_USD_RATE = "50000"
    settings.CREDITS_CURRENCY = "USD"
    settings.CREDIT_PRICE_MINOR = 1
    return settings


def stripe_signature(body: str, *, secret=STRIPE_WEBHOOK_SECRET, timestamp=None):
    """The Stripe-Signature header for `body`, computed as Stripe documents."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(
        secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={mac}"


def stripe_event(event_id: str, event_type: str, obj: dict) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "data": {"object": obj},
        }
    )


def razorpay_signature(body: str, secret=RAZORPAY_WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def plan(code: str) -> Plan:
    return Plan.objects.get(code=code)


def pending_provider_payment(user, *, provider: str, ref: str, plan_code=None):
    """An OPEN invoice with a PENDING payment at `provider`, as if its intent
    had been created by the provider's API (which tests never call)."""
    subscription = None
    amount, purpose = 1500, InvoicePurpose.OTHER
    if plan_code:
        chosen = plan(plan_code)
        subscription = Subscription.objects.create(
            user=user,
            user_email=user.email,
            plan=chosen,
            status="INCOMPLETE",
            provider=provider,
        )
        amount, purpose = chosen.price_minor, InvoicePurpose.SUBSCRIPTION
    invoice = invoice_create(
        user=user,
        purpose=purpose,
        amount_minor=amount,
        currency="USD",
        subscription=subscription,
        actor=user,
    )
    return Payment.objects.create(
        invoice=invoice,
        user=user,
        user_email=user.email,
        provider=provider,
        provider_ref=ref,
        amount_minor=amount,
        currency="USD",
    )
