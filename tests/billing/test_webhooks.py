"""Provider webhooks: signatures verified, events applied once, replays no-ops."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time

import pytest
from django.db import connections

from billing.models import Invoice, Refund, Subscription, WebhookEvent
from tests.billing.conftest import (
    RAZORPAY_SECRET,
    pending_provider_payment,
    razorpay_signature,
    stripe_event,
    stripe_signature,
)

pytestmark = pytest.mark.django_db

STRIPE_URL = "/api/payments/webhooks/stripe"
RAZORPAY_URL = "/api/payments/webhooks/razorpay"


def post_stripe(client, body: str, signature: str | None = None):
    headers = {"HTTP_STRIPE_SIGNATURE": signature or stripe_signature(body)}
    return client.post(STRIPE_URL, body, content_type="application/json", **headers)


def post_razorpay(client, body: str, *, event_id="evt_rzp_1", signature=None):
    return client.post(
        RAZORPAY_URL,
        body,
        content_type="application/json",
        HTTP_X_RAZORPAY_SIGNATURE=signature or razorpay_signature(body),
        HTTP_X_RAZORPAY_EVENT_ID=event_id,
    )


def test_stripe_success_activates_the_subscription(anon_client, user):
    payment = pending_provider_payment(
        user, provider="stripe", ref="pi_test_1", plan_code="plan_pro_monthly"
    )
    body = stripe_event(
        "evt_1",
        "payment_intent.succeeded",
        {"id": "pi_test_1", "object": "payment_intent", "latest_charge": "ch_1"},
    )

    response = post_stripe(anon_client, body)

    assert response.status_code == 200
    assert response.json() == {
        "received": True,
        "duplicate": False,
        "outcome": "payment succeeded",
    }
    payment.refresh_from_db()
    assert payment.status == "SUCCEEDED"
    assert payment.provider_charge_ref == "ch_1"
    assert payment.invoice.status == "PAID"
    assert Subscription.objects.get(user=user).status == "ACTIVE"
    user.refresh_from_db()
    assert user.tier.name == "Pro"


def test_stripe_replayed_event_changes_nothing(anon_client, user):
    payment = pending_provider_payment(user, provider="stripe", ref="pi_test_2")
    succeeded = stripe_event("evt_2", "payment_intent.succeeded", {"id": "pi_test_2"})
    post_stripe(anon_client, succeeded)
    # Same event id, different content: still the event already processed.
    forged_replay = stripe_event(
        "evt_2", "payment_intent.payment_failed", {"id": "pi_test_2"}
    )

    again = post_stripe(anon_client, succeeded)
    other = post_stripe(anon_client, forged_replay)

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert other.json()["duplicate"] is True
    payment.refresh_from_db()
    assert payment.status == "SUCCEEDED"
    assert WebhookEvent.objects.filter(provider="stripe").count() == 1


@pytest.mark.parametrize(
    "signature",
    [
        "t=1,v1=" + "0" * 64,
        "garbage",
        "",
        None,
    ],
)
def test_stripe_bad_signature_is_400_and_changes_nothing(anon_client, user, signature):
    payment = pending_provider_payment(user, provider="stripe", ref="pi_test_3")
    body = stripe_event("evt_3", "payment_intent.succeeded", {"id": "pi_test_3"})
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}

    response = anon_client.post(
        STRIPE_URL, body, content_type="application/json", **headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    payment.refresh_from_db()
    assert payment.status == "PENDING"
    assert not WebhookEvent.objects.exists()


def test_stripe_signature_with_wrong_secret_or_tampered_body(anon_client, user):
    pending_provider_payment(user, provider="stripe", ref="pi_test_4")
    body = stripe_event("evt_4", "payment_intent.succeeded", {"id": "pi_test_4"})

    wrong_secret = post_stripe(
        anon_client, body, stripe_signature(body, secret="whsec_other")
    )
    tampered = post_stripe(
        anon_client, body.replace("pi_test_4", "pi_test_5"), stripe_signature(body)
    )
    stale = post_stripe(
        anon_client, body, stripe_signature(body, timestamp=int(time.time()) - 3600)
    )

    assert wrong_secret.status_code == 400
    assert tampered.status_code == 400
    assert stale.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_stripe_payment_failed(anon_client, user):
    payment = pending_provider_payment(user, provider="stripe", ref="pi_test_6")
    body = stripe_event(
        "evt_6",
        "payment_intent.payment_failed",
        {"id": "pi_test_6", "last_payment_error": {"message": "card declined"}},
    )

    response = post_stripe(anon_client, body)

    assert response.json()["outcome"] == "payment failed"
    payment.refresh_from_db()
    assert payment.status == "FAILED"
    assert payment.failure_reason == "card declined"
    assert payment.invoice.status == "OPEN"


def test_stripe_refund_made_in_the_dashboard_is_recorded(anon_client, user):
    payment = pending_provider_payment(user, provider="stripe", ref="pi_test_7")
    post_stripe(
        anon_client,
        stripe_event("evt_7a", "payment_intent.succeeded", {"id": "pi_test_7"}),
    )

    partial = post_stripe(
        anon_client,
        stripe_event(
            "evt_7b",
            "charge.refunded",
            {"id": "ch_7", "payment_intent": "pi_test_7", "amount_refunded": 500},
        ),
    )
    full = post_stripe(
        anon_client,
        stripe_event(
            "evt_7c",
            "charge.refunded",
            {"id": "ch_7", "payment_intent": "pi_test_7", "amount_refunded": 1500},
        ),
    )

    assert partial.json()["outcome"] == "refund recorded"
    assert full.json()["outcome"] == "refund recorded"
    payment.refresh_from_db()
    assert payment.status == "REFUNDED"
    assert payment.refunded_minor == 1500
    assert sorted(r.amount_minor for r in Refund.objects.filter(payment=payment)) == [
        500,
        1000,
    ]


def test_stripe_unknown_payment_and_event_type_are_acknowledged(anon_client):
    unknown = post_stripe(
        anon_client,
        stripe_event("evt_8", "payment_intent.succeeded", {"id": "pi_unknown"}),
    )
    other_type = post_stripe(
        anon_client, stripe_event("evt_9", "customer.created", {"id": "cus_1"})
    )

    assert unknown.status_code == 200
    assert unknown.json()["outcome"] == "ignored: unknown payment"
    assert other_type.json()["outcome"] == "ignored"


def test_stripe_body_that_is_not_json_is_400(anon_client):
    body = "not json"

    response = post_stripe(anon_client, body)

    assert response.status_code == 400


def test_webhook_unconfigured_is_provider_unavailable(anon_client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.RAZORPAY_WEBHOOK_SECRET = ""
    body = stripe_event("evt_10", "payment_intent.succeeded", {"id": "pi_x"})

    stripe = post_stripe(anon_client, body)
    razorpay = post_razorpay(anon_client, "{}")

    assert stripe.status_code == 400
    assert stripe.json()["error"]["code"] == "provider_unavailable"
    assert razorpay.status_code == 400
    assert razorpay.json()["error"]["code"] == "provider_unavailable"


def _razorpay_captured(order_id: str, payment_id: str) -> str:
    return json.dumps(
        {
            "entity": "event",
            "event": "payment.captured",
            "payload": {
                "payment": {
                    "entity": {
                        "id": payment_id,
                        "order_id": order_id,
                        "amount": 1500,
                        "currency": "USD",
                        "status": "captured",
                    }
                }
            },
        }
    )


def test_razorpay_captured_settles_the_invoice(anon_client, user):
    payment = pending_provider_payment(
        user, provider="razorpay", ref="order_1", plan_code="plan_pro_monthly"
    )
    body = _razorpay_captured("order_1", "pay_1")

    response = post_razorpay(anon_client, body)

    assert response.status_code == 200
    assert response.json()["outcome"] == "payment succeeded"
    payment.refresh_from_db()
    assert payment.status == "SUCCEEDED"
    assert payment.provider_charge_ref == "pay_1"
    assert payment.invoice.status == "PAID"
    user.refresh_from_db()
    assert user.tier.name == "Pro"


def test_razorpay_replay_and_bad_signature(anon_client, user):
    payment = pending_provider_payment(user, provider="razorpay", ref="order_2")
    body = _razorpay_captured("order_2", "pay_2")
    post_razorpay(anon_client, body, event_id="evt_rzp_2")

    replay = post_razorpay(anon_client, body, event_id="evt_rzp_2")
    bad = post_razorpay(anon_client, body, event_id="evt_rzp_3", signature="0" * 64)
    wrong_secret = post_razorpay(
        anon_client,
        body,
        event_id="evt_rzp_4",
        signature=razorpay_signature(body, secret="other"),
    )

    assert replay.json()["duplicate"] is True
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_signature"
    assert wrong_secret.status_code == 400
    assert WebhookEvent.objects.filter(provider="razorpay").count() == 1
    payment.refresh_from_db()
    assert payment.status == "SUCCEEDED"


def test_razorpay_without_event_id_dedups_identical_bodies(anon_client, user):
    pending_provider_payment(user, provider="razorpay", ref="order_3")
    body = _razorpay_captured("order_3", "pay_3")
    headers = {"HTTP_X_RAZORPAY_SIGNATURE": razorpay_signature(body)}

    first = anon_client.post(
        RAZORPAY_URL, body, content_type="application/json", **headers
    )
    second = anon_client.post(
        RAZORPAY_URL, body, content_type="application/json", **headers
    )

    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True


def test_razorpay_checkout_signature_confirms_payment(client_for, user, settings):
    settings.RAZORPAY_KEY_ID = "rzp_test_key"
    settings.RAZORPAY_SECRET = RAZORPAY_SECRET
    payment = pending_provider_payment(user, provider="razorpay", ref="order_4")
    good = hmac.new(
        RAZORPAY_SECRET.encode(), b"order_4|pay_4", hashlib.sha256
    ).hexdigest()
    client = client_for(user)

    bad = client.post(
        "/api/payments/process",
        {
            "paymentId": payment.pk,
            "razorpay_payment_id": "pay_4",
            "razorpay_signature": "f" * 64,
        },
        format="json",
    )
    payment.refresh_from_db()
    assert payment.status == "PENDING"
    ok = client.post(
        "/api/payments/process",
        {
            "paymentId": payment.pk,
            "razorpay_payment_id": "pay_4",
            "razorpay_signature": good,
        },
        format="json",
    )

    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_signature"
    assert ok.status_code == 200
    assert ok.json()["status"] == "SUCCEEDED"
    assert Invoice.objects.get(pk=payment.invoice_id).status == "PAID"


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_event_apply_once(user):
    from rest_framework.test import APIClient

    payment = pending_provider_payment(user, provider="stripe", ref="pi_race")
    body = stripe_event("evt_race", "payment_intent.succeeded", {"id": "pi_race"})
    signature = stripe_signature(body)
    start = threading.Barrier(5)
    duplicates = []
    lock = threading.Lock()

    def deliver():
        try:
            start.wait()
            response = APIClient().post(
                STRIPE_URL,
                body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
            with lock:
                duplicates.append(response.json()["duplicate"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(duplicates) == [False, True, True, True, True]
    assert WebhookEvent.objects.count() == 1
    payment.refresh_from_db()
    assert payment.status == "SUCCEEDED"


def test_stripe_success_after_a_failed_attempt_still_settles(anon_client, user):
    payment = pending_provider_payment(user, provider="stripe", ref="pi_retry")
    post_stripe(
        anon_client,
        stripe_event("evt_r1", "payment_intent.payment_failed", {"id": "pi_retry"}),
    )

    response = post_stripe(
        anon_client,
        stripe_event("evt_r2", "payment_intent.succeeded", {"id": "pi_retry"}),
    )

    assert response.json()["outcome"] == "payment succeeded"
    payment.refresh_from_db()
    assert payment.status == "SUCCEEDED"
    assert payment.invoice.status == "PAID"


def test_failure_after_success_changes_nothing(anon_client, user):
    payment = pending_provider_payment(user, provider="stripe", ref="pi_late")
    post_stripe(
        anon_client,
        stripe_event("evt_l1", "payment_intent.succeeded", {"id": "pi_late"}),
    )

    response = post_stripe(
        anon_client,
        stripe_event("evt_l2", "payment_intent.payment_failed", {"id": "pi_late"}),
    )

    assert response.json()["outcome"] == "no change: payment already succeeded"
    payment.refresh_from_db()
    assert payment.status == "SUCCEEDED"
