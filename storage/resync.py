"""
Usage resync: recompute a namespace's counters from what S3 holds.

The counters normally move with every upload and delete; they drift when
objects are written or removed behind Pockity's back (an admin tool, a
lifecycle rule, the embedded S3 forgetting everything on restart). A resync
lists the namespace's prefix page by page and writes the totals back.

What counts is exactly what the file listing shows (storage.names.
name_from_key): every object under the prefix except keys ending in "/".
Those are folder markers: the namespace's own zero-byte `apikeys/{id}/`
marker and the markers consoles and other tools create. No upload can make
such a key, so the listing hides them and the resync skips them, and the
listed count always equals the counted objects. A marker that holds bytes
(only a tool writing behind Pockity's back can make one) is skipped too,
but reported as hidden bytes so an operator can remove it.
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
from storage.names import name_from_key

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
    # Keys under the prefix that are not files (folder markers), and the
    # bytes they hold (zero unless a tool wrote data into a marker).
    markers_skipped: int
    hidden_bytes: int = 0

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def applied(self) -> bool:
        """Whether the counters were rewritten (a change, not a dry run)."""
        return self.changed and not self.dry_run


def usage_from_s3(
    prefix: str, *, progress: Callable[[int], None] | None = None
) -> tuple[Usage, int, int]:
    """Count bytes and files under `prefix` from a paged listing.

    Streams the listing (memory stays flat whatever the object count) and
    returns (usage, markers skipped, bytes held by markers). `progress`,
    when given, is called with the number of keys seen so far every
    PROGRESS_EVERY keys. One ListObjectsV2 call per 1,000 keys; raises
    StorageUnavailable.
    """
    if not prefix.endswith("/"):
        # "users/1" would also match "users/10/...".
        raise ValueError("A namespace prefix must end with '/'.")

    total_bytes = 0
    objects = 0
    markers = 0
    hidden_bytes = 0
    seen = 0
    for obj in s3.iter_objects(prefix):
        seen += 1
        if name_from_key(obj.key, prefix=prefix) is None:
            markers += 1
            hidden_bytes += obj.size
        else:
            total_bytes += obj.size
            objects += 1
        if progress is not None and seen % PROGRESS_EVERY == 0:
            progress(seen)
    if progress is not None and seen % PROGRESS_EVERY:
        progress(seen)
    return Usage(bytes_used=total_bytes, objects=objects), markers, hidden_bytes


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
    `usage_resynced` (audited) when the counters were rewritten or a person
    asked for the resync, so a nightly run over namespaces in step leaves no
    trail of no-op entries, and `usage_changed` when the counters changed,
    and logs one line per drift. Raises StorageUnavailable when S3 fails,
    leaving the counters as they were.

    Known shortcoming: the lock has no timeout. A slow upload in flight (a
    client trickling a large file) holds the resync, and PostgreSQL queues
    the namespace's new uploads behind the waiting resync, so they wait as
    long. Run resyncs off-peak or per namespace when uploads are long.
    """
    with namespace_resync_lock(namespace.pk):
        after, markers, hidden_bytes = usage_from_s3(
            namespace.prefix, progress=progress
        )

        with transaction.atomic():
            current = Namespace.objects.select_for_update().get(pk=namespace.pk)
            before = Usage(bytes_used=current.bytes_used, objects=current.object_count)
            result = ResyncResult(
                namespace=current,
                before=before,
                after=after,
                dry_run=dry_run,
                markers_skipped=markers,
                hidden_bytes=hidden_bytes,
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
    if result.hidden_bytes:
        logger.warning(
            "Folder markers hold bytes namespace=%s bytes=%s (not counted; "
            "delete the keys ending in '/' to free them)",
            result.namespace.prefix,
            result.hidden_bytes,
        )
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

    if result.applied or actor is not None:
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
