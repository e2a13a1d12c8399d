"""
Per-request context (client IP, user agent, request id) kept in a context
variable, so that logging and audit receivers can read it without a request.

`audit.middleware.RequestContextMiddleware` fills it for every HTTP request;
management commands run with an empty context.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = "-"
    ip_address: str | None = None
    user_agent: str = ""


_EMPTY = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "pockity_request_context", default=None
)


def get_request_context() -> RequestContext:
    return _current.get() or _EMPTY


def set_request_context(context: RequestContext) -> contextvars.Token:
    return _current.set(context)


def reset_request_context(token: contextvars.Token) -> None:
    _current.reset(token)
