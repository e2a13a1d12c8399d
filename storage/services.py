"""
Storage services: namespaces, their limits and usage, and file operations.

Views, the admin and management commands all call these functions. Each
names its side effects (S3 calls, ledger changes, signals). Every change to
a namespace's objects holds `namespace_change_lock` from its reservation
until its S3 call is settled, and sends `usage_changed` once committed.
"""

from __future__ import annotations

import logging

from django.db import transaction

from apikeys.models import ApiKey
from storage import s3, signals
from storage.models import Namespace
from storage.quota import NamespaceLimits

logger = logging.getLogger(__name__)


# --- Namespaces ----------------------------------------------------------------


def user_prefix(user) -> str:
    return f"users/{user.pk}/"


def namespace_for_user(user) -> Namespace:
    """The `users/{id}/` namespace of a JWT user, created on first use.

    No S3 call: a user's folder appears with its first upload.
    """
    namespace, created = Namespace.objects.get_or_create(
        prefix=user_prefix(user),
        defaults={"kind": Namespace.Kind.USER, "user": user, "label": user.email},
    )
    if created:
        logger.info("Namespace created prefix=%s", namespace.prefix)
    return namespace


def namespace_provision_for_api_key(api_key: ApiKey) -> Namespace:
    """Create the key's `apikeys/{accessKeyId}/` namespace and its folder marker.

    Writes the Namespace row, then PUTs the zero-byte marker (S3 call). Run
    inside the caller's transaction: a 503 from S3 rolls the row back. The
    marker is never listed, counted as a file or counted as usage.
    """
    namespace, created = Namespace.objects.get_or_create(
        prefix=api_key.prefix,
        defaults={
            "kind": Namespace.Kind.API_KEY,
            "api_key": api_key,
            "user": None,
            "label": f"{api_key.name} ({api_key.access_key_id}) of "
            f"{api_key.owner.email}",
        },
    )
    s3.put_marker(namespace.prefix)
    if created:
        logger.info("Namespace created prefix=%s", namespace.prefix)
    return namespace


def namespace_for_api_key(api_key: ApiKey) -> Namespace:
    namespace = Namespace.objects.filter(api_key=api_key).first()
    if namespace is None:
        # Keys made before namespaces existed (or imported) get theirs now.
        with transaction.atomic():
            namespace = namespace_provision_for_api_key(api_key)
    return namespace


def namespace_for_request(request) -> tuple[Namespace, ApiKey | None]:
    """The namespace a request works in, and the API key it used (if any)."""
    api_key = request.auth if isinstance(request.auth, ApiKey) else None
    if api_key is not None:
        return namespace_for_api_key(api_key), api_key
    return namespace_for_user(request.user), None


def namespace_limits(namespace: Namespace) -> NamespaceLimits:
    """The limits in force now, read live from the database.

    API-key namespace: the key's own byte and object limits (null means
    unlimited), and the max file size of the key's tier, else its owner's.
    User namespace: the user's current tier, so a tier change applies at
    once. A namespace whose key or user is gone has no limits left to give;
    it is read-only in practice since nobody can authenticate into it.
    """
    if namespace.api_key_id is not None:
        api_key = (
            ApiKey.objects.select_related("tier", "owner__tier")
            .filter(pk=namespace.api_key_id)
            .first()
        )
        if api_key is not None:
            tier = api_key.tier or api_key.owner.tier
            return NamespaceLimits(
                storage_bytes=api_key.storage_bytes_limit,
                objects=api_key.object_limit,
                max_file_size=tier.max_file_size_bytes if tier else None,
            )
    if namespace.user_id is not None:
        from accounts.models import User

        user = User.objects.select_related("tier").filter(pk=namespace.user_id).first()
        tier = user.tier if user else None
        if tier is not None:
            return NamespaceLimits(
                storage_bytes=tier.storage_bytes_limit,
                objects=tier.object_limit,
                max_file_size=tier.max_file_size_bytes,
            )
    return NamespaceLimits(storage_bytes=None, objects=None, max_file_size=None)


def _percent(used: int, limit: int | None) -> float | None:
    if limit is None:
        return None
    if limit == 0:
        return 100.0 if used else 0.0
    return round(used * 100 / limit, 2)


def namespace_usage(namespace: Namespace) -> dict:
    """Usage counters against the limits in force (one or two queries)."""
    namespace.refresh_from_db(fields=["bytes_used", "object_count", "updated_at"])
    limits = namespace_limits(namespace)
    return {
        "namespace": namespace.prefix,
        "bytesUsed": namespace.bytes_used,
        "objects": namespace.object_count,
        "limits": {
            "storageBytes": limits.storage_bytes,
            "objects": limits.objects,
            "maxFileSize": limits.max_file_size,
        },
        "percentages": {
            "storage": _percent(namespace.bytes_used, limits.storage_bytes),
            "objects": _percent(namespace.object_count, limits.objects),
        },
        "updatedAt": namespace.updated_at,
    }


def namespace_purge(*, namespace: Namespace, actor=None) -> int:
    """Delete every object under the prefix, then the Namespace row.

    S3 calls: paged listing and DeleteObjects until the prefix is empty.
    Holds the namespace's exclusive lock so no upload lands half-way. Sends
    `files_deleted` (names not itemised) and returns the objects deleted.
    Used by account deletion; a revoked key's namespace lives until then.
    """
    from storage.locks import namespace_resync_lock

    with namespace_resync_lock(namespace.pk):
        deleted = s3.delete_prefix(namespace.prefix)
        namespace.refresh_from_db(fields=["bytes_used", "object_count"])
        bytes_freed = namespace.bytes_used
        namespace_id = namespace.pk
        namespace.delete()
        namespace.pk = namespace_id

    logger.info("Namespace purged prefix=%s objects=%s", namespace.prefix, deleted)
    signals.files_deleted.send(
        sender=Namespace,
        namespace=namespace,
        api_key=None,
        names=[],
        bytes_freed=bytes_freed,
        actor=actor,
    )
    return deleted
