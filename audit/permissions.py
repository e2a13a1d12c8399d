"""Who may call the admin API: staff people signed in with a JWT."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


class IsStaffWithJwt(BasePermission):
    """Staff only. An API key never reaches the admin API, even a staff
    user's: a key is a credential handed to an application, not an operator.
    """

    message = "Only staff may use the admin API."

    def has_permission(self, request, view):
        from apikeys.models import ApiKey

        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if isinstance(request.auth, ApiKey):
            return False
        return bool(user.is_staff)
