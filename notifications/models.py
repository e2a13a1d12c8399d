"""Quota-alert state, users' webhooks, and every webhook message and attempt."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LimitKind(models.TextChoices):
    # The same words `storage.signals.quota_exceeded` uses for `limit_kind`.
    STORAGE = "storage", "Storage bytes"
    OBJECTS = "objects", "Objects"


class QuotaAlertState(models.Model):
    """One threshold of one limit that a namespace has crossed and been told of.

    A row exists while usage stays at or above the threshold; it is deleted
    (re-armed) when usage falls back below, so the next crossing alerts
    again. The unique constraint is what makes an alert fire once even when
    several uploads cross the threshold at the same time.
    """

    namespace = models.ForeignKey(
        "storage.Namespace", on_delete=models.CASCADE, related_name="quota_alerts"
    )
    limit_kind = models.CharField(max_length=16, choices=LimitKind.choices)
    threshold = models.PositiveSmallIntegerField()
    usage = models.BigIntegerField()
    limit = models.BigIntegerField()
    crossed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["namespace", "limit_kind", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "limit_kind", "threshold"],
                name="notifications_one_alert_per_crossing",
            ),
        ]

    def __str__(self):
        return f"{self.namespace} {self.limit_kind} >= {self.threshold}%"


class Webhook(models.Model):
    """Where a user wants quota alerts POSTed, and the secret that signs them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook"
    )
    url = models.URLField(max_length=2048)
    # Kept encrypted (apikeys.crypto) because every delivery needs it to sign.
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.user} -> {self.url}"


class WebhookMessage(models.Model):
    """One event to deliver to one webhook, retried with backoff until done."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        DELIVERED = "DELIVERED", "Delivered"
        FAILED = "FAILED", "Failed"

    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="messages"
    )
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.event} #{self.pk} ({self.status})"


class WebhookDelivery(models.Model):
    """One attempt at delivering a message: what came back, or what failed."""

    message = models.ForeignKey(
        WebhookMessage, on_delete=models.CASCADE, related_name="deliveries"
    )
    attempt = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=2048)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message", "attempt"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        outcome = self.status_code or self.error or "?"
        return f"{self.message_id} attempt {self.attempt}: {outcome}"
