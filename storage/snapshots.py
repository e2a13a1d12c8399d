"""
Usage snapshots: one row per namespace per UTC day, for history and charts.

Taking a snapshot twice on the same day overwrites that day's row (the
unique (namespace, period) constraint makes it an upsert), so cron may run
it as often as it likes. Each row keeps the limits in force when it was
taken, so a chart can show usage against the quota of the time.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from storage.models import Namespace, UsageSnapshot
from storage.services import limits_for

logger = logging.getLogger(__name__)

# Rows written per INSERT ... ON CONFLICT statement.
BATCH_SIZE = 500


def current_period() -> date:
    return datetime.now(UTC).date()


def _snapshot_for(namespace: Namespace, period: date) -> UsageSnapshot:
    limits = limits_for(api_key=namespace.api_key, user=namespace.user)
    return UsageSnapshot(
        namespace=namespace,
        period=period,
        bytes_used=namespace.bytes_used,
        object_count=namespace.object_count,
        storage_bytes_limit=limits.storage_bytes,
        object_limit=limits.objects,
    )


def _write(batch: list[UsageSnapshot]) -> None:
    UsageSnapshot.objects.bulk_create(
        batch,
        update_conflicts=True,
        unique_fields=["namespace", "period"],
        update_fields=[
            "bytes_used",
            "object_count",
            "storage_bytes_limit",
            "object_limit",
            "taken_at",
        ],
    )


def usage_snapshot_take(*, period: date | None = None) -> int:
    """Record every namespace's usage and limits for `period` (default today, UTC).

    Idempotent per period: a second run the same day updates the rows it
    wrote. Reads the counters as they are (it does not resync from S3).
    Returns the number of namespaces recorded. No S3 call, no signal.
    """
    period = period or current_period()
    # The key, its owner and the user come with their tiers in the same
    # query, so the limits cost no query per namespace.
    namespaces = Namespace.objects.select_related(
        "api_key__tier", "api_key__owner__tier", "user__tier"
    ).order_by("pk")

    count = 0
    batch: list[UsageSnapshot] = []
    for namespace in namespaces.iterator(chunk_size=BATCH_SIZE):
        batch.append(_snapshot_for(namespace, period))
        if len(batch) == BATCH_SIZE:
            _write(batch)
            count += len(batch)
            batch = []
    if batch:
        _write(batch)
        count += len(batch)

    logger.info("Usage snapshot taken period=%s namespaces=%s", period, count)
    return count


def usage_snapshot_prune(*, days: int, dry_run: bool = False) -> int:
    """Delete snapshots whose period is more than `days` days before today (UTC).

    Returns how many rows were (or, with `dry_run`, would be) deleted.
    """
    if days < 0:
        raise ValueError("days must not be negative.")
    cutoff = current_period() - timedelta(days=days)
    stale = UsageSnapshot.objects.filter(period__lt=cutoff)
    if dry_run:
        return stale.count()

    deleted, _ = stale.delete()
    logger.info("Usage snapshots pruned before=%s rows=%s", cutoff, deleted)
    return deleted
