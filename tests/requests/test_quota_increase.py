"""QUOTA_INCREASE requests: more quota on a key the caller holds."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apikeys.models import ApiKey, ApiKeyRequest
from apikeys.services import api_key_revoke
from tests.conftest import key_client

GIB = 2**30
MIB = 2**20


@pytest.fixture
def small_key(user, api_key_for):
    """A key of the owner's with 1 GB and 10 objects; returns (key, secret)."""
    return api_key_for(user, storage_bytes_limit=GIB, object_limit=10)


def _ask(client, **body):
    return client.post("/api/api-key-requests", body, format="json")


def _review(client, request_id, **body):
    return client.patch(
        f"/api/api-key-requests/admin/{request_id}/review", body, format="json"
    )


def test_it_creates_an_increase_for_the_callers_key(owner_client, small_key):
    api_key, _ = small_key

    response = _ask(
        owner_client,
        apiKeyId=api_key.pk,
        requestedStorageGB=2,
        requestedObjects=20,
        reason="growing",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "QUOTA_INCREASE"
    assert body["apiKeyId"] == api_key.pk
    assert body["accessKeyId"] == api_key.access_key_id
    assert body["requestedStorageBytes"] == 2 * GIB
    assert body["requestedObjects"] == 20


def test_it_accepts_the_access_key_id_and_one_figure(owner_client, small_key):
    api_key, _ = small_key

    response = _ask(owner_client, apiKeyId=api_key.access_key_id, requestedObjects=11)

    assert response.status_code == 201, response.content
    assert response.json()["requestedStorageBytes"] is None


def test_another_users_key_is_404(other_client, small_key):
    api_key, _ = small_key

    by_id = _ask(other_client, apiKeyId=api_key.pk, requestedObjects=20)
    by_access_key = _ask(
        other_client, apiKeyId=api_key.access_key_id, requestedObjects=20
    )

    assert by_id.status_code == 404
    assert by_access_key.status_code == 404
    assert by_id.json()["error"]["code"] == "api_key_not_found"
    assert not ApiKeyRequest.objects.exists()


@pytest.mark.parametrize("ref", ["999999", str(2**63), "pk_nope", "x"])
def test_unknown_keys_are_404(owner_client, ref):
    response = _ask(owner_client, apiKeyId=ref, requestedObjects=20)

    assert response.status_code == 404


def test_a_revoked_key_is_400(owner_client, small_key):
    api_key, _ = small_key
    api_key_revoke(api_key=api_key)

    response = _ask(owner_client, apiKeyId=api_key.pk, requestedObjects=20)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "api_key_inactive"


@pytest.mark.parametrize(
    "body",
    [
        {"requestedObjects": 10},
        {"requestedObjects": 5},
        {"requestedStorageGB": 1},
        {"requestedStorageGB": "0.5", "requestedObjects": 20},
    ],
)
def test_it_must_be_an_increase(owner_client, small_key, body):
    api_key, _ = small_key

    response = _ask(owner_client, apiKeyId=api_key.pk, **body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_an_increase"


def test_an_unlimited_key_cannot_be_raised(owner_client, user, api_key_for):
    api_key, _ = api_key_for(user, storage_bytes_limit=None, object_limit=None)

    response = _ask(owner_client, apiKeyId=api_key.pk, requestedStorageGB=10)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_an_increase"


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"readOnly": True, "requestedObjects": 20},
        {"capabilities": ["read"], "requestedObjects": 20},
        {"kind": "NEW_KEY", "requestedObjects": 20, "requestedStorageGB": 2},
    ],
)
def test_it_rejects_malformed_increases(owner_client, small_key, extra):
    api_key, _ = small_key

    response = _ask(owner_client, apiKeyId=api_key.pk, **extra)

    assert response.status_code == 400
    assert not ApiKeyRequest.objects.exists()


def test_one_pending_increase_per_key(owner_client, small_key):
    api_key, _ = small_key
    assert (
        _ask(owner_client, apiKeyId=api_key.pk, requestedObjects=20).status_code == 201
    )

    second = _ask(owner_client, apiKeyId=api_key.pk, requestedObjects=30)

    assert second.status_code == 409
    assert second.json()["error"]["code"] == "request_pending"


def test_approval_raises_the_limits_seen_by_the_key(
    owner_client,
    staff_client,
    small_key,
    staff_user,
    sent_signals,
    django_capture_on_commit_callbacks,
):
    api_key, secret = small_key
    request_id = _ask(
        owner_client, apiKeyId=api_key.pk, requestedStorageGB=2, requestedObjects=20
    ).json()["id"]
    with_key = key_client(api_key.access_key_id, secret)
    before = with_key.get("/api/storage/usage").json()
    sent_signals.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _review(staff_client, request_id, approved=True)

    assert response.status_code == 200, response.content
    assert response.json()["granted"]["storageBytes"] == 2 * GIB
    assert before["limits"]["storageBytes"] == GIB
    after = with_key.get("/api/storage/usage").json()
    assert after["limits"]["storageBytes"] == 2 * GIB
    assert after["limits"]["objects"] == 20
    changed = [kw for name, kw in sent_signals if name == "api_key_limits_changed"]
    assert len(changed) == 1
    assert changed[0]["actor"] == staff_user
    assert changed[0]["after"] == {"storage_bytes_limit": 2 * GIB, "object_limit": 20}
    # A quota increase provisions nothing: no secret to reveal.
    detail = owner_client.get(f"/api/api-key-requests/{request_id}").json()
    assert detail["secretKey"] is None
    assert ApiKey.objects.count() == 1


def test_one_figure_keeps_the_other_limit(owner_client, staff_client, small_key):
    api_key, _ = small_key
    request_id = _ask(owner_client, apiKeyId=api_key.pk, requestedObjects=50).json()[
        "id"
    ]

    _review(staff_client, request_id, approved=True)

    api_key.refresh_from_db()
    assert api_key.object_limit == 50
    assert api_key.storage_bytes_limit == GIB


def test_a_narrowed_limit_below_usage_blocks_uploads(
    owner_client, staff_client, small_key
):
    api_key, secret = small_key
    with_key = key_client(api_key.access_key_id, secret)
    upload = with_key.post(
        "/api/storage/upload",
        {"file": SimpleUploadedFile("big.bin", b"x" * (2 * MIB))},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    request_id = _ask(owner_client, apiKeyId=api_key.pk, requestedStorageGB=2).json()[
        "id"
    ]

    # 0.001 GB is about 1 MiB: below the 2 MiB already stored.
    response = _review(
        staff_client, request_id, approved=True, approvedStorageGB="0.001"
    )

    assert response.status_code == 200, response.content
    api_key.refresh_from_db()
    assert api_key.storage_bytes_limit == (GIB // 1000)
    refused = with_key.post(
        "/api/storage/upload",
        {"file": SimpleUploadedFile("more.bin", b"y")},
        format="multipart",
    )
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "quota_exceeded"
    usage = with_key.get("/api/storage/usage").json()
    assert usage["bytesUsed"] == 2 * MIB


def test_capabilities_cannot_change_on_an_increase(
    owner_client, staff_client, small_key
):
    api_key, _ = small_key
    request_id = _ask(owner_client, apiKeyId=api_key.pk, requestedObjects=20).json()[
        "id"
    ]

    response = _review(staff_client, request_id, approved=True, approvedReadOnly=True)

    assert response.status_code == 400
    assert ApiKeyRequest.objects.get(pk=request_id).status == "PENDING"


def test_a_key_revoked_meanwhile_cannot_be_raised_but_can_be_rejected(
    owner_client, staff_client, small_key
):
    api_key, _ = small_key
    request_id = _ask(owner_client, apiKeyId=api_key.pk, requestedObjects=20).json()[
        "id"
    ]
    api_key_revoke(api_key=api_key)

    approval = _review(staff_client, request_id, approved=True)
    rejection = _review(staff_client, request_id, approved=False)

    assert approval.status_code == 409
    assert approval.json()["error"]["code"] == "api_key_inactive"
    assert rejection.status_code == 200
    api_key.refresh_from_db()
    assert api_key.object_limit == 10


def test_verified_email_is_required_when_configured(
    owner_client, small_key, settings, user
):
    settings.REQUIRE_VERIFIED_EMAIL = True
    api_key, _ = small_key

    increase = _ask(owner_client, apiKeyId=api_key.pk, requestedObjects=20)
    new_key = _ask(owner_client, requestedStorageGB=1, requestedObjects=1)

    assert increase.status_code == 403
    assert increase.json()["error"]["code"] == "email_not_verified"
    assert new_key.status_code == 403
    assert new_key.json()["error"]["code"] == "email_not_verified"
    assert not ApiKeyRequest.objects.exists()


def test_an_unrequested_figure_cannot_be_approved(
    owner_client, staff_client, small_key
):
    api_key, _ = small_key
    request_id = _ask(owner_client, apiKeyId=api_key.pk, requestedObjects=20).json()[
        "id"
    ]

    response = _review(staff_client, request_id, approved=True, approvedStorageGB=50)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "override_not_narrower"
    api_key.refresh_from_db()
    assert api_key.storage_bytes_limit == GIB
