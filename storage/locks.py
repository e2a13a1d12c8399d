"""Per-namespace locks that keep the usage ledger in step with S3.

Every change to a namespace's objects (upload, delete, bulk delete) holds the
namespace's lock in *shared* mode from its reservation until its S3 call has
finished and the counters are settled, so changes run side by side. A usage
resync holds the same lock in *exclusive* mode while it lists the prefix and
rewrites the counters: it waits for changes in flight, and new ones wait for
it, so it can neither miss an upload nor count one twice.

On PostgreSQL these are session-level advisory locks, so they hold across
processes and machines. SQLite (the embedded `make run` default) has no such
locks; there the functions only yield, which is acceptable for one local
process but gives a resync racing uploads no guarantee.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

# The first half of every two-part advisory lock key taken here, so that
# namespace locks never collide with advisory locks taken for other purposes.
NAMESPACE_LOCK_CLASS = 0x504B


def _lock_key(namespace_id: int) -> tuple[int, int]:
    return NAMESPACE_LOCK_CLASS, namespace_id % (2**31)


@contextmanager
def _advisory_lock(namespace_id: int, *, exclusive: bool) -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return

    suffix = "" if exclusive else "_shared"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pg_advisory_lock{suffix}(%s, %s)", _lock_key(namespace_id)
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT pg_advisory_unlock{suffix}(%s, %s)", _lock_key(namespace_id)
            )


def namespace_change_lock(namespace_id: int):
    """Held by uploads and deletes while they change S3 and the counters."""
    return _advisory_lock(namespace_id, exclusive=False)


def namespace_resync_lock(namespace_id: int):
    """Held by a resync while it lists the prefix and rewrites the counters."""
    return _advisory_lock(namespace_id, exclusive=True)
