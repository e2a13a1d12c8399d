"""
Pockity's errors and the one DRF exception handler that renders them.

Every error leaves the API as
`{"error": {"code": "...", "message": "...", "details": {...}}}` with the
status the error carries. Services raise `PockityError` subclasses; DRF's own
exceptions (validation, authentication, throttling, parse errors) and
Django's (404, permission denied, oversized requests) are mapped here too, so
no view formats an error by hand.
"""

from __future__ import annotations

import logging

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class PockityError(Exception):
    """A failure with a stable machine-readable code and an HTTP status."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict | None = None,
        status_code: int | None = None,
    ):
        self.message = message or self.default_message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.details = details or {}
        super().__init__(self.message)


class InvalidInput(PockityError):
    code = "invalid_input"
    default_message = "The request contains invalid input."


class NotFound(PockityError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = "Not found."


class Forbidden(PockityError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"
    default_message = "You do not have permission to perform this action."


class Conflict(PockityError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = "The request conflicts with the current state."


class QuotaExceeded(PockityError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "quota_exceeded"
    default_message = "The upload would exceed the namespace's quota."


class PayloadTooLarge(PockityError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"
    default_message = "The request body is too large."


class ServiceUnavailable(PockityError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_message = "A backing service is unavailable; try again later."


class StorageUnavailable(ServiceUnavailable):
    code = "storage_unavailable"
    default_message = "The storage backend is unreachable; nothing was changed."


# DRF exception class -> our error code, where DRF's own code is not the one
# clients should program against.
_DRF_CODES = {
    drf_exceptions.ValidationError: "validation_error",
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: dict | None = None,
    headers: dict | None = None,
):
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status=status_code, headers=headers)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            message = _first_message(value)
            if field in ("non_field_errors", "detail"):
                return message
            return f"{field}: {message}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def _plain(detail):
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(value) for value in detail]
    return str(detail)


def _rollback_atomic_requests() -> None:
    from django.db import connections

    for db in connections.all(initialized_only=True):
        if db.settings_dict["ATOMIC_REQUESTS"] and db.in_atomic_block:
            transaction.set_rollback(True, using=db.alias)


def api_exception_handler(exc, context):
    """Render any exception raised in a DRF view in the one error shape."""
    if isinstance(exc, PockityError):
        _rollback_atomic_requests()
        return error_response(exc.status_code, exc.code, exc.message, exc.details)

    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, RequestDataTooBig):
        return error_response(
            413, "payload_too_large", str(exc) or "The request body is too large."
        )
    elif isinstance(exc, (TooManyFilesSent, TooManyFieldsSent)):
        return error_response(400, "too_many_parts", str(exc))
    elif isinstance(exc, SuspiciousOperation):
        return error_response(400, "malformed_request", str(exc))

    if not isinstance(exc, drf_exceptions.APIException):
        return None

    _rollback_atomic_requests()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    code = _DRF_CODES.get(type(exc))
    if code is None:
        for klass, mapped in _DRF_CODES.items():
            if isinstance(exc, klass):
                code = mapped
                break
    if isinstance(exc.detail, (dict, list)):
        details = (
            {"fields": _plain(exc.detail)}
            if isinstance(exc.detail, dict)
            else {"errors": _plain(exc.detail)}
        )
        message = _first_message(exc.detail)
    else:
        details = {}
        message = str(exc.detail)
        code = code or getattr(exc.detail, "code", None)
    return error_response(
        exc.status_code, code or "error", message, details, headers=headers
    )
