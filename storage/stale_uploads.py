"""
Clean-up of multipart uploads that never finished.

An upload that dies half-way (a crash, a killed worker, a client cut off
before the abort could run) leaves its parts in S3: billed, invisible to
ListObjectsV2 and so to usage and to resync. The documented rule is that
in-progress multipart uploads older than a day are aborted, by the
bucket's AbortIncompleteMultipartUpload lifecycle rule where the backend
has one, and by `manage.py abort_stale_uploads` (cron) everywhere else.
The embedded S3 (moto) reports one fixed start time, years ago, for every
upload, so there every upload in flight looks stale: run it against the
embedded server only while nothing is uploading.

Usage is not touched here: a failed upload releases its reservation, and the
one a killed process held stays counted until `manage.py resync_usage`
recounts the namespace from the objects that really exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage import s3

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StaleUpload:
    key: str
    upload_id: str
    initiated: datetime | None


def stale_uploads_abort(
    *, older_than: timedelta, prefix: str = "", dry_run: bool = False
) -> list[StaleUpload]:
    """Abort in-progress multipart uploads started more than `older_than` ago.

    Pages through ListMultipartUploads under `prefix` (S3 calls), and unless
    `dry_run` aborts each stale one (one S3 call each); returns them. An
    upload without a start time is left alone. Raises StorageUnavailable.
    """
    cutoff = datetime.now(UTC) - older_than
    found = []
    for upload in s3.iter_multipart_uploads(prefix):
        if upload.initiated is None or upload.initiated > cutoff:
            continue
        stale = StaleUpload(upload.key, upload.upload_id, upload.initiated)
        if not dry_run:
            s3.abort_multipart_upload(upload.key, upload.upload_id)
            logger.info(
                "Stale multipart upload aborted key=%s initiated=%s",
                upload.key,
                upload.initiated.isoformat(),
            )
        found.append(stale)
    return found
