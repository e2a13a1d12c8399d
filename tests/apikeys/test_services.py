"""apikeys.services called directly, as the admin and other services do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys import services
from apikeys import signals as apikey_signals
from apikeys.models import ApiKey
from pockity.exceptions import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", [-1, 2**63, 99999999999999999999999, "5", True])
def test_out_of_range_limits_are_refused_with_400(user, api_key_for, value):
    api_key, _ = api_key_for(user)

    with pytest.raises(InvalidInput):
        services.api_key_set_limits(
            api_key=api_key, storage_bytes_limit=value, object_limit=None
        )
    with pytest.raises(InvalidInput):
        services.api_key_create(owner=user, name="x", object_limit=value)

    api_key.refresh_from_db()
    assert api_key.storage_bytes_limit == user.tier.storage_bytes_limit
    assert ApiKey.objects.filter(owner=user).count() == 1


def test_limits_up_to_the_64_bit_maximum_are_kept(user, api_key_for):
    api_key, _ = api_key_for(user)

    services.api_key_set_limits(
        api_key=api_key, storage_bytes_limit=2**63 - 1, object_limit=0
    )

    api_key.refresh_from_db()
    assert api_key.storage_bytes_limit == 2**63 - 1
    assert api_key.object_limit == 0


def test_an_expiry_in_the_past_is_refused(user):
    with pytest.raises(InvalidInput):
        services.api_key_create(
            owner=user, name="x", expires_at=timezone.now() - timedelta(seconds=1)
        )

    assert not ApiKey.objects.exists()


def test_revoking_twice_sends_one_signal(user, api_key_for):
    api_key, _ = api_key_for(user)
    received = []
    apikey_signals.api_key_revoked.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t-rev"
    )
    try:
        services.api_key_revoke(api_key=api_key, actor=user)
        services.api_key_revoke(api_key=api_key, actor=user)
    finally:
        apikey_signals.api_key_revoked.disconnect(dispatch_uid="t-rev")

    assert len(received) == 1
    assert received[0]["actor"] == user


def test_create_sends_the_signal_with_the_actor(user, staff_user):
    received = []
    apikey_signals.api_key_created.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t-created"
    )
    try:
        api_key, _ = services.api_key_create(owner=user, name="x", actor=staff_user)
    finally:
        apikey_signals.api_key_created.disconnect(dispatch_uid="t-created")

    assert received[0]["api_key"] == api_key
    assert received[0]["actor"] == staff_user


def test_s3_down_during_create_leaves_nothing(user, settings):
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.S3_MAX_ATTEMPTS = 1
    settings.S3_CONNECT_TIMEOUT = 1
    from pockity.exceptions import StorageUnavailable
    from storage.models import Namespace

    with pytest.raises(StorageUnavailable):
        services.api_key_create(owner=user, name="x")

    assert not ApiKey.objects.exists()
    assert not Namespace.objects.filter(kind="API_KEY").exists()
