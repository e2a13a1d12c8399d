"""Credit API: balance, add (staff), deduct, check, history, tenancy, input."""

from __future__ import annotations

import pytest

from credits.models import CreditBalance, CreditEntry, EntryKind
from credits.services import credits_add

pytestmark = pytest.mark.django_db


def grant(user, amount, actor=None):
    return credits_add(user=user, amount=amount, actor=actor, reason="test")[0]


def test_balance_starts_at_zero(client_for, user):
    response = client_for(user).get("/api/credits/balance")

    assert response.status_code == 200
    assert response.json() == {"userId": user.pk, "balance": 0}


def test_staff_adds_credits_to_a_user(client_for, user, staff_user):
    response = client_for(staff_user).post(
        "/api/credits/add",
        {"userId": user.pk, "amount": 500, "reason": "welcome"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["balance"] == 500
    assert body["entry"]["amount"] == 500
    assert body["entry"]["balanceAfter"] == 500
    assert body["entry"]["kind"] == EntryKind.GRANT
    assert body["entry"]["actor"] == staff_user.email
    assert CreditBalance.objects.get(user=user).balance == 500


def test_non_staff_cannot_add_credits(client_for, user):
    response = client_for(user).post("/api/credits/add", {"amount": 500}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not CreditEntry.objects.exists()


def test_user_deducts_own_credits(client_for, user):
    grant(user, 100)

    response = client_for(user).post(
        "/api/credits/deduct", {"amount": 30, "reason": "render"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["balance"] == 70
    assert response.json()["entry"]["amount"] == -30
    assert response.json()["entry"]["balanceAfter"] == 70


def test_deduct_more_than_balance_is_refused(client_for, user):
    grant(user, 10)

    response = client_for(user).post(
        "/api/credits/deduct", {"amount": 11}, format="json"
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_credits"
    assert error["details"] == {"balance": 10, "required": 11}
    assert CreditBalance.objects.get(user=user).balance == 10
    assert CreditEntry.objects.filter(user=user).count() == 1


def test_deduct_with_no_balance_row_is_refused(client_for, user):
    response = client_for(user).post(
        "/api/credits/deduct", {"amount": 1}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_credits"


def test_idempotency_key_replays_instead_of_deducting_twice(client_for, user):
    grant(user, 100)
    client = client_for(user)
    body = {"amount": 40, "idempotencyKey": "order-17"}

    first = client.post("/api/credits/deduct", body, format="json")
    second = client.post("/api/credits/deduct", body, format="json")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["replayed"] is True
    assert second.json()["entry"]["id"] == first.json()["entry"]["id"]
    assert CreditBalance.objects.get(user=user).balance == 60


def test_idempotency_key_reused_for_other_amount_is_a_conflict(client_for, user):
    grant(user, 100)
    client = client_for(user)
    client.post(
        "/api/credits/deduct", {"amount": 40, "idempotencyKey": "k"}, format="json"
    )

    response = client.post(
        "/api/credits/deduct", {"amount": 41, "idempotencyKey": "k"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert CreditBalance.objects.get(user=user).balance == 60


def test_check_reports_sufficiency(client_for, user):
    grant(user, 1000)
    client = client_for(user)

    enough = client.get("/api/credits/check?amount=1000")
    short = client.get("/api/credits/check?amount=1001")

    assert enough.status_code == 200
    assert enough.json() == {
        "userId": user.pk,
        "balance": 1000,
        "required": 1000,
        "sufficient": True,
    }
    assert short.json()["sufficient"] is False


@pytest.mark.parametrize(
    "amount",
    [-5, 0, 2**63, 99999999999999999999999, "abc", "", None, 1.5, True, "1e3"],
)
def test_malformed_amounts_are_400(client_for, user, staff_user, amount):
    grant(user, 100)

    deduct = client_for(user).post(
        "/api/credits/deduct", {"amount": amount}, format="json"
    )
    add = client_for(staff_user).post(
        "/api/credits/add", {"userId": user.pk, "amount": amount}, format="json"
    )

    assert deduct.status_code == 400
    assert add.status_code == 400
    assert deduct.json()["error"]["code"] == "validation_error"
    assert CreditBalance.objects.get(user=user).balance == 100


@pytest.mark.parametrize("amount", ["-1", "0", "abc", "99999999999999999999999"])
def test_check_with_malformed_amount_is_400(client_for, user, amount):
    response = client_for(user).get(f"/api/credits/check?amount={amount}")

    assert response.status_code == 400


def test_check_without_amount_is_400(client_for, user):
    response = client_for(user).get("/api/credits/check")

    assert response.status_code == 400


def test_history_is_paginated_and_newest_first(client_for, user):
    for amount in (1, 2, 3):
        grant(user, amount)

    response = client_for(user).get("/api/credits/history?limit=2")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [entry["amount"] for entry in body["results"]] == [3, 2]
    assert body["next"] is not None


@pytest.mark.parametrize("query", ["limit=-1", "offset=-5", "limit=abc"])
def test_history_rejects_bad_pagination(client_for, user, query):
    response = client_for(user).get(f"/api/credits/history?{query}")

    assert response.status_code == 400


def test_other_tenants_see_nothing(client_for, user, other_user):
    grant(user, 100)
    client = client_for(other_user)

    balance = client.get("/api/credits/balance")
    history = client.get("/api/credits/history")
    probe_balance = client.get(f"/api/credits/balance?userId={user.pk}")
    probe_history = client.get(f"/api/credits/history?userId={user.pk}")
    probe_deduct = client.post(
        "/api/credits/deduct", {"userId": user.pk, "amount": 1}, format="json"
    )

    assert balance.json()["balance"] == 0
    assert history.json()["count"] == 0
    assert probe_balance.status_code == 404
    assert probe_history.status_code == 404
    assert probe_deduct.status_code == 404
    assert CreditBalance.objects.get(user=user).balance == 100


def test_staff_reads_and_deducts_for_a_user(client_for, user, staff_user):
    grant(user, 100)
    client = client_for(staff_user)

    balance = client.get(f"/api/credits/balance?userId={user.pk}")
    deduct = client.post(
        "/api/credits/deduct", {"userId": user.pk, "amount": 25}, format="json"
    )

    assert balance.json()["balance"] == 100
    assert deduct.status_code == 201
    assert CreditBalance.objects.get(user=user).balance == 75


def test_staff_naming_unknown_user_gets_404(client_for, staff_user):
    response = client_for(staff_user).post(
        "/api/credits/add", {"userId": 2**62, "amount": 1}, format="json"
    )

    assert response.status_code == 404


def test_anonymous_is_refused(anon_client):
    assert anon_client.get("/api/credits/balance").status_code == 401
    assert anon_client.post("/api/credits/deduct", {"amount": 1}).status_code == 401


def test_api_key_holder_is_refused_even_reading(user, api_key_for, key_client_for):
    # Credits are a person's business: an application holding a key may not
    # spend them, so it does not read them either (JWT only).
    grant(user, 7)
    key, secret = api_key_for(user)

    response = key_client_for(key, secret).get("/api/credits/balance")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "jwt_required"
