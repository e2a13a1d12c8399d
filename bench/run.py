"""Run every benchmark once, print a table, write bench/results/latest.json.

python -m bench                       # the standard run (about a minute)
python -m bench --resync-objects 100000   # also time a large resync
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.api import PockityClient
from bench.servers import BUCKET, REPO, Moto, Pockity

RESULTS = Path(__file__).resolve().parent / "results"
MIB = 1024 * 1024
BIG_FILE_BYTES = 50 * MIB
LIST_OBJECTS = 2000
SMALL_UPLOADS = 100
SMALL_BYTES = 1024
REPEATS = 3


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def best_of(action, repeats: int = REPEATS) -> float:
    """The median of a few runs: one slow run on a shared machine says little."""
    return statistics.median(timed(action) for _ in range(repeats))


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found for pid {pid}")


class RssSampler:
    """Samples a process's resident memory while a block runs."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmRSS"))
            time.sleep(self.interval)

    def __enter__(self):
        self.before_kib = _status_kib(self.pid, "VmRSS")
        self.hwm_before_kib = _status_kib(self.pid, "VmHWM")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.hwm_after_kib = _status_kib(self.pid, "VmHWM")


def bench_big_upload(client, s3, server_pid: int, prefix: str) -> dict:
    payload = os.urandom(BIG_FILE_BYTES)

    with RssSampler(server_pid) as rss:
        api_seconds = timed(lambda: client.upload("big/api.bin", io.BytesIO(payload)))
    direct_seconds = timed(
        lambda: s3.upload_fileobj(
            io.BytesIO(payload), BUCKET, f"{prefix}big/direct.bin"
        )
    )

    stored = s3.head_object(Bucket=BUCKET, Key=f"{prefix}big/api.bin")
    assert stored["ContentLength"] == BIG_FILE_BYTES, "API upload stored a wrong size"
    return {
        "api_seconds": api_seconds,
        "direct_seconds": direct_seconds,
        "ratio": api_seconds / direct_seconds,
        "api_mib_per_s": BIG_FILE_BYTES / MIB / api_seconds,
        "server_rss_before_mib": rss.before_kib / 1024,
        "server_rss_peak_mib": rss.peak_kib / 1024,
        "server_rss_growth_mib": (rss.peak_kib - rss.before_kib) / 1024,
        "server_vmhwm_before_mib": rss.hwm_before_kib / 1024,
        "server_vmhwm_after_mib": rss.hwm_after_kib / 1024,
    }


def bench_rss_flatness(client, server_pid: int, size: int) -> dict:
    """Server RSS growth for a larger upload: flat means independent of size."""
    payload = os.urandom(size)
    with RssSampler(server_pid) as rss:
        client.upload("big/rss-check.bin", io.BytesIO(payload))
    return {
        "bytes": size,
        "server_rss_before_mib": rss.before_kib / 1024,
        "server_rss_peak_mib": rss.peak_kib / 1024,
        "server_rss_growth_mib": (rss.peak_kib - rss.before_kib) / 1024,
    }


def bench_download(client, s3, prefix: str) -> dict:
    def via_api():
        url = client.download_url("big/api.bin")
        with requests.get(url, stream=True, timeout=120) as response:
            response.raise_for_status()
            for _chunk in response.iter_content(MIB):
                pass

    def direct():
        body = s3.get_object(Bucket=BUCKET, Key=f"{prefix}big/api.bin")["Body"]
        for _chunk in body.iter_chunks(MIB):
            pass

    api_seconds = best_of(via_api)
    direct_seconds = best_of(direct)
    url_seconds = best_of(lambda: client.download_url("big/api.bin"))
    return {
        "api_seconds": api_seconds,
        "direct_seconds": direct_seconds,
        "ratio": api_seconds / direct_seconds,
        "presign_request_seconds": url_seconds,
    }


def put_many(s3, keys: list[str], body: bytes = b"x", workers: int = 8) -> None:
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(
            lambda key: s3.put_object(Bucket=BUCKET, Key=key, Body=body), keys
        ):
            pass


def bench_listing(client, s3, prefix: str) -> dict:
    put_many(s3, [f"{prefix}list/{index:05d}.txt" for index in range(LIST_OBJECTS)])

    def via_api():
        seen = client.list_all("list/")
        assert seen == LIST_OBJECTS, f"API listed {seen} of {LIST_OBJECTS}"

    def direct():
        seen = 0
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=f"{prefix}list/", PaginationConfig={"PageSize": 1000}
        ):
            seen += len(page.get("Contents", []))
        assert seen == LIST_OBJECTS

    api_seconds = best_of(via_api)
    direct_seconds = best_of(direct)
    return {
        "objects": LIST_OBJECTS,
        "api_seconds": api_seconds,
        "direct_seconds": direct_seconds,
        "ratio": api_seconds / direct_seconds,
    }


def bench_small_uploads(client, s3, prefix: str) -> dict:
    body = os.urandom(SMALL_BYTES)

    def via_api():
        for index in range(SMALL_UPLOADS):
            client.upload(f"small/{index:03d}.bin", io.BytesIO(body))

    def direct():
        for index in range(SMALL_UPLOADS):
            s3.put_object(
                Bucket=BUCKET, Key=f"{prefix}small-direct/{index:03d}.bin", Body=body
            )

    api_seconds = timed(via_api)
    direct_seconds = timed(direct)
    return {
        "uploads": SMALL_UPLOADS,
        "bytes_each": SMALL_BYTES,
        "api_seconds": api_seconds,
        "direct_seconds": direct_seconds,
        "ratio": api_seconds / direct_seconds,
        "api_per_upload_ms": api_seconds * 1000 / SMALL_UPLOADS,
    }


def run_measured(server: Pockity, *args: str) -> tuple[float, float, str]:
    """Run a manage.py command; returns (seconds, its peak RSS in MiB, output).

    The peak is the child's VmHWM, sampled until it exits: getrusage's
    ru_maxrss would also count the memory of this process, which the child
    was forked from.
    """
    with tempfile.TemporaryFile(mode="w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=server.env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        peak_kib = 0
        while process.poll() is None:
            try:
                peak_kib = max(peak_kib, _status_kib(process.pid, "VmHWM"))
            except (OSError, RuntimeError):
                pass  # exiting
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{text[-2000:]}")
    return seconds, peak_kib / 1024, text


def list_directly(s3, prefix: str) -> int:
    seen = 0
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=prefix, PaginationConfig={"PageSize": 1000}
    ):
        seen += len(page.get("Contents", []))
    return seen


def bench_resync(server: Pockity, s3, prefix: str, objects: int) -> dict:
    """Time `manage.py resync_usage` on a namespace before and after adding
    `objects` keys behind Pockity's back; peak memory should not move."""
    args = ("resync_usage", "--namespace", prefix, "--no-progress")
    small_seconds, small_rss, _ = run_measured(server, *args)

    batch: list[str] = []
    for index in range(objects):
        batch.append(f"{prefix}resync/{index:07d}.bin")
        if len(batch) == 5000:
            put_many(s3, batch)
            batch = []
    if batch:
        put_many(s3, batch)

    seconds, peak_rss, output = run_measured(server, *args)
    # The same paged listing straight from boto3: what the resync cannot beat.
    direct_seconds = timed(lambda: list_directly(s3, prefix))
    return {
        "objects_added": objects,
        "seconds": seconds,
        "direct_listing_seconds": direct_seconds,
        "ratio": seconds / direct_seconds,
        "objects_per_second": objects / seconds,
        "peak_rss_mib": peak_rss,
        "before_adding": {"seconds": small_seconds, "peak_rss_mib": small_rss},
        "output": output.strip().splitlines()[-2:],
    }


def print_table(results: dict) -> None:
    rows = [
        ("upload 50 MiB (API key)", results["upload_50mib"]),
        ("download 50 MiB (presigned)", results["download_50mib"]),
        (f"list {LIST_OBJECTS} objects (paged)", results["list"]),
        (f"{SMALL_UPLOADS} small uploads", results["small_uploads"]),
    ]
    print(f"\n{'benchmark':34} {'pockity s':>10} {'direct s':>10} {'ratio':>7}")
    for label, row in rows:
        print(
            f"{label:34} {row['api_seconds']:10.3f} {row['direct_seconds']:10.3f} "
            f"{row['ratio']:7.2f}"
        )
    upload = results["upload_50mib"]
    print(
        f"\nserver RSS during the 50 MiB upload: {upload['server_rss_before_mib']:.1f}"
        f" -> peak {upload['server_rss_peak_mib']:.1f} MiB "
        f"(growth {upload['server_rss_growth_mib']:.1f} MiB)"
    )
    larger = results["upload_150mib_rss"]
    print(
        f"server RSS during a 150 MiB upload: growth "
        f"{larger['server_rss_growth_mib']:.1f} MiB (memory does not follow the "
        "file size: one S3 part is buffered at a time)"
    )
    if "resync" in results:
        resync = results["resync"]
        print(
            f"resync after adding {resync['objects_added']} objects: "
            f"{resync['seconds']:.1f}s ({resync['objects_per_second']:.0f} "
            f"objects/s; a bare boto3 listing {resync['direct_listing_seconds']:.1f}s"
            f"), peak RSS {resync['peak_rss_mib']:.0f} MiB (before "
            f"adding them: {resync['before_adding']['peak_rss_mib']:.0f} MiB)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--resync-objects",
        type=int,
        default=0,
        metavar="N",
        help="Also write N objects behind Pockity's back and time a resync.",
    )
    args = parser.parse_args(argv)

    if not sys.platform.startswith("linux"):
        print("The benchmarks read /proc and need Linux.", file=sys.stderr)
        return 2

    moto = Moto()
    with tempfile.TemporaryDirectory(prefix="pockity-bench-") as workdir:
        server = Pockity(s3_endpoint=moto.endpoint, workdir=Path(workdir))
        try:
            moto.start()
            print(f"moto on {moto.endpoint}, Pockity on {server.base_url}")
            server.start()

            client = PockityClient(server.base_url)
            access_key_id, _secret = client.sign_up_with_key()
            prefix = f"apikeys/{access_key_id}/"
            s3 = moto.client()

            started = time.perf_counter()
            results = {
                "upload_50mib": bench_big_upload(client, s3, server.pid, prefix),
                "download_50mib": bench_download(client, s3, prefix),
                "list": bench_listing(client, s3, prefix),
                "small_uploads": bench_small_uploads(client, s3, prefix),
                "upload_150mib_rss": bench_rss_flatness(client, server.pid, 150 * MIB),
            }
            if args.resync_objects:
                results["resync"] = bench_resync(
                    server, s3, prefix, args.resync_objects
                )
            results["total_seconds"] = time.perf_counter() - started
        except (RuntimeError, requests.HTTPError, subprocess.CalledProcessError) as exc:
            print(f"benchmark failed: {exc}", file=sys.stderr)
            if server.log_path.exists():
                print(server.log_path.read_text()[-3000:], file=sys.stderr)
            return 1
        finally:
            server.stop()
            moto.stop()

    results["meta"] = {
        "at": datetime.now(UTC).isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "repo": str(REPO),
    }
    print_table(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {RESULTS / 'latest.json'}")
    return 0
