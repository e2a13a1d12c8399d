"""The processes a benchmark run needs: moto and a Pockity server, on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import requests

from pockity.embedded_s3 import EmbeddedS3

REPO = Path(__file__).resolve().parent.parent
BUCKET = "pockity-bench"
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
STARTUP_WAIT = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, *, what: str) -> None:
    deadline = time.monotonic() + STARTUP_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {STARTUP_WAIT}s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Moto:
    """moto's S3 server in its own process (the one `make run` embeds)."""

    def __init__(self):
        self.server = EmbeddedS3(host="127.0.0.1", port=free_port())
        self.endpoint = self.server.endpoint_url

    def start(self) -> None:
        self.server.start()
        self.client().create_bucket(Bucket=BUCKET)

    def client(self):
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1", **CREDENTIALS
        )

    def stop(self) -> None:
        self.server.stop()


class Pockity:
    """`manage.py runlocal` on a fresh SQLite database, using the given moto."""

    def __init__(self, *, s3_endpoint: str, workdir: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("S3_", "AWS_", "DATABASE_URL", "REDIS_URL"))
        }
        self.env.update(
            DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
            S3_ENDPOINT_URL=s3_endpoint,
            S3_BUCKET=BUCKET,
            AWS_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"],
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / "server.log"

    def manage(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            **kwargs,
        )

    def start(self) -> None:
        self.manage("migrate", "--noinput")
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runlocal", f"127.0.0.1:{self.port}"],
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until_up(
            f"{self.base_url}/api/open/health", self.process, what="Pockity server"
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self._log.close()
