"""The Django admin for users: list, search, filters, usage, deletion."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import User
from storage.models import Namespace
from storage.services import namespace_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def test_the_list_shows_users_with_their_columns(admin_client, user, other_user):
    user.email_verified_at = timezone.now()
    user.save()

    response = admin_client.get("/admin/accounts/user/")

    assert response.status_code == 200
    page = response.content.decode()
    for expected in ("owner@example.com", "other@example.com", "Olive Owner", "Free"):
        assert expected in page


def test_search_and_filters(admin_client, user, other_user):
    user.email_verified_at = timezone.now()
    user.save()

    searched = admin_client.get("/admin/accounts/user/", {"q": "olive"})
    verified = admin_client.get("/admin/accounts/user/", {"verified": "yes"})
    admins = admin_client.get("/admin/accounts/user/", {"role": "ADMIN"})

    assert "owner@example.com" in searched.content.decode()
    assert "other@example.com" not in searched.content.decode()
    assert "owner@example.com" in verified.content.decode()
    assert "other@example.com" not in verified.content.decode()
    assert "staff@example.com" in admins.content.decode()
    assert "owner@example.com" not in admins.content.decode()


def test_the_change_page_shows_usage_against_limits(admin_client, user):
    namespace = namespace_for_user(user)
    namespace.bytes_used = 1024**3
    namespace.object_count = 7
    namespace.save()

    response = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "1.00 GiB of 5.00 GiB (20.0 %)" in page
    assert "7 of 10,000" in page
    assert f"users/{user.pk}/" in page


def test_a_user_without_files_renders(admin_client, other_user):
    response = admin_client.get(f"/admin/accounts/user/{other_user.pk}/change/")

    assert response.status_code == 200
    assert "nothing stored yet" in response.content.decode()


def test_adding_a_user_normalises_the_email(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "Added@Example.COM",
            "name": "Added",
            "usable_password": "true",
            "password1": "Plenty-Strong-Pass-3",
            "password2": "Plenty-Strong-Pass-3",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    added = User.objects.get(email="added@example.com")
    assert added.check_password("Plenty-Strong-Pass-3")
    assert added.tier is not None


def test_deleting_in_the_admin_purges_files_like_the_api(
    admin_client, user, api_key_for, s3
):
    namespace_for_user(user)
    api_key, _ = api_key_for(user)
    s3.put_object(Bucket=settings.S3_BUCKET, Key=f"users/{user.pk}/a.txt", Body=b"a")
    s3.put_object(Bucket=settings.S3_BUCKET, Key=f"{api_key.prefix}b.txt", Body=b"b")

    response = admin_client.post(
        f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    for prefix in (f"users/{user.pk}/", api_key.prefix):
        listing = s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix)
        assert listing.get("KeyCount", 0) == 0
    assert not Namespace.objects.filter(prefix=f"users/{user.pk}/").exists()


def test_end_all_sessions_action(admin_client, user, client_for):
    client = client_for(user)
    assert client.get("/api/users/profile").status_code == 200

    admin_client.post(
        "/admin/accounts/user/",
        {"action": "end_all_sessions", "_selected_action": [user.pk]},
    )

    assert client.get("/api/users/profile").status_code == 401


def test_non_staff_cannot_open_the_user_admin(user):
    client = Client()
    client.force_login(user)

    response = client.get("/admin/accounts/user/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
