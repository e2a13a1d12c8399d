"""
Usage resync: recompute a namespace's counters from what S3 holds.

The counters normally move with every upload and delete; they drift when
objects are written or removed behind Pockity's back (an admin tool, a
lifecycle rule, the embedded S3 forgetting everything on restart). A resync
lists the namespace's prefix page by page and writes the totals back.

What counts: every object under the prefix except folder markers, i.e.
zero-byte keys ending in "/" (the namespace's own `apikeys/{id}/` marker,
and markers consoles create). The file API applies the same rule, so the
listing and the usage agree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from storage import s3, signals
from storage.locks import namespace_resync_lock
from storage.models import Namespace

logger = logging.getLogger(__name__)

# How often (in objects) the progress callback hears about a long listing.
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class Usage:
    bytes_used: int
    objects: int

    def as_dict(self) -> dict:
        return {"bytesUsed": self.bytes_used, "objects": self.objects}


@dataclass(frozen=True)
class ResyncResult:
    namespace: Namespace
    before: Usage
    after: Usage
    dry_run: bool
    markers_skipped: int

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def applied(self) -> bool:
        """Whether the counters were rewritten (a change, not a dry run)."""
        return self.changed and not self.dry_run


def is_folder_marker(obj: s3.ObjectInfo) -> bool:
    """A zero-byte key ending in "/" marks a folder and is never a file."""
    return obj.size == 0 and obj.key.endswith("/")


def usage_from_s3(
    prefix: str, *, progress: Callable[[int], None] | None = None
) -> tuple[Usage, int]:
    """Count bytes and objects under `prefix` from a paged listing.

    Streams the listing (memory stays flat whatever the object count) and
    returns (usage, folder markers skipped). `progress`, when given, is
    called with the number of keys seen so far every PROGRESS_EVERY keys.
    One ListObjectsV2 call per 1,000 keys; raises StorageUnavailable.
    """
    if not prefix.endswith("/"):
        # "users/1" would also match "users/10/...".
        raise ValueError("A namespace prefix must end with '/'.")

    total_bytes = 0
    objects = 0
    markers = 0
    seen = 0
    for obj in s3.iter_objects(prefix):
        seen += 1
        if is_folder_marker(obj):
            markers += 1
        else:
            total_bytes += obj.size
            objects += 1
        if progress is not None and seen % PROGRESS_EVERY == 0:
            progress(seen)
    if progress is not None and seen % PROGRESS_EVERY:
        progress(seen)
    return Usage(bytes_used=total_bytes, objects=objects), markers


def usage_resync(
    *,
    namespace: Namespace,
    dry_run: bool = False,
    actor=None,
    progress: Callable[[int], None] | None = None,
) -> ResyncResult:
    """Set a namespace's `bytes_used`/`object_count` to what S3 holds.

    Holds the namespace's exclusive resync lock while it lists and writes,
    so uploads and deletes in flight finish first and new ones wait: none
    is missed or counted twice (PostgreSQL only; see storage.locks). Lists
    the prefix from S3 (one call per 1,000 keys), then, unless `dry_run`,
    writes the counters and `last_resynced_at`. After commit, sends
    `usage_resynced` always and `usage_changed` when the counters changed,
    and logs one line per drift. Raises StorageUnavailable when S3 fails,
    leaving the counters as they were.
    """
    with namespace_resync_lock(namespace.pk):
        after, markers = usage_from_s3(namespace.prefix, progress=progress)

        with transaction.atomic():
            current = Namespace.objects.select_for_update().get(pk=namespace.pk)
            before = Usage(bytes_used=current.bytes_used, objects=current.object_count)
            result = ResyncResult(
                namespace=current,
                before=before,
                after=after,
                dry_run=dry_run,
                markers_skipped=markers,
            )
            if not dry_run:
                current.bytes_used = after.bytes_used
                current.object_count = after.objects
                current.last_resynced_at = timezone.now()
                current.save(
                    update_fields=[
                        "bytes_used",
                        "object_count",
                        "last_resynced_at",
                        "updated_at",
                    ]
                )
            transaction.on_commit(lambda: _announce(result, actor))

    namespace.bytes_used = current.bytes_used
    namespace.object_count = current.object_count
    namespace.last_resynced_at = current.last_resynced_at
    return result


def _announce(result: ResyncResult, actor) -> None:
    if result.changed:
        logger.info(
            "Usage drift %s namespace=%s bytes=%s->%s objects=%s->%s",
            "found (dry run)" if result.dry_run else "fixed",
            result.namespace.prefix,
            result.before.bytes_used,
            result.after.bytes_used,
            result.before.objects,
            result.after.objects,
        )

    signals.usage_resynced.send(
        sender=Namespace,
        namespace=result.namespace,
        before=result.before.as_dict(),
        after=result.after.as_dict(),
        dry_run=result.dry_run,
        actor=actor,
    )
    if result.applied:
        signals.usage_changed.send(
            sender=Namespace, namespace=result.namespace, actor=actor
        )
