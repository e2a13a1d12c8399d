"""Billing, payments and credits take a person's JWT, never an API key.

A key is handed to an application: with one, a staff user's key could grant
credits and even a read-only key could spend them or subscribe. Only the
provider webhooks take no user authentication at all.
"""

from __future__ import annotations

import pytest

from billing.models import Invoice, Payment, PaymentMethod, Refund, Subscription
from credits.models import CreditEntry
from credits.services import credits_add, credits_balance_get
from tests.billing.conftest import ETH_TX
from tests.billing.test_payments import paid_with_credits

pytestmark = pytest.mark.django_db


def assert_jwt_required(response):
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "jwt_required"


@pytest.fixture
def key_clients(user, api_key_for, key_client_for):
    """The user's full key and read-only key, as API clients."""
    full = key_client_for(*api_key_for(user, name="full"))
    read_only = key_client_for(
        *api_key_for(user, name="ro", can_write=False, can_delete=False, can_list=True)
    )
    return {"full": full, "read-only": read_only}


def crypto_subscription(client):
    response = client.post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "crypto", "asset": "USDC"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


# --- staff powers need a staff person with a JWT ----------------------------------


def test_staff_key_cannot_add_credits(staff_user, user, api_key_for, key_client_for):
    client = key_client_for(*api_key_for(staff_user))

    mine = client.post("/api/credits/add", {"amount": 100}, format="json")
    theirs = client.post(
        "/api/credits/add", {"amount": 100, "userId": user.pk}, format="json"
    )

    assert_jwt_required(mine)
    assert_jwt_required(theirs)
    assert not CreditEntry.objects.exists()


def test_staff_key_cannot_read_or_move_another_users_credits(
    staff_user, user, api_key_for, key_client_for
):
    credits_add(user=user, amount=50, actor=None)
    client = key_client_for(*api_key_for(staff_user))

    responses = [
        client.get(f"/api/credits/balance?userId={user.pk}"),
        client.get(f"/api/credits/history?userId={user.pk}"),
        client.get(f"/api/credits/check?amount=1&userId={user.pk}"),
        client.post(
            "/api/credits/deduct", {"amount": 10, "userId": user.pk}, format="json"
        ),
    ]

    for response in responses:
        assert_jwt_required(response)
    assert credits_balance_get(user=user) == 50


def test_staff_key_cannot_bill_another_user(
    staff_user, user, api_key_for, key_client_for
):
    client = key_client_for(*api_key_for(staff_user))

    response = client.post(
        "/api/billing/invoices",
        {"userId": user.pk, "amount": 2500, "currency": "EUR", "description": "x"},
        format="json",
    )

    assert_jwt_required(response)
    assert not Invoice.objects.exists()


def test_staff_key_cannot_refund(
    client_for, staff_user, user, api_key_for, key_client_for
):
    payment_id = paid_with_credits(user, client_for(user))["id"]

    response = key_client_for(*api_key_for(staff_user)).post(
        "/api/payments/refund", {"paymentId": payment_id}, format="json"
    )

    assert_jwt_required(response)
    assert not Refund.objects.exists()


def test_staff_key_cannot_confirm_a_crypto_payment(
    client_for, staff_user, user, api_key_for, key_client_for
):
    payment_id = crypto_subscription(client_for(user))["payment"]["id"]

    response = key_client_for(*api_key_for(staff_user)).post(
        "/api/payments/process",
        {"paymentId": payment_id, "txHash": ETH_TX},
        format="json",
    )

    assert_jwt_required(response)
    assert Payment.objects.get(pk=payment_id).status == "PENDING"


def test_staff_key_cannot_list_its_owners_payments_either(
    staff_user, api_key_for, key_client_for
):
    client = key_client_for(*api_key_for(staff_user))

    assert_jwt_required(client.get("/api/payments/history"))
    assert_jwt_required(client.get("/api/billing/invoices"))


# --- a user's keys, read-only or full, can do none of it --------------------------


@pytest.mark.parametrize("which", ["read-only", "full"])
def test_user_keys_cannot_spend_subscribe_or_pay(which, key_clients, user):
    credits_add(user=user, amount=5000, actor=None)
    client = key_clients[which]

    responses = [
        client.post("/api/credits/deduct", {"amount": 10}, format="json"),
        client.post(
            "/api/billing/subscription",
            {"planId": "plan_pro_monthly", "provider": "credits"},
            format="json",
        ),
        client.post(
            "/api/billing/subscription/cancel", {"immediately": True}, format="json"
        ),
        client.post(
            "/api/payments/methods",
            {"provider": "crypto", "type": "wallet", "label": "Ledger"},
            format="json",
        ),
        client.post("/api/billing/invoices", {"credits": 5}, format="json"),
        client.post(
            "/api/payments/intents",
            {"invoiceId": 1, "provider": "credits"},
            format="json",
        ),
    ]

    for response in responses:
        assert_jwt_required(response)
    assert credits_balance_get(user=user) == 5000
    assert not Subscription.objects.exists()
    assert not PaymentMethod.objects.exists()
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/credits/balance",
        "/api/credits/history",
        "/api/credits/check?amount=1",
        "/api/billing/plans",
        "/api/billing/subscription",
        "/api/billing/invoices",
        "/api/billing/summary",
        "/api/payments/methods",
        "/api/payments/history",
    ],
)
def test_user_key_cannot_read_billing(path, key_clients):
    assert_jwt_required(key_clients["full"].get(path))


# --- the JWT paths still work ----------------------------------------------------


def test_staff_with_jwt_keeps_every_power(client_for, staff_user, user):
    staff = client_for(staff_user)

    added = staff.post(
        "/api/credits/add", {"amount": 100, "userId": user.pk}, format="json"
    )
    balance = staff.get(f"/api/credits/balance?userId={user.pk}")
    deducted = staff.post(
        "/api/credits/deduct", {"amount": 30, "userId": user.pk}, format="json"
    )
    billed = staff.post(
        "/api/billing/invoices",
        {"userId": user.pk, "amount": 2500, "currency": "EUR", "description": "x"},
        format="json",
    )

    assert added.status_code == 201
    assert balance.json()["balance"] == 100
    assert deducted.status_code == 201
    assert billed.status_code == 201
    assert credits_balance_get(user=user) == 70


def test_staff_with_jwt_confirms_crypto_and_refunds(client_for, staff_user, user):
    payment_id = crypto_subscription(client_for(user))["payment"]["id"]
    paid_id = paid_with_credits(user, client_for(user))["id"]
    staff = client_for(staff_user)

    confirm = staff.post(
        "/api/payments/process",
        {"paymentId": payment_id, "txHash": ETH_TX},
        format="json",
    )
    refund = staff.post("/api/payments/refund", {"paymentId": paid_id}, format="json")

    assert confirm.status_code == 200
    assert confirm.json()["status"] == "SUCCEEDED"
    assert refund.status_code == 201


def test_user_with_jwt_deducts_and_subscribes(client_for, user, other_user):
    credits_add(user=user, amount=5000, actor=None)
    client = client_for(user)

    deducted = client.post("/api/credits/deduct", {"amount": 10}, format="json")
    subscribed = client.post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "credits"},
        format="json",
    )
    # Naming another tenant is still the same 404 as an unknown id.
    theirs = client.get(f"/api/credits/balance?userId={other_user.pk}")

    assert deducted.status_code == 201
    assert subscribed.status_code == 201
    assert subscribed.json()["subscription"]["status"] == "ACTIVE"
    assert theirs.status_code == 404
