"""
Credit services: add, deduct, check and read a user's credits.

Credits are whole units. Every change appends one `CreditEntry` and moves the
user's `CreditBalance` row in the same transaction. A deduction is one
conditional UPDATE (`balance >= amount`), so concurrent deductions serialise
on the balance row in PostgreSQL and can never overspend, across processes.
An idempotency key makes a retried request return the first entry instead of
moving credits twice.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F

from credits import signals
from credits.models import CreditBalance, CreditEntry, EntryKind
from pockity.exceptions import Conflict, InvalidInput

logger = logging.getLogger(__name__)

# Bigger than any sane balance, small enough that sums of many never leave
# a 64-bit column.
MAX_CREDIT_AMOUNT = 10**15


class InsufficientCredits(Conflict):
    code = "insufficient_credits"
    default_message = "Not enough credits."


def _validate_amount(amount) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput("'amount' must be a whole number of credits.")
    if amount <= 0:
        raise InvalidInput("'amount' must be greater than zero.")
    if amount > MAX_CREDIT_AMOUNT:
        raise InvalidInput(f"'amount' must be at most {MAX_CREDIT_AMOUNT}.")
    return amount


def _ensure_balance_row(user) -> None:
    # INSERT … ON CONFLICT DO NOTHING: two first-ever changes cannot race
    # into a duplicate or a lost row.
    CreditBalance.objects.bulk_create(
        [CreditBalance(user=user, balance=0)], ignore_conflicts=True
    )


def credits_balance_get(*, user) -> int:
    """The user's balance (0 before their first credit)."""
    row = CreditBalance.objects.filter(user=user).values_list("balance", flat=True)
    return row.first() or 0


def credits_check(*, user, amount) -> dict:
    """Whether the user holds at least `amount` credits, without holding them."""
    amount = _validate_amount(amount)
    balance = credits_balance_get(user=user)
    return {"balance": balance, "required": amount, "sufficient": balance >= amount}


def _replayed(user, idempotency_key, *, amount: int) -> CreditEntry | None:
    if not idempotency_key:
        return None
    entry = CreditEntry.objects.filter(
        user=user, idempotency_key=idempotency_key
    ).first()
    if entry is not None and entry.amount != amount:
        raise Conflict(
            "This idempotency key was already used for a different amount.",
            code="idempotency_conflict",
            details={"idempotencyKey": idempotency_key, "amount": entry.amount},
        )
    return entry


def _move(
    *,
    user,
    signed_amount: int,
    kind: str,
    reason: str,
    reference: str,
    idempotency_key: str | None,
    actor,
) -> tuple[CreditEntry, bool]:
    """Apply one signed change; return (entry, created)."""
    idempotency_key = idempotency_key or None
    existing = _replayed(user, idempotency_key, amount=signed_amount)
    if existing is not None:
        return existing, False

    _ensure_balance_row(user)
    try:
        with transaction.atomic():
            balances = CreditBalance.objects.filter(user=user)
            if signed_amount < 0:
                # The condition and the change are one statement: a second
                # deduction waits for this row lock, then re-checks.
                balances = balances.filter(balance__gte=-signed_amount)
            changed = balances.update(balance=F("balance") + signed_amount)
            if not changed:
                raise InsufficientCredits(
                    details={
                        "balance": credits_balance_get(user=user),
                        "required": -signed_amount,
                    }
                )
            balance_after = CreditBalance.objects.get(user=user).balance
            entry = CreditEntry.objects.create(
                user=user,
                user_email=user.email,
                kind=kind,
                amount=signed_amount,
                balance_after=balance_after,
                reason=reason[:255],
                reference=reference[:100],
                idempotency_key=idempotency_key,
                actor=actor,
                actor_label=getattr(actor, "email", "") or "system",
            )
    except IntegrityError:
        # A concurrent request with the same idempotency key committed first;
        # this one rolled back whole (balance included) and answers with it.
        existing = _replayed(user, idempotency_key, amount=signed_amount)
        if existing is None:
            raise
        return existing, False

    signal = signals.credits_added if signed_amount > 0 else signals.credits_deducted
    transaction.on_commit(
        lambda: signal.send(sender=CreditEntry, entry=entry, actor=actor)
    )
    logger.info(
        "Credits moved user=%s amount=%d balance=%d kind=%s entry=%s",
        user.pk,
        signed_amount,
        balance_after,
        kind,
        entry.pk,
    )
    return entry, True


def credits_add(
    *,
    user,
    amount,
    actor,
    reason: str = "",
    kind: str = EntryKind.GRANT,
    reference: str = "",
    idempotency_key: str | None = None,
) -> tuple[CreditEntry, bool]:
    """Add credits; return (entry, created).

    Appends a ledger entry, raises the balance, sends `credits_added` after
    commit. With an idempotency key already used, returns the first entry and
    changes nothing (`created` is False).
    """
    amount = _validate_amount(amount)
    return _move(
        user=user,
        signed_amount=amount,
        kind=kind,
        reason=reason,
        reference=reference,
        idempotency_key=idempotency_key,
        actor=actor,
    )


def credits_deduct(
    *,
    user,
    amount,
    actor,
    reason: str = "",
    kind: str = EntryKind.DEDUCT,
    reference: str = "",
    idempotency_key: str | None = None,
) -> tuple[CreditEntry, bool]:
    """Remove credits; return (entry, created).

    Refuses with 409 `insufficient_credits` rather than going below zero.
    Appends a ledger entry, lowers the balance, sends `credits_deducted`
    after commit. Idempotent like `credits_add`.
    """
    amount = _validate_amount(amount)
    return _move(
        user=user,
        signed_amount=-amount,
        kind=kind,
        reason=reason,
        reference=reference,
        idempotency_key=idempotency_key,
        actor=actor,
    )


def credits_history(*, user):
    """The user's ledger, newest first."""
    return CreditEntry.objects.filter(user=user).order_by("-created_at", "-id")
