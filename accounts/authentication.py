"""JWT authentication that also ends tokens on password change or deactivation."""

from __future__ import annotations

from rest_framework_simplejwt.authentication import (
    JWTAuthentication as SimpleJWTAuthentication,
)
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import RefreshToken

TOKEN_VERSION_CLAIM = "ver"


def tokens_for_user(user) -> dict[str, str]:
    """A fresh refresh/access pair stamped with the user's token version."""
    refresh = RefreshToken.for_user(user)
    refresh[TOKEN_VERSION_CLAIM] = user.token_version
    return {"accessToken": str(refresh.access_token), "refreshToken": str(refresh)}


def check_token_version(user, token) -> None:
    if token.get(TOKEN_VERSION_CLAIM) != user.token_version:
        raise AuthenticationFailed(
            "This token is no longer valid; sign in again.", code="token_revoked"
        )


class JWTAuthentication(SimpleJWTAuthentication):
    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        check_token_version(user, validated_token)
        return user
