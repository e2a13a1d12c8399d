"""Log lines carry the request id, come out as JSON on demand, hide secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest

from pockity.logging import (
    JsonFormatter,
    PlainFormatter,
    RedactingFilter,
    RequestIdFilter,
    redact,
)
from pockity.request_context import (
    RequestContext,
    reset_request_context,
    set_request_context,
)

PLAIN = "%(levelname)s %(name)s [%(request_id)s] %(message)s"


@pytest.fixture
def capture():
    """A logger wired like settings.LOGGING; returns (logger, stream, handler)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(PlainFormatter(PLAIN))
    logger = logging.getLogger("pockity.tests.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_every_line_carries_the_request_id(capture):
    logger, stream, _ = capture
    token = set_request_context(RequestContext(request_id="req-42"))
    try:
        logger.info("inside a request")
    finally:
        reset_request_context(token)
    logger.info("outside")

    lines = stream.getvalue().splitlines()
    assert lines == [
        "INFO pockity.tests.logging [req-42] inside a request",
        "INFO pockity.tests.logging [-] outside",
    ]


def test_json_output(capture):
    logger, stream, handler = capture
    handler.setFormatter(JsonFormatter())
    token = set_request_context(RequestContext(request_id="abc"))
    try:
        logger.warning("uploaded key=%s size=%d", "a.txt", 5)
    finally:
        reset_request_context(token)

    entry = json.loads(stream.getvalue())
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "pockity.tests.logging"
    assert entry["request_id"] == "abc"
    assert entry["message"] == "uploaded key=a.txt size=5"
    assert entry["time"].endswith("+00:00")


SECRET = "sk_" + "Q" * 43
PRESIGNED = (
    "https://s3.example/b/users/1/a.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20261204%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20261204T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=0123456789abcdef0123456789abcdef"
)


@pytest.mark.parametrize(
    ("message", "leaked", "kept"),
    [
        (f"key secret {SECRET}", SECRET, "key secret sk_"),
        ("headers x-secret-key: sk_abcdefgh12345678", "abcdefgh1234", "x-secret-key"),
        (
            "{'HTTP_X_SECRET_KEY': 'hunter2-value'}",
            "hunter2-value",
            "HTTP_X_SECRET_KEY",
        ),
        (f"url {PRESIGNED}", "0123456789abcdef", "X-Amz-Expires=3600"),
        (f"url {PRESIGNED}", "AKIAEXAMPLE", "X-Amz-Algorithm"),
        (
            "Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig_part",
            "eyJzdWIi",
            "Authorization",
        ),
        ('{"password": "Tr0ub4dor&3"}', "Tr0ub4dor", '"password"'),
        ('{"secretKey": "sk_zzzzzzzzzzzz"}', "zzzzzzzz", '"secretKey"'),
        ("refreshToken=abc.def.ghi&x=1", "abc.def.ghi", "&x=1"),
        ("webhook secret whsec_abcdefghijklmnop", "abcdefghijklmnop", "webhook secret"),
    ],
)
def test_secrets_are_redacted(message, leaked, kept):
    cleaned = redact(message)

    assert leaked not in cleaned
    assert kept in cleaned
    assert "[redacted]" in cleaned


def test_the_filter_redacts_arguments_and_tracebacks(capture):
    logger, stream, _ = capture

    logger.info("auth with %s", {"x-secret-key": SECRET})
    try:
        raise ValueError(f"bad credentials {SECRET}")
    except ValueError:
        logger.exception("failed")

    output = stream.getvalue()
    assert SECRET not in output
    assert "QQQQQQQQ" not in output
    assert output.count("[redacted]") >= 2


def test_ordinary_messages_are_untouched():
    message = "File uploaded namespace=4 size=850 name=report-sk.pdf"

    assert redact(message) == message


def test_settings_wire_the_filters(settings):
    handler = settings.LOGGING["handlers"]["console"]

    assert handler["filters"] == ["request_id", "redact"]
    assert settings.LOGGING["formatters"]["plain"]["()"].endswith("PlainFormatter")


def test_a_request_logs_its_id(user, client_for, capture):
    _, stream, handler = capture
    storage_logger = logging.getLogger("storage.services")
    storage_logger.addHandler(handler)
    try:
        response = client_for(user).get(
            "/api/storage/usage", HTTP_X_REQUEST_ID="trace-me-1"
        )
    finally:
        storage_logger.removeHandler(handler)

    assert response["X-Request-ID"] == "trace-me-1"
    # The user's namespace is created (and logged) inside the request.
    assert "[trace-me-1] Namespace created" in stream.getvalue()
