"""Permissions for endpoints that manage the account itself."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from pockity.exceptions import Forbidden


class IsUserWithJwt(BasePermission):
    """A signed-in person: a JWT, not an API key.

    An API key authenticates as its owner, but it is a credential handed to
    an application: it must not be able to change the owner's password,
    delete the account or mint more keys.
    """

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False

        from apikeys.models import ApiKey

        if isinstance(request.auth, ApiKey):
            raise Forbidden(
                "API keys cannot manage accounts or keys; sign in with a JWT "
                "(Authorization: Bearer ...).",
                code="jwt_required",
            )
        return True
