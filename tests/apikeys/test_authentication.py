"""Authenticating with x-access-key-id / x-secret-key (F30 and friends)."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys import crypto, services
from apikeys import signals as apikey_signals
from apikeys.models import ApiKey
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

# Any endpoint that authenticates; the users' profile refuses keys with 403
# only after authentication succeeded, so failures here are the key's own.
PROBE = "/api/users/profile"

INVALID = {
    "error": {
        "code": "authentication_failed",
        "message": "Invalid API key credentials.",
        "details": {},
    }
}


def headers(access_key_id=None, secret=None) -> dict:
    sent = {}
    if access_key_id is not None:
        sent["HTTP_X_ACCESS_KEY_ID"] = access_key_id
    if secret is not None:
        sent["HTTP_X_SECRET_KEY"] = secret
    return sent


@pytest.fixture
def pair(user, api_key_for):
    return api_key_for(user)


def test_f30_only_the_right_secret_passes_and_every_failure_looks_alike(pair):
    api_key, secret = pair
    client = APIClient()
    wrong_same_length = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    right = client.get(PROBE, **headers(api_key.access_key_id, secret))
    failures = {
        "b wrong secret, same length": headers(
            api_key.access_key_id, wrong_same_length
        ),
        "c wrong secret, other length": headers(api_key.access_key_id, secret + "x"),
        "d empty secret": headers(api_key.access_key_id, ""),
        "e missing secret header": headers(api_key.access_key_id),
        "f unknown key id": headers("pk_" + "0" * 24, secret),
        "f' malformed key id": headers("pk_\x00' OR 1=1", secret),
        "f'' only a secret": headers(secret=secret),
    }

    # The key authenticated (then the account endpoint refused a key).
    assert right.status_code == 403
    assert right.json()["error"]["code"] == "jwt_required"
    for case, sent in failures.items():
        response = client.get(PROBE, **sent)
        assert response.status_code == 401, case
        assert response.json() == INVALID, case


def test_f30_secrets_are_compared_as_digests_in_constant_time():
    source = inspect.getsource(crypto.secret_matches)
    assert "compare_digest" in source
    assert "secret_digest(secret)" in source
    auth_source = inspect.getsource(services.api_key_authenticate)
    assert "_DUMMY_DIGEST" in auth_source  # unknown ids spend a digest too
    assert "==" not in auth_source.split('"""')[2]


def test_f30_no_column_holds_the_plain_secret(pair):
    api_key, secret = pair
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM apikeys_apikey WHERE id = %s", [api_key.pk])
        row = cursor.fetchone()

    assert all(secret not in str(value) for value in row)
    assert crypto.decrypt_secret(api_key.secret_encrypted) == secret


def test_a_revoked_key_is_refused_at_once(pair, user):
    api_key, secret = pair
    client = APIClient()
    assert (
        client.get(PROBE, **headers(api_key.access_key_id, secret)).status_code == 403
    )

    services.api_key_revoke(api_key=api_key, actor=user)
    response = client.get(PROBE, **headers(api_key.access_key_id, secret))

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has been revoked."


def test_an_expired_key_is_403(pair):
    api_key, secret = pair
    ApiKey.objects.filter(pk=api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = APIClient().get(PROBE, **headers(api_key.access_key_id, secret))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_expired"


def test_a_key_of_an_inactive_owner_fails_like_a_wrong_secret(pair, user):
    api_key, secret = pair
    user.is_active = False
    user.save()

    response = APIClient().get(PROBE, **headers(api_key.access_key_id, secret))

    assert response.status_code == 401
    assert response.json() == INVALID


def test_last_used_is_written_once_per_resolution_window(pair, settings):
    settings.API_KEY_LAST_USED_RESOLUTION = 60
    api_key, secret = pair
    first_use = []
    apikey_signals.api_key_first_used.connect(
        lambda **kw: first_use.append(kw), weak=False, dispatch_uid="t-first"
    )
    try:
        services.api_key_authenticate(
            access_key_id=api_key.access_key_id, secret=secret, client_ip="127.0.0.1"
        )
        api_key.refresh_from_db()
        stamped = api_key.last_used_at

        with CaptureQueriesContext(connection) as queries:
            for _ in range(5):
                services.api_key_authenticate(
                    access_key_id=api_key.access_key_id,
                    secret=secret,
                    client_ip="127.0.0.1",
                )
    finally:
        apikey_signals.api_key_first_used.disconnect(dispatch_uid="t-first")

    assert stamped is not None
    assert len(first_use) == 1
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    api_key.refresh_from_db()
    assert api_key.last_used_at == stamped

    # Once the window has passed, the next use moves it forward (one UPDATE).
    ApiKey.objects.filter(pk=api_key.pk).update(
        last_used_at=stamped - timedelta(seconds=61)
    )
    with CaptureQueriesContext(connection) as queries:
        services.api_key_authenticate(
            access_key_id=api_key.access_key_id, secret=secret, client_ip="127.0.0.1"
        )
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    api_key.refresh_from_db()
    assert api_key.last_used_at > stamped - timedelta(seconds=61)


def test_failed_key_auth_is_throttled_per_address(pair, settings):
    rates = dict(
        settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], apikey_auth_failure="3/min"
    )
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": rates,
    }
    api_key, secret = pair
    client = APIClient()

    failures = [
        client.get(PROBE, **headers(api_key.access_key_id, "sk_wrong")).status_code
        for _ in range(3)
    ]
    blocked = client.get(PROBE, **headers(api_key.access_key_id, secret))
    elsewhere = client.get(
        PROBE, REMOTE_ADDR="192.0.2.10", **headers(api_key.access_key_id, secret)
    )

    assert failures == [401, 401, 401]
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "throttled"
    assert elsewhere.status_code == 403  # authenticated; jwt_required


def test_jwt_still_works_when_no_key_header_is_sent(client_for, user):
    assert client_for(user).get(PROBE).status_code == 200


def test_login_with_password_is_unaffected_by_key_failures(anon_client, user, pair):
    api_key, _ = pair
    for _ in range(3):
        APIClient().get(PROBE, **headers(api_key.access_key_id, "sk_wrong"))

    response = anon_client.post(
        "/api/auth/login",
        {"email": user.email, "password": TEST_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
