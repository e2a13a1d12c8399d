"""Tier list endpoints and tier requests through the API."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.conftest import key_client
from tiers.models import Tier, TierRequest

GIB = 2**30


@pytest.fixture
def pro(db):
    return Tier.objects.get(name="Pro")


@pytest.fixture
def hidden_tiers(db):
    return [
        Tier.objects.create(name="Secret", is_public=False),
        Tier.objects.create(name="Retired", is_active=False),
    ]


def _ask(client, **body):
    return client.post("/api/tier-requests", body, format="json")


def _decide(client, request_id, **body):
    return client.patch(
        f"/api/tier-requests/admin/{request_id}/approve", body, format="json"
    )


def test_public_list_needs_no_auth_and_hides_private_tiers(anon_client, hidden_tiers):
    response = anon_client.get("/api/tiers")

    assert response.status_code == 200
    names = [tier["name"] for tier in response.json()]
    assert names == ["Free", "Pro", "Business"]
    free = response.json()[0]
    assert free["storageBytesLimit"] == 5 * GIB
    assert free["objectLimit"] == 10_000
    assert free["isDefault"] is True
    assert "isPublic" not in free


def test_public_list_ignores_a_stale_token(anon_client, db):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = anon_client.get("/api/tiers")

    assert response.status_code == 200


def test_admin_list_is_staff_only(
    client_for, user, staff_user, anon_client, hidden_tiers
):
    as_staff = client_for(staff_user).get("/api/tiers/admin/all")
    as_user = client_for(user).get("/api/tiers/admin/all")
    as_nobody = anon_client.get("/api/tiers/admin/all")

    assert as_staff.status_code == 200
    names = {tier["name"] for tier in as_staff.json()}
    assert {"Free", "Pro", "Business", "Secret", "Retired"} <= names
    secret = next(tier for tier in as_staff.json() if tier["name"] == "Secret")
    assert secret["isPublic"] is False
    assert as_user.status_code == 403
    assert as_nobody.status_code == 401


def test_staff_with_an_api_key_is_refused(staff_user, api_key_for):
    api_key, secret = api_key_for(staff_user)

    response = key_client(api_key.access_key_id, secret).get("/api/tiers/admin/all")

    assert response.status_code == 403


def test_it_creates_a_request_with_the_seed_body(
    client_for,
    user,
    staff_user,
    pro,
    sent_tier_signals,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(client_for(user), tierId=pro.pk, reason="Need more storage")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["requestedTier"] == {"id": pro.pk, "name": "Pro"}
    assert body["currentTier"]["name"] == "Free"
    assert body["status"] == "PENDING"
    assert body["reason"] == "Need more storage"
    assert TierRequest.objects.get(pk=body["id"]).user == user
    assert sent_tier_signals == ["tier_request_created"]
    assert [message.to for message in mail.outbox] == [[staff_user.email]]


@pytest.mark.parametrize(
    "body",
    [{"tierId": "Pro"}, {"tierName": "pro"}, {"tier": "Pro"}, {"tierId": "PK"}],
)
def test_it_accepts_the_tier_by_name_or_id_string(client_for, user, pro, body):
    if body.get("tierId") == "PK":
        body = {"tierId": str(pro.pk)}

    response = _ask(client_for(user), **body)

    assert response.status_code == 201, response.content
    assert response.json()["requestedTier"]["id"] == pro.pk


def test_only_one_pending_request_at_a_time(client_for, user, pro):
    client = client_for(user)
    assert _ask(client, tierId=pro.pk).status_code == 201

    second = _ask(client, tierName="Business")

    assert second.status_code == 409
    assert second.json()["error"]["code"] == "request_pending"
    assert TierRequest.objects.filter(user=user).count() == 1


def test_asking_for_the_current_tier_is_a_conflict(client_for, user):
    response = _ask(client_for(user), tierName="Free")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_on_tier"


@pytest.mark.parametrize(
    "body",
    [
        {"tierName": "Secret"},
        {"tierName": "Retired"},
        {"tierName": "Platinum"},
        {"tierId": 999999},
        {"tierId": 2**63},
        {"tierId": 99999999999999999999999},
    ],
)
def test_unknown_private_or_inactive_tiers_are_404(
    client_for, user, hidden_tiers, body
):
    response = _ask(client_for(user), **body)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "tier_not_found"
    assert not TierRequest.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": "no tier"}, {"tierId": True}, {"tierId": {"a": 1}}, {"tierId": ""}],
)
def test_a_request_must_name_a_tier(client_for, user, body):
    response = _ask(client_for(user), **body)

    assert response.status_code == 400
    assert not TierRequest.objects.exists()


def test_users_see_only_their_own_requests(client_for, user, other_user, pro):
    _ask(client_for(user), tierId=pro.pk)
    _ask(client_for(other_user), tierId=pro.pk)

    mine = client_for(user).get("/api/tier-requests")

    assert mine.status_code == 200
    results = mine.json()["results"]
    assert len(results) == 1
    assert TierRequest.objects.get(pk=results[0]["id"]).user == user


def test_staff_list_filters_and_pages(client_for, user, other_user, staff_user, pro):
    mine = _ask(client_for(user), tierId=pro.pk).json()["id"]
    theirs = _ask(client_for(other_user), tierName="Business").json()["id"]
    TierRequest.objects.filter(pk=theirs).update(status="REJECTED")
    staff = client_for(staff_user)

    def ids(query):
        response = staff.get(f"/api/tier-requests/admin/all?{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert sorted(ids("")) == sorted([mine, theirs])
    assert ids("status=PENDING") == [mine]
    assert ids(f"user={other_user.pk}") == [theirs]
    assert ids("user=owner@example.com") == [mine]
    assert ids("from=2999-01-01") == []
    assert ids("to=2000-01-01") == []
    assert len(ids("limit=1")) == 1
    assert staff.get("/api/tier-requests/admin/all?status=NOPE").status_code == 400
    assert staff.get("/api/tier-requests/admin/all?offset=-5").status_code == 400
    assert client_for(user).get("/api/tier-requests/admin/all").status_code == 403


def test_approval_moves_the_user_and_their_namespace_limits(
    client_for,
    user,
    staff_user,
    pro,
    sent_tier_signals,
    django_capture_on_commit_callbacks,
):
    request_id = _ask(client_for(user), tierId=pro.pk).json()["id"]
    before = client_for(user).get("/api/storage/usage")
    mail.outbox.clear()
    sent_tier_signals.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(
            client_for(staff_user), request_id, approved=True, comment="Welcome"
        )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "APPROVED"
    assert response.json()["reviewer"]["email"] == staff_user.email
    user.refresh_from_db()
    assert user.tier == pro
    assert before.json()["limits"]["storageBytes"] == 5 * GIB
    after = client_for(user).get("/api/storage/usage")
    assert after.json()["limits"]["storageBytes"] == pro.storage_bytes_limit
    assert after.json()["limits"]["objects"] == pro.object_limit
    assert sorted(sent_tier_signals) == ["tier_changed", "tier_request_decided"]
    assert mail.outbox[0].to == [user.email]
    assert "approved" in mail.outbox[0].subject
    assert "Welcome" in mail.outbox[0].body


def test_rejection_keeps_the_tier(
    client_for, user, staff_user, pro, django_capture_on_commit_callbacks
):
    request_id = _ask(client_for(user), tierId=pro.pk).json()["id"]
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(
            client_for(staff_user),
            request_id,
            approved=False,
            reviewerComment="Not yet",
        )

    assert response.status_code == 200
    assert response.json()["status"] == "REJECTED"
    assert response.json()["reviewerComment"] == "Not yet"
    user.refresh_from_db()
    assert user.tier.name == "Free"
    assert "rejected" in mail.outbox[0].subject
    # A rejected request frees the slot for a new one.
    assert _ask(client_for(user), tierId=pro.pk).status_code == 201


def test_a_decided_request_cannot_be_decided_again(client_for, user, staff_user, pro):
    request_id = _ask(client_for(user), tierId=pro.pk).json()["id"]
    staff = client_for(staff_user)
    assert _decide(staff, request_id, approved=False).status_code == 200

    again = _decide(staff, request_id, approved=True)

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_decided"
    user.refresh_from_db()
    assert user.tier.name == "Free"


def test_deciding_is_staff_only_and_ids_are_checked(client_for, user, staff_user, pro):
    request_id = _ask(client_for(user), tierId=pro.pk).json()["id"]

    as_user = _decide(client_for(user), request_id, approved=True)
    unknown = _decide(client_for(staff_user), 2**63, approved=True)
    garbage = _decide(client_for(staff_user), "abc", approved=True)
    no_decision = _decide(client_for(staff_user), request_id)

    assert as_user.status_code == 403
    assert unknown.status_code == 404
    assert garbage.status_code == 404
    assert no_decision.status_code == 400
    assert TierRequest.objects.get(pk=request_id).status == "PENDING"


def test_verified_email_is_required_when_configured(client_for, user, pro, settings):
    settings.REQUIRE_VERIFIED_EMAIL = True

    refused = _ask(client_for(user), tierId=pro.pk)
    user.email_verified_at = user.date_joined
    user.save(update_fields=["email_verified_at"])
    accepted = _ask(client_for(user), tierId=pro.pk)

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "email_not_verified"
    assert accepted.status_code == 201
