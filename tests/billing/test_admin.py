"""The billing and credit admin: pages load, actions go through services."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.models import Invoice, Payment, Refund
from billing.services import invoice_create_credit_topup, payment_intent_create
from credits.models import CreditBalance, CreditEntry
from credits.services import credits_add
from tests.billing.conftest import ETH_TX, pending_provider_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def crypto_payment(user, credits=500):
    invoice = invoice_create_credit_topup(user=user, credits=credits, actor=user)
    payment, _ = payment_intent_create(
        user=user,
        invoice=invoice,
        provider="crypto",
        actor=user,
        options={"asset": "USDC"},
    )
    return invoice, payment


@pytest.mark.parametrize(
    "model",
    [
        "billing/plan",
        "billing/subscription",
        "billing/invoice",
        "billing/payment",
        "billing/paymentmethod",
        "billing/refund",
        "billing/webhookevent",
        "credits/creditbalance",
        "credits/creditentry",
    ],
)
def test_changelists_load(admin_client, user, model):
    crypto_payment(user)
    credits_add(user=user, amount=3, actor=None)

    response = admin_client.get(f"/admin/{model}/?q=owner")

    assert response.status_code == 200


def test_non_staff_cannot_open_the_admin(user):
    client = Client()
    client.force_login(user)

    response = client.get("/admin/billing/invoice/")

    assert response.status_code == 302


def test_confirm_crypto_action_asks_for_the_hash_then_pays(admin_client, user):
    invoice, payment = crypto_payment(user)
    action = {"action": "confirm_crypto_payment", "_selected_action": [invoice.pk]}

    page = admin_client.post("/admin/billing/invoice/", action)
    bad = admin_client.post(
        "/admin/billing/invoice/", {**action, "apply": "1", "tx_hash": "0x123"}
    )
    good = admin_client.post(
        "/admin/billing/invoice/", {**action, "apply": "1", "tx_hash": ETH_TX}
    )

    assert page.status_code == 200
    assert b"Transaction hash" in page.content
    assert invoice.number.encode() in page.content
    assert bad.status_code == 200
    assert b"not a valid USDC transaction hash" in bad.content
    assert good.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "PAID"
    assert invoice.crypto_tx_hash == ETH_TX
    assert Payment.objects.get(pk=payment.pk).status == "SUCCEEDED"
    assert CreditBalance.objects.get(user=user).balance == 500


def test_refund_action(admin_client, user, staff_user):
    invoice, payment = crypto_payment(user)
    admin_client.post(
        "/admin/billing/invoice/",
        {
            "action": "confirm_crypto_payment",
            "_selected_action": [invoice.pk],
            "apply": "1",
            "tx_hash": ETH_TX,
        },
    )
    action = {"action": "refund_payment", "_selected_action": [payment.pk]}

    page = admin_client.post("/admin/billing/payment/", action)
    too_much = admin_client.post(
        "/admin/billing/payment/",
        {**action, "apply": "1", "amount": "501", "reason": "x"},
    )
    done = admin_client.post(
        "/admin/billing/payment/",
        {**action, "apply": "1", "amount": "200", "reason": "asked nicely"},
    )

    assert page.status_code == 200
    assert b"5.00 USD" in page.content
    assert too_much.status_code == 200
    assert b"At most 500" in too_much.content
    assert done.status_code == 302
    refund = Refund.objects.get(payment=payment)
    assert refund.amount_minor == 200
    assert refund.actor == staff_user
    assert Payment.objects.get(pk=payment.pk).status == "PARTIALLY_REFUNDED"
    assert CreditBalance.objects.get(user=user).balance == 300


def test_void_action_refuses_paid_and_voids_open(admin_client, user):
    open_payment = pending_provider_payment(user, provider="stripe", ref="pi_a")
    paid_invoice, _ = crypto_payment(user)
    Invoice.objects.filter(pk=paid_invoice.pk).update(status="PAID")

    admin_client.post(
        "/admin/billing/invoice/",
        {
            "action": "void_invoices",
            "_selected_action": [open_payment.invoice_id, paid_invoice.pk],
        },
    )

    assert Invoice.objects.get(pk=open_payment.invoice_id).status == "VOID"
    assert Invoice.objects.get(pk=paid_invoice.pk).status == "PAID"


def test_money_rows_are_read_only(admin_client, user):
    invoice, payment = crypto_payment(user)
    entry, _ = credits_add(user=user, amount=5, actor=None)

    for url in (
        f"/admin/billing/invoice/{invoice.pk}/change/",
        f"/admin/billing/payment/{payment.pk}/change/",
        f"/admin/credits/creditentry/{entry.pk}/change/",
    ):
        response = admin_client.post(url, {"amount_minor": "1", "amount": "1"})
        assert response.status_code == 403
    for url in (
        f"/admin/billing/invoice/{invoice.pk}/delete/",
        f"/admin/credits/creditentry/{entry.pk}/delete/",
    ):
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).amount_minor == 500
    assert CreditEntry.objects.get(pk=entry.pk).amount == 5


def test_credit_entry_add_form_goes_through_the_service(admin_client, user):
    add = admin_client.post(
        "/admin/credits/creditentry/add/",
        {"user": user.pk, "direction": "add", "amount": "40", "reason": "promo"},
    )
    short = admin_client.post(
        "/admin/credits/creditentry/add/",
        {"user": user.pk, "direction": "deduct", "amount": "41", "reason": ""},
    )
    deduct = admin_client.post(
        "/admin/credits/creditentry/add/",
        {"user": user.pk, "direction": "deduct", "amount": "15", "reason": ""},
    )

    assert add.status_code == 302
    assert short.status_code == 200
    assert b"only 40 credits" in short.content
    assert deduct.status_code == 302
    assert CreditBalance.objects.get(user=user).balance == 25
    assert [e.balance_after for e in CreditEntry.objects.order_by("id")] == [40, 25]
