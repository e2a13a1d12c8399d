"""
The embedded S3-compatible server behind `make run`: moto, on loopback.

When S3_ENDPOINT_URL is left at its default (`http://{S3_EMBEDDED_HOST}:
{S3_EMBEDDED_PORT}`), `manage.py runlocal` starts moto's threaded server on
that address before serving Django, and stops it on exit. Moto keeps every
object in process memory: a restart forgets the objects while the database
keeps its usage counters, and `manage.py resync_usage` realigns the two.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from django.conf import settings
from moto.server import ThreadedMotoServer

logger = logging.getLogger(__name__)


class EmbeddedS3Error(Exception):
    """The embedded server cannot start; the message says why and what to do."""


def embedded_endpoint_url() -> str:
    return f"http://{settings.S3_EMBEDDED_HOST}:{settings.S3_EMBEDDED_PORT}"


def is_embedded() -> bool:
    """True when the configured endpoint is the embedded server's address."""
    return settings.S3_ENDPOINT_URL.rstrip("/") == embedded_endpoint_url()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port.

    Binds with SO_REUSEADDR, as the servers themselves do, so that a port
    left in TIME_WAIT by an earlier run does not count as taken.
    """
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError:
            return True
    return False


class EmbeddedS3:
    """moto's S3 server on loopback; `start()` then `stop()`, or `with`."""

    def __init__(self, host: str | None = None, port: int | None = None):
        self.host = host or settings.S3_EMBEDDED_HOST
        self.port = int(port or settings.S3_EMBEDDED_PORT)
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        # moto accepts any credentials: it must never be reachable from
        # another machine.
        if not _is_loopback(self.host):
            raise EmbeddedS3Error(
                f"S3_EMBEDDED_HOST={self.host!r} is not a loopback address; the "
                "embedded S3 server accepts any credentials and only listens on "
                "loopback (e.g. 127.0.0.1). Set S3_ENDPOINT_URL to use a real "
                "S3-compatible service instead."
            )
        # ThreadedMotoServer binds in its own thread and would wait forever
        # on a taken port, so check first.
        if port_in_use(self.host, self.port):
            raise EmbeddedS3Error(
                f"Port {self.port} on {self.host} is already in use, so the embedded "
                "S3 server cannot start. Stop whatever listens there, or choose "
                "another port with S3_EMBEDDED_PORT=<port>."
            )

        self._server = ThreadedMotoServer(
            ip_address=self.host, port=self.port, verbose=False
        )
        # moto's werkzeug logs one INFO line per S3 request; keep the
        # console for Pockity's own requests.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        logger.info("Embedded S3 started endpoint=%s", self.endpoint_url)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        self._server = None
        logger.info("Embedded S3 stopped endpoint=%s", self.endpoint_url)

    def __enter__(self) -> EmbeddedS3:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
