"""Throttles for the sign-in endpoints, keyed on the real client address."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from pockity.request_context import get_request_context


def client_address(request) -> str:
    """The client's IP as the request-context middleware resolved it.

    DRF's own `get_ident` trusts every X-Forwarded-For entry unless
    NUM_PROXIES is set, so anyone could dodge a throttle by inventing one.
    The middleware honours TRUSTED_PROXY_COUNT instead.
    """
    return get_request_context().ip_address or request.META.get("REMOTE_ADDR", "")


class ClientAddressRateThrottle(SimpleRateThrottle):
    """A per-client-address throttle whose rate is read from settings at use.

    Reading the rate when the throttle runs (not at import) lets a deployment
    or a test change `DEFAULT_THROTTLE_RATES` without a restart.
    """

    def get_rate(self):
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": client_address(request),
        }


class LoginRateThrottle(ClientAddressRateThrottle):
    scope = "login"


class RegisterRateThrottle(ClientAddressRateThrottle):
    scope = "register"
