"""
The usage ledger: reservations and releases on a namespace's counters.

A reservation checks the limits and moves the counters in ONE conditional
UPDATE (`... WHERE bytes_used + n <= limit`), so two concurrent uploads can
never both pass against the same reading; 0 rows updated means refused. The
limits are read live just before (from the key or the user's tier), so a
limit change applies to the next reservation. A limit lowered below current
usage is accepted: every growing reservation is then refused until deletes
bring usage back under it; nothing is deleted for it.

Releases subtract with `GREATEST(x - n, 0)`, so the counters never go below
zero even if S3 and the ledger disagree (resync fixes such drift).

Callers hold `storage.locks.namespace_change_lock` from the reservation until
the S3 call is settled, so a resync never sees half a change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Greatest, Now

from pockity.exceptions import Conflict, PockityError, QuotaExceeded
from storage import signals
from storage.models import Namespace

logger = logging.getLogger(__name__)

# First half of the advisory lock key for per-object locks (see object_lock).
OBJECT_LOCK_CLASS = 0x504C


@dataclass(frozen=True)
class NamespaceLimits:
    """A namespace's limits; None means unlimited."""

    storage_bytes: int | None
    objects: int | None
    max_file_size: int | None


class FileTooLarge(PockityError):
    status_code = 413
    code = "file_too_large"
    default_message = "The file is larger than your tier allows."


def reserve(
    *,
    namespace: Namespace,
    limits: NamespaceLimits,
    size: int,
    objects: int = 0,
    actor=None,
    api_key=None,
) -> None:
    """Add `size` bytes and `objects` objects to the ledger, or refuse (413).

    One conditional UPDATE. On refusal sends `quota_exceeded` (the audit
    log records it) and raises `QuotaExceeded` with the limit, the usage and
    the size asked for.
    """
    if size < 0 or objects < 0:
        raise ValueError("A reservation only grows usage; use release().")
    if size == 0 and objects == 0:
        return

    rows = Namespace.objects.filter(pk=namespace.pk)
    if limits.storage_bytes is not None and size > 0:
        rows = rows.filter(bytes_used__lte=limits.storage_bytes - size)
    if limits.objects is not None and objects > 0:
        rows = rows.filter(object_count__lte=limits.objects - objects)
    updated = rows.update(
        bytes_used=F("bytes_used") + size,
        object_count=F("object_count") + objects,
        updated_at=Now(),
    )
    if updated:
        return

    _refuse(
        namespace=namespace,
        limits=limits,
        size=size,
        objects=objects,
        actor=actor,
        api_key=api_key,
    )


def _refuse(*, namespace, limits, size, objects, actor, api_key):
    current = (
        Namespace.objects.filter(pk=namespace.pk)
        .values("bytes_used", "object_count")
        .first()
    )
    if current is None:
        # Purged (account deletion) while this request waited for its lock.
        raise Conflict(
            "This storage namespace has been deleted.", code="namespace_deleted"
        )
    bytes_over = (
        limits.storage_bytes is not None
        and size > 0
        and current["bytes_used"] + size > limits.storage_bytes
    )
    if bytes_over or limits.objects is None:
        kind, limit = "storage", limits.storage_bytes
        usage, requested = current["bytes_used"], size
        message = (
            f"The upload would exceed the storage quota of {limit} bytes "
            f"({usage} used, {requested} more asked for)."
        )
    else:
        kind, limit = "objects", limits.objects
        usage, requested = current["object_count"], objects
        message = (
            f"The upload would exceed the limit of {limit} files ({usage} stored)."
        )

    logger.info(
        "Quota exceeded namespace=%s kind=%s limit=%s usage=%s requested=%s",
        namespace.pk,
        kind,
        limit,
        usage,
        requested,
    )
    signals.quota_exceeded.send(
        sender=Namespace,
        namespace=namespace,
        api_key=api_key,
        limit_kind=kind,
        limit=limit,
        usage=usage,
        requested=requested,
        actor=actor,
    )
    raise QuotaExceeded(
        message,
        details={
            "limitKind": kind,
            "limit": limit,
            "usage": usage,
            "requested": requested,
        },
    )


def release(*, namespace_id: int, size: int = 0, objects: int = 0) -> None:
    """Take `size` bytes and `objects` objects off the ledger, never below 0."""
    if size <= 0 and objects <= 0:
        return
    Namespace.objects.filter(pk=namespace_id).update(
        bytes_used=Greatest(F("bytes_used") - max(size, 0), Value(0)),
        object_count=Greatest(F("object_count") - max(objects, 0), Value(0)),
        updated_at=Now(),
    )


@contextmanager
def object_lock(key: str) -> Iterator[None]:
    """Serialise changes to one S3 key (an upload racing a delete of it).

    Without it, two uploads replacing the same name would each credit the
    old size and count the difference twice. Held with a session-level
    advisory lock keyed on a hash of the key, so unrelated keys that share a
    hash only wait for each other. On SQLite there is nothing to lock.
    """
    if connection.vendor != "postgresql":
        yield
        return

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_lock(%s, hashtext(%s))", [OBJECT_LOCK_CLASS, key]
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))",
                [OBJECT_LOCK_CLASS, key],
            )


@contextmanager
def object_locks(keys: list[str]) -> Iterator[None]:
    """`object_lock` for many keys at once (a bulk delete's batch).

    The locks are taken in the order of their lock ids, so two callers
    locking overlapping sets wait for each other instead of deadlocking;
    everyone else holds at most one object lock. Each key is one entry in
    PostgreSQL's shared lock table until released, so callers lock a few
    hundred keys at a time, not thousands.
    """
    if connection.vendor != "postgresql" or not keys:
        yield
        return

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT hashtext(key) AS lock_id"
            " FROM unnest(%s::text[]) AS key ORDER BY lock_id",
            [list(keys)],
        )
        lock_ids = [row[0] for row in cursor.fetchall()]
    held: list[int] = []
    try:
        with connection.cursor() as cursor:
            for lock_id in lock_ids:
                cursor.execute(
                    "SELECT pg_advisory_lock(%s, %s)", [OBJECT_LOCK_CLASS, lock_id]
                )
                held.append(lock_id)
        yield
    finally:
        with connection.cursor() as cursor:
            for lock_id in reversed(held):
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [OBJECT_LOCK_CLASS, lock_id]
                )
