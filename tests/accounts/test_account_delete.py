"""DELETE /api/users/account: keys revoked, files purged, tokens ended."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts import signals
from accounts.models import User
from apikeys.models import ApiKey
from storage.models import Namespace
from storage.services import namespace_for_user
from tests.accounts.conftest import bearer
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def keys_under(s3, prefix):
    listing = s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def put(s3, key, body=b"data"):
    s3.put_object(Bucket=settings.S3_BUCKET, Key=key, Body=body)


@pytest.fixture
def populated(user, other_user, api_key_for, s3):
    """The user with files in users/{id}/ and under two keys (one revoked)."""
    from apikeys.services import api_key_revoke

    namespace_for_user(user)
    key_a, secret_a = api_key_for(user, name="a")
    key_b, _ = api_key_for(user, name="b")
    api_key_revoke(api_key=key_b, actor=user)
    theirs, _ = api_key_for(other_user, name="theirs")
    namespace_for_user(other_user)
    for key in (
        f"users/{user.pk}/one.txt",
        f"users/{user.pk}/dir/two.txt",
        f"{key_a.prefix}a.txt",
        f"{key_b.prefix}b.txt",
        f"users/{other_user.pk}/keep.txt",
        f"{theirs.prefix}keep.txt",
    ):
        put(s3, key)
    return {"key_a": key_a, "secret_a": secret_a, "key_b": key_b, "theirs": theirs}


def test_it_deletes_everything_of_the_user_and_nothing_else(
    anon_client, user, other_user, login, populated, s3, key_client_for
):
    tokens = login(user)
    user_id = user.pk
    received = []
    signals.account_deleted.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t-del"
    )
    try:
        response = bearer(tokens["accessToken"]).delete(
            "/api/users/account", {"password": TEST_PASSWORD}, format="json"
        )
    finally:
        signals.account_deleted.disconnect(dispatch_uid="t-del")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["deleted"] is True
    assert sorted(body["deletedApiKeys"]) == sorted(
        [populated["key_a"].access_key_id, populated["key_b"].access_key_id]
    )
    assert f"users/{user_id}/" in body["purgedPrefixes"]
    assert not User.objects.filter(pk=user_id).exists()
    assert not ApiKey.objects.filter(owner_id=user_id).exists()
    assert keys_under(s3, f"users/{user_id}/") == []
    assert keys_under(s3, populated["key_a"].prefix) == []
    assert keys_under(s3, populated["key_b"].prefix) == []
    assert not Namespace.objects.filter(prefix=f"users/{user_id}/").exists()
    assert keys_under(s3, f"users/{other_user.pk}/") == [
        f"users/{other_user.pk}/keep.txt"
    ]
    assert f"{populated['theirs'].prefix}keep.txt" in keys_under(
        s3, populated["theirs"].prefix
    )
    assert received[0]["user_id"] == user_id
    assert received[0]["email"] == "owner@example.com"

    assert bearer(tokens["accessToken"]).get("/api/users/profile").status_code == 401
    refreshed = anon_client.post(
        "/api/auth/refresh", {"refreshToken": tokens["refreshToken"]}, format="json"
    )
    assert refreshed.status_code == 401
    key_client = key_client_for(populated["key_a"], populated["secret_a"])
    assert key_client.get("/api/storage/files").status_code == 401


def test_audit_entries_outlive_the_account(client_for, user, populated):
    from audit.models import AuditLog

    user_id = user.pk
    before = AuditLog.objects.filter(user_id=user_id).count()

    response = client_for(user).delete(
        "/api/users/account", {"password": TEST_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert before > 0  # key creations and the revocation were recorded
    assert AuditLog.objects.filter(user_id=user_id).count() > before
    deleted = AuditLog.objects.get(action="ACCOUNT_DELETED", user_id=user_id)
    assert deleted.user_label == "owner@example.com" or "owner@example.com" in str(
        deleted.metadata
    )


def test_a_wrong_or_missing_password_deletes_nothing(client_for, user, populated, s3):
    client = client_for(user)

    wrong = client.delete("/api/users/account", {"password": "nope"}, format="json")
    missing = client.delete("/api/users/account", {}, format="json")

    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "wrong_password"
    assert missing.status_code == 400
    assert User.objects.filter(pk=user.pk).exists()
    assert keys_under(s3, f"users/{user.pk}/") == [
        f"users/{user.pk}/dir/two.txt",
        f"users/{user.pk}/one.txt",
    ]
    populated["key_a"].refresh_from_db()
    assert populated["key_a"].is_active


def test_deleting_works_when_nothing_was_ever_stored(client_for, other_user):
    response = client_for(other_user).delete(
        "/api/users/account", {"password": TEST_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert not User.objects.filter(pk=other_user.pk).exists()


def test_s3_down_leaves_the_user_able_to_retry(
    client_for, user, populated, settings, login, s3
):
    endpoint = settings.S3_ENDPOINT_URL
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens here
    settings.S3_MAX_ATTEMPTS = 1
    settings.S3_CONNECT_TIMEOUT = 1

    failed = client_for(user).delete(
        "/api/users/account", {"password": TEST_PASSWORD}, format="json"
    )

    assert failed.status_code == 503
    assert User.objects.filter(pk=user.pk).exists()
    populated["key_a"].refresh_from_db()
    assert populated["key_a"].revoked_at is not None

    settings.S3_ENDPOINT_URL = endpoint
    tokens = login(user)
    retried = bearer(tokens["accessToken"]).delete(
        "/api/users/account", {"password": TEST_PASSWORD}, format="json"
    )
    assert retried.status_code == 200
    assert keys_under(s3, f"users/{user.pk}/") == []
