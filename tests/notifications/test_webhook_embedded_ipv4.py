"""IPv6 addresses that carry a refused IPv4 address (6to4, NAT64, Teredo) are
refused as webhook targets (red-team: http://[2002:a9fe:a9fe::]/ reached the
metadata address through a 6to4 relay)."""

from __future__ import annotations

import pytest

from notifications.models import Webhook
from notifications.transport import WebhookUrlRefused, webhook_target

pytestmark = pytest.mark.django_db

URL = "/api/users/webhook"


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://[2002:a9fe:a9fe::]/", "metadata"),  # 6to4 of 169.254.169.254
        ("http://[2002:a00:1::1]/", "private"),  # 6to4 of 10.0.0.1
        ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 of 127.0.0.1
        ("http://[64:ff9b::a9fe:a9fe]/", "metadata"),  # NAT64
        ("http://[64:ff9b::c0a8:101]/", "private"),  # NAT64 of 192.168.1.1
        ("http://[64:ff9b:1::a00:1]/", "private"),  # local-use NAT64
        # Teredo with client 10.0.0.1 (stored inverted: f5ff:fffe).
        ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", "private"),
    ],
)
def test_an_embedded_refused_ipv4_is_refused(user, client_for, url, why):
    with pytest.raises(WebhookUrlRefused) as refused:
        webhook_target(url)
    response = client_for(user).put(URL, {"url": url}, format="json")

    assert why in str(refused.value)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "webhook_url_refused"
    assert not Webhook.objects.filter(user=user).exists()


def test_6to4_of_a_public_address_stays_allowed():
    # 6to4 of 8.8.8.8: the relay would reach a public address. (NAT64 is
    # refused whatever it embeds: Python counts 64:ff9b::/96 as reserved.)
    assert webhook_target("http://[2002:808:808::1]/hook").address == "2002:808:808::1"
