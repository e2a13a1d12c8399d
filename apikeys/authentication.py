"""DRF authentication by API key pair: `x-access-key-id` and `x-secret-key`."""

from __future__ import annotations

from rest_framework import authentication

from accounts.throttles import client_address
from apikeys.services import api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates as the key's owner; `request.auth` is the ApiKey.

    Requests with neither header fall through to the next authenticator
    (JWT). A request with either header must carry a valid pair: a missing
    secret is the same 401 as a wrong one.
    """

    def authenticate(self, request):
        access_key_id = request.META.get("HTTP_X_ACCESS_KEY_ID")
        secret = request.META.get("HTTP_X_SECRET_KEY")
        if access_key_id is None and secret is None:
            return None

        api_key = api_key_authenticate(
            access_key_id=access_key_id or "",
            secret=secret or "",
            client_ip=client_address(request),
        )
        return (api_key.owner, api_key)

    def authenticate_header(self, request):
        return "ApiKey"
