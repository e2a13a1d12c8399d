"""
`manage.py snapshot_usage`: record today's usage per namespace (cron-safe).

    manage.py snapshot_usage                      # upsert today's rows (UTC)
    manage.py snapshot_usage --prune-days 400     # and drop older history
    manage.py snapshot_usage --prune-days 400 --dry-run
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from storage.models import Namespace
from storage.snapshots import current_period, usage_snapshot_prune, usage_snapshot_take


class Command(BaseCommand):
    help = (
        "Write one usage snapshot per namespace for the current UTC day "
        "(idempotent), optionally pruning old snapshots."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--prune-days",
            type=int,
            metavar="N",
            help="Also delete snapshots whose day is more than N days ago.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would be written and deleted; change nothing.",
        )

    def handle(self, *args, prune_days, dry_run, **options):
        if prune_days is not None and prune_days < 0:
            raise CommandError("--prune-days must be 0 or more.")

        period = current_period()
        if dry_run:
            count = Namespace.objects.count()
            self.stdout.write(f"Would record {count} namespace(s) for {period}.")
        else:
            count = usage_snapshot_take(period=period)
            self.stdout.write(f"Recorded {count} namespace(s) for {period}.")

        if prune_days is not None:
            pruned = usage_snapshot_prune(days=prune_days, dry_run=dry_run)
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(
                f"{verb} {pruned} snapshot(s) older than {prune_days} day(s)."
            )
