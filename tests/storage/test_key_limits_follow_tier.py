"""A key on its tier's defaults follows its owner's current tier; a key with
granted figures keeps them (red-team: a one-month plan bought keys with the
high quota for ever)."""

from __future__ import annotations

import pytest

from apikeys.request_services import (
    api_key_request_create_quota_increase,
    api_key_request_decide,
)
from apikeys.services import api_key_set_limits
from tests.storage.conftest import upload
from tiers.models import Tier
from tiers.services import user_change_tier

pytestmark = pytest.mark.django_db

GB = 2**30


@pytest.fixture
def small():
    return Tier.objects.create(
        name="Small",
        storage_bytes_limit=1 * GB,
        object_limit=100,
        max_file_size_bytes=1000,
    )


@pytest.fixture
def large():
    return Tier.objects.create(
        name="Large",
        storage_bytes_limit=100 * GB,
        object_limit=10_000,
        max_file_size_bytes=2 * GB,
    )


@pytest.fixture
def owner(user, small, staff_user):
    user.email_verified = True
    user.save()
    return user_change_tier(user=user, tier=small, actor=staff_user)


def usage_limits(client) -> dict:
    response = client.get("/api/storage/usage")
    assert response.status_code == 200, response.content
    return response.json()["limits"]


def test_a_default_key_rises_and_falls_with_its_owners_tier(
    owner, small, large, staff_user, api_key_for, key_client_for, client_for
):
    api_key, secret = api_key_for(owner)
    client = key_client_for(api_key, secret)
    assert usage_limits(client) == {
        "storageBytes": 1 * GB,
        "objects": 100,
        "maxFileSize": 1000,
    }

    user_change_tier(user=owner, tier=large, actor=staff_user)
    assert usage_limits(client) == {
        "storageBytes": 100 * GB,
        "objects": 10_000,
        "maxFileSize": 2 * GB,
    }

    user_change_tier(user=owner, tier=small, actor=staff_user)
    assert usage_limits(client) == {
        "storageBytes": 1 * GB,
        "objects": 100,
        "maxFileSize": 1000,
    }
    listed = client_for(owner).get(f"/api/apikeys/{api_key.pk}").json()
    assert listed["storageBytesLimit"] == 1 * GB
    assert listed["objectLimit"] == 100


def test_a_downgrade_refuses_uploads_over_the_new_tiers_file_size(
    owner, small, large, staff_user, api_key_for, key_client_for
):
    user_change_tier(user=owner, tier=large, actor=staff_user)
    api_key, secret = api_key_for(owner)
    user_change_tier(user=owner, tier=small, actor=staff_user)

    client = key_client_for(api_key, secret)
    response = upload(client, b"x" * 1001, filename="big.bin")

    assert response.status_code == 413, response.content
    assert usage_limits(client)["maxFileSize"] == 1000


def test_a_key_with_an_approved_quota_increase_keeps_its_own_figures(
    owner, small, staff_user, api_key_for, key_client_for
):
    api_key, secret = api_key_for(owner)
    increase = api_key_request_create_quota_increase(
        user=owner, api_key=api_key, storage_bytes=5 * GB, objects=None
    )
    api_key_request_decide(api_key_request=increase, approved=True, reviewer=staff_user)
    client = key_client_for(api_key, secret)
    assert usage_limits(client)["storageBytes"] == 5 * GB
    # The figure not asked for is pinned at what the key had then.
    assert usage_limits(client)["objects"] == 100

    free = Tier.objects.create(name="Tiny", storage_bytes_limit=GB // 4, object_limit=5)
    user_change_tier(user=owner, tier=free, actor=staff_user)

    assert usage_limits(client)["storageBytes"] == 5 * GB
    assert usage_limits(client)["objects"] == 100


def test_an_operator_edit_pins_the_keys_limits(
    owner, large, staff_user, api_key_for, key_client_for
):
    api_key, secret = api_key_for(owner)
    api_key_set_limits(
        api_key=api_key, storage_bytes_limit=3 * GB, object_limit=7, actor=staff_user
    )

    user_change_tier(user=owner, tier=large, actor=staff_user)

    assert usage_limits(key_client_for(api_key, secret))["storageBytes"] == 3 * GB
    assert usage_limits(key_client_for(api_key, secret))["objects"] == 7


def test_another_tenants_tier_change_does_not_move_my_key(
    owner, other_user, large, staff_user, api_key_for, key_client_for
):
    api_key, secret = api_key_for(owner)

    user_change_tier(user=other_user, tier=large, actor=staff_user)

    assert usage_limits(key_client_for(api_key, secret))["storageBytes"] == 1 * GB


def test_the_admin_form_shows_the_tier_figures_and_saving_them_does_not_pin(
    owner, large, staff_user, api_key_for, client
):
    api_key, _ = api_key_for(owner)
    user_change_tier(user=owner, tier=large, actor=staff_user)
    client.force_login(staff_user)
    url = f"/admin/apikeys/apikey/{api_key.pk}/change/"

    page = client.get(url)
    form = page.context["adminform"].form
    assert form.initial["storage_bytes_limit"] == 100 * GB
    assert form.initial["object_limit"] == 10_000

    saved = client.post(
        url,
        {
            "name": "renamed",
            "storage_bytes_limit": 100 * GB,
            "object_limit": 10_000,
            "can_list": "on",
            "can_read": "on",
            "can_write": "on",
            "can_delete": "on",
        },
    )
    assert saved.status_code == 302, saved.content[:2000]
    api_key.refresh_from_db()
    assert api_key.name == "renamed"
    assert api_key.limits_from_tier is True


def test_a_default_key_names_the_tier_its_limits_come_from(
    owner, large, staff_user, api_key_for, client_for
):
    api_key, _secret = api_key_for(owner)

    user_change_tier(user=owner, tier=large, actor=staff_user)
    shown = client_for(owner).get(f"/api/apikeys/{api_key.pk}").json()

    assert shown["tier"] == "Large"
    assert shown["storageBytesLimit"] == 100 * GB
