"""The append-only audit log: who did what, when, and from where."""

from __future__ import annotations

from django.db import models


class AuditAction(models.TextChoices):
    USER_REGISTERED = "USER_REGISTERED"
    USER_LOGIN = "USER_LOGIN"
    USER_LOGIN_FAILED = "USER_LOGIN_FAILED"
    USER_LOGOUT = "USER_LOGOUT"
    PROFILE_UPDATED = "PROFILE_UPDATED"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    ACCOUNT_DELETED = "ACCOUNT_DELETED"
    EMAIL_VERIFICATION_SENT = "EMAIL_VERIFICATION_SENT"
    EMAIL_VERIFIED = "EMAIL_VERIFIED"
    API_KEY_CREATED = "API_KEY_CREATED"
    API_KEY_FIRST_USED = "API_KEY_FIRST_USED"
    API_KEY_REVOKED = "API_KEY_REVOKED"
    API_KEY_LIMITS_CHANGED = "API_KEY_LIMITS_CHANGED"
    API_KEY_SECRET_REVEALED = "API_KEY_SECRET_REVEALED"
    API_KEY_REQUEST_CREATED = "API_KEY_REQUEST_CREATED"
    API_KEY_REQUEST_APPROVED = "API_KEY_REQUEST_APPROVED"
    API_KEY_REQUEST_REJECTED = "API_KEY_REQUEST_REJECTED"
    TIER_REQUEST_CREATED = "TIER_REQUEST_CREATED"
    TIER_REQUEST_APPROVED = "TIER_REQUEST_APPROVED"
    TIER_REQUEST_REJECTED = "TIER_REQUEST_REJECTED"
    TIER_CHANGED = "TIER_CHANGED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    QUOTA_ALERT = "QUOTA_ALERT"
    FILE_UPLOADED = "FILE_UPLOADED"
    FILE_DELETED = "FILE_DELETED"
    USAGE_RESYNCED = "USAGE_RESYNCED"
    SUBSCRIPTION_CREATED = "SUBSCRIPTION_CREATED"
    SUBSCRIPTION_CANCELLED = "SUBSCRIPTION_CANCELLED"
    SUBSCRIPTION_CHANGED = "SUBSCRIPTION_CHANGED"
    INVOICE_CREATED = "INVOICE_CREATED"
    PAYMENT_CREATED = "PAYMENT_CREATED"
    PAYMENT_SUCCEEDED = "PAYMENT_SUCCEEDED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    CREDITS_ADDED = "CREDITS_ADDED"
    CREDITS_DEDUCTED = "CREDITS_DEDUCTED"
    ADMIN_ACTION = "ADMIN_ACTION"


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit entries are append-only and cannot be updated.")

    def delete(self):
        raise TypeError("Audit entries are append-only and cannot be deleted.")

    # Refused here, before Django opens the transaction it would run in.
    def bulk_update(self, objs, fields, batch_size=None):
        raise TypeError("Audit entries are append-only and cannot be updated.")

    update.queryset_only = True
    delete.queryset_only = True


class AuditLog(models.Model):
    """One audited event.

    Actor, user and key are kept as plain ids plus a readable label rather
    than foreign keys, so entries outlive the rows they describe and deleting
    a user or a key never cascades into the log. On PostgreSQL a trigger
    (migration 0002) refuses UPDATE and DELETE on the table as well, so the
    log stays append-only even for raw SQL.
    """

    action = models.CharField(max_length=40, choices=AuditAction.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    user_label = models.CharField(max_length=254, blank=True)
    api_key_id = models.BigIntegerField(null=True, blank=True)
    api_key_label = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["action", "created_at"]),
            models.Index(fields=["user_id", "created_at"]),
            models.Index(fields=["api_key_id", "created_at"]),
            models.Index(fields=["actor_id", "created_at"]),
        ]

    def __str__(self):
        return f"{self.action} by {self.actor_label or 'system'} at {self.created_at}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit entries are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit entries are append-only and cannot be deleted.")
