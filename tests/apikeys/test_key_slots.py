"""The tier's key limit counts revoked keys that still hold files; purging
them frees the place (red-team: revoke-and-recreate escaped the limit)."""

from __future__ import annotations

import pytest

from storage.models import Namespace
from tests.storage.conftest import upload
from tiers.models import Tier
from tiers.services import user_change_tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(user, staff_user):
    two_keys = Tier.objects.create(name="Two keys", max_api_keys=2)
    return user_change_tier(user=user, tier=two_keys, actor=staff_user)


def create(client, name):
    return client.post("/api/apikeys", {"name": name}, format="json")


def test_a_revoked_key_holding_files_keeps_its_place_until_purged(
    owner, client_for, key_client_for, api_key_for, s3
):
    client = client_for(owner)
    api_key, secret = api_key_for(owner, name="full")
    assert upload(key_client_for(api_key, secret), b"data").status_code == 201
    api_key_for(owner, name="second")

    assert client.delete(f"/api/apikeys/{api_key.pk}").status_code == 200
    counts = client.get("/api/users/summary").json()["apiKeys"]
    assert (counts["revoked"], counts["remaining"]) == (1, 0)
    refused = create(client, "third")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "api_key_limit_reached"

    purged = client.delete(f"/api/apikeys/{api_key.pk}?purge=true")
    assert client.get("/api/users/summary").json()["apiKeys"]["remaining"] == 1
    assert purged.status_code == 200
    assert purged.json()["revokedAt"] is not None
    assert not Namespace.objects.filter(api_key=api_key).exists()
    listed = s3.list_objects_v2(Bucket="pockity-test", Prefix=api_key.prefix)
    assert listed.get("KeyCount", 0) == 0
    assert create(client, "third").status_code == 201


def test_a_revoked_empty_key_frees_its_place(owner, client_for, api_key_for, s3):
    client = client_for(owner)
    api_key, _ = api_key_for(owner, name="empty")
    api_key_for(owner, name="second")

    assert client.delete(f"/api/apikeys/{api_key.pk}").status_code == 200

    assert create(client, "third").status_code == 201


def test_revoking_and_purging_in_one_call(
    owner, client_for, key_client_for, api_key_for, s3
):
    api_key, secret = api_key_for(owner)
    upload(key_client_for(api_key, secret), b"data")

    response = client_for(owner).delete(f"/api/apikeys/{api_key.pk}?purge=true")

    assert response.status_code == 200
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert not Namespace.objects.filter(api_key=api_key).exists()


def test_purge_of_another_tenants_key_is_a_404_and_deletes_nothing(
    owner, other_user, client_for, key_client_for, api_key_for, s3
):
    api_key, secret = api_key_for(owner)
    upload(key_client_for(api_key, secret), b"data")

    response = client_for(other_user).delete(f"/api/apikeys/{api_key.pk}?purge=true")

    assert response.status_code == 404
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    assert Namespace.objects.get(api_key=api_key).object_count == 1


def test_purge_takes_only_true_or_false(owner, client_for, api_key_for, s3):
    api_key, _ = api_key_for(owner)

    response = client_for(owner).delete(f"/api/apikeys/{api_key.pk}?purge=yes")

    assert response.status_code == 400
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
