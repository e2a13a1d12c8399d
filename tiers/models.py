"""Storage tiers (the limits a user or a new key gets) and upgrade requests."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Tier(models.Model):
    """A named set of limits; `null` in a limit means unlimited."""

    name = models.CharField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    storage_bytes_limit = models.BigIntegerField(null=True, blank=True)
    object_limit = models.BigIntegerField(null=True, blank=True)
    max_file_size_bytes = models.BigIntegerField(null=True, blank=True)
    max_api_keys = models.PositiveIntegerField(null=True, blank=True)
    # Price per month in the currency's minor unit (cents, paise).
    price_minor = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    is_public = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    # The tier new users start on; exactly one should be marked.
    is_default = models.BooleanField(default=False)
    sort_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="tiers_single_default",
            ),
            models.CheckConstraint(
                condition=Q(storage_bytes_limit__isnull=True)
                | Q(storage_bytes_limit__gte=0),
                name="tiers_storage_limit_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(object_limit__isnull=True) | Q(object_limit__gte=0),
                name="tiers_object_limit_non_negative",
            ),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def default(cls) -> Tier | None:
        return cls.objects.filter(is_default=True, is_active=True).first()


class RequestStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"


class TierRequest(models.Model):
    """A user's request to move to another tier, decided by an operator."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tier_requests"
    )
    current_tier = models.ForeignKey(
        Tier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, related_name="requests"
    )
    reason = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewer_comment = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="PENDING"),
                name="tiers_one_pending_request_per_user",
            ),
        ]

    def __str__(self):
        return f"{self.user} → {self.requested_tier} ({self.status})"
