"""Webhook messages and their attempts are readable in the admin, not editable."""

from __future__ import annotations

from apikeys.crypto import encrypt_secret
from notifications.models import Webhook, WebhookDelivery, WebhookMessage


def test_messages_and_attempts_are_shown_read_only(client, staff_user, user):
    webhook = Webhook.objects.create(
        user=user, url="https://hooks.example/x", secret_encrypted=encrypt_secret("s")
    )
    message = WebhookMessage.objects.create(
        webhook=webhook, event="quota.threshold_crossed", payload={"a": 1}
    )
    WebhookDelivery.objects.create(
        message=message, attempt=1, url=webhook.url, status_code=500
    )
    client.force_login(staff_user)

    listing = client.get("/admin/notifications/webhookmessage/")
    detail = client.get(f"/admin/notifications/webhookmessage/{message.pk}/change/")
    hook_page = client.get(f"/admin/notifications/webhook/{webhook.pk}/change/")

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert b"500" in detail.content
    assert hook_page.status_code == 200
    assert webhook.secret_encrypted.encode() not in hook_page.content
    assert (
        client.post(
            f"/admin/notifications/webhookmessage/{message.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert WebhookMessage.objects.filter(pk=message.pk).exists()
