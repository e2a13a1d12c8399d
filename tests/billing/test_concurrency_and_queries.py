"""Concurrent refunds stay within the payment; list endpoints do not N+1."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from billing.models import Payment, Refund
from billing.services import (
    InvalidState,
    invoice_create_credit_topup,
    payment_intent_create,
    refund_create,
)
from credits.services import credits_add
from pockity.exceptions import PockityError
from tests.billing.conftest import pending_provider_payment


def credits_payment(user, amount=1000):
    """A SUCCEEDED payment made with credits for a 1000-cent invoice."""
    credits_add(user=user, amount=amount, actor=None)
    invoice = pending_provider_payment(user, provider="stripe", ref="pi_c").invoice
    Payment.objects.filter(invoice=invoice).update(status="FAILED")
    payment, _ = payment_intent_create(
        user=user, invoice=invoice, provider="credits", actor=None
    )
    return payment


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_the_payment(user, staff_user):
    payment = credits_payment(user, 1500)
    start = threading.Barrier(6)
    outcomes = []
    lock = threading.Lock()

    def refund():
        try:
            start.wait()
            try:
                refund_create(
                    payment=payment, amount_minor=400, reason="", actor=staff_user
                )
                result = "ok"
            except (InvalidState, PockityError):
                result = "refused"
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refund) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("ok") == 3
    payment.refresh_from_db()
    assert payment.refunded_minor == 1200
    assert sum(r.amount_minor for r in Refund.objects.filter(payment=payment)) == 1200
    assert payment.status == "PARTIALLY_REFUNDED"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/api/payments/history", "/api/billing/invoices", "/api/credits/history"]
)
def test_lists_cost_the_same_queries_for_many_rows(
    client_for, user, url, django_assert_max_num_queries
):
    client = client_for(user)
    for _ in range(3):
        invoice = invoice_create_credit_topup(user=user, credits=5, actor=user)
        payment_intent_create(
            user=user,
            invoice=invoice,
            provider="crypto",
            actor=user,
            options={"asset": "USDC"},
        )
        credits_add(user=user, amount=1, actor=None)
    client.get(url)  # warm up per-request caches (auth, content types)

    with django_assert_max_num_queries(4):
        response = client.get(url)

    assert response.status_code == 200
    assert response.json()["count"] == 3
