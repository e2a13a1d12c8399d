"""Namespaces (one S3 prefix per tenant), their usage ledger and its history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Namespace(models.Model):
    """A tenant's prefix in the shared bucket and its usage counters.

    `bytes_used` and `object_count` move only through conditional UPDATEs in
    `storage.quota`, in the same transaction as the reservation they record,
    so they never pass the limits even under concurrent uploads.
    """

    class Kind(models.TextChoices):
        USER = "USER", "User"
        API_KEY = "API_KEY", "API key"

    prefix = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="namespace",
    )
    api_key = models.OneToOneField(
        "apikeys.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="namespace",
    )
    # A readable owner label kept for namespaces whose key or user is gone.
    label = models.CharField(max_length=254, blank=True)
    bytes_used = models.BigIntegerField(default=0)
    object_count = models.BigIntegerField(default=0)
    last_resynced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["prefix"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bytes_used__gte=0), name="storage_bytes_used_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(object_count__gte=0),
                name="storage_object_count_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(prefix__endswith="/"), name="storage_prefix_ends_with_slash"
            ),
        ]

    def __str__(self):
        return self.prefix


class UsageSnapshot(models.Model):
    """A namespace's usage at one point in time, at most one per period."""

    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="snapshots"
    )
    period = models.DateField()
    bytes_used = models.BigIntegerField()
    object_count = models.BigIntegerField()
    storage_bytes_limit = models.BigIntegerField(null=True, blank=True)
    object_limit = models.BigIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["namespace", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "period"], name="storage_one_snapshot_per_period"
            ),
        ]

    def __str__(self):
        return f"{self.namespace} @ {self.period}"
