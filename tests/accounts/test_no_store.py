"""Responses carrying tokens or a one-time secret are never cached."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import bearer
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def assert_no_store(response, status_code=200):
    assert response.status_code == status_code, response.json()
    assert "no-store" in response["Cache-Control"]


def test_register_and_login_are_not_stored(anon_client):
    registered = anon_client.post(
        "/api/auth/register",
        {"email": "new@example.com", "password": TEST_PASSWORD, "name": "New"},
        format="json",
    )
    logged_in = anon_client.post(
        "/api/auth/login",
        {"email": "new@example.com", "password": TEST_PASSWORD},
        format="json",
    )

    assert_no_store(registered, 201)
    assert_no_store(logged_in)


def test_refresh_is_not_stored(anon_client, user, login):
    refresh = login(user)["refreshToken"]

    response = anon_client.post(
        "/api/auth/refresh", {"refreshToken": refresh}, format="json"
    )

    assert_no_store(response)


def test_change_password_is_not_stored(user, login):
    access = login(user)["accessToken"]

    response = bearer(access).post(
        "/api/users/change-password",
        {"currentPassword": TEST_PASSWORD, "newPassword": "Another-Stapler-Orbit-77"},
        format="json",
    )

    assert_no_store(response)


def test_a_new_api_key_secret_is_not_stored(client_for, user):
    response = client_for(user).post("/api/apikeys", {"name": "app"}, format="json")

    assert_no_store(response, 201)
    assert response.json()["secretKey"]


def test_ordinary_reads_keep_no_such_header(client_for, user):
    # The header marks secrets; a profile read is not one of them.
    response = client_for(user).get("/api/users/profile")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
