"""Fixtures for the account tests: sign-in through the API itself."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import TEST_PASSWORD


def bearer(access_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


@pytest.fixture
def login(anon_client):
    """`login(user)` signs in through /api/auth/login; returns the JSON body."""

    def sign_in(user, password=TEST_PASSWORD):
        response = anon_client.post(
            "/api/auth/login",
            {"email": user.email, "password": password},
            format="json",
        )
        assert response.status_code == 200, response.json()
        return response.json()

    return sign_in
