"""Quota alerts: once per crossing, by e-mail and a signed webhook, re-armed."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditAction, AuditLog
from notifications.models import QuotaAlertState, WebhookDelivery, WebhookMessage
from notifications.services import quota_alerts_check
from storage import signals as storage_signals
from storage.models import Namespace
from storage.services import namespace_for_user
from tiers.models import Tier


@pytest.fixture
def small_tier(db):
    return Tier.objects.create(
        name="alerts-small", storage_bytes_limit=1000, object_limit=10
    )


@pytest.fixture
def tenant(user, small_tier):
    user.tier = small_tier
    user.save(update_fields=["tier"])
    return user


@pytest.fixture
def hooked(tenant, client_for, settings, webhook_receiver):
    """The tenant with a webhook registered; returns its signing secret."""
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    response = client_for(tenant).put(
        "/api/users/webhook", {"url": webhook_receiver.url}, format="json"
    )
    assert response.status_code == 200
    return response.json()["secret"]


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """`upload(client, name, size)` through the API, running the after-commit
    callbacks (storage sends usage_changed from one)."""

    def run(client, name: str, size: int):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/storage/upload",
                {"file": SimpleUploadedFile(name, b"x" * size)},
                format="multipart",
            )
        assert response.status_code == 201, response.content
        return response

    return run


@pytest.fixture
def delete(django_capture_on_commit_callbacks):
    def run(client, name: str):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.delete(f"/api/storage/files/{name}")
        assert response.status_code in (200, 204), response.content
        return response

    return run


def verify_signature(request: dict, secret: str) -> dict:
    headers = {name.lower(): value for name, value in request["headers"].items()}
    timestamp = headers["x-pockity-timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    assert headers["x-pockity-signature"] == f"sha256={expected}"
    assert headers["content-type"] == "application/json"
    return json.loads(request["body"])


def alerts_for(user):
    return AuditLog.objects.filter(action=AuditAction.QUOTA_ALERT, user_id=user.pk)


def test_crossing_80_percent_alerts_once_by_email_and_signed_webhook(
    tenant, client_for, hooked, webhook_receiver, mailoutbox, upload
):
    client = client_for(tenant)

    upload(client, "big.bin", 850)

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [tenant.email]
    assert "80%" in mailoutbox[0].subject
    assert len(webhook_receiver.requests) == 1
    payload = verify_signature(webhook_receiver.requests[0], hooked)
    assert payload["event"] == "quota.threshold_crossed"
    assert payload["data"]["limitKind"] == "storage"
    assert payload["data"]["threshold"] == 80
    assert payload["data"]["usage"] == 850
    assert payload["data"]["limit"] == 1000
    assert payload["data"]["namespace"] == f"users/{tenant.pk}/"
    message = WebhookMessage.objects.get()
    assert message.status == WebhookMessage.Status.DELIVERED
    assert message.deliveries.get().status_code == 200
    entry = alerts_for(tenant).get()
    assert entry.metadata["threshold"] == 80
    assert entry.metadata["emailed"] is True

    upload(client, "small.bin", 20)

    assert len(mailoutbox) == 1
    assert len(webhook_receiver.requests) == 1
    assert alerts_for(tenant).count() == 1


def test_each_higher_threshold_alerts_and_falling_back_rearms(
    tenant, client_for, hooked, webhook_receiver, mailoutbox, upload, delete
):
    client = client_for(tenant)
    upload(client, "a.bin", 850)

    upload(client, "b.bin", 100)

    assert [r["threshold"] for r in _payloads(webhook_receiver, hooked)] == [80, 90]

    delete(client, "a.bin")
    namespace = namespace_for_user(tenant)

    assert not QuotaAlertState.objects.filter(namespace=namespace).exists()

    upload(client, "c.bin", 750)

    assert [r["threshold"] for r in _payloads(webhook_receiver, hooked)] == [
        80,
        90,
        80,
    ]
    assert len(mailoutbox) == 3
    assert alerts_for(tenant).count() == 3


def _payloads(receiver, secret) -> list[dict]:
    return [verify_signature(request, secret)["data"] for request in receiver.requests]


def test_a_jump_past_two_thresholds_is_one_alert_naming_the_highest(
    tenant, client_for, hooked, webhook_receiver, mailoutbox, upload
):
    upload(client_for(tenant), "jump.bin", 960)

    assert [r["threshold"] for r in _payloads(webhook_receiver, hooked)] == [90]
    assert len(mailoutbox) == 1
    namespace = namespace_for_user(tenant)
    assert sorted(
        QuotaAlertState.objects.filter(namespace=namespace).values_list(
            "threshold", flat=True
        )
    ) == [80, 90]


def test_the_object_limit_alerts_on_its_own(
    tenant, client_for, hooked, webhook_receiver, mailoutbox, upload
):
    client = client_for(tenant)
    for index in range(8):
        upload(client, f"f{index}.txt", 1)

    data = _payloads(webhook_receiver, hooked)
    assert [(r["limitKind"], r["threshold"]) for r in data] == [("objects", 80)]
    assert data[0]["usage"] == 8
    assert data[0]["limit"] == 10


def test_reaching_the_limit_exactly_is_the_100_percent_alert(
    tenant, client_for, hooked, webhook_receiver, mailoutbox, upload
):
    upload(client_for(tenant), "full.bin", 1000)

    data = _payloads(webhook_receiver, hooked)
    assert [r["threshold"] for r in data] == [100]
    assert "refused" in mailoutbox[0].body


def test_without_a_webhook_only_the_email_goes(tenant, client_for, mailoutbox, upload):
    upload(client_for(tenant), "big.bin", 900)

    assert len(mailoutbox) == 1
    assert not WebhookMessage.objects.exists()
    assert alerts_for(tenant).get().metadata["webhookMessage"] is None


def test_unlimited_namespaces_never_alert(user, client_for, mailoutbox, db, upload):
    unlimited = Tier.objects.create(name="alerts-unlimited")
    user.tier = unlimited
    user.save(update_fields=["tier"])

    upload(client_for(user), "big.bin", 5000)

    assert mailoutbox == []
    assert not alerts_for(user).exists()


def test_a_second_check_at_the_same_usage_alerts_nothing(tenant, mailoutbox):
    namespace = namespace_for_user(tenant)
    Namespace.objects.filter(pk=namespace.pk).update(bytes_used=900)

    first = quota_alerts_check(namespace=namespace)
    second = quota_alerts_check(namespace=namespace)

    assert [alert["threshold"] for alert in first] == [90]
    assert second == []
    assert len(mailoutbox) == 1


def test_an_alert_failure_does_not_break_the_upload(
    tenant, client_for, settings, mailoutbox, upload, caplog
):
    # A template that cannot render makes the alert itself fail.
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [], "APP_DIRS": False}]

    response = upload(client_for(tenant), "big.bin", 900)

    assert response.status_code == 201
    assert namespace_for_user(tenant).bytes_used == 900
    assert mailoutbox == []
    assert "Quota alert check failed" in caplog.text


def test_a_failing_endpoint_is_retried_with_backoff_and_recorded(
    tenant, client_for, hooked, webhook_receiver, upload
):
    webhook_receiver.responses = [(500, {}), (503, {})]

    upload(client_for(tenant), "big.bin", 850)

    message = WebhookMessage.objects.get()
    assert message.status == WebhookMessage.Status.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at > timezone.now()
    first = message.deliveries.get()
    assert first.status_code == 500
    assert first.succeeded is False

    # Nothing is due yet: the command leaves the message alone.
    call_command("deliver_webhooks")
    assert WebhookDelivery.objects.count() == 1

    WebhookMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    call_command("deliver_webhooks")
    WebhookMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    call_command("deliver_webhooks")

    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.DELIVERED
    assert message.attempts == 3
    assert list(
        message.deliveries.order_by("attempt").values_list("attempt", "status_code")
    ) == [(1, 500), (2, 503), (3, 200)]
    assert len(webhook_receiver.requests) == 3
    # Every attempt is signed afresh and verifies.
    for request in webhook_receiver.requests:
        verify_signature(request, hooked)


def test_redirects_are_not_followed(
    tenant, client_for, hooked, webhook_receiver, upload
):
    webhook_receiver.responses = [(302, {"Location": "/elsewhere"})]

    upload(client_for(tenant), "big.bin", 850)

    assert [request["path"] for request in webhook_receiver.requests] == ["/hook"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status_code == 302
    assert delivery.succeeded is False
    assert WebhookMessage.objects.get().status == WebhookMessage.Status.PENDING


def test_the_address_is_checked_again_at_delivery(
    tenant, client_for, hooked, webhook_receiver, settings, upload
):
    # Registered while loopback was allowed; by delivery time it is not (as a
    # name that re-resolved to an internal address would be).
    settings.WEBHOOKS_ALLOW_LOOPBACK = False

    upload(client_for(tenant), "big.bin", 850)

    assert webhook_receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status_code is None
    assert "loopback" in delivery.error


def test_a_message_is_given_up_after_the_last_attempt(
    tenant, client_for, hooked, webhook_receiver, upload
):
    from notifications.services import MAX_ATTEMPTS

    webhook_receiver.responses = [(500, {})] * MAX_ATTEMPTS
    upload(client_for(tenant), "big.bin", 850)
    message = WebhookMessage.objects.get()

    for _ in range(MAX_ATTEMPTS - 1):
        WebhookMessage.objects.filter(pk=message.pk).update(
            next_attempt_at=timezone.now()
        )
        call_command("deliver_webhooks")

    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.FAILED
    assert message.attempts == MAX_ATTEMPTS
    assert message.next_attempt_at is None
    call_command("deliver_webhooks")
    assert len(webhook_receiver.requests) == MAX_ATTEMPTS


def test_usage_changed_sent_by_hand_also_alerts(tenant, mailoutbox):
    namespace = namespace_for_user(tenant)
    Namespace.objects.filter(pk=namespace.pk).update(bytes_used=820)

    storage_signals.usage_changed.send(
        sender=Namespace, namespace=namespace, actor=None
    )

    assert len(mailoutbox) == 1
    assert alerts_for(tenant).count() == 1
