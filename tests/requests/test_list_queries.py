"""List endpoints cost the same number of queries for 2 rows as for 6."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import make_user
from tiers.models import Tier
from tiers.services import tier_request_create


def _query_count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize(
    "url", ["/api/api-key-requests/admin/all", "/api/api-key-requests"]
)
def test_key_request_lists_do_not_grow_with_rows(
    staff_client, owner_client, user, new_key_request, url
):
    client = staff_client if "admin" in url else owner_client
    for _ in range(2):
        new_key_request(user)
    few = _query_count(client, url)

    for _ in range(3):
        new_key_request(user)
    new_key_request(make_user("more@example.com"))
    many = _query_count(client, url)

    assert many == few


def test_tier_request_admin_list_does_not_grow_with_rows(staff_client, db):
    pro = Tier.objects.get(name="Pro")
    for index in range(2):
        tier_request_create(user=make_user(f"a{index}@example.com"), tier=pro)
    few = _query_count(staff_client, "/api/tier-requests/admin/all")

    for index in range(4):
        tier_request_create(user=make_user(f"b{index}@example.com"), tier=pro)
    many = _query_count(staff_client, "/api/tier-requests/admin/all")

    assert many == few


def test_review_figures_beyond_range_are_400(staff_client, user, new_key_request):
    pending = new_key_request(user)

    responses = [
        staff_client.patch(
            f"/api/api-key-requests/admin/{pending.pk}/review",
            {"approved": True, field: value},
            format="json",
        )
        for field, value in (
            ("approvedStorageGB", 99999999999999999999999),
            ("approvedObjects", 2**63),
            ("approvedStorageGB", -1),
            ("approvedExpiresAt", "1999-01-01T00:00:00Z"),
        )
    ]

    assert [response.status_code for response in responses] == [400] * 4
    pending.refresh_from_db()
    assert pending.status == "PENDING"
