"""
The embedded S3-compatible server behind `make run`: moto, on loopback.

When S3_ENDPOINT_URL is left at its default (`http://{S3_EMBEDDED_HOST}:
{S3_EMBEDDED_PORT}`), `manage.py runlocal` starts moto's server on that
address before serving Django, and stops it on exit. It runs as a child
process, so the bytes moto keeps in memory never show in the app's own
memory (which stays flat while files stream through it) and the two do not
share one interpreter lock. Moto keeps every object in memory: a restart
forgets the objects while the database keeps its usage counters, and
`manage.py resync_usage` realigns the two.
"""

from __future__ import annotations

import ctypes
import ipaddress
import logging
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings

# How long moto may take to answer after its process starts.
STARTUP_TIMEOUT_SECONDS = 30

logger = logging.getLogger(__name__)


# prctl(2) option: the signal a child receives when its parent dies.
_PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """In the child: ask Linux to stop it if the app dies without cleaning up.

    Without this, a `kill -9` of the app would leave moto holding the port
    and the next `make run` would refuse to start. Elsewhere it does nothing.
    """
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


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
        self._process: subprocess.Popen | None = None

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
        # Check first: a taken port would otherwise only show as a child that
        # exits, with a less helpful message.
        if port_in_use(self.host, self.port):
            raise EmbeddedS3Error(
                f"Port {self.port} on {self.host} is already in use, so the embedded "
                "S3 server cannot start. Stop whatever listens there, or choose "
                "another port with S3_EMBEDDED_PORT=<port>."
            )

        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "moto.server",
                "-H",
                self.host.strip("[]"),
                "-p",
                str(self.port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_end_with_parent,
        )
        self._wait_until_listening()
        logger.info("Embedded S3 started endpoint=%s", self.endpoint_url)

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise EmbeddedS3Error(
                    "The embedded S3 server exited at start; run "
                    "`.venv/bin/python -m moto.server` to see why."
                )
            if port_in_use(self.host, self.port):
                return
            time.sleep(0.1)
        self.stop()
        raise EmbeddedS3Error(
            f"The embedded S3 server did not listen on {self.endpoint_url} within "
            f"{STARTUP_TIMEOUT_SECONDS} s."
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
        logger.info("Embedded S3 stopped endpoint=%s", self.endpoint_url)

    def __enter__(self) -> EmbeddedS3:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
