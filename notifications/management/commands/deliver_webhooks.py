"""`manage.py deliver_webhooks`: retry webhook messages whose time has come."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from notifications.services import webhook_deliver_due


class Command(BaseCommand):
    help = (
        "Attempt every pending webhook message whose retry is due (run from "
        "cron, e.g. every minute). Safe to run in several places at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit",
            type=int,
            default=500,
            help="Attempt at most this many messages in this run (default 500).",
        )

    def handle(self, *args, limit: int, **options):
        attempted = webhook_deliver_due(limit=max(limit, 0))
        self.stdout.write(f"{attempted} webhook message(s) attempted.")
