"""
Reachability checks for the database and the S3 bucket, and the public
`GET /api/open/health` view built on them.

Each check runs in a worker thread and is given a deadline, so a backend
that hangs (a black-holed address, a stuck connection pool) makes the check
report a timeout instead of holding the request: with botocore's retries and
PostgreSQL's connect timeout the calls themselves could take far longer. A
check still running from an earlier request is awaited instead of started
again, so a hung backend ties up at most one thread per check.

`/api/admin/health` (audit app) reuses `database_status()` and
`storage_status()`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# Seconds each check may take before it is reported as timed out.
CHECK_TIMEOUT = 1.5

_started_at = time.monotonic()

_inflight: dict[tuple, Future] = {}
_inflight_lock = threading.Lock()


def _ping_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # The check runs in its own thread, whose connection would otherwise
        # stay open until the thread ends.
        connection.close()


def _ping_storage() -> None:
    from storage.s3 import bucket_reachable

    if not bucket_reachable():
        raise ConnectionError("bucket unreachable")


def _target(name: str) -> tuple:
    """What a check talks to: a running check is shared only for the same one."""
    if name == "storage":
        return (name, settings.S3_ENDPOINT_URL, settings.S3_BUCKET)
    return (name, connection.settings_dict.get("NAME"))


def _start(name: str, check: Callable[[], None]) -> Future:
    """Run `check` in a thread; its future's result is the latency in ms."""
    target_key = _target(name)
    with _inflight_lock:
        future = _inflight.get(target_key)
        if future is not None and not future.done():
            return future

        for key in [key for key, done in _inflight.items() if done.done()]:
            del _inflight[key]
        future = Future()
        _inflight[target_key] = future

    def target():
        started = time.monotonic()
        try:
            check()
        except BaseException as exc:  # reported through the future
            future.set_exception(exc)
        else:
            future.set_result(round((time.monotonic() - started) * 1000, 1))

    threading.Thread(target=target, name=f"health-{name}", daemon=True).start()
    return future


def _collect(name: str, future: Future, deadline: float) -> dict:
    waited_from = time.monotonic()
    try:
        latency_ms = future.result(timeout=max(deadline - waited_from, 0.0))
    except FutureTimeout:
        latency_ms = round((time.monotonic() - waited_from) * 1000, 1)
        logger.warning("Health check timed out check=%s", name)
        return {"ok": False, "latencyMs": latency_ms, "error": "timeout"}
    except Exception as exc:
        latency_ms = round((time.monotonic() - waited_from) * 1000, 1)
        logger.warning(
            "Health check failed check=%s error=%s", name, type(exc).__name__
        )
        return {"ok": False, "latencyMs": latency_ms, "error": "unreachable"}
    return {"ok": True, "latencyMs": latency_ms}


def database_status(*, timeout: float = CHECK_TIMEOUT) -> dict:
    """`{"ok", "latencyMs"[, "error"]}` for a `SELECT 1` on the default database."""
    future = _start("database", _ping_database)
    return _collect("database", future, time.monotonic() + timeout)


def storage_status(*, timeout: float = CHECK_TIMEOUT) -> dict:
    """`{"ok", "latencyMs"[, "error"]}` for a HEAD of the configured bucket."""
    future = _start("storage", _ping_storage)
    return _collect("storage", future, time.monotonic() + timeout)


def uptime_seconds() -> int:
    return int(time.monotonic() - _started_at)


def health_report() -> dict:
    """Both checks, run side by side under one deadline, plus version and uptime."""
    deadline = time.monotonic() + CHECK_TIMEOUT
    database_future = _start("database", _ping_database)
    storage_future = _start("storage", _ping_storage)
    database = _collect("database", database_future, deadline)
    storage = _collect("storage", storage_future, deadline)

    healthy = database["ok"] and storage["ok"]
    return {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "storage": storage,
        "version": settings.POCKITY_VERSION,
        "uptime": uptime_seconds(),
    }


_check_schema = inline_serializer(
    name="HealthCheck",
    fields={
        "ok": serializers.BooleanField(),
        "latencyMs": serializers.FloatField(),
        "error": serializers.ChoiceField(
            choices=["timeout", "unreachable"], required=False
        ),
    },
)

_health_schema = inline_serializer(
    name="Health",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "degraded"]),
        "database": _check_schema,
        "storage": _check_schema,
        "version": serializers.CharField(),
        "uptime": serializers.IntegerField(help_text="Seconds since start."),
    },
)


class OpenHealthView(APIView):
    """Public liveness and readiness: 200 when database and S3 answer."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="open_health",
        summary="Health check (no authentication)",
        tags=["open"],
        responses={
            200: _health_schema,
            503: OpenApiResponse(
                _health_schema, description="Database or S3 is unreachable."
            ),
        },
    )
    def get(self, request):
        report = health_report()
        status_code = 200 if report["status"] == "ok" else 503
        # Probes and proxies must see the state now, never a cached answer.
        return Response(
            report, status=status_code, headers={"Cache-Control": "no-store"}
        )
