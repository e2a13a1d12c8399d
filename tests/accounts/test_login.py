"""POST /api/auth/login: tokens, Django's login signals, throttling."""

from __future__ import annotations

import pytest
from django.contrib.auth.signals import user_logged_in, user_login_failed

from tests.accounts.conftest import bearer
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def login_signals():
    seen = {"in": [], "failed": []}

    def on_in(sender, request=None, user=None, **kwargs):
        seen["in"].append((user, request))

    def on_failed(sender, credentials=None, request=None, **kwargs):
        seen["failed"].append((credentials, request))

    user_logged_in.connect(on_in, dispatch_uid="t-login-in")
    user_login_failed.connect(on_failed, dispatch_uid="t-login-failed")
    yield seen
    user_logged_in.disconnect(dispatch_uid="t-login-in")
    user_login_failed.disconnect(dispatch_uid="t-login-failed")


def test_it_returns_tokens_usable_as_bearer(anon_client, user, login_signals):
    response = anon_client.post(
        "/api/auth/login",
        {"email": "OWNER@example.com", "password": TEST_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == user.pk
    assert body["token"] == body["accessToken"]
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] > 0
    assert bearer(body["token"]).get("/api/users/profile").status_code == 200
    ((signed_in, request),) = login_signals["in"]
    assert signed_in == user
    assert request is not None and request.path == "/api/auth/login"
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize(
    "email, password",
    [
        ("owner@example.com", "wrong-password-1"),
        ("nobody@example.com", TEST_PASSWORD),
    ],
)
def test_wrong_password_and_unknown_email_fail_alike(
    anon_client, user, login_signals, email, password
):
    response = anon_client.post(
        "/api/auth/login", {"email": email, "password": password}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "invalid_credentials",
            "message": "The e-mail address or password is incorrect.",
            "details": {},
        }
    }
    assert login_signals["in"] == []
    ((credentials, request),) = login_signals["failed"]
    assert credentials["email"] == email
    assert credentials["password"] != password  # Django cleanses it
    assert request is not None


def test_an_inactive_user_cannot_sign_in(anon_client, user, login_signals):
    user.is_active = False
    user.save()

    response = anon_client.post(
        "/api/auth/login",
        {"email": user.email, "password": TEST_PASSWORD},
        format="json",
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert login_signals["failed"]


def test_a_stale_authorization_header_does_not_block_login(anon_client, user):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = anon_client.post(
        "/api/auth/login",
        {"email": user.email, "password": TEST_PASSWORD},
        format="json",
    )

    assert response.status_code == 200


def test_login_is_throttled_per_client_address(anon_client, user):
    statuses = [
        anon_client.post(
            "/api/auth/login",
            {"email": user.email, "password": f"wrong-{i}"},
            format="json",
        ).status_code
        for i in range(10)
    ]
    throttled = anon_client.post(
        "/api/auth/login",
        {"email": user.email, "password": TEST_PASSWORD},
        format="json",
    )

    assert statuses == [401] * 10
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0


def test_a_forged_forwarded_for_header_does_not_escape_the_throttle(anon_client, user):
    for i in range(10):
        anon_client.post(
            "/api/auth/login",
            {"email": user.email, "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )

    response = anon_client.post(
        "/api/auth/login",
        {"email": user.email, "password": TEST_PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )

    assert response.status_code == 429


def test_login_rejects_bad_input(anon_client):
    response = anon_client.post("/api/auth/login", {"email": "x"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_logins_and_failures_reach_the_audit_log(anon_client, user):
    from audit.models import AuditLog

    anon_client.post(
        "/api/auth/login",
        {"email": user.email, "password": "wrong"},
        format="json",
        REMOTE_ADDR="192.0.2.44",
    )
    anon_client.post(
        "/api/auth/login",
        {"email": user.email, "password": TEST_PASSWORD},
        format="json",
        REMOTE_ADDR="192.0.2.44",
    )

    failed = AuditLog.objects.get(action="USER_LOGIN_FAILED")
    succeeded = AuditLog.objects.get(action="USER_LOGIN")
    assert failed.user_id == user.pk and failed.ip_address == "192.0.2.44"
    assert succeeded.user_id == user.pk and succeeded.ip_address == "192.0.2.44"
    assert "wrong" not in str(failed.metadata)
