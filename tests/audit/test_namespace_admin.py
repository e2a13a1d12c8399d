"""The namespace admin: usage against limits, the server-drawn chart, resync."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditLog
from storage.models import Namespace, UsageSnapshot
from storage.services import namespace_for_user
from tiers.models import Tier


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def namespace(user):
    tier = Tier.objects.create(
        name="chart-tier", storage_bytes_limit=1000, object_limit=20
    )
    user.tier = tier
    user.save(update_fields=["tier"])
    found = namespace_for_user(user)
    Namespace.objects.filter(pk=found.pk).update(bytes_used=250, object_count=5)
    found.refresh_from_db()
    return found


def test_the_url_name_other_admins_link_to(namespace):
    assert reverse("admin:storage_namespace_change", args=[namespace.pk]) == (
        f"/admin/storage/namespace/{namespace.pk}/change/"
    )


def test_the_list_shows_usage_against_limits(
    staff_client, namespace, api_key_for, user
):
    api_key_for(user, storage_bytes_limit=None, object_limit=None)

    response = staff_client.get("/admin/storage/namespace/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f"users/{user.pk}/" in page
    assert "25.0%" in page
    assert "unlimited" in page


def test_the_list_runs_a_fixed_number_of_queries(
    staff_client, user, api_key_for, django_assert_max_num_queries
):
    for index in range(5):
        api_key_for(user, name=f"k{index}")

    with django_assert_max_num_queries(12):
        response = staff_client.get("/admin/storage/namespace/")

    assert response.status_code == 200


def test_the_detail_page_draws_the_snapshots(staff_client, namespace):
    start = date(2026, 11, 1)
    for day, used in enumerate([100, 300, 250, 900]):
        UsageSnapshot.objects.create(
            namespace=namespace,
            period=start + timedelta(days=day),
            bytes_used=used,
            object_count=day + 1,
            storage_bytes_limit=1000,
            object_limit=20,
        )

    response = staff_client.get(f"/admin/storage/namespace/{namespace.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    charts = re.findall(r'<svg[^>]*class="usage-chart".*?</svg>', page, re.S)
    assert len(charts) == 2
    storage_chart, objects_chart = charts
    points = re.search(r'class="series"[^>]*points="([^"]+)"', storage_chart).group(1)
    assert len(points.split()) == 4
    # Higher usage is drawn higher (smaller y); the limit line is on the chart.
    ys = [float(pair.split(",")[1]) for pair in points.split()]
    assert ys[3] < ys[1] < ys[2] < ys[0]
    assert 'class="limit"' in storage_chart
    assert "2026-11-01" in storage_chart
    assert "2026-11-04" in storage_chart
    assert "<title>2026-11-04: 900\xa0bytes</title>" in storage_chart
    assert "Objects stored" in objects_chart
    # Nothing is loaded from elsewhere to draw it.
    assert "<script" not in "".join(charts)


def test_a_namespace_without_snapshots_says_so(staff_client, namespace):
    response = staff_client.get(f"/admin/storage/namespace/{namespace.pk}/change/")

    assert response.status_code == 200
    assert b"No usage snapshots yet" in response.content
    assert b'class="usage-chart"' not in response.content


def test_counters_cannot_be_edited_added_or_deleted(staff_client, namespace):
    url = f"/admin/storage/namespace/{namespace.pk}/change/"

    page = staff_client.get(url)
    posted = staff_client.post(url, {"bytes_used": 0, "object_count": 0})

    assert b'name="bytes_used"' not in page.content
    assert posted.status_code == 403
    assert staff_client.get("/admin/storage/namespace/add/").status_code == 403
    assert (
        staff_client.post(
            f"/admin/storage/namespace/{namespace.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    namespace.refresh_from_db()
    assert (namespace.bytes_used, namespace.object_count) == (250, 5)


def test_the_resync_action_fixes_counters_from_s3(
    staff_client,
    staff_user,
    namespace,
    s3,
    settings,
    django_capture_on_commit_callbacks,
):
    s3.put_object(
        Bucket=settings.S3_BUCKET, Key=f"{namespace.prefix}real.txt", Body=b"1234567"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/storage/namespace/",
            {"action": "resync_usage", "_selected_action": [namespace.pk]},
            follow=True,
        )

    assert response.status_code == 200
    assert b"1 corrected" in response.content
    namespace.refresh_from_db()
    assert (namespace.bytes_used, namespace.object_count) == (7, 1)
    entry = AuditLog.objects.get(action=AuditAction.USAGE_RESYNCED)
    assert entry.actor_id == staff_user.pk
    assert entry.metadata["after"] == {"bytesUsed": 7, "objects": 1}


def test_snapshots_are_listed_read_only(staff_client, namespace):
    UsageSnapshot.objects.create(
        namespace=namespace, period=date(2026, 11, 2), bytes_used=5, object_count=1
    )

    listing = staff_client.get("/admin/storage/usagesnapshot/")

    assert listing.status_code == 200
    assert namespace.prefix.encode() in listing.content
    assert staff_client.get("/admin/storage/usagesnapshot/add/").status_code == 403
