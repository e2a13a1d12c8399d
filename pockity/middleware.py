"""Keeps every error under /api/ in the one JSON error shape.

DRF's exception handler covers what views raise. Some errors happen before a
view runs or outside DRF: an unknown path, a disallowed Host header, a body
Django refuses while parsing, an unhandled exception (Django's HTML error
pages, or its debug pages when DEBUG is on). This middleware, outermost in the
stack, turns any such non-JSON error response for an API path into the same
`{"error": {"code", "message", "details"}}` body with the same status.
"""

from __future__ import annotations

from django.http import JsonResponse

API_PREFIX = "/api/"

# Status -> (code, message) for errors no view had a chance to describe.
_GENERIC_ERRORS = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "No API endpoint matches this path and method."),
    405: ("method_not_allowed", "This method is not allowed on this endpoint."),
    413: ("payload_too_large", "The request body is too large."),
    500: ("server_error", "The server failed to handle this request."),
}


class ApiJsonErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)

        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response

        status = response.status_code
        code, message = _GENERIC_ERRORS.get(
            status, _GENERIC_ERRORS[500] if status >= 500 else ("error", "Error.")
        )
        replacement = JsonResponse(
            {"error": {"code": code, "message": message, "details": {}}},
            status=status,
        )
        for header in ("Allow", "Retry-After", "X-Request-ID"):
            if header in response:
                replacement[header] = response[header]
        return replacement
