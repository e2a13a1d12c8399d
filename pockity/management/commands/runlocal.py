"""
`manage.py runlocal [addr:port]`: the server behind `make run`.

With S3_ENDPOINT_URL at its embedded default it starts moto's S3 server on
loopback (S3_EMBEDDED_HOST:S3_EMBEDDED_PORT), creates the bucket, serves
Django with runserver (threaded, no reloader) and stops the S3 server on
Ctrl-C or SIGTERM. With a configured S3_ENDPOINT_URL it starts nothing and
only checks that the bucket answers.
"""

from __future__ import annotations

import logging
import signal
import socket

from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands.runserver import naiveip_re
from django.db import DatabaseError
from django.db.models import Sum

from pockity.embedded_s3 import EmbeddedS3, EmbeddedS3Error, is_embedded, port_in_use
from pockity.exceptions import StorageUnavailable

logger = logging.getLogger(__name__)

DEFAULT_ADDRPORT = "127.0.0.1:8080"


def _runserver_without_nagle() -> BaseCommand:
    """The installed runserver (staticfiles' when present), Nagle turned off.

    runserver's handler sends the status line, headers and body in separate
    small writes; with Nagle's algorithm on, a client that keeps the
    connection alive and delays its ACK (40 ms on Linux) waits that long for
    every response. TCP_NODELAY on each accepted socket removes the stall.
    """
    command = load_command_class(get_commands()["runserver"], "runserver")
    base_server = command.server_cls

    class NoDelayServer(base_server):
        def get_request(self):
            sock, address = super().get_request()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock, address

    command.server_cls = NoDelayServer
    return command


def _raise_keyboard_interrupt(signum, frame):
    # runserver shuts down cleanly on KeyboardInterrupt; SIGTERM (systemd,
    # docker stop, a test harness) takes the same path.
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Serve Pockity locally. Starts an in-memory S3 server on loopback when "
        "S3_ENDPOINT_URL is not configured."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport",
            nargs="?",
            default=DEFAULT_ADDRPORT,
            help=f"Address and port to serve on (default {DEFAULT_ADDRPORT}).",
        )

    def handle(self, *args, addrport, **options):
        self._check_http_port_free(addrport)

        embedded = None
        if is_embedded():
            embedded = self._start_embedded_s3()
        else:
            self._check_configured_bucket()

        previous_handler = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            call_command(
                _runserver_without_nagle(),
                addrport,
                use_reloader=False,
                use_threading=True,
                shutdown_message="Pockity stopped.\n",
            )
        finally:
            signal.signal(signal.SIGTERM, previous_handler)
            if embedded is not None:
                embedded.stop()

    def _check_http_port_free(self, addrport: str) -> None:
        match = naiveip_re.match(addrport)
        if match is None or match["ipv6"]:
            return  # runserver reports anything it cannot parse itself
        host, port = match["addr"] or "127.0.0.1", int(match["port"])
        if port_in_use(host, port):
            raise CommandError(
                f"Port {port} on {host} is already in use; pass another "
                f"address, e.g. `manage.py runlocal {host}:{port + 1}`."
            )

    def _start_embedded_s3(self) -> EmbeddedS3:
        from storage.s3 import ensure_bucket

        embedded = EmbeddedS3()
        try:
            embedded.start()
        except EmbeddedS3Error as exc:
            raise CommandError(str(exc)) from exc

        try:
            ensure_bucket()
        except StorageUnavailable as exc:
            embedded.stop()
            raise CommandError(
                f"The embedded S3 server started but the bucket could not be "
                f"created: {exc.message}"
            ) from exc

        logger.warning(
            "Embedded S3 at %s keeps objects in memory only: they are lost when "
            "this process stops, while the database keeps its usage counters. "
            "Run `manage.py resync_usage` after a restart to realign them.",
            embedded.endpoint_url,
        )
        self._warn_about_stale_counters()
        return embedded

    def _warn_about_stale_counters(self) -> None:
        from storage.models import Namespace

        try:
            totals = Namespace.objects.aggregate(
                bytes_used=Sum("bytes_used"), objects=Sum("object_count")
            )
        except DatabaseError:
            # Not migrated yet; runserver says so itself.
            return
        if totals["bytes_used"] or totals["objects"]:
            logger.warning(
                "The database counts %s objects and %s bytes that the fresh "
                "embedded S3 does not hold; `manage.py resync_usage` sets the "
                "counters to what S3 holds.",
                totals["objects"] or 0,
                totals["bytes_used"] or 0,
            )

    def _check_configured_bucket(self) -> None:
        from django.conf import settings

        from storage.s3 import bucket_reachable

        if not bucket_reachable():
            raise CommandError(
                f"The S3 bucket {settings.S3_BUCKET!r} at {settings.S3_ENDPOINT_URL} "
                "does not answer. Check S3_ENDPOINT_URL, S3_BUCKET and the AWS_* "
                "credentials, or unset S3_ENDPOINT_URL to use the embedded server."
            )
        logger.info(
            "Using S3 bucket=%s endpoint=%s",
            settings.S3_BUCKET,
            settings.S3_ENDPOINT_URL,
        )
