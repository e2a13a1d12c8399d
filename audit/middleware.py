"""Puts the request's client IP, user agent and request id in context."""

from __future__ import annotations

import ipaddress
import re
import uuid

from django.conf import settings

from pockity.request_context import (
    RequestContext,
    reset_request_context,
    set_request_context,
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address, trusting X-Forwarded-For only as configured.

    With TRUSTED_PROXY_COUNT = n, the n-th address from the right of
    X-Forwarded-For is the client (each trusted proxy appends the address it
    saw). With 0, the header is ignored: anyone can write it. Whatever is
    returned is a valid IP address or None, never raw header text.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) >= proxies:
        return _valid_ip(forwarded[-proxies]) or remote
    return remote


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        context = RequestContext(
            request_id=request_id,
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        )
        request.request_id = request_id
        token = set_request_context(context)
        try:
            response = self.get_response(request)
        finally:
            reset_request_context(token)
        response["X-Request-ID"] = request_id
        return response
