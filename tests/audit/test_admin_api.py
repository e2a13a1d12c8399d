"""The staff-only admin API: health, users, API keys and the audit log."""

from __future__ import annotations

import pytest
from django.db.models import F

from audit.models import AuditAction, AuditLog
from audit.services import audit_record
from storage.models import Namespace
from storage.services import namespace_for_user
from tests.conftest import make_user
from tiers.models import Tier

ENDPOINTS = [
    "/api/admin/health",
    "/api/admin/users",
    "/api/admin/api-keys",
    "/api/admin/audit-logs",
]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_only_staff_get_in(url, user, staff_user, client_for, anon_client):
    assert anon_client.get(url).status_code == 401
    refused = client_for(user).get(url)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert client_for(staff_user).get(url).status_code == 200


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_staff_users_api_key_is_refused(url, staff_user, api_key_for, key_client_for):
    key, secret = api_key_for(staff_user)

    assert key_client_for(key, secret).get(url).status_code == 403


# --- health ----------------------------------------------------------------------


def test_health_reports_checks_counts_and_usage(
    user, other_user, staff_user, client_for, api_key_for
):
    key, _ = api_key_for(user)
    Namespace.objects.filter(api_key=key).update(bytes_used=40, object_count=2)
    own = namespace_for_user(other_user)
    Namespace.objects.filter(pk=own.pk).update(bytes_used=2, object_count=1)

    body = client_for(staff_user).get("/api/admin/health").json()

    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["storage"]["ok"] is True
    assert body["version"]
    assert body["uptime"] >= 0
    assert body["counts"]["users"] == 3
    assert body["counts"]["staffUsers"] == 1
    assert body["counts"]["apiKeys"] == 1
    assert body["counts"]["activeApiKeys"] == 1
    assert body["counts"]["namespaces"] == 2
    assert body["counts"]["pendingApiKeyRequests"] == 0
    assert body["counts"]["pendingTierRequests"] == 0
    assert body["usage"] == {"bytesUsed": 42, "objects": 3}


# --- users -----------------------------------------------------------------------


def test_users_list_usage_tier_and_keys(user, staff_user, client_for, api_key_for):
    tier = Tier.objects.create(
        name="admin-api-tier", storage_bytes_limit=1000, object_limit=10
    )
    user.tier = tier
    user.save(update_fields=["tier"])
    own = namespace_for_user(user)
    Namespace.objects.filter(pk=own.pk).update(bytes_used=250, object_count=3)
    first, _ = api_key_for(user)
    second, _ = api_key_for(user)
    Namespace.objects.filter(api_key__in=[first, second]).update(
        bytes_used=F("bytes_used") + 7, object_count=1
    )
    from apikeys.services import api_key_revoke

    api_key_revoke(api_key=second, actor=user)

    body = client_for(staff_user).get("/api/admin/users").json()

    assert body["count"] == 2
    row = next(item for item in body["results"] if item["id"] == user.pk)
    assert row["email"] == user.email
    assert row["role"] == "USER"
    assert row["tier"] == {"id": tier.pk, "name": "admin-api-tier"}
    assert row["apiKeyCount"] == 2
    assert row["activeApiKeyCount"] == 1
    assert row["usage"]["bytesUsed"] == 250
    assert row["usage"]["objects"] == 3
    assert row["usage"]["storageBytesLimit"] == 1000
    assert row["usage"]["storagePercent"] == 25.0
    assert row["usage"]["objectsPercent"] == 30.0
    assert row["apiKeysUsage"] == {"bytesUsed": 14, "objects": 2}
    staff_row = next(item for item in body["results"] if item["id"] == staff_user.pk)
    assert staff_row["role"] == "ADMIN"
    assert staff_row["apiKeyCount"] == 0
    assert staff_row["usage"]["bytesUsed"] == 0


def test_users_search_by_email_or_name(user, other_user, staff_user, client_for):
    client = client_for(staff_user)

    by_name = client.get("/api/admin/users", {"search": "otto"}).json()
    by_email = client.get("/api/admin/users", {"search": "OWNER@"}).json()

    assert [item["email"] for item in by_name["results"]] == [other_user.email]
    assert [item["email"] for item in by_email["results"]] == [user.email]


def test_users_list_is_paginated_and_newest_first(staff_user, client_for, db):
    made = [make_user(f"u{index}@example.com") for index in range(4)]

    page = client_for(staff_user).get("/api/admin/users?limit=2&offset=0").json()

    assert page["count"] == 5
    assert [item["id"] for item in page["results"]] == [made[3].pk, made[2].pk]
    assert page["next"]


def test_users_list_queries_do_not_grow_with_rows(
    staff_user, client_for, api_key_for, django_assert_max_num_queries
):
    for index in range(6):
        owner = make_user(f"many{index}@example.com")
        namespace_for_user(owner)
        api_key_for(owner)
    client = client_for(staff_user)

    with django_assert_max_num_queries(8):
        response = client.get("/api/admin/users?limit=100")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 7


@pytest.mark.parametrize("query", ["limit=-1", "limit=abc", "offset=-5", "limit=0"])
def test_bad_pagination_is_a_400(query, staff_user, client_for):
    response = client_for(staff_user).get(f"/api/admin/users?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


# --- API keys --------------------------------------------------------------------


def test_api_keys_show_owner_usage_quota_and_last_use(
    user, other_user, staff_user, client_for, api_key_for, key_client_for
):
    key, secret = api_key_for(user, storage_bytes_limit=200, object_limit=4)
    other_key, _ = api_key_for(other_user, name="other key")
    Namespace.objects.filter(api_key=key).update(bytes_used=50, object_count=1)
    key_client_for(key, secret).get("/api/storage/files")

    body = client_for(staff_user).get("/api/admin/api-keys").json()

    assert body["count"] == 2
    row = next(item for item in body["results"] if item["id"] == key.pk)
    assert row["accessKeyId"] == key.access_key_id
    assert row["owner"]["email"] == user.email
    assert row["isActive"] is True
    assert row["lastUsedAt"] is not None
    assert row["usage"] == {
        "bytesUsed": 50,
        "objects": 1,
        "storageBytesLimit": 200,
        "objectLimit": 4,
        "storagePercent": 25.0,
        "objectsPercent": 25.0,
    }
    assert "secret" not in str(row).lower()
    other_row = next(item for item in body["results"] if item["id"] == other_key.pk)
    assert other_row["lastUsedAt"] is None


def test_api_keys_search(user, other_user, staff_user, client_for, api_key_for):
    key, _ = api_key_for(user, name="backup key")
    api_key_for(other_user, name="photos")
    client = client_for(staff_user)

    by_name = client.get("/api/admin/api-keys", {"search": "BACKUP"}).json()
    by_id = client.get("/api/admin/api-keys", {"search": key.access_key_id}).json()
    by_owner = client.get("/api/admin/api-keys", {"search": "other@"}).json()

    assert [item["id"] for item in by_name["results"]] == [key.pk]
    assert [item["id"] for item in by_id["results"]] == [key.pk]
    assert [item["name"] for item in by_owner["results"]] == ["photos"]


def test_api_keys_queries_do_not_grow_with_rows(
    staff_user, client_for, api_key_for, django_assert_max_num_queries
):
    for index in range(6):
        api_key_for(make_user(f"k{index}@example.com"))
    client = client_for(staff_user)

    with django_assert_max_num_queries(6):
        response = client.get("/api/admin/api-keys")

    assert len(response.json()["results"]) == 6


# --- audit log -------------------------------------------------------------------


@pytest.fixture
def log(user, other_user, staff_user, api_key_for):
    key, _ = api_key_for(user)
    made = {
        "login": audit_record(
            action=AuditAction.USER_LOGIN,
            actor=user,
            user=user,
            ip_address="203.0.113.1",
        ),
        "other_login": audit_record(
            action=AuditAction.USER_LOGIN,
            actor=other_user,
            user=other_user,
            ip_address="203.0.113.2",
        ),
        "revoked": audit_record(
            action=AuditAction.API_KEY_REVOKED,
            actor=staff_user,
            user=user,
            api_key=key,
            ip_address="2001:db8::1",
        ),
    }
    made["key"] = key
    return made


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_audit_logs_newest_first_with_every_field(log, staff_user, client_for):
    response = client_for(staff_user).get("/api/admin/audit-logs")

    body = response.json()
    assert ids(response)[:3] == [
        log["revoked"].pk,
        log["other_login"].pk,
        log["login"].pk,
    ]
    newest = body["results"][0]
    assert newest["action"] == "API_KEY_REVOKED"
    assert newest["actorId"] == staff_user.pk
    assert newest["actorLabel"] == staff_user.email
    assert newest["userLabel"] == "owner@example.com"
    assert newest["apiKeyId"] == log["key"].pk
    assert newest["apiKeyLabel"] == log["key"].access_key_id
    assert newest["ipAddress"] == "2001:db8::1"
    assert set(newest) >= {"userAgent", "requestId", "metadata", "createdAt"}


def test_audit_logs_filters(log, user, staff_user, client_for):
    client = client_for(staff_user)
    url = "/api/admin/audit-logs"

    assert ids(client.get(url, {"action": "USER_LOGIN", "limit": 100})) == [
        log["other_login"].pk,
        log["login"].pk,
    ]
    assert ids(client.get(url, {"action": ["USER_LOGIN", "API_KEY_REVOKED"]})) == [
        log["revoked"].pk,
        log["other_login"].pk,
        log["login"].pk,
    ]
    assert set(ids(client.get(url, {"user": user.pk}))) == {
        log["login"].pk,
        log["revoked"].pk,
        AuditLog.objects.get(action=AuditAction.API_KEY_CREATED).pk,
    }
    assert ids(client.get(url, {"actor": staff_user.pk})) == [log["revoked"].pk]
    assert ids(
        client.get(url, {"apiKey": log["key"].pk, "action": "API_KEY_REVOKED"})
    ) == [log["revoked"].pk]
    assert ids(client.get(url, {"accessKeyId": log["key"].access_key_id})) == [
        log["revoked"].pk,
        AuditLog.objects.get(action="API_KEY_CREATED").pk,
    ]
    assert ids(client.get(url, {"ip": "203.0.113.2"})) == [log["other_login"].pk]
    assert ids(client.get(url, {"ip": "2001:db8::1"})) == [log["revoked"].pk]
    assert ids(client.get(url, {"user": 987654321})) == []


def test_audit_logs_date_range(log, staff_user, client_for):
    client = client_for(staff_user)
    url = "/api/admin/audit-logs"
    first, last = log["login"], log["revoked"]
    assert first.created_at < last.created_at

    since = ids(client.get(url, {"from": last.created_at.isoformat()}))
    until = ids(client.get(url, {"to": first.created_at.isoformat()}))
    today = last.created_at.date().isoformat()
    whole_day = ids(client.get(url, {"from": today, "to": today}))
    before = ids(client.get(url, {"to": "2000-01-01"}))

    assert since == [last.pk]
    assert first.pk in until
    assert last.pk not in until
    assert {first.pk, last.pk} <= set(whole_day)
    assert before == []


@pytest.mark.parametrize(
    "query",
    [
        {"action": "NOT_AN_ACTION"},
        {"user": "abc"},
        {"user": "99999999999999999999999"},
        {"actor": "-1"},
        {"apiKey": "1.5"},
        {"ip": "not-an-ip"},
        {"from": "yesterday"},
        {"to": "2026-13-45"},
        {"limit": "-1"},
    ],
)
def test_audit_logs_bad_filters_are_400s(query, log, staff_user, client_for):
    response = client_for(staff_user).get("/api/admin/audit-logs", query)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in ("validation_error", "invalid_input")


def test_audit_logs_seed_readme_query(log, staff_user, client_for):
    response = client_for(staff_user).get(
        "/api/admin/audit-logs?action=USER_LOGIN&limit=100"
    )

    assert response.status_code == 200
    assert {item["action"] for item in response.json()["results"]} == {"USER_LOGIN"}


def test_the_schema_documents_the_admin_api(client_for, staff_user):
    response = client_for(staff_user).get("/api/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for url in [*ENDPOINTS, "/api/users/webhook"]:
        assert url in paths
    params = {p["name"] for p in paths["/api/admin/audit-logs"]["get"]["parameters"]}
    assert {"action", "user", "apiKey", "actor", "ip", "from", "to"} <= params
