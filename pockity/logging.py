"""
Logging helpers: the request id on every line, JSON output on demand, and a
last line of defence that blanks secrets before anything is written.

Code never logs secrets on purpose; `RedactingFilter` catches the accidents
(an exception message quoting a header, a URL with its signature, a
third-party library's debug line): API secrets (`sk_...`), webhook secrets
(`whsec_...`), the `x-secret-key` header, bearer tokens, passwords in
key=value form and the signature and credential of presigned S3 URLs.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from pockity.request_context import get_request_context

REDACTED = "[redacted]"

_PATTERNS = [
    # API-key and webhook secrets, wherever they appear.
    (re.compile(r"\b(sk|whsec)_[A-Za-z0-9_\-]{8,}"), rf"\1_{REDACTED}"),
    # Headers and fields that carry secrets, in "name: value", "name=value"
    # or JSON/dict form.
    (
        re.compile(
            r"""(?ix)
            (["']?(?:x-secret-key|http_x_secret_key|secret_?key|secretKey|
              password|passwd|authorization|http_authorization|
              access_?token|refresh_?token|accessToken|refreshToken|
              client_secret|api_key_encryption_keys)["']?
            \s*[:=]\s*)
            ["']?(?:Bearer\s+)?[^\s"',;&}]+["']?
            """
        ),
        rf"\1{REDACTED}",
    ),
    # Presigned S3 URLs: the signature and the credential scope.
    (
        re.compile(
            r"(?i)([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token"
            r"|Signature|AWSAccessKeyId)=)[^&\s\"']+"
        ),
        rf"\1{REDACTED}",
    ),
    # A bearer token anywhere else (e.g. quoted inside a message).
    (re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9_\-\.=]{8,}"), rf"\1{REDACTED}"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_context().request_id
        return True


class RedactingFilter(logging.Filter):
    """Rewrites the record's message (arguments merged in) with secrets blanked.

    The exception text, formatted later by the handler, is redacted by the
    formatters below, which is why both plain and JSON output go through
    this module.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A broken format string is the caller's bug; log it as it came.
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True


class PlainFormatter(logging.Formatter):
    """The standard formatter, with tracebacks redacted like messages."""

    def formatException(self, ei) -> str:  # noqa: N802 (logging's API)
        return redact(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)
