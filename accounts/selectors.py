"""Read-only views of an account: profile, usage and the account summary."""

from __future__ import annotations

from accounts.models import User


def _usage_or_none(namespace) -> dict | None:
    from storage.services import namespace_usage

    return namespace_usage(namespace) if namespace is not None else None


def user_usage(*, user: User) -> dict:
    """Usage of the user's own namespace `users/{id}/` (created if missing).

    Side effect: the first call creates the namespace row (no S3 call).
    """
    from storage.services import namespace_for_user

    return namespace_usage_dict(namespace_for_user(user))


def namespace_usage_dict(namespace) -> dict:
    from storage.services import namespace_usage

    return namespace_usage(namespace)


def user_api_key_counts(*, user: User) -> dict:
    """Counts of the user's keys by state, and how many the tier allows."""
    from django.utils import timezone

    now = timezone.now()
    keys = list(
        user.api_keys.values_list("is_active", "revoked_at", "expires_at").order_by()
    )
    revoked = sum(1 for active, revoked_at, _ in keys if not active or revoked_at)
    expired = sum(
        1
        for active, revoked_at, expires_at in keys
        if active and not revoked_at and expires_at is not None and expires_at <= now
    )
    limit = user.tier.max_api_keys if user.tier_id else None
    active = len(keys) - revoked
    return {
        "total": len(keys),
        "active": active - expired,
        "expired": expired,
        "revoked": revoked,
        "limit": limit,
        "remaining": None if limit is None else max(0, limit - active),
    }


def user_summary(*, user: User) -> dict:
    """Profile, tier, usage of `users/{id}/` and of every key, key counts.

    One query per key for its usage figures (keys per user are bounded by
    the tier's `max_api_keys`).
    """
    from apikeys.models import ApiKey
    from storage.services import namespace_for_user

    user_namespace = namespace_for_user(user)
    keys = list(
        ApiKey.objects.filter(owner=user)
        .select_related("namespace", "tier", "owner__tier")
        .order_by("-created_at", "-id")
    )
    key_usage = []
    total_bytes = user_namespace.bytes_used
    total_objects = user_namespace.object_count
    for api_key in keys:
        namespace = getattr(api_key, "namespace", None)
        if namespace is not None:
            total_bytes += namespace.bytes_used
            total_objects += namespace.object_count
        key_usage.append((api_key, _usage_or_none(namespace)))

    return {
        "user": user,
        "user_usage": namespace_usage_dict(user_namespace),
        "keys": key_usage,
        "totals": {"bytesUsed": total_bytes, "objects": total_objects},
        "key_counts": user_api_key_counts(user=user),
    }
