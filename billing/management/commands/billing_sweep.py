"""Renew, end or lapse subscriptions whose period is over (run from cron)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from billing.services import subscription_sweep


class Command(BaseCommand):
    help = (
        "End subscriptions set to cancel at period end, invoice renewals "
        "(PAST_DUE until paid), and cancel those unpaid past the grace period."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change without changing anything.",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        done = subscription_sweep(dry_run=dry_run)
        prefix = "Would have: " if dry_run else ""
        self.stdout.write(
            f"{prefix}ended {len(done['ended'])}, "
            f"invoiced renewal for {len(done['renewal_invoiced'])}, "
            f"lapsed {len(done['lapsed'])} subscription(s)."
        )
