"""POST /api/auth/register."""

from __future__ import annotations

import pytest

from accounts import signals
from accounts.models import User
from tests.accounts.conftest import bearer
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_it_registers_and_returns_user_and_tokens(anon_client):
    received = []
    signals.user_registered.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t-reg"
    )
    try:
        response = anon_client.post(
            "/api/auth/register",
            {"email": "New.Person@Example.COM", "password": TEST_PASSWORD, "name": "N"},
            format="json",
        )
    finally:
        signals.user_registered.disconnect(dispatch_uid="t-reg")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["user"]["email"] == "new.person@example.com"
    assert body["user"]["name"] == "N"
    assert body["user"]["role"] == "USER"
    assert body["user"]["tier"]["name"] == "Free"
    assert body["user"]["emailVerified"] is False
    assert body["token"] == body["accessToken"]
    assert body["refreshToken"]
    assert "password" not in str(body).lower()
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password(TEST_PASSWORD)
    assert received[0]["user"] == user and received[0]["actor"] == user

    profile = bearer(body["token"]).get("/api/users/profile")
    assert profile.status_code == 200
    assert profile.json()["email"] == "new.person@example.com"


def test_it_refuses_the_seed_password_listing_the_reasons(anon_client):
    response = anon_client.post(
        "/api/auth/register",
        {"email": "user@example.com", "password": "password123", "name": "John Doe"},
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    reasons = error["details"]["fields"]["password"]
    assert any("too common" in reason for reason in reasons)
    assert not User.objects.filter(email="user@example.com").exists()


def test_it_lists_every_reason_for_a_weak_password(anon_client):
    response = anon_client.post(
        "/api/auth/register",
        {"email": "user@example.com", "password": "1234"},
        format="json",
    )

    assert response.status_code == 400
    reasons = response.json()["error"]["details"]["fields"]["password"]
    assert len(reasons) >= 3  # too short, too common, entirely numeric


def test_it_refuses_a_password_like_the_email(anon_client):
    response = anon_client.post(
        "/api/auth/register",
        {"email": "marguerite.lavender@example.com", "password": "marguerite.lavender"},
        format="json",
    )

    assert response.status_code == 400
    reasons = response.json()["error"]["details"]["fields"]["password"]
    assert any("similar" in reason for reason in reasons)


def test_it_refuses_a_duplicate_email_whatever_the_case(anon_client, user):
    response = anon_client.post(
        "/api/auth/register",
        {"email": user.email.upper(), "password": TEST_PASSWORD},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"
    assert User.objects.filter(email__iexact=user.email).count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"email": "not-an-email", "password": TEST_PASSWORD},
        {"email": "a@example.com"},
        {"email": "a@example.com", "password": TEST_PASSWORD, "role": "ADMIN"},
        {"email": ["a@example.com"], "password": TEST_PASSWORD},
    ],
)
def test_it_rejects_bad_input_with_400(anon_client, payload):
    response = anon_client.post("/api/auth/register", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not User.objects.filter(is_staff=True).exists()


def test_it_rejects_malformed_json_with_400(anon_client):
    response = anon_client.post(
        "/api/auth/register", '{"email":', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_registration_is_throttled(anon_client, settings):
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], register="2/min")
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": rates,
    }
    statuses = [
        anon_client.post(
            "/api/auth/register",
            {"email": f"u{i}@example.com", "password": TEST_PASSWORD},
            format="json",
        ).status_code
        for i in range(3)
    ]

    assert statuses == [201, 201, 429]
