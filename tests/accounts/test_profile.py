"""Profile, change-password and summary under /api/users/."""

from __future__ import annotations

import pytest

from accounts import signals
from storage.services import namespace_for_user
from tests.accounts.conftest import bearer
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-Stapler-Orbit-77"


def test_profile_shows_the_user_tier_and_usage(client_for, user, other_user):
    namespace = namespace_for_user(other_user)
    namespace.bytes_used = 999
    namespace.save()

    response = client_for(user).get("/api/users/profile")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == user.pk
    assert body["email"] == user.email
    assert body["name"] == "Olive Owner"
    assert body["role"] == "USER"
    assert body["tier"]["name"] == "Free"
    assert body["tier"]["maxApiKeys"] == 5
    assert body["usage"]["bytesUsed"] == 0
    assert body["usage"]["namespace"] == f"users/{user.pk}/"
    assert body["usage"]["limits"]["storageBytes"] == user.tier.storage_bytes_limit


def test_profile_needs_a_jwt(anon_client):
    response = anon_client.get("/api/users/profile")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_staff_profile_shows_admin_role(client_for, staff_user):
    assert client_for(staff_user).get("/api/users/profile").json()["role"] == "ADMIN"


def test_an_api_key_cannot_use_account_endpoints(user, api_key_for, key_client_for):
    api_key, secret = api_key_for(user)
    client = key_client_for(api_key, secret)

    responses = [
        client.get("/api/users/profile"),
        client.post(
            "/api/users/change-password",
            {"currentPassword": TEST_PASSWORD, "newPassword": NEW_PASSWORD},
            format="json",
        ),
        client.delete("/api/users/account", {"password": TEST_PASSWORD}, format="json"),
        client.post("/api/apikeys", {"name": "minted by a key"}, format="json"),
    ]

    assert [r.status_code for r in responses] == [403] * 4
    assert {r.json()["error"]["code"] for r in responses} == {"jwt_required"}
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_the_name_changes_and_a_signal_records_it(client_for, user, other_user):
    received = []
    signals.profile_updated.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t-prof"
    )
    try:
        response = client_for(user).put(
            "/api/users/profile", {"name": "New Name"}, format="json"
        )
    finally:
        signals.profile_updated.disconnect(dispatch_uid="t-prof")

    assert response.status_code == 200
    assert response.json()["name"] == "New Name"
    user.refresh_from_db()
    other_user.refresh_from_db()
    assert user.name == "New Name"
    assert other_user.name == "Otto Other"
    assert received[0]["changes"] == {"name": ["Olive Owner", "New Name"]}
    assert received[0]["actor"] == user


def test_the_seed_profile_example_changes_name_and_email(
    client_for, user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).put(
            "/api/users/profile",
            {"name": "New Name", "email": "newemail@example.com"},
            format="json",
        )

    assert response.status_code == 200
    assert response.json()["email"] == "newemail@example.com"
    user.refresh_from_db()
    assert user.email == "newemail@example.com"
    assert user.name == "New Name"
    notices = [m for m in mailoutbox if m.to == ["owner@example.com"]]
    assert len(notices) == 1
    assert "newemail@example.com" in notices[0].body


def test_a_wrong_password_sent_with_an_email_change_is_refused(client_for, user):
    response = client_for(user).put(
        "/api/users/profile",
        {"name": "New Name", "email": "newemail@example.com", "currentPassword": "x"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wrong_password"
    user.refresh_from_db()
    assert user.email == "owner@example.com"
    assert user.name == "Olive Owner"


def test_an_email_change_with_the_password_unverifies(client_for, user):
    user.email_verified_at = "2026-01-01T00:00:00Z"
    user.save()

    response = client_for(user).put(
        "/api/users/profile",
        {"email": "NewEmail@Example.com", "currentPassword": TEST_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["email"] == "newemail@example.com"
    assert response.json()["emailVerified"] is False
    user.refresh_from_db()
    assert user.email == "newemail@example.com"
    assert user.email_verified_at is None


def test_an_email_change_to_a_taken_address_is_409(client_for, user, other_user):
    response = client_for(user).put(
        "/api/users/profile",
        {"email": other_user.email.upper(), "currentPassword": TEST_PASSWORD},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


def test_unknown_profile_fields_are_refused(client_for, user):
    response = client_for(user).put(
        "/api/users/profile", {"isStaff": True, "role": "ADMIN"}, format="json"
    )

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.is_staff is False


def test_change_password_ends_old_tokens_and_returns_new_ones(anon_client, user, login):
    old = login(user)
    other_device = login(user)

    response = bearer(old["accessToken"]).post(
        "/api/users/change-password",
        {"currentPassword": TEST_PASSWORD, "newPassword": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    fresh = response.json()
    assert bearer(old["accessToken"]).get("/api/users/profile").status_code == 401
    assert (
        bearer(other_device["accessToken"]).get("/api/users/profile").status_code == 401
    )
    for stale in (old["refreshToken"], other_device["refreshToken"]):
        refused = anon_client.post(
            "/api/auth/refresh", {"refreshToken": stale}, format="json"
        )
        assert refused.status_code == 401
    assert bearer(fresh["accessToken"]).get("/api/users/profile").status_code == 200
    assert (
        anon_client.post(
            "/api/auth/refresh", {"refreshToken": fresh["refreshToken"]}, format="json"
        ).status_code
        == 200
    )
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert login(user, NEW_PASSWORD)["accessToken"]


def test_change_password_checks_the_current_password(client_for, user):
    response = client_for(user).post(
        "/api/users/change-password",
        {"currentPassword": "not-it", "newPassword": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wrong_password"
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_change_password_runs_the_validators(client_for, user):
    response = client_for(user).post(
        "/api/users/change-password",
        {"currentPassword": TEST_PASSWORD, "newPassword": "password123"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"]["password"]
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_change_password_accepts_old_password_as_the_field_name(client_for, user):
    response = client_for(user).post(
        "/api/users/change-password",
        {"oldPassword": TEST_PASSWORD, "newPassword": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 200


def test_summary_has_tier_usage_and_keys_of_the_owner_only(
    client_for, user, other_user, api_key_for
):
    own_key, _ = api_key_for(user, name="mine")
    revoked_key, _ = api_key_for(user, name="old")
    api_key_for(other_user, name="theirs")
    from apikeys.services import api_key_revoke
    from storage.models import Namespace

    api_key_revoke(api_key=revoked_key, actor=user)
    Namespace.objects.filter(api_key=own_key).update(bytes_used=40, object_count=2)
    namespace = namespace_for_user(user)
    namespace.bytes_used, namespace.object_count = 2, 1
    namespace.save()

    response = client_for(user).get("/api/users/summary")

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == user.email
    assert body["tier"]["name"] == "Free"
    assert body["usage"]["user"]["bytesUsed"] == 2
    assert body["usage"]["total"] == {"bytesUsed": 42, "objects": 3}
    assert body["apiKeys"] == {
        "total": 2,
        "active": 1,
        "expired": 0,
        "revoked": 1,
        "limit": 5,
        "remaining": 4,
    }
    names = {key["name"]: key for key in body["keys"]}
    assert set(names) == {"mine", "old"}
    assert names["mine"]["usage"]["bytesUsed"] == 40
    assert names["old"]["status"] == "revoked"
    assert "secretKey" not in str(body)
