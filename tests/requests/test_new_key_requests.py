"""NEW_KEY requests through the API: create, list, review, read the secret."""

from __future__ import annotations

import pytest
from django.core import mail

from apikeys.models import ApiKey, ApiKeyRequest
from tests.conftest import key_client
from tests.requests.conftest import SEED_NEW_KEY_BODY

GIB = 2**30


def _create(client, body=None):
    return client.post(
        "/api/api-key-requests", body or SEED_NEW_KEY_BODY, format="json"
    )


def _approve(client, request_id, **body):
    return client.patch(
        f"/api/api-key-requests/admin/{request_id}/review",
        {"approved": True, "reviewerComment": "Fine by us", **body},
        format="json",
    )


def test_it_creates_a_request_with_the_seed_body(
    owner_client, user, staff_user, sent_signals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(owner_client)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "NEW_KEY"
    assert body["status"] == "PENDING"
    assert body["requestedStorageGB"] == 5
    assert body["requestedStorageBytes"] == 5 * GIB
    assert body["requestedObjects"] == 10000
    assert body["capabilities"] == ["list", "read", "write", "delete"]
    assert body["readOnly"] is False
    stored = ApiKeyRequest.objects.get(pk=body["id"])
    assert stored.user == user
    assert stored.requested_storage_bytes == 5 * GIB
    assert [name for name, _ in sent_signals] == ["api_key_request_created"]
    assert sent_signals[0][1]["actor"] == user
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [staff_user.email]
    assert user.email in mail.outbox[0].subject


def test_it_sends_staff_mail_to_the_configured_addresses(
    owner_client, staff_user, settings, django_capture_on_commit_callbacks
):
    settings.POCKITY_STAFF_EMAILS = ["ops@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        _create(owner_client)

    assert [message.to for message in mail.outbox] == [["ops@example.com"]]


def test_it_accepts_a_read_only_key_with_name_expiry_and_decimals(owner_client):
    response = _create(
        owner_client,
        {
            "keyName": "backups",
            "requestedStorageGB": "0.5",
            "requestedObjects": 1,
            "readOnly": True,
            "expiresAt": "2099-01-01T00:00:00Z",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["keyName"] == "backups"
    assert body["requestedStorageBytes"] == GIB // 2
    assert body["capabilities"] == ["list", "read"]
    assert body["readOnly"] is True
    assert body["expiresAt"].startswith("2099-01-01")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("requestedStorageGB", 0),
        ("requestedStorageGB", -1),
        ("requestedStorageGB", 100_001),
        ("requestedStorageGB", 99999999999999999999999),
        ("requestedStorageGB", "abc"),
        ("requestedStorageGB", "1.2345"),
        ("requestedStorageGB", True),
        ("requestedStorageGB", "NaN"),
        ("requestedObjects", 0),
        ("requestedObjects", 10**12 + 1),
        ("requestedObjects", 99999999999999999999999),
        ("requestedObjects", 1.5),
        ("expiresAt", "2000-01-01T00:00:00Z"),
        ("expiresAt", "tomorrow"),
        ("capabilities", ["read", "fly"]),
        ("capabilities", []),
        ("keyName", "x" * 101),
    ],
)
def test_it_rejects_bad_figures_with_400(owner_client, field, value):
    response = _create(owner_client, {**SEED_NEW_KEY_BODY, field: value})

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["details"]["fields"]
    assert not ApiKeyRequest.objects.exists()


@pytest.mark.parametrize("missing", ["requestedStorageGB", "requestedObjects"])
def test_it_requires_both_figures_for_a_new_key(owner_client, missing):
    body = {k: v for k, v in SEED_NEW_KEY_BODY.items() if k != missing}

    response = _create(owner_client, body)

    assert response.status_code == 400
    assert missing in response.json()["error"]["details"]["fields"]


def test_it_rejects_read_only_with_write_capability(owner_client):
    response = _create(
        owner_client,
        {**SEED_NEW_KEY_BODY, "readOnly": True, "capabilities": ["read", "write"]},
    )

    assert response.status_code == 400
    assert "readOnly" in response.json()["error"]["details"]["fields"]


def test_it_rejects_malformed_json(owner_client):
    response = owner_client.post(
        "/api/api-key-requests", '{"a":', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_it_limits_pending_new_key_requests(owner_client):
    for _ in range(5):
        assert _create(owner_client).status_code == 201

    response = _create(owner_client)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "request_pending"


def test_it_requires_a_signed_in_person(anon_client, user, api_key_for):
    api_key, secret = api_key_for(user)

    anonymous = _create(anon_client)
    with_key = _create(key_client(api_key.access_key_id, secret))

    assert anonymous.status_code == 401
    assert with_key.status_code == 403
    assert not ApiKeyRequest.objects.exists()


def test_lists_show_only_the_callers_requests(
    owner_client, other_client, user, other_user, new_key_request
):
    mine = new_key_request(user)
    new_key_request(other_user)

    response = owner_client.get("/api/api-key-requests")

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [mine.pk]


def test_another_users_request_is_404(other_client, user, new_key_request):
    mine = new_key_request(user)

    response = other_client.get(f"/api/api-key-requests/{mine.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", str(2**63), "9" * 30, "1.5"])
def test_unknown_or_out_of_range_ids_are_404(owner_client, staff_client, bad_id):
    read = owner_client.get(f"/api/api-key-requests/{bad_id}")
    review = _approve(staff_client, bad_id)

    assert read.status_code == 404
    assert review.status_code == 404


def test_staff_list_is_staff_only(owner_client, anon_client, user, new_key_request):
    new_key_request(user)

    assert owner_client.get("/api/api-key-requests/admin/all").status_code == 403
    assert anon_client.get("/api/api-key-requests/admin/all").status_code == 401


def test_review_is_staff_only(owner_client, user, new_key_request):
    pending = new_key_request(user)

    response = _approve(owner_client, pending.pk)

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "PENDING"
    assert not ApiKey.objects.exists()


def test_staff_list_filters(staff_client, user, other_user, new_key_request):
    first = new_key_request(user)
    second = new_key_request(other_user)
    ApiKeyRequest.objects.filter(pk=second.pk).update(status="REJECTED")

    everything = staff_client.get("/api/api-key-requests/admin/all")
    pending = staff_client.get("/api/api-key-requests/admin/all?status=PENDING")
    by_email = staff_client.get(
        "/api/api-key-requests/admin/all", {"user": "OTHER@example.com"}
    )
    by_id = staff_client.get(f"/api/api-key-requests/admin/all?user={user.pk}")
    by_kind = staff_client.get("/api/api-key-requests/admin/all?kind=QUOTA_INCREASE")
    future = staff_client.get("/api/api-key-requests/admin/all?from=2999-01-01")
    past = staff_client.get("/api/api-key-requests/admin/all?to=2000-01-01")
    huge_id = staff_client.get(f"/api/api-key-requests/admin/all?user={2**64}")

    def ids(response):
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["results"]}

    assert ids(everything) == {first.pk, second.pk}
    assert everything.json()["count"] == 2
    assert everything.json()["results"][0]["user"]["email"] in {
        user.email,
        other_user.email,
    }
    assert ids(pending) == {first.pk}
    assert ids(by_email) == {second.pk}
    assert ids(by_id) == {first.pk}
    assert ids(by_kind) == set()
    assert ids(future) == set()
    assert ids(past) == set()
    assert ids(huge_id) == set()


@pytest.mark.parametrize(
    "query", ["status=MAYBE", "kind=OTHER", "from=yesterday", "limit=-1", "limit=abc"]
)
def test_staff_list_rejects_bad_filters(staff_client, query):
    response = staff_client.get(f"/api/api-key-requests/admin/all?{query}")

    assert response.status_code == 400


def test_approval_provisions_the_key_and_reveals_the_secret_once(
    owner_client,
    staff_client,
    user,
    staff_user,
    sent_signals,
    s3,
    settings,
    django_capture_on_commit_callbacks,
):
    request_id = _create(owner_client).json()["id"]
    sent_signals.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _approve(staff_client, request_id)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "APPROVED"
    assert body["reviewerComment"] == "Fine by us"
    assert body["reviewer"]["email"] == staff_user.email
    assert body["granted"]["storageBytes"] == 5 * GIB
    api_key = ApiKey.objects.get(owner=user)
    assert api_key.storage_bytes_limit == 5 * GIB
    assert api_key.object_limit == 10000
    assert body["accessKeyId"] == api_key.access_key_id
    assert "secretKey" not in body
    marker = s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=api_key.prefix)
    assert marker["KeyCount"] == 1
    names = [name for name, _ in sent_signals]
    assert names.count("api_key_created") == 1
    assert names.count("api_key_request_decided") == 1
    decided = dict(sent_signals)["api_key_request_decided"]
    assert decided["actor"] == staff_user
    assert decided["approved"] is True

    listed = owner_client.get("/api/api-key-requests").json()["results"][0]
    with django_capture_on_commit_callbacks(execute=True):
        first = owner_client.get(f"/api/api-key-requests/{request_id}")
    second = owner_client.get(f"/api/api-key-requests/{request_id}")
    listed_after = owner_client.get("/api/api-key-requests").json()["results"][0]

    assert listed["secretAvailable"] is True
    assert "secretKey" not in listed
    assert listed_after["secretAvailable"] is False
    assert first.status_code == 200
    secret = first.json()["secretKey"]
    assert secret.startswith("sk_")
    assert first.json()["accessKeyId"] == api_key.access_key_id
    assert first["Cache-Control"] == "no-store"
    assert second.status_code == 200
    assert second.json()["secretKey"] is None
    assert second.json()["secretRevealedAt"] is not None
    assert "cannot be shown again" in second.json()["secretMessage"]
    assert [name for name, _ in sent_signals].count("api_key_secret_revealed") == 1

    stored = ApiKeyRequest.objects.get(pk=request_id)
    assert stored.pending_secret_encrypted == ""
    row_text = " ".join(str(value) for value in stored.__dict__.values())
    assert secret not in row_text
    key_row_text = " ".join(str(value) for value in api_key.__dict__.values())
    assert secret not in key_row_text

    usage = key_client(api_key.access_key_id, secret).get("/api/storage/usage")
    assert usage.status_code == 200, usage.content
    assert usage.json()["limits"]["storageBytes"] == 5 * GIB
    assert usage.json()["limits"]["objects"] == 10000


def test_decision_mail_never_holds_the_secret(
    owner_client, staff_client, user, django_capture_on_commit_callbacks
):
    request_id = _create(owner_client).json()["id"]
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _approve(staff_client, request_id)
    secret = owner_client.get(f"/api/api-key-requests/{request_id}").json()["secretKey"]

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert "approved" in message.subject
    assert "Fine by us" in message.body
    assert ApiKey.objects.get(owner=user).access_key_id in message.body
    assert secret not in message.body
    assert "sk_" not in message.body
    assert f"/api/api-key-requests/{request_id}" in message.body


def test_another_user_cannot_take_the_secret(owner_client, other_client, staff_client):
    request_id = _create(owner_client).json()["id"]
    _approve(staff_client, request_id)

    stolen = other_client.get(f"/api/api-key-requests/{request_id}")
    mine = owner_client.get(f"/api/api-key-requests/{request_id}")

    assert stolen.status_code == 404
    assert mine.json()["secretKey"].startswith("sk_")


def test_rejection_creates_no_key_and_tells_the_user(
    owner_client, staff_client, user, django_capture_on_commit_callbacks
):
    request_id = _create(owner_client).json()["id"]
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(
            f"/api/api-key-requests/admin/{request_id}/review",
            {"status": "REJECTED", "reviewComment": "Too big"},
            format="json",
        )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "REJECTED"
    assert response.json()["granted"] is None
    assert not ApiKey.objects.exists()
    assert "rejected" in mail.outbox[0].subject
    assert "Too big" in mail.outbox[0].body
    detail = owner_client.get(f"/api/api-key-requests/{request_id}").json()
    assert detail["secretKey"] is None
    assert detail["reviewerComment"] == "Too big"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reviewerComment": "no decision"},
        {"approved": "perhaps"},
        {"status": "MAYBE"},
        {"approved": True, "status": "REJECTED"},
    ],
)
def test_review_needs_a_clear_decision(staff_client, user, new_key_request, body):
    pending = new_key_request(user)

    response = staff_client.patch(
        f"/api/api-key-requests/admin/{pending.pk}/review", body, format="json"
    )

    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == "PENDING"


def test_a_misspelt_narrowing_field_is_refused_not_ignored(
    staff_client, user, new_key_request
):
    pending = new_key_request(user)

    response = _approve(staff_client, pending.pk, grantedStorageGB=1)

    assert response.status_code == 400
    assert "grantedStorageGB" in response.json()["error"]["details"]["fields"]
    pending.refresh_from_db()
    assert pending.status == "PENDING"
    assert not ApiKey.objects.filter(owner=user).exists()


def test_a_decided_request_cannot_be_decided_again(staff_client, user, new_key_request):
    pending = new_key_request(user)
    assert _approve(staff_client, pending.pk).status_code == 200

    again = staff_client.patch(
        f"/api/api-key-requests/admin/{pending.pk}/review",
        {"approved": False},
        format="json",
    )

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_decided"
    pending.refresh_from_db()
    assert pending.status == "APPROVED"
    assert ApiKey.objects.filter(owner=user).count() == 1


def test_operators_may_narrow_on_approval(staff_client, user, new_key_request):
    pending = new_key_request(user, expires_at=None)

    response = _approve(
        staff_client,
        pending.pk,
        approvedStorageGB=1.5,
        approvedObjects=100,
        approvedReadOnly=True,
        approvedExpiresAt="2098-06-01T00:00:00Z",
    )

    assert response.status_code == 200, response.content
    api_key = ApiKey.objects.get(owner=user)
    assert api_key.storage_bytes_limit == 3 * GIB // 2
    assert api_key.object_limit == 100
    assert (api_key.can_list, api_key.can_read) == (True, True)
    assert (api_key.can_write, api_key.can_delete) == (False, False)
    assert api_key.expires_at.year == 2098
    granted = response.json()["granted"]
    assert granted["capabilities"] == ["list", "read"]
    assert granted["objects"] == 100


@pytest.mark.parametrize(
    "override",
    [
        {"approvedStorageGB": 6},
        {"approvedObjects": 10001},
        {"approvedCapabilities": ["list", "read", "write", "delete"]},
    ],
)
def test_operators_may_not_widen(staff_client, user, new_key_request, override):
    pending = new_key_request(user, capabilities=None)
    if "approvedCapabilities" in override:
        pending.can_delete = False
        pending.save(update_fields=["can_delete"])

    response = _approve(staff_client, pending.pk, **override)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "override_not_narrower"
    pending.refresh_from_db()
    assert pending.status == "PENDING"
    assert not ApiKey.objects.exists()


def test_overrides_on_a_rejection_are_refused(staff_client, user, new_key_request):
    pending = new_key_request(user)

    response = staff_client.patch(
        f"/api/api-key-requests/admin/{pending.pk}/review",
        {"approved": False, "approvedObjects": 5},
        format="json",
    )

    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == "PENDING"


def test_approval_ignores_the_tier_key_count(staff_client, user, new_key_request):
    user.tier.max_api_keys = 0
    user.tier.save(update_fields=["max_api_keys"])
    pending = new_key_request(user)

    response = _approve(staff_client, pending.pk)

    assert response.status_code == 200, response.content
    assert ApiKey.objects.filter(owner=user).count() == 1


def test_schema_documents_the_endpoints(staff_client):
    response = staff_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = (
        response.json()["paths"]
        if response["Content-Type"].startswith("application/json")
        else None
    )
    if paths is None:
        text = response.content.decode()
        for path in (
            "/api/api-key-requests",
            "/api/api-key-requests/{request_id}",
            "/api/api-key-requests/admin/all",
            "/api/api-key-requests/admin/{request_id}/review",
        ):
            assert path in text
        return
    assert "/api/api-key-requests/admin/{request_id}/review" in paths


def test_s3_down_on_approval_is_503_and_leaves_it_pending(
    staff_client, user, new_key_request, settings
):
    import socket

    pending = new_key_request(user)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    settings.S3_MAX_ATTEMPTS = 1

    response = _approve(staff_client, pending.pk)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    pending.refresh_from_db()
    assert pending.status == "PENDING"
    assert pending.pending_secret_encrypted == ""
    assert not ApiKey.objects.exists()


def test_approving_no_capability_at_all_is_refused(staff_client, user, new_key_request):
    from apikeys.request_services import Capabilities

    pending = new_key_request(
        user, capabilities=Capabilities(can_list=False, can_read=False)
    )

    response = _approve(staff_client, pending.pk, approvedReadOnly=True)

    assert response.status_code == 400
    assert not ApiKey.objects.exists()
