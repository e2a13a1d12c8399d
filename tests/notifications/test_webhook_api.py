"""`/api/users/webhook`: registration, the one-time secret, and SSRF refusals."""

from __future__ import annotations

import pytest

from notifications.models import Webhook

URL = "/api/users/webhook"


@pytest.fixture
def allow_loopback(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True


def test_it_registers_and_shows_the_secret_once(
    user, client_for, allow_loopback, webhook_receiver
):
    client = client_for(user)

    response = client.put(URL, {"url": webhook_receiver.url}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["url"] == webhook_receiver.url
    assert body["secret"].startswith("whsec_")
    assert len(body["secret"]) > 40
    stored = Webhook.objects.get(user=user)
    assert body["secret"] not in stored.secret_encrypted

    shown = client.get(URL)
    assert shown.status_code == 200
    assert shown.json()["url"] == webhook_receiver.url
    assert "secret" not in shown.json()


def test_registering_again_replaces_url_and_secret(
    user, client_for, allow_loopback, webhook_receiver
):
    client = client_for(user)
    first = client.put(URL, {"url": webhook_receiver.url}, format="json").json()

    second = client.put(
        URL, {"url": webhook_receiver.url + "?v=2"}, format="json"
    ).json()

    assert second["secret"] != first["secret"]
    assert Webhook.objects.filter(user=user).count() == 1
    assert Webhook.objects.get(user=user).url.endswith("?v=2")


def test_another_user_sees_and_deletes_nothing(
    user, other_user, client_for, allow_loopback, webhook_receiver
):
    client_for(user).put(URL, {"url": webhook_receiver.url}, format="json")

    other = client_for(other_user)

    assert other.get(URL).status_code == 404
    assert other.delete(URL).status_code == 404
    assert Webhook.objects.filter(user=user).exists()


def test_delete_removes_the_webhook(user, client_for, allow_loopback, webhook_receiver):
    client = client_for(user)
    client.put(URL, {"url": webhook_receiver.url}, format="json")

    response = client.delete(URL)

    assert response.status_code == 204
    assert not Webhook.objects.filter(user=user).exists()
    assert client.get(URL).status_code == 404


def test_it_requires_authentication(anon_client):
    assert anon_client.get(URL).status_code == 401
    assert anon_client.put(URL, {"url": "http://x"}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://localhost:9/hook", "loopback"),
        ("http://[::1]:9/hook", "loopback"),
        ("http://10.0.0.1/hook", "private"),
        ("http://192.168.1.20/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://100.64.0.1/hook", "non-public"),
        ("ftp://127.0.0.1/hook", "http and https"),
        ("file:///etc/passwd", "http and https"),
        ("http://user:pass@127.0.0.1/hook", "credentials"),
        ("http:///nohost", "no host"),
        ("not a url", "spaces"),
        ("http://127.0.0.1:99999/", "malformed"),
    ],
)
def test_it_refuses_urls_that_could_reach_inside(user, client_for, url, why):
    response = client_for(user).put(URL, {"url": url}, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "webhook_url_refused"
    assert why in error["message"]
    assert not Webhook.objects.filter(user=user).exists()


def test_loopback_is_refused_by_default_even_with_a_live_server(
    user, client_for, webhook_receiver
):
    response = client_for(user).put(URL, {"url": webhook_receiver.url}, format="json")

    assert response.status_code == 400
    assert "loopback" in response.json()["error"]["message"]


def test_private_addresses_stay_refused_when_loopback_is_allowed(
    user, client_for, allow_loopback
):
    response = client_for(user).put(URL, {"url": "http://10.1.2.3/"}, format="json")

    assert response.status_code == 400
    assert "private" in response.json()["error"]["message"]


def test_missing_or_malformed_body_is_a_400(user, client_for):
    client = client_for(user)

    assert client.put(URL, {}, format="json").status_code == 400
    assert client.put(URL, data="{", content_type="application/json").status_code == 400


def test_an_api_key_cannot_manage_the_webhook(
    user, api_key_for, key_client_for, allow_loopback, webhook_receiver
):
    key, secret = api_key_for(user)

    response = key_client_for(key, secret).put(
        URL, {"url": webhook_receiver.url}, format="json"
    )

    assert response.status_code == 403
    assert not Webhook.objects.filter(user=user).exists()
