"""Failed key attempts are throttled per (address, access key id), and
Retry-After tells the time really left (red-team: 30 failures from one
address locked every key out)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apikeys import services

pytestmark = pytest.mark.django_db

PROBE = "/api/storage/usage"


@pytest.fixture(autouse=True)
def three_a_minute(settings):
    rates = dict(
        settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], apikey_auth_failure="3/min"
    )
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": rates,
    }


class Clock:
    """Stands in for the `time` module inside apikeys.services."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


def attempt(client, api_key, secret):
    return client.get(
        PROBE, HTTP_X_ACCESS_KEY_ID=api_key.access_key_id, HTTP_X_SECRET_KEY=secret
    )


def test_failures_on_one_key_do_not_lock_other_keys_from_that_address(
    user, other_user, api_key_for, s3
):
    attacked, attacked_secret = api_key_for(user, name="attacked")
    mine, my_secret = api_key_for(other_user, name="mine")
    client = APIClient()

    failures = [attempt(client, attacked, "sk_wrong").status_code for _ in range(3)]

    assert failures == [401, 401, 401]
    assert attempt(client, attacked, attacked_secret).status_code == 429
    assert attempt(client, mine, my_secret).status_code == 200


def test_unknown_key_ids_do_not_lock_out_a_real_key(user, api_key_for, s3):
    api_key, secret = api_key_for(user)
    client = APIClient()

    for n in range(5):
        client.get(
            PROBE,
            HTTP_X_ACCESS_KEY_ID=f"pk_{n:024x}",
            HTTP_X_SECRET_KEY="sk_wrong",
        )
        client.get(PROBE, HTTP_X_ACCESS_KEY_ID="garbage", HTTP_X_SECRET_KEY="x")

    assert attempt(client, api_key, secret).status_code == 200


def test_retry_after_is_the_time_left_in_the_window(user, api_key_for, monkeypatch, s3):
    api_key, secret = api_key_for(user)
    client = APIClient()
    clock = Clock(1_000_000.0)
    monkeypatch.setattr(services, "time", clock)

    for _ in range(3):
        attempt(client, api_key, "sk_wrong")
    clock.now += 45
    blocked = attempt(client, api_key, secret)

    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "throttled"
    assert blocked["Retry-After"] == "15"
