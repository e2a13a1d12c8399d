"""Permissions for the request endpoints (tier and API-key requests)."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from apikeys.models import ApiKey


def _signed_in_as_person(request) -> bool:
    return bool(
        request.user
        and request.user.is_authenticated
        and not isinstance(request.auth, ApiKey)
    )


class SignedInPerson(BasePermission):
    """A user signed in with a JWT, not an application holding an API key.

    Asking for keys and tiers, and reading a new key's secret, are a
    person's acts: a leaked key must not be able to mint or collect others.
    """

    message = "Sign in with your account (JWT) for this endpoint; API keys cannot."

    def has_permission(self, request, view):
        return _signed_in_as_person(request)


class StaffPerson(BasePermission):
    """A staff user signed in with a JWT."""

    message = "Only staff may do this."

    def has_permission(self, request, view):
        return _signed_in_as_person(request) and request.user.is_staff
