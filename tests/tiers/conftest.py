"""Fixtures for tier tests."""

from __future__ import annotations

import pytest

from tiers import signals

TIER_SIGNALS = {
    "tier_request_created": signals.tier_request_created,
    "tier_request_decided": signals.tier_request_decided,
    "tier_changed": signals.tier_changed,
}


@pytest.fixture
def sent_tier_signals():
    """Names of the tier signals sent during the test, in order."""
    sent = []
    for name, signal in TIER_SIGNALS.items():

        def receiver(sender, _name=name, **kwargs):
            sent.append(_name)

        signal.connect(receiver, weak=False, dispatch_uid=f"test-tiers-{name}")
    yield sent
    for name, signal in TIER_SIGNALS.items():
        signal.disconnect(dispatch_uid=f"test-tiers-{name}")
