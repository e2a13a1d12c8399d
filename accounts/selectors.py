"""Read-only views of an account: usage, key counts and the account summary."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User


def user_usage(*, user: User) -> dict:
    """Usage of the user's own namespace `users/{id}/` against the tier.

    Side effect: the first call creates the namespace row (no S3 call).
    """
    from storage.services import namespace_for_user, namespace_usage

    return namespace_usage(namespace_for_user(user))


def user_api_key_counts(*, user: User) -> dict:
    """The user's keys by state, the tier's maximum and the places left.

    Expired keys still take a place, and so do revoked ones whose files are
    not purged (`api_key_count_active` is the rule `remaining` follows).
    """
    from apikeys.services import api_key_count_active

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
    active = len(keys) - revoked
    holding_a_place = api_key_count_active(user)
    limit = user.tier.max_api_keys if user.tier_id else None

    return {
        "total": len(keys),
        "active": active - expired,
        "expired": expired,
        "revoked": revoked,
        "limit": limit,
        "remaining": None if limit is None else max(0, limit - holding_a_place),
    }


def user_summary(*, user: User) -> dict:
    """Usage of `users/{id}/` and of every key's namespace, totals, key counts.

    A few queries per key for its usage and limits; keys per user are
    bounded by the tier's `max_api_keys`.
    """
    from apikeys.models import ApiKey
    from storage.services import namespace_for_user, namespace_usage

    user_namespace = namespace_for_user(user)
    keys = list(
        ApiKey.objects.filter(owner=user)
        .select_related("namespace", "tier")
        .order_by("-created_at", "-id")
    )

    user_usage_ = namespace_usage(user_namespace)
    total_bytes, total_objects = user_usage_["bytesUsed"], user_usage_["objects"]
    key_usage = []
    for api_key in keys:
        namespace = getattr(api_key, "namespace", None)
        usage = namespace_usage(namespace) if namespace is not None else None
        if usage is not None:
            total_bytes += usage["bytesUsed"]
            total_objects += usage["objects"]
        key_usage.append((api_key, usage))

    return {
        "user_usage": user_usage_,
        "keys": key_usage,
        "totals": {"bytesUsed": total_bytes, "objects": total_objects},
        "key_counts": user_api_key_counts(user=user),
    }
