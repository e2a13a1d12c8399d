"""Every audited event leaves exactly one entry with its actor and metadata.

The real endpoints and services are driven wherever they exist; the few
events with no caller yet are sent as their signal, with real model rows.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from apikeys import signals as apikeys_signals
from apikeys.models import ApiKey, ApiKeyRequest
from apikeys.services import api_key_revoke, api_key_set_limits
from audit.models import AuditAction, AuditLog
from tests.audit.conftest import entries, only_entry
from tests.conftest import TEST_PASSWORD
from tiers.models import Tier

A = AuditAction


# --- accounts ------------------------------------------------------------------


def test_registration(anon_client, committed, db):
    with committed():
        response = anon_client.post(
            "/api/auth/register",
            {"email": "new@example.com", "password": TEST_PASSWORD, "name": "New"},
            format="json",
            REMOTE_ADDR="203.0.113.5",
            HTTP_USER_AGENT="curl/8.0",
        )

    assert response.status_code == 201, response.content
    entry = only_entry(A.USER_REGISTERED)
    assert entry.user_label == "new@example.com"
    assert entry.actor_id == entry.user_id
    assert entry.ip_address == "203.0.113.5"
    assert entry.user_agent == "curl/8.0"
    assert entry.request_id
    assert AuditLog.objects.count() == 1


def test_login_and_failed_login(user, anon_client, committed):
    with committed():
        ok = anon_client.post(
            "/api/auth/login",
            {"email": user.email, "password": TEST_PASSWORD},
            format="json",
        )
        bad = anon_client.post(
            "/api/auth/login",
            {"email": user.email, "password": "wrong-password"},
            format="json",
            REMOTE_ADDR="198.51.100.23",
        )

    assert ok.status_code == 200
    assert bad.status_code == 401
    login = only_entry(A.USER_LOGIN)
    assert (login.actor_id, login.user_id) == (user.pk, user.pk)
    failed = only_entry(A.USER_LOGIN_FAILED)
    assert failed.user_id == user.pk
    assert failed.actor_id is None
    assert failed.ip_address == "198.51.100.23"
    assert failed.metadata == {"email": user.email, "knownUser": True}
    assert "wrong-password" not in str(failed.metadata)


def test_failed_login_for_an_unknown_address(anon_client, committed, db):
    with committed():
        anon_client.post(
            "/api/auth/login",
            {"email": "ghost@example.com", "password": "whatever-123"},
            format="json",
        )

    failed = only_entry(A.USER_LOGIN_FAILED)
    assert failed.user_id is None
    assert failed.user_label == "ghost@example.com"
    assert failed.metadata["knownUser"] is False


def test_profile_update_records_the_changes(user, client_for, committed):
    with committed():
        response = client_for(user).put(
            "/api/users/profile", {"name": "Olive Renamed"}, format="json"
        )

    assert response.status_code == 200, response.content
    entry = only_entry(A.PROFILE_UPDATED)
    assert entry.actor_id == user.pk
    assert entry.metadata["changes"]["name"] == ["Olive Owner", "Olive Renamed"]


def test_password_change(user, client_for, committed):
    with committed():
        response = client_for(user).post(
            "/api/users/change-password",
            {"currentPassword": TEST_PASSWORD, "newPassword": "An0ther-Long-Secret!"},
            format="json",
        )

    assert response.status_code in (200, 204), response.content
    entry = only_entry(A.PASSWORD_CHANGED)
    assert entry.user_id == user.pk
    assert "An0ther" not in str(entry.metadata)


def test_account_deletion_outlives_the_user(user, client_for, committed, api_key_for):
    key, _ = api_key_for(user)
    with committed():
        response = client_for(user).delete(
            "/api/users/account", {"password": TEST_PASSWORD}, format="json"
        )

    assert response.status_code in (200, 204), response.content
    entry = only_entry(A.ACCOUNT_DELETED)
    assert entry.user_id == user.pk
    assert entry.user_label == user.email
    assert entry.metadata["deletedKeys"] == [key.access_key_id]
    # The deleted user's earlier entries are still there.
    assert only_entry(A.API_KEY_CREATED).user_id == user.pk


# --- API keys ------------------------------------------------------------------


def test_key_created_first_used_and_revoked(user, client_for, committed):
    client = client_for(user)
    with committed():
        created = client.post("/api/apikeys", {"name": "My API Key"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    key = ApiKey.objects.get(owner=user)

    from tests.conftest import key_client

    secret = next(v for k, v in body.items() if k.lower().endswith("secretkey"))
    with committed():
        used = key_client(key.access_key_id, secret).get("/api/storage/files")
        key_client(key.access_key_id, secret).get("/api/storage/files")
    assert used.status_code == 200

    with committed():
        revoked = client.delete(f"/api/apikeys/{key.pk}")
    assert revoked.status_code in (200, 204), revoked.content

    entry = only_entry(A.API_KEY_CREATED)
    assert (entry.actor_id, entry.user_id, entry.api_key_id) == (
        user.pk,
        user.pk,
        key.pk,
    )
    assert entry.api_key_label == key.access_key_id
    assert entry.metadata["name"] == "My API Key"
    assert secret not in str(entry.metadata)
    assert only_entry(A.API_KEY_FIRST_USED).api_key_id == key.pk
    assert only_entry(A.API_KEY_REVOKED).actor_id == user.pk


def test_limits_changed_by_staff(user, staff_user, api_key_for, committed):
    key, _ = api_key_for(user, storage_bytes_limit=100, object_limit=5)

    with committed():
        api_key_set_limits(
            api_key=key, storage_bytes_limit=500, object_limit=5, actor=staff_user
        )

    entry = only_entry(A.API_KEY_LIMITS_CHANGED)
    assert entry.actor_id == staff_user.pk
    assert entry.user_id == user.pk
    assert entry.metadata["before"] == {"storageBytesLimit": 100, "objectLimit": 5}
    assert entry.metadata["after"] == {"storageBytesLimit": 500, "objectLimit": 5}


def test_revoking_twice_is_one_entry(user, api_key_for, committed):
    key, _ = api_key_for(user)

    with committed():
        api_key_revoke(api_key=key, actor=user, reason="leaked")
        api_key_revoke(api_key=key, actor=user, reason="again")

    assert only_entry(A.API_KEY_REVOKED).metadata == {"reason": "leaked"}


@pytest.mark.parametrize("approved", [True, False])
def test_key_requests_created_and_decided(
    user, staff_user, approved, committed, client_for
):
    with committed():
        created = client_for(user).post(
            "/api/api-key-requests",
            {"requestedStorageGB": 5, "requestedObjects": 10000, "reason": "backups"},
            format="json",
        )
    assert created.status_code == 201, created.content
    request_row = ApiKeyRequest.objects.get(user=user)

    with committed():
        decided = client_for(staff_user).patch(
            f"/api/api-key-requests/admin/{request_row.pk}/review",
            {"approved": approved, "reviewerComment": "ok"},
            format="json",
        )
    assert decided.status_code == 200, decided.content

    made = only_entry(A.API_KEY_REQUEST_CREATED)
    assert made.actor_id == user.pk
    assert made.metadata["requestedStorageBytes"] == 5 * 1024**3
    assert made.metadata["reason"] == "backups"
    action = A.API_KEY_REQUEST_APPROVED if approved else A.API_KEY_REQUEST_REJECTED
    decision = only_entry(action)
    assert decision.actor_id == staff_user.pk
    assert decision.user_id == user.pk
    assert decision.metadata["reviewerComment"] == "ok"
    other = A.API_KEY_REQUEST_REJECTED if approved else A.API_KEY_REQUEST_APPROVED
    assert entries(other) == []


def test_secret_revealed_signal(user, api_key_for, db):
    key, _ = api_key_for(user)
    request_row = ApiKeyRequest.objects.create(user=user, api_key=key)

    apikeys_signals.api_key_secret_revealed.send(
        sender=ApiKeyRequest, api_key_request=request_row, actor=user
    )

    entry = only_entry(A.API_KEY_SECRET_REVEALED)
    assert (entry.user_id, entry.api_key_id) == (user.pk, key.pk)
    assert entry.metadata == {"requestId": request_row.pk}


# --- tiers ---------------------------------------------------------------------


@pytest.fixture
def gold(db):
    return Tier.objects.create(name="audit-gold", storage_bytes_limit=10**12)


def test_tier_request_approved_changes_the_tier(
    user, staff_user, gold, committed, client_for
):
    with committed():
        created = client_for(user).post(
            "/api/tier-requests", {"tierId": gold.pk, "reason": "more"}, format="json"
        )
    assert created.status_code == 201, created.content
    request_id = created.json().get("id")

    with committed():
        decided = client_for(staff_user).patch(
            f"/api/tier-requests/admin/{request_id}/approve",
            {"approved": True},
            format="json",
        )
    assert decided.status_code == 200, decided.content

    made = only_entry(A.TIER_REQUEST_CREATED)
    assert made.metadata["requestedTier"] == "audit-gold"
    assert only_entry(A.TIER_REQUEST_APPROVED).actor_id == staff_user.pk
    changed = only_entry(A.TIER_CHANGED)
    assert changed.user_id == user.pk
    assert changed.metadata["newTier"] == "audit-gold"


# --- storage -------------------------------------------------------------------


def test_upload_delete_and_quota_exceeded(user, client_for, committed, db):
    small = Tier.objects.create(name="audit-small", storage_bytes_limit=10)
    user.tier = small
    user.save(update_fields=["tier"])
    client = client_for(user)

    with committed():
        ok = client.post(
            "/api/storage/upload",
            {"file": SimpleUploadedFile("a.txt", b"12345")},
            format="multipart",
        )
        refused = client.post(
            "/api/storage/upload",
            {"file": SimpleUploadedFile("b.txt", b"x" * 50)},
            format="multipart",
        )
        deleted = client.delete("/api/storage/files/a.txt")

    assert ok.status_code == 201
    assert refused.status_code == 413
    assert deleted.status_code in (200, 204)
    uploaded = only_entry(A.FILE_UPLOADED)
    assert uploaded.metadata["name"] == "a.txt"
    assert uploaded.metadata["size"] == 5
    assert uploaded.metadata["namespace"] == f"users/{user.pk}/"
    exceeded = only_entry(A.QUOTA_EXCEEDED)
    assert exceeded.user_id == user.pk
    assert exceeded.metadata["limit"] == 10
    assert exceeded.metadata["requested"] == 50
    removed = only_entry(A.FILE_DELETED)
    assert removed.metadata["names"] == ["a.txt"]
    assert removed.metadata["bytesFreed"] == 5


def test_resync_by_an_operator(user, staff_user, committed, s3, settings):
    from storage.resync import usage_resync
    from storage.services import namespace_for_user

    namespace = namespace_for_user(user)
    s3.put_object(Bucket=settings.S3_BUCKET, Key=f"{namespace.prefix}x", Body=b"abc")

    with committed():
        usage_resync(namespace=namespace, actor=staff_user)

    entry = only_entry(A.USAGE_RESYNCED)
    assert entry.actor_id == staff_user.pk
    assert entry.user_id == user.pk
    assert entry.metadata["before"] == {"bytesUsed": 0, "objects": 0}
    assert entry.metadata["after"] == {"bytesUsed": 3, "objects": 1}


# --- billing and credits -------------------------------------------------------


def test_credits_added_and_deducted(user, staff_user, committed):
    from credits.services import credits_add, credits_deduct

    with committed():
        credits_add(user=user, amount=100, actor=staff_user, reason="gift")
        credits_deduct(user=user, amount=30, actor=user, reason="usage")

    added = only_entry(A.CREDITS_ADDED)
    assert added.actor_id == staff_user.pk
    assert added.metadata["amount"] == 100
    assert added.metadata["balanceAfter"] == 100
    deducted = only_entry(A.CREDITS_DEDUCTED)
    assert deducted.user_id == user.pk
    assert deducted.metadata["balanceAfter"] == 70


def test_free_subscription(user, committed):
    from billing.models import Plan
    from billing.services import subscription_create

    plan = Plan.objects.filter(price_minor=0, active=True).first()
    if plan is None:
        pytest.skip("no free plan seeded")

    with committed():
        subscription_create(user=user, plan=plan, provider=None, actor=user)

    entry = only_entry(A.SUBSCRIPTION_CREATED)
    assert entry.actor_id == user.pk
    assert entry.metadata["newStatus"] == "ACTIVE"


def test_payment_events(user, staff_user, db):
    from billing import signals as billing_signals
    from billing.models import Invoice, Payment, Refund

    invoice = Invoice.objects.create(
        user=user,
        user_email=user.email,
        number="INV-AUDIT-1",
        purpose="CREDITS",
        amount_minor=1500,
        currency="USD",
        status="OPEN",
    )
    payment = Payment.objects.create(
        invoice=invoice,
        user=user,
        user_email=user.email,
        provider="free",
        amount_minor=1500,
        currency="USD",
    )
    refund = Refund.objects.create(
        payment=payment, amount_minor=500, currency="USD", status="SUCCEEDED"
    )

    billing_signals.invoice_created.send(sender=Invoice, invoice=invoice, actor=user)
    billing_signals.payment_succeeded.send(sender=Payment, payment=payment, actor=user)
    billing_signals.payment_failed.send(
        sender=Payment, payment=payment, reason="card declined", actor=user
    )
    billing_signals.payment_refunded.send(
        sender=Payment, payment=payment, refund=refund, actor=staff_user
    )

    assert only_entry(A.INVOICE_CREATED).metadata["number"] == "INV-AUDIT-1"
    succeeded = only_entry(A.PAYMENT_SUCCEEDED)
    assert succeeded.metadata["amountMinor"] == 1500
    assert succeeded.metadata["invoice"] == invoice.pk
    assert only_entry(A.PAYMENT_FAILED).metadata["reason"] == "card declined"
    refunded = only_entry(A.PAYMENT_REFUNDED)
    assert refunded.actor_id == staff_user.pk
    assert refunded.metadata["refund"]["amountMinor"] == 500


# --- admin ---------------------------------------------------------------------


def test_every_admin_change_is_recorded(staff_user, user, client):
    client.force_login(staff_user)
    before = AuditLog.objects.filter(action=A.ADMIN_ACTION).count()

    response = client.post(
        "/admin/tiers/tier/add/",
        {
            "name": "admin-made",
            "description": "",
            "price_minor": 0,
            "currency": "USD",
            "sort_order": 0,
            "is_active": "on",
            "is_public": "on",
        },
    )

    assert response.status_code in (200, 302)
    assert Tier.objects.filter(name="admin-made").exists(), response.content[:2000]
    created = AuditLog.objects.filter(action=A.ADMIN_ACTION)
    assert created.count() == before + 1
    entry = created.first()
    assert entry.actor_id == staff_user.pk
    assert entry.metadata["operation"] == "addition"
    assert entry.metadata["model"] == "tiers.tier"
    assert entry.metadata["objectRepr"] == "admin-made"


def test_logout(user, anon_client, committed):
    tokens = anon_client.post(
        "/api/auth/login",
        {"email": user.email, "password": TEST_PASSWORD},
        format="json",
    ).json()
    refresh = next(v for k, v in _flatten(tokens) if k == "refreshToken")

    with committed():
        response = anon_client.post(
            "/api/auth/logout", {"refreshToken": refresh}, format="json"
        )

    assert response.status_code == 200, response.content
    entry = only_entry(A.USER_LOGOUT)
    assert (entry.actor_id, entry.user_id) == (user.pk, user.pk)
    assert refresh not in str(entry.metadata)


def _flatten(data):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _flatten(value)
        else:
            yield key, value


def test_email_verification_sent_and_confirmed(user, client_for, committed, mailoutbox):
    import re

    client = client_for(user)
    with committed():
        sent = client.post("/api/users/verify-email/request")
    assert sent.status_code == 202, sent.content
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)

    with committed():
        confirmed = client.post(
            "/api/users/verify-email/confirm", {"code": code}, format="json"
        )

    assert confirmed.status_code == 200, confirmed.content
    assert only_entry(A.EMAIL_VERIFICATION_SENT).user_id == user.pk
    verified = only_entry(A.EMAIL_VERIFIED)
    assert verified.actor_id == user.pk
    assert code not in str(verified.metadata)


def test_tier_request_rejected(user, staff_user, gold, committed, client_for):
    with committed():
        created = client_for(user).post(
            "/api/tier-requests", {"tierId": gold.pk}, format="json"
        )
        decided = client_for(staff_user).patch(
            f"/api/tier-requests/admin/{created.json()['id']}/approve",
            {"approved": False, "reviewerComment": "not now"},
            format="json",
        )

    assert decided.status_code == 200, decided.content
    rejected = only_entry(A.TIER_REQUEST_REJECTED)
    assert rejected.actor_id == staff_user.pk
    assert rejected.metadata["reviewerComment"] == "not now"
    assert entries(A.TIER_REQUEST_APPROVED) == []
    assert entries(A.TIER_CHANGED) == []


@pytest.mark.parametrize("count", [1, 3])
def test_deleting_selected_objects_in_the_admin_is_one_entry_each(
    staff_user, client, count
):
    doomed = [Group.objects.create(name=f"doomed-{index}") for index in range(count)]
    client.force_login(staff_user)

    response = client.post(
        "/admin/auth/group/",
        {
            "action": "delete_selected",
            "_selected_action": [group.pk for group in doomed],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not Group.objects.filter(name__startswith="doomed-").exists()
    deletions = [
        entry
        for entry in entries(A.ADMIN_ACTION)
        if entry.metadata["operation"] == "deletion"
    ]
    assert sorted(entry.metadata["objectRepr"] for entry in deletions) == sorted(
        group.name for group in doomed
    )
    assert {entry.actor_id for entry in deletions} == {staff_user.pk}
    assert {entry.metadata["model"] for entry in deletions} == {"auth.group"}


def test_the_delete_confirmation_page_records_nothing(staff_user, client):
    doomed = [Group.objects.create(name=f"kept-{index}") for index in range(2)]
    client.force_login(staff_user)

    response = client.post(
        "/admin/auth/group/",
        {"action": "delete_selected", "_selected_action": [t.pk for t in doomed]},
    )

    assert response.status_code == 200
    assert Group.objects.filter(name__startswith="kept-").count() == 2
    assert entries(A.ADMIN_ACTION) == []
