"""Stripe and Razorpay API calls, made by their SDKs against a local fake.

The fake (tests/billing/conftest.py) listens on 127.0.0.1 only; these tests
check what Pockity asks of each provider and how it reads the answers.
"""

from __future__ import annotations

import hashlib
import hmac
import socket

import pytest

from billing.models import Invoice, Payment, Refund, Subscription
from tests.billing.conftest import RAZORPAY_SECRET

pytestmark = pytest.mark.django_db


def subscribe(client, provider):
    return client.post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": provider},
        format="json",
    )


def test_stripe_subscription_creates_a_payment_intent(
    client_for, user, fake_provider_api
):
    response = subscribe(client_for(user), "stripe")

    assert response.status_code == 201
    body = response.json()
    assert body["clientSecret"] == "pi_fake_1_secret_abc"
    assert body["payment"]["providerRef"] == "pi_fake_1"
    assert body["subscription"]["status"] == "INCOMPLETE"
    sent = fake_provider_api.requests[0]
    assert (sent["method"], sent["path"]) == ("POST", "/v1/payment_intents")
    assert sent["body"]["amount"] == "999"
    assert sent["body"]["currency"] == "usd"
    assert sent["body"]["metadata[pockity_invoice]"] == body["invoice"]["number"]


def test_stripe_process_reads_the_intent_then_refund(
    client_for, user, staff_user, fake_provider_api
):
    client = client_for(user)
    payment_id = subscribe(client, "stripe").json()["payment"]["id"]

    waiting = client.post(
        "/api/payments/process", {"paymentId": payment_id}, format="json"
    )
    fake_provider_api.intent_status = "succeeded"
    done = client.post(
        "/api/payments/process", {"paymentId": payment_id}, format="json"
    )
    refund = client_for(staff_user).post(
        "/api/payments/refund",
        {"paymentId": payment_id, "amount": 300},
        format="json",
    )

    assert waiting.json()["status"] == "PENDING"
    assert done.json()["status"] == "SUCCEEDED"
    user.refresh_from_db()
    assert user.tier.name == "Pro"
    assert refund.status_code == 201
    assert refund.json()["status"] == "SUCCEEDED"
    assert Refund.objects.get().provider_ref == "re_fake_1"
    refund_call = fake_provider_api.requests[-1]
    assert refund_call["path"] == "/v1/refunds"
    assert refund_call["body"] == {"payment_intent": "pi_fake_1", "amount": "300"}


def test_razorpay_order_checkout_signature_and_refund(
    client_for, user, staff_user, fake_provider_api
):
    client = client_for(user)
    body = subscribe(client, "razorpay").json()
    signature = hmac.new(
        RAZORPAY_SECRET.encode(), b"order_fake_1|pay_fake_9", hashlib.sha256
    ).hexdigest()

    processed = client.post(
        "/api/payments/process",
        {
            "paymentId": body["payment"]["id"],
            "razorpayPaymentId": "pay_fake_9",
            "razorpaySignature": signature,
        },
        format="json",
    )
    refund = client_for(staff_user).post(
        "/api/payments/refund", {"paymentId": body["payment"]["id"]}, format="json"
    )

    assert body["instructions"] == {
        "keyId": "rzp_test_key",
        "orderId": "order_fake_1",
        "amount": 999,
        "currency": "USD",
    }
    order_call = fake_provider_api.requests[0]
    assert order_call["path"] == "/v1/orders"
    assert order_call["body"]["receipt"] == body["invoice"]["number"]
    assert processed.json()["status"] == "SUCCEEDED"
    assert Subscription.objects.get(pk=body["subscription"]["id"]).status == "ACTIVE"
    assert refund.json()["status"] == "SUCCEEDED"
    assert fake_provider_api.requests[-1]["path"] == "/v1/payments/pay_fake_9/refund"
    assert Payment.objects.get(pk=body["payment"]["id"]).status == "REFUNDED"


def test_unreachable_provider_is_502_and_nothing_is_kept(client_for, user, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.RAZORPAY_KEY_ID = "rzp_test_key"
    settings.RAZORPAY_SECRET = RAZORPAY_SECRET
    settings.RAZORPAY_API_BASE = f"http://127.0.0.1:{closed_port}"

    response = subscribe(client_for(user), "razorpay")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "payment_provider_error"
    assert not Subscription.objects.exists()
    assert not Invoice.objects.exists()
    assert not Payment.objects.exists()
