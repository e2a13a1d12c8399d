"""Namespaces, usage (with history) and analytics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from storage import services
from storage.models import Namespace, UsageSnapshot
from tests.storage.conftest import FILES_URL, USAGE_URL, upload, usage_of

ANALYTICS_URL = "/api/storage/analytics"


def test_api_key_namespace_has_an_uncounted_marker(user, api_key_for, s3):
    api_key, _secret = api_key_for(user)

    namespace = Namespace.objects.get(api_key=api_key)
    head = s3.head_object(Bucket=django_settings.S3_BUCKET, Key=api_key.prefix)

    assert namespace.prefix == f"apikeys/{api_key.access_key_id}/"
    assert namespace.kind == Namespace.Kind.API_KEY
    assert head["ContentLength"] == 0
    assert (namespace.bytes_used, namespace.object_count) == (0, 0)


def test_namespace_for_user_is_created_once(user):
    first = services.namespace_for_user(user)
    second = services.namespace_for_user(user)

    assert first.pk == second.pk
    assert first.prefix == f"users/{user.pk}/"


def test_limits_come_from_the_key_and_its_tier(user, api_key_for):
    from tiers.models import Tier

    tier = Tier.objects.create(
        name="Test Pro", storage_bytes_limit=999, object_limit=9, max_file_size_bytes=77
    )
    user.tier = tier
    user.save()
    api_key, _secret = api_key_for(user, storage_bytes_limit=500, object_limit=None)

    limits = services.namespace_limits(Namespace.objects.get(api_key=api_key))
    user_limits = services.namespace_limits(services.namespace_for_user(user))

    assert (limits.storage_bytes, limits.objects, limits.max_file_size) == (
        500,
        None,
        77,
    )
    assert (user_limits.storage_bytes, user_limits.objects) == (999, 9)


def test_usage_reports_limits_and_percentages(user, api_key_for, key_client_for):
    api_key, secret = api_key_for(user, storage_bytes_limit=200, object_limit=4)
    client = key_client_for(api_key, secret)
    upload(client, b"x" * 50, fileName="a")

    usage = client.get(USAGE_URL).json()

    assert usage["bytesUsed"] == 50
    assert usage["objects"] == 1
    assert usage["limits"]["storageBytes"] == 200
    assert usage["percentages"] == {"storage": 25.0, "objects": 25.0}
    assert "history" not in usage


def test_usage_is_per_tenant(key_tenant, other_tenant, jwt_tenant):
    client, _prefix, _key = key_tenant
    other_client, _other = other_tenant
    jwt_client, _jwt_prefix = jwt_tenant
    upload(client, b"x" * 7, fileName="a")

    assert client.get(USAGE_URL).json()["bytesUsed"] == 7
    assert other_client.get(USAGE_URL).json()["bytesUsed"] == 0
    assert jwt_client.get(USAGE_URL).json()["bytesUsed"] == 0


def test_usage_history_periods(tenant):
    client, prefix = tenant
    client.get(USAGE_URL)
    namespace = Namespace.objects.get(prefix=prefix)
    today = timezone.now().date()
    for days_ago in (0, 5, 20, 60, 200):
        UsageSnapshot.objects.create(
            namespace=namespace,
            period=today - timedelta(days=days_ago),
            bytes_used=days_ago,
            object_count=1,
        )
    UsageSnapshot.objects.create(
        namespace=Namespace.objects.create(prefix="users/elsewhere/", kind="USER"),
        period=today,
        bytes_used=123,
        object_count=1,
    )

    week = client.get(USAGE_URL + "?history=7d").json()["history"]
    quarter = client.get(USAGE_URL + "?history=90d").json()["history"]
    ranged = client.get(
        USAGE_URL
        + f"?from={today - timedelta(days=30)}&to={today - timedelta(days=10)}"
    ).json()["history"]

    assert [row["bytesUsed"] for row in week] == [5, 0]
    assert [row["bytesUsed"] for row in quarter] == [60, 20, 5, 0]
    assert [row["bytesUsed"] for row in ranged] == [20]


@pytest.mark.parametrize(
    "query",
    [
        "history=1y",
        "from=yesterday",
        "from=2026-02-30",
        "from=2026-05-01&to=2026-04-01",
    ],
)
def test_usage_history_bad_parameters(tenant, query):
    client, _prefix = tenant

    response = client.get(f"{USAGE_URL}?{query}")

    assert response.status_code == 400


def test_analytics_summarises_the_listing(tenant):
    client, _prefix = tenant
    upload(client, b"p" * 300, fileName="photos/cat.jpg")
    upload(client, b"d" * 200, fileName="docs/a.pdf")
    upload(client, b"t" * 10, fileName="notes.txt")
    upload(client, b"n" * 5, fileName="README")

    body = client.get(ANALYTICS_URL).json()

    assert body["usage"]["bytesUsed"] == 515
    assert body["scan"] == {
        "files": 4,
        "bytes": 515,
        "truncated": False,
        "maxFiles": services.ANALYTICS_MAX_OBJECTS,
    }
    assert body["byCategory"]["image"] == {"count": 1, "bytes": 300}
    assert body["byCategory"]["document"] == {"count": 1, "bytes": 200}
    assert body["byCategory"]["text"] == {"count": 1, "bytes": 10}
    assert body["byExtension"][""] == {"count": 1, "bytes": 5}
    assert [f["name"] for f in body["largestFiles"]][:2] == [
        "photos/cat.jpg",
        "docs/a.pdf",
    ]
    assert len(body["recentFiles"]) == 4


def test_analytics_is_per_tenant(key_tenant, other_tenant):
    client, _prefix, _key = key_tenant
    other_client, _other = other_tenant
    upload(client, b"x", fileName="mine.txt")

    theirs = other_client.get(ANALYTICS_URL).json()

    assert theirs["scan"]["files"] == 0
    assert theirs["largestFiles"] == []


def test_namespace_purge_deletes_objects_and_row(user, api_key_for, key_client_for, s3):
    api_key, secret = api_key_for(user)
    client = key_client_for(api_key, secret)
    for index in range(3):
        upload(client, b"x", fileName=f"f{index}")
    namespace = Namespace.objects.get(api_key=api_key)

    deleted = services.namespace_purge(namespace=namespace, actor=user)

    assert deleted == 4  # three files and the folder marker
    assert not Namespace.objects.filter(prefix=api_key.prefix).exists()
    remaining = s3.list_objects_v2(
        Bucket=django_settings.S3_BUCKET, Prefix=api_key.prefix
    )
    assert remaining["KeyCount"] == 0


def test_jwt_and_key_namespaces_are_separate(key_tenant, jwt_tenant):
    client, _prefix, _key = key_tenant
    jwt_client, jwt_prefix = jwt_tenant
    upload(jwt_client, b"jwt", fileName="j.txt")

    assert [f["name"] for f in client.get(FILES_URL).json()["files"]] == []
    assert [f["name"] for f in jwt_client.get(FILES_URL).json()["files"]] == ["j.txt"]
    assert usage_of(jwt_prefix) == (3, 1)


def test_schema_documents_the_storage_routes(staff_user, client_for):
    response = client_for(staff_user).get("/api/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/storage/upload",
        "/api/storage/files",
        "/api/storage/files/{name}",
        "/api/storage/files/{name}/metadata",
        "/api/storage/files/bulk-delete",
        "/api/storage/usage",
        "/api/storage/analytics",
    ):
        assert path in paths
