"""Fixtures for API-key request tests: clients, a request factory, signals."""

from __future__ import annotations

import pytest

from apikeys import signals as apikeys_signals
from tests.conftest import jwt_client
from tiers import signals as tiers_signals

SEED_NEW_KEY_BODY = {
    "requestedStorageGB": 5,
    "requestedObjects": 10000,
    "reason": "Need additional storage for my application data backup",
}

ALL_SIGNALS = {
    "api_key_created": apikeys_signals.api_key_created,
    "api_key_limits_changed": apikeys_signals.api_key_limits_changed,
    "api_key_secret_revealed": apikeys_signals.api_key_secret_revealed,
    "api_key_request_created": apikeys_signals.api_key_request_created,
    "api_key_request_decided": apikeys_signals.api_key_request_decided,
    "tier_request_created": tiers_signals.tier_request_created,
    "tier_request_decided": tiers_signals.tier_request_decided,
    "tier_changed": tiers_signals.tier_changed,
}


@pytest.fixture
def owner_client(user):
    return jwt_client(user)


@pytest.fixture
def other_client(other_user):
    return jwt_client(other_user)


@pytest.fixture
def staff_client(staff_user):
    return jwt_client(staff_user)


@pytest.fixture
def sent_signals():
    """`sent_signals` lists (name, kwargs) of every domain signal sent."""
    sent = []
    receivers = {}
    for name, signal in ALL_SIGNALS.items():

        def receiver(sender, _name=name, **kwargs):
            kwargs.pop("signal", None)
            sent.append((_name, kwargs))

        receivers[name] = receiver
        signal.connect(receiver, weak=False, dispatch_uid=f"test-capture-{name}")
    yield sent
    for name, signal in ALL_SIGNALS.items():
        signal.disconnect(dispatch_uid=f"test-capture-{name}")


@pytest.fixture
def new_key_request(db):
    """`new_key_request(user, **fields)` files a NEW_KEY request via the service."""
    from apikeys.request_services import api_key_request_create_new_key

    def create(owner, **fields):
        options = {"storage_bytes": 5 * 2**30, "objects": 10_000, **fields}
        return api_key_request_create_new_key(user=owner, **options)

    return create
