"""Tier services: changing a user's tier, deciding tier requests."""

from __future__ import annotations

import pytest

from pockity.exceptions import Conflict
from tiers import signals
from tiers.models import RequestStatus, Tier, TierRequest
from tiers.services import (
    tier_list_public,
    tier_request_create,
    tier_request_decide,
    user_change_tier,
)


@pytest.fixture
def pro(db):
    return Tier.objects.get(name="Pro")


@pytest.fixture
def captured():
    """Collects the kwargs of every tier signal sent during the test."""
    sent = []

    def receiver(signal, **kwargs):
        sent.append((signal, kwargs))

    for signal in (
        signals.tier_changed,
        signals.tier_request_created,
        signals.tier_request_decided,
    ):
        signal.connect(receiver, weak=False, dispatch_uid=f"test-{id(signal)}")
    yield sent
    for signal in (
        signals.tier_changed,
        signals.tier_request_created,
        signals.tier_request_decided,
    ):
        signal.disconnect(dispatch_uid=f"test-{id(signal)}")


def test_tier_list_public_hides_private_and_inactive(db):
    Tier.objects.create(name="Secret", is_public=False)
    Tier.objects.create(name="Retired", is_active=False)

    names = [tier.name for tier in tier_list_public()]

    assert names == ["Free", "Pro", "Business"]


def test_user_change_tier_moves_user_and_signals_after_commit(
    user, staff_user, pro, captured, django_capture_on_commit_callbacks
):
    free = user.tier

    with django_capture_on_commit_callbacks(execute=True):
        user_change_tier(user=user, tier=pro, actor=staff_user, reason="upgrade")

    user.refresh_from_db()
    assert user.tier == pro
    changed = [kw for sig, kw in captured if sig is signals.tier_changed]
    assert len(changed) == 1
    assert changed[0]["old_tier"] == free
    assert changed[0]["new_tier"] == pro
    assert changed[0]["actor"] == staff_user


def test_user_change_tier_to_same_tier_sends_nothing(
    user, captured, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user_change_tier(user=user, tier=user.tier, actor=None)

    assert captured == []


def test_tier_request_decide_approval_changes_tier(
    user, staff_user, pro, captured, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tier_request = tier_request_create(user=user, tier=pro, reason="growing")
    with django_capture_on_commit_callbacks(execute=True):
        decided = tier_request_decide(
            tier_request=tier_request, approved=True, reviewer=staff_user, comment="ok"
        )

    user.refresh_from_db()
    assert user.tier == pro
    assert decided.status == RequestStatus.APPROVED
    assert decided.reviewer == staff_user
    sent = [sig for sig, _ in captured]
    assert sent.count(signals.tier_request_created) == 1
    assert sent.count(signals.tier_request_decided) == 1
    assert sent.count(signals.tier_changed) == 1


def test_tier_request_decide_twice_is_a_conflict(user, staff_user, pro):
    tier_request = tier_request_create(user=user, tier=pro)
    tier_request_decide(tier_request=tier_request, approved=False, reviewer=staff_user)

    with pytest.raises(Conflict) as excinfo:
        tier_request_decide(
            tier_request=tier_request, approved=True, reviewer=staff_user
        )

    assert excinfo.value.code == "already_decided"
    user.refresh_from_db()
    assert user.tier.name == "Free"
    assert TierRequest.objects.get(pk=tier_request.pk).status == RequestStatus.REJECTED
