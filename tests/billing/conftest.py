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


class FakeProviderApi:
    """A stand-in for the Stripe and Razorpay HTTP APIs on 127.0.0.1.

    Answers the few calls Pockity makes with canned JSON and records each
    request (method, path, form or JSON body), so tests can check what the
    SDKs sent without any traffic leaving the machine.
    """

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        self.requests: list[dict] = []
        self.intent_status = "requires_payment_method"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if raw.startswith("{"):
                    body = json.loads(raw)
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                fake.requests.append(
                    {"method": self.command, "path": self.path, "body": body}
                )
                status, payload = fake.answer(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _reply
            do_POST = _reply

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, body: dict):
        if path == "/v1/payment_intents" and method == "POST":
            return 200, {
                "id": "pi_fake_1",
                "object": "payment_intent",
                "client_secret": "pi_fake_1_secret_abc",
                "status": self.intent_status,
                "amount": int(body.get("amount", 0)),
                "currency": body.get("currency"),
            }
        if path.startswith("/v1/payment_intents/") and method == "GET":
            return 200, {
                "id": path.rsplit("/", 1)[1],
                "object": "payment_intent",
                "status": self.intent_status,
                "latest_charge": "ch_fake_1",
            }
        if path == "/v1/refunds" and method == "POST":
            return 200, {"id": "re_fake_1", "object": "refund", "status": "succeeded"}
        if path == "/v1/orders" and method == "POST":
            return 200, {
                "id": "order_fake_1",
                "entity": "order",
                "amount": body.get("amount"),
                "currency": body.get("currency"),
                "status": "created",
            }
        if path.startswith("/v1/payments/") and path.endswith("/refund"):
            return 200, {"id": "rfnd_fake_1", "entity": "refund", "status": "processed"}
        return 404, {"error": {"code": "BAD_REQUEST_ERROR", "description": "no"}}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_provider_api(settings):
    """Stripe and Razorpay configured, their SDKs pointed at a local fake."""
    api = FakeProviderApi()
    settings.STRIPE_SECRET_KEY = "sk_test_pockity"
    settings.STRIPE_API_BASE = api.url
    settings.RAZORPAY_KEY_ID = "rzp_test_key"
    settings.RAZORPAY_SECRET = RAZORPAY_SECRET
    settings.RAZORPAY_API_BASE = api.url
    yield api
    api.stop()
