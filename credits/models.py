"""Credits: a per-user balance row and the append-only ledger behind it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class CreditBalance(models.Model):
    """The current balance of one user, kept in step with the ledger.

    Changed only by `credits.services`, with a conditional UPDATE in the same
    transaction as the ledger entry; the check constraint is the last line of
    defence against a negative balance.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="credit_balance",
    )
    balance = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="credits_balance_non_negative"
            ),
        ]

    def __str__(self):
        return f"{self.user_id}: {self.balance}"


class EntryKind(models.TextChoices):
    GRANT = "GRANT", "Granted by staff"
    TOPUP = "TOPUP", "Bought (paid top-up)"
    DEDUCT = "DEDUCT", "Deducted"
    INVOICE_PAYMENT = "INVOICE_PAYMENT", "Paid an invoice"
    REFUND = "REFUND", "Refunded"


class CreditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Credit entries are append-only and cannot be updated.")

    def delete(self):
        raise TypeError("Credit entries are append-only and cannot be deleted.")

    update.queryset_only = True
    delete.queryset_only = True


class CreditEntry(models.Model):
    """One movement of credits: positive adds, negative removes.

    `user` becomes NULL when the account is deleted; `user_email` keeps the
    entry readable. On PostgreSQL a trigger (migration 0002) refuses every
    UPDATE except that one, and every DELETE.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="credit_entries",
    )
    user_email = models.CharField(max_length=254)
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=255, blank=True)
    # What the movement is for, e.g. "invoice:INV-20261204-1A2B3C4D".
    reference = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = CreditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0), name="credits_entry_amount_non_zero"
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0),
                name="credits_entry_balance_after_non_negative",
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="credits_entry_unique_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self):
        return f"{self.amount:+d} for {self.user_email} ({self.kind})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Credit entries are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Credit entries are append-only and cannot be deleted.")
