"""
Quota alerts and the webhooks that carry them.

When a namespace's usage reaches 80, 90 or 100 % of its byte or object
limit, its owner is told once per crossing: an e-mail, a signed webhook POST
when the owner registered one, and an audit entry. A crossing stays recorded
(QuotaAlertState) until usage falls back below the threshold, which re-arms
it.

Webhook messages are signed with the owner's secret:
`X-Pockity-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`
with the timestamp in `X-Pockity-Timestamp` (Unix seconds). The first attempt
runs at once, synchronously, from the (already committed) usage change;
failures are retried by `manage.py deliver_webhooks` with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apikeys.crypto import decrypt_secret, encrypt_secret
from audit.models import AuditAction
from audit.services import audit_record
from notifications.emails import send_templated_email
from notifications.models import (
    LimitKind,
    QuotaAlertState,
    Webhook,
    WebhookDelivery,
    WebhookMessage,
)
from notifications.transport import post_json, webhook_target
from pockity.exceptions import NotFound

logger = logging.getLogger(__name__)

THRESHOLDS = (80, 90, 100)

# Delay before attempt n+1 after attempt n failed; after the last one the
# message is given up (FAILED). About 15 hours in all.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

QUOTA_ALERT_EVENT = "quota.threshold_crossed"
SECRET_PREFIX = "whsec_"


# --- webhooks ------------------------------------------------------------------


def webhook_get(*, user) -> Webhook:
    webhook = Webhook.objects.filter(user=user).first()
    if webhook is None:
        raise NotFound("No webhook is registered.", code="webhook_not_found")
    return webhook


def webhook_register(*, user, url: str) -> tuple[Webhook, str]:
    """Set the user's webhook URL and give it a new secret; return both.

    Side effects: one DNS resolution of the URL's host (refused hosts raise
    WebhookUrlRefused, 400). The secret is returned this once and stored
    only encrypted. Registering again replaces the URL and the secret;
    pending messages are then signed with the new secret.
    """
    webhook_target(url)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    webhook, _ = Webhook.objects.update_or_create(
        user=user, defaults={"url": url, "secret_encrypted": encrypt_secret(secret)}
    )
    logger.info("Webhook registered user=%s webhook=%s", user.pk, webhook.pk)
    return webhook, secret


def webhook_delete(*, user) -> None:
    """Remove the user's webhook and its undelivered messages."""
    deleted, _ = Webhook.objects.filter(user=user).delete()
    if not deleted:
        raise NotFound("No webhook is registered.", code="webhook_not_found")
    logger.info("Webhook deleted user=%s", user.pk)


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    signed = timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_message_deliver(*, message: WebhookMessage) -> WebhookDelivery:
    """Make one attempt at `message`; record it and schedule the next.

    Side effects: one HTTP POST (see notifications.transport for the SSRF
    rules and timeouts), one WebhookDelivery row, and the message's status,
    attempt count and next_attempt_at updated.
    """
    webhook = message.webhook
    body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    signature = webhook_signature(
        secret=decrypt_secret(webhook.secret_encrypted), timestamp=timestamp, body=body
    )
    result = post_json(
        webhook.url,
        body=body,
        headers={
            "X-Pockity-Event": message.event,
            "X-Pockity-Delivery": str(message.pk),
            "X-Pockity-Timestamp": timestamp,
            "X-Pockity-Signature": signature,
        },
    )

    now = timezone.now()
    attempt = message.attempts + 1
    delivery = WebhookDelivery.objects.create(
        message=message,
        attempt=attempt,
        url=webhook.url,
        status_code=result.status_code,
        error=result.error or ("" if result.ok else "non-2xx response"),
        succeeded=result.ok,
        duration_ms=result.duration_ms,
    )
    message.attempts = attempt
    if result.ok:
        message.status = WebhookMessage.Status.DELIVERED
        message.delivered_at = now
        message.next_attempt_at = None
    elif attempt >= MAX_ATTEMPTS:
        message.status = WebhookMessage.Status.FAILED
        message.next_attempt_at = None
    else:
        message.next_attempt_at = now + RETRY_DELAYS[attempt - 1]
    message.save(
        update_fields=["attempts", "status", "delivered_at", "next_attempt_at"]
    )

    logger.info(
        "Webhook attempt message=%s attempt=%s status=%s outcome=%s",
        message.pk,
        attempt,
        result.status_code,
        message.status,
    )
    return delivery


def webhook_deliver_due(*, limit: int = 100) -> int:
    """Attempt up to `limit` pending messages whose retry is due; return how many.

    Each message is claimed with SELECT ... FOR UPDATE SKIP LOCKED for the
    length of its attempt, so several workers never deliver the same message
    at once.
    """
    done = 0
    while done < limit:
        with transaction.atomic():
            message = (
                WebhookMessage.objects.select_for_update(skip_locked=True)
                .select_related("webhook")
                .filter(
                    status=WebhookMessage.Status.PENDING,
                    next_attempt_at__lte=timezone.now(),
                )
                .order_by("next_attempt_at", "id")
                .first()
            )
            if message is None:
                break
            webhook_message_deliver(message=message)
        done += 1
    return done


# --- quota alerts --------------------------------------------------------------


def _namespace_owner(namespace):
    if namespace.user_id:
        return namespace.user
    if namespace.api_key_id:
        return namespace.api_key.owner
    return None


def _crossed(used: int, limit: int | None) -> list[int]:
    """The thresholds (percent) that `used` has reached; none without a limit.

    A zero limit refuses every upload; alerting on it would only be noise.
    """
    if limit is None or limit <= 0:
        return []
    return [threshold for threshold in THRESHOLDS if used * 100 >= threshold * limit]


def _claim_crossing(*, namespace, kind: str, threshold: int, used: int, limit: int):
    """Record a crossing; True when this call is the one that recorded it."""
    try:
        with transaction.atomic():
            _, created = QuotaAlertState.objects.get_or_create(
                namespace=namespace,
                limit_kind=kind,
                threshold=threshold,
                defaults={"usage": used, "limit": limit},
            )
    except IntegrityError:
        return False
    return created


def quota_alerts_check(*, namespace, actor=None) -> list[dict]:
    """Alert the namespace's owner of every threshold newly crossed.

    Reads the current counters and limits, re-arms thresholds that usage is
    back under, and for each limit whose usage newly reached a threshold
    sends one alert naming the highest threshold reached (a jump from 50 to
    95 % is one alert, not two). Side effects per alert: one e-mail, one
    webhook message and its first attempt (when the owner has a webhook),
    one QUOTA_ALERT audit entry. Returns the alerts sent.
    """
    from storage.models import Namespace
    from storage.services import namespace_limits

    namespace = (
        Namespace.objects.select_related("user", "api_key__owner")
        .filter(pk=namespace.pk)
        .first()
    )
    if namespace is None:
        return []
    limits = namespace_limits(namespace)
    readings = (
        (LimitKind.STORAGE, namespace.bytes_used, limits.storage_bytes),
        (LimitKind.OBJECTS, namespace.object_count, limits.objects),
    )

    # This runs after every upload and delete: one read of the recorded
    # crossings, and writes only when a threshold is re-armed or newly reached.
    recorded = set(
        QuotaAlertState.objects.filter(namespace=namespace).values_list(
            "limit_kind", "threshold"
        )
    )

    alerts = []
    for kind, used, limit in readings:
        reached = _crossed(used, limit)
        rearmed = [
            threshold
            for recorded_kind, threshold in recorded
            if recorded_kind == kind and threshold not in reached
        ]
        if rearmed:
            QuotaAlertState.objects.filter(
                namespace=namespace, limit_kind=kind, threshold__in=rearmed
            ).delete()
        new = [
            threshold
            for threshold in reached
            if (kind, threshold) not in recorded
            and _claim_crossing(
                namespace=namespace,
                kind=kind,
                threshold=threshold,
                used=used,
                limit=limit,
            )
        ]
        if new:
            alerts.append(
                {
                    "namespace": namespace.prefix,
                    "limitKind": str(kind),
                    "threshold": max(new),
                    "usage": used,
                    "limit": limit,
                    "percent": round(used * 100 / limit, 1),
                }
            )

    owner = _namespace_owner(namespace)
    for alert in alerts:
        _send_alert(namespace=namespace, owner=owner, alert=alert, actor=actor)
    return alerts


def _send_alert(*, namespace, owner, alert: dict, actor) -> None:
    logger.info(
        "Quota alert namespace=%s kind=%s threshold=%s usage=%s limit=%s",
        namespace.pk,
        alert["limitKind"],
        alert["threshold"],
        alert["usage"],
        alert["limit"],
    )
    payload = {
        "event": QUOTA_ALERT_EVENT,
        "createdAt": timezone.now().isoformat(),
        "data": {
            **alert,
            "apiKey": namespace.api_key.access_key_id if namespace.api_key_id else None,
        },
    }

    emailed = False
    if owner is not None and owner.email:
        emailed = send_templated_email(
            to=[owner.email],
            template="notifications/quota_alert",
            context={"alert": alert, "user": owner, "namespace": namespace},
        )

    message = None
    webhook = Webhook.objects.filter(user=owner).first() if owner else None
    if webhook is not None:
        # Due only after the first retry delay: the attempt below is the
        # first one, and `deliver_webhooks` picks the message up from then on
        # (also when this process dies before attempting).
        message = WebhookMessage.objects.create(
            webhook=webhook,
            event=QUOTA_ALERT_EVENT,
            payload=payload,
            next_attempt_at=timezone.now() + RETRY_DELAYS[0],
        )

    audit_record(
        action=AuditAction.QUOTA_ALERT,
        actor=actor,
        user=owner,
        api_key=namespace.api_key if namespace.api_key_id else None,
        metadata={
            **alert,
            "emailed": emailed,
            "webhookMessage": message.pk if message else None,
        },
    )

    if message is not None:
        webhook_message_deliver(message=message)
