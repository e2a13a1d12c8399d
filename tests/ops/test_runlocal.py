"""`manage.py runlocal`: embedded S3 up with the server, down after SIGTERM.

Runs the command in a subprocess on free loopback ports with a throwaway
SQLite database; the health check needs no migrated tables.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

# How long the subprocess may take to come up on a busy machine; a bound on
# waiting, not an assertion about speed.
STARTUP_WAIT = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _env(tmp_path: Path, s3_port: int) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("S3_", "AWS_", "DATABASE_URL"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        S3_EMBEDDED_PORT=str(s3_port),
        PYTHONUNBUFFERED="1",
    )
    return env


def _runlocal(tmp_path: Path, http_port: int, s3_port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "runlocal", f"127.0.0.1:{http_port}"],
        cwd=settings.BASE_DIR,
        env=_env(tmp_path, s3_port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_health(process: subprocess.Popen, port: int) -> requests.Response:
    deadline = time.monotonic() + STARTUP_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"runlocal exited early:\n{process.stdout.read()}")
        try:
            return requests.get(f"http://127.0.0.1:{port}/api/open/health", timeout=5)
        except requests.ConnectionError:
            time.sleep(0.3)
    process.kill()
    pytest.fail("runlocal did not answer in time")


def test_it_serves_with_embedded_s3_and_stops_it_on_sigterm(tmp_path):
    http_port, s3_port = _free_port(), _free_port()
    process = _runlocal(tmp_path, http_port, s3_port)
    try:
        response = _wait_for_health(process, http_port)

        assert response.status_code == 200
        assert response.json()["storage"]["ok"] is True
        assert _accepts_connections(s3_port)
        # The embedded S3 answers S3 requests, and the bucket exists.
        bucket = requests.head(f"http://127.0.0.1:{s3_port}/pockity", timeout=5)
        assert bucket.status_code == 200

        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0
    assert not _accepts_connections(s3_port)
    assert not _accepts_connections(http_port)
    assert "resync_usage" in output  # the in-memory warning
    assert "Embedded S3 stopped" in output


def test_it_refuses_a_taken_s3_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        s3_port = taken.getsockname()[1]

        process = _runlocal(tmp_path, _free_port(), s3_port)
        output, _ = process.communicate(timeout=60)

    assert process.returncode == 1
    assert f"Port {s3_port} on 127.0.0.1 is already in use" in output
    assert "S3_EMBEDDED_PORT" in output


def test_it_refuses_an_unreachable_configured_endpoint(tmp_path):
    closed = _free_port()
    env = _env(tmp_path, _free_port())
    env.update(S3_ENDPOINT_URL=f"http://127.0.0.1:{closed}", S3_MAX_ATTEMPTS="1")

    process = subprocess.run(
        [sys.executable, "manage.py", "runlocal", f"127.0.0.1:{_free_port()}"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert process.returncode == 1
    assert "does not answer" in process.stderr
