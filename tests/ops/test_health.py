"""GET /api/open/health: public, 200 with database and S3 up, 503 otherwise."""

from __future__ import annotations

import socket

import pytest

from pockity.health import database_status, storage_status


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_it_reports_ok_without_authentication(anon_client):
    response = anon_client.get("/api/open/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["storage"]["ok"] is True
    assert body["database"]["latencyMs"] >= 0
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["uptime"], int)


@pytest.mark.django_db
def test_it_is_degraded_when_s3_is_unreachable(anon_client, settings):
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{_closed_port()}"
    settings.S3_MAX_ATTEMPTS = 1
    settings.S3_CONNECT_TIMEOUT = 1

    response = anon_client.get("/api/open/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["storage"]["ok"] is False
    assert body["storage"]["error"] in ("unreachable", "timeout")


@pytest.mark.django_db
def test_it_is_degraded_when_the_bucket_is_missing(anon_client, settings):
    settings.S3_BUCKET = "pockity-no-such-bucket"

    response = anon_client.get("/api/open/health")

    assert response.status_code == 503
    assert response.json()["storage"] == {
        "ok": False,
        "latencyMs": response.json()["storage"]["latencyMs"],
        "error": "unreachable",
    }


@pytest.mark.django_db
def test_checks_are_reusable_by_the_admin_health():
    database = database_status()
    storage = storage_status()

    assert database["ok"] is True and "latencyMs" in database
    assert storage["ok"] is True and "latencyMs" in storage


@pytest.mark.django_db
def test_it_reveals_no_configuration(anon_client, settings):
    response = anon_client.get("/api/open/health")

    text = response.content.decode()
    assert settings.S3_BUCKET not in text
    assert settings.S3_ENDPOINT_URL not in text


@pytest.mark.django_db
def test_credentials_sent_by_a_probe_are_ignored(anon_client):
    anon_client.credentials(
        HTTP_X_ACCESS_KEY_ID="pk_unknown", HTTP_X_SECRET_KEY="sk_wrong"
    )

    response = anon_client.get("/api/open/health")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
