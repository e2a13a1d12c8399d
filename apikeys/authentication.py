"""DRF authentication by API key pair: `x-access-key-id` and `x-secret-key`."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
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


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the key pair headers, sent together, in the OpenAPI schema."""

    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = ["accessKeyId", "secretKey"]

    def get_security_requirement(self, auto_schema):
        return {"accessKeyId": [], "secretKey": []}

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "x-access-key-id"},
            {"type": "apiKey", "in": "header", "name": "x-secret-key"},
        ]
