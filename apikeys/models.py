"""API keys (one namespace each) and the requests users make for them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tiers.models import RequestStatus


class ApiKey(models.Model):
    """A key pair `pk_…`/`sk_…` owning the namespace `apikeys/{access_key_id}/`.

    The secret is kept twice, never in plain text: as an HMAC digest under
    the server key (checked on every request, in constant time) and encrypted
    with Fernet (so the server can later verify S3-protocol signatures, which
    need the secret itself).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    access_key_id = models.CharField(max_length=64, unique=True)
    secret_digest = models.CharField(max_length=64)
    secret_encrypted = models.TextField()
    tier = models.ForeignKey(
        "tiers.Tier",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_keys",
    )
    # `null` means unlimited.
    storage_bytes_limit = models.BigIntegerField(null=True, blank=True)
    object_limit = models.BigIntegerField(null=True, blank=True)
    # True while the key's byte and object limits are its owner's tier
    # defaults: they then follow the owner's CURRENT tier (a downgrade lowers
    # them at once) and the two figures above are only the copy taken at
    # creation. False once the limits came from an approved request or an
    # operator: the key then keeps its own figures.
    limits_from_tier = models.BooleanField(default=True)
    can_list = models.BooleanField(default=True)
    can_read = models.BooleanField(default=True)
    can_write = models.BooleanField(default=True)
    can_delete = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=Q(storage_bytes_limit__isnull=True)
                | Q(storage_bytes_limit__gte=0),
                name="apikeys_storage_limit_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(object_limit__isnull=True) | Q(object_limit__gte=0),
                name="apikeys_object_limit_non_negative",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.access_key_id})"

    @property
    def prefix(self) -> str:
        return f"apikeys/{self.access_key_id}/"

    @property
    def effective_tier(self):
        """The tier whose figures apply: the owner's current one for a key on
        its tier's defaults, else the tier the key was made under."""
        return self.owner.tier if self.limits_from_tier else self.tier

    @property
    def effective_storage_bytes_limit(self) -> int | None:
        """The byte limit in force now (None = unlimited)."""
        if self.limits_from_tier:
            tier = self.owner.tier
            return tier.storage_bytes_limit if tier else None
        return self.storage_bytes_limit

    @property
    def effective_object_limit(self) -> int | None:
        """The object limit in force now (None = unlimited)."""
        if self.limits_from_tier:
            tier = self.owner.tier
            return tier.object_limit if tier else None
        return self.object_limit

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.is_active and self.revoked_at is None and not self.is_expired


class ApiKeyRequest(models.Model):
    """A user's request for a new key with a quota, or more quota on a key."""

    class Kind(models.TextChoices):
        NEW_KEY = "NEW_KEY", "New key"
        QUOTA_INCREASE = "QUOTA_INCREASE", "Quota increase"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_key_requests",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NEW_KEY)
    # For QUOTA_INCREASE: the key to raise. For NEW_KEY: the key provisioned
    # on approval.
    api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requests",
    )
    key_name = models.CharField(max_length=100, blank=True)
    requested_storage_bytes = models.BigIntegerField(null=True, blank=True)
    requested_objects = models.BigIntegerField(null=True, blank=True)
    can_list = models.BooleanField(default=True)
    can_read = models.BooleanField(default=True)
    can_write = models.BooleanField(default=True)
    can_delete = models.BooleanField(default=True)
    requested_expires_at = models.DateTimeField(null=True, blank=True)
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
    # What the operator granted on approval, which may be narrower than what
    # was asked for. Null until approved (and null limits stay unlimited only
    # when the request asked for no limit).
    granted_storage_bytes = models.BigIntegerField(null=True, blank=True)
    granted_objects = models.BigIntegerField(null=True, blank=True)
    granted_can_list = models.BooleanField(null=True, blank=True)
    granted_can_read = models.BooleanField(null=True, blank=True)
    granted_can_write = models.BooleanField(null=True, blank=True)
    granted_can_delete = models.BooleanField(null=True, blank=True)
    granted_expires_at = models.DateTimeField(null=True, blank=True)
    # The provisioned key's secret, encrypted, until its owner reads it once.
    pending_secret_encrypted = models.TextField(blank=True)
    secret_revealed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key request"
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            # Two pending quota increases for one key would race each other
            # on approval; the database refuses the second one.
            models.UniqueConstraint(
                fields=["api_key"],
                condition=Q(status="PENDING", kind="QUOTA_INCREASE"),
                name="apikeys_one_pending_increase_per_key",
            ),
            models.CheckConstraint(
                condition=Q(requested_storage_bytes__isnull=True)
                | Q(requested_storage_bytes__gt=0),
                name="apikeys_request_storage_positive",
            ),
            models.CheckConstraint(
                condition=Q(requested_objects__isnull=True)
                | Q(requested_objects__gt=0),
                name="apikeys_request_objects_positive",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.user} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING

    @property
    def requested_read_only(self) -> bool:
        return not (self.can_write or self.can_delete)
