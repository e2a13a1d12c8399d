"""Invoices, intents, processing, refunds, payment methods, summary, tenancy."""

from __future__ import annotations

import pytest

from billing.models import Invoice, Payment, PaymentMethod, Refund
from billing.services import InvalidState, invoice_void
from credits.models import CreditBalance
from credits.services import credits_add
from tests.billing.conftest import BTC_TX, ETH_TX, pending_provider_payment

pytestmark = pytest.mark.django_db


def buy_credits_invoice(client, credits=500):
    response = client.post("/api/billing/invoices", {"credits": credits}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def paid_with_credits(user, client, amount=999):
    """A SUCCEEDED credits payment of `amount` (an OTHER invoice)."""
    credits_add(user=user, amount=amount, actor=None)
    invoice = pending_provider_payment(user, provider="stripe", ref="pi_x").invoice
    Payment.objects.filter(invoice=invoice).update(status="FAILED")
    Invoice.objects.filter(pk=invoice.pk).update(amount_minor=amount)
    response = client.post(
        "/api/payments/intents",
        {"invoiceId": invoice.pk, "provider": "credits"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["payment"]


# --- invoices --------------------------------------------------------------------


def test_user_creates_a_credit_top_up_invoice(client_for, user):
    body = buy_credits_invoice(client_for(user), 500)

    assert body["status"] == "OPEN"
    assert body["purpose"] == "CREDITS"
    assert body["amount"] == 500
    assert body["currency"] == "USD"
    assert body["credits"] == 500
    assert body["number"].startswith("INV-")


def test_paying_a_top_up_with_crypto_grants_the_credits(client_for, user, staff_user):
    client = client_for(user)
    invoice = buy_credits_invoice(client, 500)

    intent = client.post(
        "/api/payments/intents",
        {"invoiceId": invoice["number"], "provider": "crypto", "asset": "BTC"},
        format="json",
    )
    assert intent.status_code == 201
    # 5.00 USD at 50,000 USD/BTC.
    assert intent.json()["instructions"]["amount"] == "0.00010000"
    payment_id = intent.json()["payment"]["id"]

    wrong_format = client_for(staff_user).post(
        "/api/payments/process",
        {"paymentId": payment_id, "txHash": ETH_TX},
        format="json",
    )
    confirmed = client_for(staff_user).post(
        "/api/payments/process",
        {"paymentId": payment_id, "txHash": BTC_TX},
        format="json",
    )

    assert wrong_format.status_code == 400
    assert wrong_format.json()["error"]["code"] == "invalid_tx_hash"
    assert confirmed.status_code == 200
    assert CreditBalance.objects.get(user=user).balance == 500
    assert client.get("/api/billing/invoices?status=paid").json()["count"] == 1


def test_one_transaction_cannot_pay_two_invoices(client_for, user, staff_user):
    client = client_for(user)
    payments = []
    for _ in range(2):
        invoice = buy_credits_invoice(client, 100)
        intent = client.post(
            "/api/payments/intents",
            {"invoiceId": invoice["id"], "provider": "crypto", "asset": "ETH"},
            format="json",
        )
        payments.append(intent.json()["payment"]["id"])
    staff = client_for(staff_user)

    first = staff.post(
        "/api/payments/process",
        {"paymentId": payments[0], "txHash": ETH_TX},
        format="json",
    )
    second = staff.post(
        "/api/payments/process",
        {"paymentId": payments[1], "txHash": ETH_TX},
        format="json",
    )

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "tx_hash_used"
    assert Payment.objects.get(pk=payments[1]).status == "PENDING"
    assert CreditBalance.objects.get(user=user).balance == 100


def test_non_staff_cannot_bill_amounts_or_other_users(client_for, user, other_user):
    client = client_for(user)

    amount = client.post(
        "/api/billing/invoices", {"amount": 100, "currency": "USD"}, format="json"
    )
    other = client.post(
        "/api/billing/invoices",
        {"credits": 5, "userId": other_user.pk},
        format="json",
    )

    assert amount.status_code == 403
    assert other.status_code == 403
    assert not Invoice.objects.exists()


def test_staff_bills_a_user(client_for, user, staff_user):
    response = client_for(staff_user).post(
        "/api/billing/invoices",
        {
            "userId": user.pk,
            "amount": 2500,
            "currency": "EUR",
            "description": "Migration help",
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["purpose"] == "OTHER"
    assert client_for(user).get("/api/billing/invoices").json()["count"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"credits": -1},
        {"credits": 0},
        {"credits": "abc"},
        {"credits": 2**63},
        {"credits": 1.5},
        {},
        {"credits": 5, "amount": 5, "currency": "USD"},
    ],
)
def test_malformed_invoice_input_is_400(client_for, user, body):
    response = client_for(user).post("/api/billing/invoices", body, format="json")

    assert response.status_code == 400
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"amount": -100, "currency": "USD"},
        {"amount": 99999999999999999999999, "currency": "USD"},
        {"amount": "ten", "currency": "USD"},
        {"amount": 100, "currency": "usd"},
        {"amount": 100},
    ],
)
def test_malformed_staff_invoice_is_400(client_for, user, staff_user, body):
    response = client_for(staff_user).post(
        "/api/billing/invoices", {"userId": user.pk, **body}, format="json"
    )

    assert response.status_code == 400


def test_invoice_list_is_per_tenant(client_for, user, other_user):
    buy_credits_invoice(client_for(user))

    mine = client_for(user).get("/api/billing/invoices")
    theirs = client_for(other_user).get("/api/billing/invoices")

    assert mine.json()["count"] == 1
    assert theirs.json()["count"] == 0


# --- intents and processing -------------------------------------------------------


def test_another_tenants_invoice_is_404(client_for, user, other_user):
    invoice = buy_credits_invoice(client_for(user))
    other = client_for(other_user)

    by_id = other.post(
        "/api/payments/intents",
        {"invoiceId": invoice["id"], "provider": "crypto", "asset": "USDC"},
        format="json",
    )
    by_number = other.post(
        "/api/payments/intents",
        {"invoiceId": invoice["number"], "provider": "crypto", "asset": "USDC"},
        format="json",
    )
    huge = other.post(
        "/api/payments/intents",
        {"invoiceId": "9" * 30, "provider": "crypto", "asset": "USDC"},
        format="json",
    )

    assert by_id.status_code == 404
    assert by_number.status_code == 404
    assert huge.status_code == 404
    assert not Payment.objects.exists()


def test_another_tenants_payment_is_404(client_for, user, other_user):
    payment = pending_provider_payment(user, provider="stripe", ref="pi_mine")

    process = client_for(other_user).post(
        "/api/payments/process", {"paymentId": payment.pk}, format="json"
    )
    huge = client_for(other_user).post(
        "/api/payments/process", {"paymentId": 2**64}, format="json"
    )
    history = client_for(other_user).get("/api/payments/history")

    assert process.status_code == 404
    assert huge.status_code == 400
    assert history.json()["count"] == 0


def test_intent_idempotency_key_returns_the_first_payment(client_for, user):
    client = client_for(user)
    invoice = buy_credits_invoice(client)
    body = {
        "invoiceId": invoice["id"],
        "provider": "crypto",
        "asset": "USDC",
        "idempotencyKey": "checkout-1",
    }

    first = client.post("/api/payments/intents", body, format="json")
    second = client.post("/api/payments/intents", body, format="json")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["replayed"] is True
    assert second.json()["payment"]["id"] == first.json()["payment"]["id"]
    assert Payment.objects.count() == 1


def test_paid_invoice_cannot_be_paid_again(client_for, user):
    client = client_for(user)
    payment = paid_with_credits(user, client, 300)

    response = client.post(
        "/api/payments/intents",
        {"invoiceId": payment["invoiceId"], "provider": "credits"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


def test_free_provider_settles_only_zero(client_for, user):
    invoice = buy_credits_invoice(client_for(user), 10)

    refused = client_for(user).post(
        "/api/payments/intents",
        {"invoiceId": invoice["id"], "provider": "free"},
        format="json",
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "provider_unavailable"
    assert Invoice.objects.get(pk=invoice["id"]).status == "OPEN"


def test_processing_a_settled_payment_is_invalid_state(client_for, user):
    client = client_for(user)
    payment = paid_with_credits(user, client, 300)

    response = client.post(
        "/api/payments/process", {"paymentId": payment["id"]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


def test_voiding_a_paid_invoice_is_refused(client_for, user):
    payment = paid_with_credits(user, client_for(user), 300)
    invoice = Invoice.objects.get(pk=payment["invoiceId"])

    with pytest.raises(InvalidState):
        invoice_void(invoice=invoice, actor=None)

    invoice.refresh_from_db()
    assert invoice.status == "PAID"


def test_voiding_an_open_invoice_fails_its_pending_payment(user):
    payment = pending_provider_payment(user, provider="stripe", ref="pi_v")

    invoice_void(invoice=payment.invoice, actor=None)

    payment.refresh_from_db()
    assert payment.invoice.status == "VOID"
    assert payment.status == "FAILED"
    with pytest.raises(InvalidState):
        invoice_void(invoice=payment.invoice, actor=None)


# --- refunds ------------------------------------------------------------------------


def test_staff_refunds_partially_then_fully_and_no_more(client_for, user, staff_user):
    payment = paid_with_credits(user, client_for(user), 999)
    staff = client_for(staff_user)

    part = staff.post(
        "/api/payments/refund",
        {"paymentId": payment["id"], "amount": 400, "reason": "goodwill"},
        format="json",
    )
    too_much = staff.post(
        "/api/payments/refund",
        {"paymentId": payment["id"], "amount": 600},
        format="json",
    )
    rest = staff.post(
        "/api/payments/refund", {"paymentId": payment["id"]}, format="json"
    )
    again = staff.post(
        "/api/payments/refund", {"paymentId": payment["id"], "amount": 1}, format="json"
    )

    assert part.status_code == 201
    assert part.json()["amount"] == 400
    assert part.json()["status"] == "SUCCEEDED"
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "refund_exceeds_payment"
    assert too_much.json()["error"]["details"]["refundable"] == 599
    assert rest.status_code == 201
    assert rest.json()["amount"] == 599
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"
    row = Payment.objects.get(pk=payment["id"])
    assert row.status == "REFUNDED"
    assert row.refunded_minor == 999
    # Paid with credits, refunded in credits.
    assert CreditBalance.objects.get(user=user).balance == 999


def test_refund_of_a_top_up_takes_the_credits_back(client_for, user, staff_user):
    client = client_for(user)
    invoice = buy_credits_invoice(client, 500)
    intent = client.post(
        "/api/payments/intents",
        {"invoiceId": invoice["id"], "provider": "crypto", "asset": "USDC"},
        format="json",
    ).json()
    staff = client_for(staff_user)
    staff.post(
        "/api/payments/process",
        {"paymentId": intent["payment"]["id"], "txHash": ETH_TX},
        format="json",
    )
    client.post("/api/credits/deduct", {"amount": 400}, format="json")

    refused = staff.post(
        "/api/payments/refund",
        {"paymentId": intent["payment"]["id"]},
        format="json",
    )
    partial = staff.post(
        "/api/payments/refund",
        {"paymentId": intent["payment"]["id"], "amount": 100},
        format="json",
    )

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_credits"
    assert partial.status_code == 201
    assert CreditBalance.objects.get(user=user).balance == 0
    assert Payment.objects.get(pk=intent["payment"]["id"]).status == (
        "PARTIALLY_REFUNDED"
    )


def test_refunding_a_pending_payment_is_invalid_state(client_for, user, staff_user):
    payment = pending_provider_payment(user, provider="stripe", ref="pi_p")

    response = client_for(staff_user).post(
        "/api/payments/refund", {"paymentId": payment.pk}, format="json"
    )

    assert response.status_code == 409
    assert not Refund.objects.exists()


def test_non_staff_cannot_refund_even_their_own_payment(client_for, user):
    client = client_for(user)
    payment = paid_with_credits(user, client, 300)

    response = client.post(
        "/api/payments/refund", {"paymentId": payment["id"]}, format="json"
    )

    assert response.status_code == 403
    assert not Refund.objects.exists()


@pytest.mark.parametrize("amount", [-1, 0, "abc", 2**63, 1.5])
def test_malformed_refund_amounts_are_400(client_for, user, staff_user, amount):
    payment = paid_with_credits(user, client_for(user), 300)

    response = client_for(staff_user).post(
        "/api/payments/refund",
        {"paymentId": payment["id"], "amount": amount},
        format="json",
    )

    assert response.status_code == 400
    assert not Refund.objects.exists()


def test_refund_of_unknown_payment_is_404(client_for, staff_user):
    response = client_for(staff_user).post(
        "/api/payments/refund", {"paymentId": 10**12}, format="json"
    )

    assert response.status_code == 404


# --- payment methods and history ---------------------------------------------


def test_payment_methods_first_is_default_and_default_moves(
    client_for, user, other_user, settings
):
    settings.STRIPE_SECRET_KEY = "sk_test_unused"
    client = client_for(user)

    first = client.post(
        "/api/payments/methods",
        {
            "provider": "stripe",
            "providerRef": "pm_1",
            "brand": "visa",
            "last4": "4242",
            "expMonth": 12,
            "expYear": 2030,
        },
        format="json",
    )
    second = client.post(
        "/api/payments/methods",
        {"provider": "crypto", "type": "wallet", "label": "Ledger", "isDefault": True},
        format="json",
    )
    listed = client.get("/api/payments/methods").json()

    assert first.status_code == 201
    assert first.json()["isDefault"] is True
    assert second.status_code == 201
    assert [m["isDefault"] for m in listed["results"]] == [True, False]
    assert listed["results"][0]["label"] == "Ledger"
    assert PaymentMethod.objects.get(pk=first.json()["id"]).is_default is False
    assert client_for(other_user).get("/api/payments/methods").json()["count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "crypto", "cardNumber": "4242424242424242"},
        {"provider": "crypto", "cvc": "123"},
        {"provider": "crypto", "last4": "42a2"},
        {"provider": "crypto", "expMonth": 13},
        {"provider": "paypal"},
        {"provider": "stripe"},
    ],
)
def test_bad_payment_methods_are_400(client_for, user, body):
    response = client_for(user).post("/api/payments/methods", body, format="json")

    assert response.status_code == 400
    assert not PaymentMethod.objects.exists()


def test_payment_history_lists_own_payments(client_for, user, other_user):
    client = client_for(user)
    paid_with_credits(user, client, 300)

    mine = client.get("/api/payments/history?status=succeeded")
    bad_page = client.get("/api/payments/history?limit=abc")

    assert mine.json()["count"] == 1
    assert mine.json()["results"][0]["amount"] == 300
    assert bad_page.status_code == 400
    assert client_for(other_user).get("/api/payments/history").json()["count"] == 0


def test_summary(client_for, user, other_user):
    client = client_for(user)
    paid_with_credits(user, client, 300)
    buy_credits_invoice(client, 50)

    body = client.get("/api/billing/summary").json()

    assert body["openInvoices"] == 1
    assert body["amountDue"] == [{"currency": "USD", "amount": 50}]
    assert body["totalPaid"] == [{"currency": "USD", "amount": 300}]
    assert body["creditBalance"] == 0
    assert body["tier"]["name"] == "Free"
    assert "credits" in body["availableProviders"]
    assert len(body["recentInvoices"]) == 2
    assert client_for(other_user).get("/api/billing/summary").json()[
        "openInvoices"
    ] == (0)


def test_account_deletion_keeps_the_books(client_for, user):
    payment = paid_with_credits(user, client_for(user), 300)
    email = user.email

    user.delete()

    row = Payment.objects.get(pk=payment["id"])
    assert row.user_id is None
    assert row.user_email == email
    assert Invoice.objects.get(pk=payment["invoiceId"]).user_email == email
