"""Errors that never reach a DRF view still use the one JSON error shape."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/nope"),
        ("get", "/api/"),
        ("get", "/api/apikeys/"),
        ("post", "/api/auth/login/"),
        ("get", "/api/storage/files/"),
    ],
)
def test_unknown_api_paths_are_json_404(db, settings, debug, method, path):
    settings.DEBUG = debug

    response = getattr(Client(), method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("debug", [True, False])
def test_a_disallowed_host_is_a_json_400(db, settings, debug):
    settings.DEBUG = debug

    response = Client().get("/api/tiers", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("debug", [True, False])
def test_an_unhandled_failure_is_a_json_500_without_details(db, settings, debug):
    settings.DEBUG = debug
    settings.ROOT_URLCONF = "tests.pockity.failing_urls"

    response = Client(raise_request_exception=False).get("/api/test-broken")

    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "server_error",
            "message": "The server failed to handle this request.",
            "details": {},
        }
    }
    assert b"boom" not in response.content


def test_pages_outside_the_api_keep_their_html(db):
    response = Client().get("/admin/nope")

    assert response.status_code in (302, 404)
    assert not response.get("Content-Type", "").startswith("application/json")


def test_json_errors_of_views_pass_through_unchanged(db):
    response = Client().get("/api/storage/files")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "body", ['{"a":' * 5000 + "1" + "}" * 5000, "[" * 100000 + "]" * 100000]
)
def test_json_nested_too_deeply_is_a_400(db, body):
    response = Client().post(
        "/api/auth/login", data=body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_deep_json_on_an_authenticated_endpoint_is_a_400(user, client_for):
    response = client_for(user).post(
        "/api/storage/files/bulk-delete",
        data="[" * 100000 + "]" * 100000,
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
