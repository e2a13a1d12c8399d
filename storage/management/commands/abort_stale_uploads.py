"""
`manage.py abort_stale_uploads`: abort multipart uploads a crash left behind.

    manage.py abort_stale_uploads              # older than 24 hours
    manage.py abort_stale_uploads --hours 6 --dry-run

Run it from cron where the bucket has no AbortIncompleteMultipartUpload
lifecycle rule (the embedded server, most S3-compatible stores). After a
crash, `manage.py resync_usage` corrects any usage the dead upload had
reserved.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from pockity.exceptions import StorageUnavailable
from storage.stale_uploads import stale_uploads_abort


class Command(BaseCommand):
    help = "Abort in-progress multipart uploads older than --hours (default 24)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours",
            type=float,
            default=24,
            help="Abort uploads started more than this many hours ago (default 24).",
        )
        parser.add_argument(
            "--prefix",
            default="",
            help="Only uploads whose key starts with this, e.g. apikeys/pk_…/.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the stale uploads without aborting them.",
        )

    def handle(self, *args, hours, prefix, dry_run, **options):
        if not 0 <= hours <= 24 * 365 * 100:
            raise CommandError("--hours must be between 0 and 876000.")

        try:
            stale = stale_uploads_abort(
                older_than=timedelta(hours=hours), prefix=prefix, dry_run=dry_run
            )
        except StorageUnavailable as exc:
            raise CommandError(f"S3 is unavailable: {exc.message}") from exc

        verb = "Would abort" if dry_run else "Aborted"
        for upload in stale:
            started = upload.initiated.isoformat() if upload.initiated else "?"
            self.stdout.write(f"{verb} {upload.key} (started {started})")
        self.stdout.write(
            f"{verb} {len(stale)} multipart upload(s) older than {hours:g} hour(s)."
        )
