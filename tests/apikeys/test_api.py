"""/api/apikeys: create (secret once), list, detail, revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apikeys.crypto import decrypt_secret, secret_digest
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke
from storage.models import Namespace
from tiers.models import Tier

pytestmark = pytest.mark.django_db


def create(client, **payload):
    payload.setdefault("name", "My API Key")
    return client.post("/api/apikeys", payload, format="json")


def test_create_returns_the_pair_once_and_provisions_the_folder(client_for, user, s3):
    response = create(client_for(user))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["accessKeyId"].startswith("pk_")
    assert body["secretKey"].startswith("sk_")
    assert len(body["secretKey"]) >= 3 + 43  # 256 random bits, base64url
    assert body["storagePath"] == f"apikeys/{body['accessKeyId']}/"
    assert body["status"] == "active"
    assert body["tier"] == "Free"
    assert body["storageBytesLimit"] == user.tier.storage_bytes_limit
    assert body["objectLimit"] == user.tier.object_limit
    assert body["canWrite"] is True and body["readOnly"] is False
    assert body["usage"]["bytesUsed"] == 0
    assert "warning" in body
    api_key = ApiKey.objects.get(access_key_id=body["accessKeyId"])
    assert api_key.owner == user
    assert Namespace.objects.filter(api_key=api_key).exists()
    marker = s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=body["storagePath"])
    assert [item["Key"] for item in marker["Contents"]] == [body["storagePath"]]


def test_the_secret_is_never_shown_again(client_for, user):
    client = client_for(user)
    body = create(client).json()

    listing = client.get("/api/apikeys")
    detail = client.get(f"/api/apikeys/{body['id']}")
    revoked = client.delete(f"/api/apikeys/{body['id']}")

    for response in (listing, detail, revoked):
        assert response.status_code == 200
        assert body["secretKey"] not in response.content.decode()
        assert "secretKey" not in response.content.decode()


def test_the_secret_is_stored_as_digest_and_ciphertext_only(client_for, user):
    body = create(client_for(user)).json()
    secret = body["secretKey"]

    api_key = ApiKey.objects.get(pk=body["id"])
    stored = {
        field.attname: str(getattr(api_key, field.attname))
        for field in ApiKey._meta.concrete_fields
    }

    assert all(secret not in value for value in stored.values())
    assert api_key.secret_digest == secret_digest(secret)
    assert decrypt_secret(api_key.secret_encrypted) == secret


def test_read_only_shortcut(client_for, user):
    response = create(client_for(user), readOnly=True)

    body = response.json()
    assert response.status_code == 201
    assert (body["canList"], body["canRead"], body["canWrite"], body["canDelete"]) == (
        True,
        True,
        False,
        False,
    )
    assert body["readOnly"] is True
    api_key = ApiKey.objects.get(pk=body["id"])
    assert not api_key.can_write and not api_key.can_delete


def test_explicit_capabilities(client_for, user):
    body = create(client_for(user), canList=False, canDelete=False).json()

    assert (body["canList"], body["canRead"], body["canWrite"], body["canDelete"]) == (
        False,
        True,
        True,
        False,
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "bad\nname"},
        {"name": "k", "readOnly": True, "canWrite": True},
        {
            "name": "k",
            "canList": False,
            "canRead": False,
            "canWrite": False,
            "canDelete": False,
        },
        {"name": "k", "expiresAt": "2001-01-01T00:00:00Z"},
        {"name": "k", "expiresAt": "tomorrow"},
        {"name": "k", "storageBytesLimit": 10**30},
        {"name": ["k"]},
    ],
)
def test_bad_create_input_is_400_and_creates_nothing(client_for, user, payload):
    response = client_for(user).post("/api/apikeys", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not ApiKey.objects.exists()


def test_expiry_in_the_future_is_kept(client_for, user):
    expires = timezone.now() + timedelta(days=3)

    body = create(client_for(user), expiresAt=expires.isoformat()).json()

    assert ApiKey.objects.get(pk=body["id"]).expires_at == expires
    assert body["expiresAt"]


def test_the_tier_key_limit_is_enforced(client_for, user):
    tier = Tier.objects.create(name="Tiny", max_api_keys=2)
    user.tier = tier
    user.save()
    client = client_for(user)

    first, second, third = (create(client, name=f"k{i}") for i in range(3))

    assert (first.status_code, second.status_code) == (201, 201)
    assert third.status_code == 409
    assert third.json()["error"]["code"] == "api_key_limit_reached"
    assert third.json()["error"]["details"]["limit"] == 2
    assert ApiKey.objects.filter(owner=user).count() == 2

    client.delete(f"/api/apikeys/{first.json()['id']}")
    assert create(client, name="after revoke").status_code == 201


def test_list_shows_own_keys_only_paginated(client_for, user, other_user, api_key_for):
    for i in range(3):
        api_key_for(user, name=f"mine-{i}")
    api_key_for(other_user, name="theirs")

    response = client_for(user).get("/api/apikeys?limit=2")
    rest = client_for(user).get("/api/apikeys?limit=2&offset=2")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    names = [k["name"] for k in body["results"] + rest.json()["results"]]
    assert sorted(names) == ["mine-0", "mine-1", "mine-2"]
    assert body["results"][0]["usage"] == {"bytesUsed": 0, "objects": 0}


def test_list_runs_a_fixed_number_of_queries(
    client_for, user, api_key_for, django_assert_max_num_queries
):
    client = client_for(user)
    for i in range(8):
        api_key_for(user, name=f"k{i}", enforce_tier_key_limit=False)

    with django_assert_max_num_queries(6):
        response = client.get("/api/apikeys")

    assert len(response.json()["results"]) == 8


def test_list_filters_by_status(client_for, user, api_key_for):
    active, _ = api_key_for(user, name="active")
    revoked, _ = api_key_for(user, name="revoked")
    expired, _ = api_key_for(user, name="expired")
    api_key_revoke(api_key=revoked, actor=user)
    ApiKey.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    client = client_for(user)

    def names(status):
        return [
            k["name"]
            for k in client.get(f"/api/apikeys?status={status}").json()["results"]
        ]

    assert names("active") == ["active"]
    assert names("revoked") == ["revoked"]
    assert names("expired") == ["expired"]
    assert client.get("/api/apikeys?status=bogus").status_code == 400


@pytest.mark.parametrize("query", ["limit=-1", "offset=-5", "limit=abc", "limit=0"])
def test_bad_pagination_is_400(client_for, user, query):
    assert client_for(user).get(f"/api/apikeys?{query}").status_code == 400


def test_detail_by_id_and_by_access_key_id(client_for, user, api_key_for):
    api_key, _ = api_key_for(user, name="mine")
    Namespace.objects.filter(api_key=api_key).update(bytes_used=5, object_count=1)
    client = client_for(user)

    by_id = client.get(f"/api/apikeys/{api_key.pk}")
    by_access_key = client.get(f"/api/apikeys/{api_key.access_key_id}")

    assert by_id.status_code == 200
    assert by_id.json() == by_access_key.json()
    assert by_id.json()["usage"]["bytesUsed"] == 5
    assert (
        by_id.json()["usage"]["limits"]["storageBytes"] == api_key.storage_bytes_limit
    )


def test_another_users_key_is_404_for_detail_and_revoke(
    client_for, user, other_user, api_key_for
):
    theirs, _ = api_key_for(other_user)
    client = client_for(user)

    for key_id in (theirs.pk, theirs.access_key_id):
        assert client.get(f"/api/apikeys/{key_id}").status_code == 404
        assert client.delete(f"/api/apikeys/{key_id}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active and theirs.revoked_at is None


@pytest.mark.parametrize(
    "key_id",
    ["99999999999999999999999", "9223372036854775808", "0", "-1", "abc", "pk_", "%00"],
)
def test_unknown_or_out_of_range_ids_are_404(client_for, user, key_id):
    client = client_for(user)

    assert client.get(f"/api/apikeys/{key_id}").status_code == 404
    assert client.delete(f"/api/apikeys/{key_id}").status_code == 404


def test_revoke_is_soft_immediate_and_idempotent(
    client_for, user, api_key_for, key_client_for, s3
):
    api_key, secret = api_key_for(user)
    s3.put_object(Bucket=settings.S3_BUCKET, Key=f"{api_key.prefix}f.txt", Body=b"x")
    client = client_for(user)

    first = client.delete(f"/api/apikeys/{api_key.pk}")
    second = client.delete(f"/api/apikeys/{api_key.access_key_id}")

    assert first.status_code == 200
    assert first.json()["status"] == "revoked"
    assert first.json()["isActive"] is False
    assert first.json()["revokedAt"]
    assert second.status_code == 200
    assert second.json()["revokedAt"] == first.json()["revokedAt"]
    api_key.refresh_from_db()
    assert not api_key.is_active and api_key.revoked_at is not None
    # Files stay until the account is deleted.
    listing = s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=api_key.prefix)
    assert f"{api_key.prefix}f.txt" in [item["Key"] for item in listing["Contents"]]
    refused = key_client_for(api_key, secret).get("/api/storage/files")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "This API key has been revoked."


def test_key_endpoints_need_a_jwt(anon_client):
    assert anon_client.get("/api/apikeys").status_code == 401
    assert (
        anon_client.post("/api/apikeys", {"name": "x"}, format="json").status_code
        == 401
    )
