"""
JWT authentication that also ends tokens on password change or deletion.

Every token carries the user's `token_version` in the "ver" claim. A password
change, "sign out everywhere" or an account deletion bumps the version, so
every access and refresh token issued before stops working at once, without a
lookup table of issued access tokens. Refresh tokens are also tracked by
simplejwt's outstanding/blacklist tables, which is what makes rotation and
logout final.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework_simplejwt.authentication import (
    JWTAuthentication as SimpleJWTAuthentication,
)
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token

from pockity.exceptions import PockityError

TOKEN_VERSION_CLAIM = "ver"


class InvalidToken(PockityError):
    """Any refresh/verify/logout token that cannot be used: one 401 for all.

    Expired, tampered, rotated, blacklisted, of a deleted or inactive user,
    or from before a password change: the client's remedy is the same (sign
    in again), so the reason is logged, not returned.
    """

    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_token"
    default_message = "The token is invalid, expired or revoked; sign in again."


def tokens_for_user(user) -> dict[str, str]:
    """A fresh refresh/access pair stamped with the user's token version.

    Writes an OutstandingToken row for the refresh token (simplejwt), so that
    it can be blacklisted later.
    """
    refresh = RefreshToken.for_user(user)
    refresh[TOKEN_VERSION_CLAIM] = user.token_version
    return {"accessToken": str(refresh.access_token), "refreshToken": str(refresh)}


def check_token_version(user, token) -> None:
    if token.get(TOKEN_VERSION_CLAIM) != user.token_version:
        raise AuthenticationFailed(
            "This token is no longer valid; sign in again.", code="token_revoked"
        )


def parse_refresh_token(raw: str) -> RefreshToken:
    """Decode and verify a refresh token: signature, expiry, type, blacklist."""
    try:
        return RefreshToken(raw)
    except TokenError as exc:
        raise InvalidToken() from exc


def user_for_token(token: Token):
    """The live, active user a verified token belongs to, or InvalidToken.

    Covers the cases simplejwt's own refresh leaves open: a deleted user (it
    raises DoesNotExist there, a 500), an inactive user, and a token issued
    before the user's token version was bumped.
    """
    user_model = get_user_model()
    user_id = token.get(jwt_settings.USER_ID_CLAIM)
    try:
        user = user_model.objects.filter(
            **{jwt_settings.USER_ID_FIELD: int(user_id)}
        ).first()
    except (TypeError, ValueError, OverflowError):
        user = None

    if user is None or not user.is_active:
        raise InvalidToken()
    if token.get(TOKEN_VERSION_CLAIM) != user.token_version:
        raise InvalidToken()
    return user


class JWTAuthentication(SimpleJWTAuthentication):
    """simplejwt's authentication plus the token-version check.

    simplejwt reports failures as a dict (every token class it tried, with
    their internals); they are re-raised as one plain sentence, which is all
    a client can act on.
    """

    def get_validated_token(self, raw_token):
        try:
            return super().get_validated_token(raw_token)
        except AuthenticationFailed:
            raise drf_exceptions.AuthenticationFailed(
                "The access token is invalid or expired.", code="token_not_valid"
            ) from None

    def get_user(self, validated_token):
        try:
            user = super().get_user(validated_token)
            check_token_version(user, validated_token)
        except AuthenticationFailed as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {}
            raise drf_exceptions.AuthenticationFailed(
                str(detail.get("detail", "The access token is no longer valid.")),
                code=str(detail.get("code", "token_not_valid")),
            ) from None
        return user


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Bearer <accessToken>` in the OpenAPI schema."""

    target_class = "accounts.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
