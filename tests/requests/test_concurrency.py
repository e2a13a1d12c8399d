"""Decisions and secret reads racing each other on PostgreSQL row locks."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apikeys.models import ApiKey, ApiKeyRequest
from apikeys.request_services import (
    api_key_request_decide,
    api_key_request_reveal_secret,
)
from pockity.exceptions import Conflict
from tests.conftest import make_user
from tests.tiers.seeding import seed_tiers
from tiers.models import Tier, TierRequest
from tiers.services import tier_request_create, tier_request_decide

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _tiers(transactional_db):
    seed_tiers()


def _race(*calls):
    """Run the calls at once in threads; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = ("ok", call())
        except Conflict as exc:
            outcomes[index] = ("conflict", exc.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, call))
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_operators_approving_one_key_request(new_key_request):
    owner = make_user("racer@example.com")
    first_op = make_user("op1@example.com", staff=True)
    second_op = make_user("op2@example.com", staff=True)
    pending = new_key_request(owner)

    def decide(reviewer, approved):
        def call():
            fresh = ApiKeyRequest.objects.get(pk=pending.pk)
            return api_key_request_decide(
                api_key_request=fresh, approved=approved, reviewer=reviewer
            ).status

        return call

    outcomes = _race(decide(first_op, True), decide(second_op, False))

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["conflict", "ok"]
    assert ("conflict", "already_decided") in outcomes
    winner_status = next(value for kind, value in outcomes if kind == "ok")
    pending.refresh_from_db()
    assert pending.status == winner_status
    expected_keys = 1 if winner_status == "APPROVED" else 0
    assert ApiKey.objects.filter(owner=owner).count() == expected_keys


def test_two_operators_approving_one_tier_request():
    owner = make_user("climber@example.com")
    first_op = make_user("op1@example.com", staff=True)
    second_op = make_user("op2@example.com", staff=True)
    pro = Tier.objects.get(name="Pro")
    pending = tier_request_create(user=owner, tier=pro)

    def decide(reviewer, approved):
        def call():
            fresh = TierRequest.objects.get(pk=pending.pk)
            return tier_request_decide(
                tier_request=fresh, approved=approved, reviewer=reviewer
            ).status

        return call

    outcomes = _race(decide(first_op, True), decide(second_op, True))

    assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"]
    pending.refresh_from_db()
    assert pending.status == "APPROVED"
    owner.refresh_from_db()
    assert owner.tier == pro


def test_two_reads_of_a_new_secret(new_key_request):
    owner = make_user("reader@example.com")
    operator = make_user("op@example.com", staff=True)
    pending = new_key_request(owner)
    api_key_request_decide(api_key_request=pending, approved=True, reviewer=operator)

    def read():
        return api_key_request_reveal_secret(user=owner, request_id=pending.pk)[1]

    outcomes = _race(read, read, read)

    secrets = [value for kind, value in outcomes if kind == "ok" and value]
    assert len(secrets) == 1
    assert secrets[0].startswith("sk_")
    assert all(kind == "ok" for kind, _ in outcomes)
    pending.refresh_from_db()
    assert pending.pending_secret_encrypted == ""
    assert pending.secret_revealed_at is not None


def test_two_tier_requests_at_once_leave_one_pending():
    owner = make_user("eager@example.com")
    pro = Tier.objects.get(name="Pro")
    business = Tier.objects.get(name="Business")

    outcomes = _race(
        lambda: tier_request_create(user=owner, tier=pro).pk,
        lambda: tier_request_create(user=owner, tier=business).pk,
    )

    assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"]
    assert ("conflict", "request_pending") in outcomes
    assert TierRequest.objects.filter(user=owner, status="PENDING").count() == 1
