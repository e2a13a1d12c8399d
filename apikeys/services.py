"""
API-key services: create, authenticate, revoke, change limits.

The API, the Django admin and the management commands all go through these
functions; each names its side effects (S3 marker, signals for the audit log).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed, Throttled

from apikeys import signals
from apikeys.crypto import (
    ACCESS_KEY_PATTERN,
    encrypt_secret,
    generate_access_key_id,
    generate_secret_key,
    secret_digest,
    secret_matches,
)
from apikeys.models import ApiKey
from pockity.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from tiers.services import MAX_ID, parse_id

logger = logging.getLogger(__name__)

# Compared against when the access key id is unknown, so that an unknown id
# and a wrong secret take the same path and the same time.
_DUMMY_DIGEST = secret_digest("sk_" + "0" * 43)

INVALID_CREDENTIALS = "Invalid API key credentials."

_UNSET = object()


def _failure_throttle_key(client_ip: str, access_key_id: str) -> str:
    # A malformed id never names a key, so all of them share one bucket per
    # address (and the raw input never reaches the cache key).
    if not ACCESS_KEY_PATTERN.fullmatch(access_key_id):
        access_key_id = "malformed"
    return f"apikey-auth-failures:{client_ip}:{access_key_id}"


def _failure_limit() -> tuple[int, int]:
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["apikey_auth_failure"]
    count, period = rate.split("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    return int(count), seconds


def _record_failure(client_ip: str, access_key_id: str) -> None:
    limit, window = _failure_limit()
    key = _failure_throttle_key(client_ip, access_key_id)
    # The window's end is kept beside the counter so that a refusal can say
    # how long is really left (Retry-After).
    if cache.add(key, 1, timeout=window):
        cache.set(f"{key}:until", time.time() + window, timeout=window)
        return
    try:
        failures = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window)
        cache.set(f"{key}:until", time.time() + window, timeout=window)
        return
    if failures == limit:
        logger.warning(
            "API key authentication throttled for ip=%s key=%s",
            client_ip,
            access_key_id if ACCESS_KEY_PATTERN.fullmatch(access_key_id) else "-",
        )


def _check_failure_throttle(client_ip: str, access_key_id: str) -> None:
    limit, window = _failure_limit()
    key = _failure_throttle_key(client_ip, access_key_id)
    if (cache.get(key) or 0) < limit:
        return
    until = cache.get(f"{key}:until")
    left = window if until is None else math.ceil(until - time.time())
    raise Throttled(wait=min(max(left, 1), window))


def api_key_authenticate(*, access_key_id: str, secret: str, client_ip: str) -> ApiKey:
    """Return the usable key for this pair, or raise.

    Wrong, missing or unknown credentials, and a key whose owner is inactive,
    all raise the same 401 after the same work: one digest computation and a
    constant-time comparison, also when the key id is unknown or malformed
    (then against a dummy digest, without a query). Only a caller holding
    the right secret learns more: a revoked key is a 401 saying so, an
    expired key a 403 `api_key_expired`. Each failure counts against the
    pair (client address, access key id); past the `apikey_auth_failure`
    rate every attempt with that id from that address is refused with 429
    until the window passes (Retry-After says how long is left), while other
    keys used from the same address are unaffected. Records `last_used_at`
    at most once per API_KEY_LAST_USED_RESOLUTION seconds.
    """
    _check_failure_throttle(client_ip, access_key_id)

    api_key = None
    if ACCESS_KEY_PATTERN.fullmatch(access_key_id):
        api_key = (
            ApiKey.objects.select_related("owner", "owner__tier")
            .filter(access_key_id=access_key_id)
            .first()
        )
    digest = api_key.secret_digest if api_key else _DUMMY_DIGEST
    secret_ok = secret_matches(secret, digest)
    if api_key is None or not secret_ok or not secret or not api_key.owner.is_active:
        _record_failure(client_ip, access_key_id)
        raise AuthenticationFailed(INVALID_CREDENTIALS, code="invalid_api_key")

    if not api_key.is_active or api_key.revoked_at is not None:
        raise AuthenticationFailed(
            "This API key has been revoked.", code="api_key_revoked"
        )
    if api_key.is_expired:
        raise Forbidden("This API key has expired.", code="api_key_expired")

    _touch_last_used(api_key)
    return api_key


def _touch_last_used(api_key: ApiKey) -> None:
    """Record use with at most one UPDATE per key per resolution window."""
    now = timezone.now()
    resolution = timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION)
    if api_key.last_used_at is not None and now - api_key.last_used_at < resolution:
        return

    if api_key.last_used_at is None:
        first = ApiKey.objects.filter(pk=api_key.pk, last_used_at__isnull=True).update(
            last_used_at=now
        )
        api_key.last_used_at = now
        if first:
            signals.api_key_first_used.send(
                sender=ApiKey, api_key=api_key, actor=api_key.owner
            )
        return

    ApiKey.objects.filter(pk=api_key.pk, last_used_at__lt=now - resolution).update(
        last_used_at=now
    )
    api_key.last_used_at = now


def _check_limits(**limits) -> None:
    """Limits are None (unlimited) or integers in 0..2**63-1; else a 400."""
    for name, value in limits.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(
                f"{name} must be an integer or null.", details={"field": name}
            )
        if not 0 <= value <= MAX_ID:
            raise InvalidInput(
                f"{name} must be between 0 and {MAX_ID}.",
                details={"field": name, "value": str(value)},
            )


def api_key_count_active(owner) -> int:
    """Keys that count against the tier's `max_api_keys`.

    Expired keys still count (their files and namespace remain). A revoked
    key still counts while its namespace holds objects, so revoking and
    recreating cannot collect more stored namespaces than the tier allows;
    purging its files (`api_key_revoke(purge=True)`) frees its place.
    """
    holds_files = Q(is_active=False, namespace__object_count__gt=0)
    return ApiKey.objects.filter(Q(is_active=True) | holds_files, owner=owner).count()


def api_key_create(
    *,
    owner,
    name: str,
    storage_bytes_limit=_UNSET,
    object_limit=_UNSET,
    can_list: bool = True,
    can_read: bool = True,
    can_write: bool = True,
    can_delete: bool = True,
    expires_at=None,
    actor=None,
    via_request=None,
    enforce_tier_key_limit: bool = True,
) -> tuple[ApiKey, str]:
    """Create a key pair for `owner` and its namespace; return (key, secret).

    Limits default to the owner's tier (None = unlimited); such a key
    follows its owner's current tier from then on, while a key given explicit
    figures keeps them (`limits_from_tier`). Writes the key,
    its namespace row and the `apikeys/{id}/` folder marker in S3 (a 503
    leaves nothing behind), then sends `api_key_created`. The secret is
    returned once and is kept only as a digest and encrypted.
    """
    from storage.services import namespace_provision_for_api_key

    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(
            "The expiry must be in the future.", details={"field": "expiresAt"}
        )

    tier = owner.tier
    # Only a key taking both of its tier's defaults follows the tier later;
    # any figure given explicitly (a request's grant) pins both.
    limits_from_tier = storage_bytes_limit is _UNSET and object_limit is _UNSET
    if storage_bytes_limit is _UNSET:
        storage_bytes_limit = tier.storage_bytes_limit if tier else None
    if object_limit is _UNSET:
        object_limit = tier.object_limit if tier else None
    _check_limits(storageBytesLimit=storage_bytes_limit, objectLimit=object_limit)

    secret = generate_secret_key()
    with transaction.atomic():
        if enforce_tier_key_limit and tier and tier.max_api_keys is not None:
            # Lock the owner's row so that two concurrent creations cannot
            # both pass the count.
            type(owner).objects.select_for_update().filter(pk=owner.pk).first()
            if api_key_count_active(owner) >= tier.max_api_keys:
                raise Conflict(
                    f"Your tier allows at most {tier.max_api_keys} API keys; "
                    "a revoked key counts until its files are deleted.",
                    code="api_key_limit_reached",
                    details={"limit": tier.max_api_keys},
                )

        api_key = ApiKey.objects.create(
            owner=owner,
            name=name,
            access_key_id=generate_access_key_id(),
            secret_digest=secret_digest(secret),
            secret_encrypted=encrypt_secret(secret),
            tier=tier,
            storage_bytes_limit=storage_bytes_limit,
            object_limit=object_limit,
            limits_from_tier=limits_from_tier,
            can_list=can_list,
            can_read=can_read,
            can_write=can_write,
            can_delete=can_delete,
            expires_at=expires_at,
        )
        namespace_provision_for_api_key(api_key)

    logger.info("API key created key=%s owner=%s", api_key.access_key_id, owner.pk)
    signals.api_key_created.send(
        sender=ApiKey, api_key=api_key, actor=actor or owner, via_request=via_request
    )
    return api_key, secret


def api_key_revoke(
    *, api_key: ApiKey, actor=None, reason: str = "", purge: bool = False
) -> ApiKey:
    """Revoke a key at once. Its files stay in S3 and keep counting.

    Idempotent: revoking a revoked key changes nothing and sends no signal.
    With `purge`, the key's files and namespace are then deleted too
    (`namespace_purge`: S3 listing and deletes, `files_deleted` signal),
    which frees its place under the tier's key limit; purging an already
    revoked key does just that.
    """
    from storage.models import Namespace
    from storage.services import namespace_purge

    now = timezone.now()
    changed = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        is_active=False, revoked_at=now
    )
    api_key.refresh_from_db(fields=["is_active", "revoked_at"])
    if changed:
        logger.info("API key revoked key=%s reason=%s", api_key.access_key_id, reason)
        signals.api_key_revoked.send(
            sender=ApiKey, api_key=api_key, actor=actor, reason=reason
        )

    namespace = Namespace.objects.filter(api_key=api_key).first()
    if purge and namespace is not None:
        namespace_purge(namespace=namespace, actor=actor)
        logger.info("API key files purged key=%s", api_key.access_key_id)
    return api_key


def api_key_set_limits(
    *, api_key: ApiKey, storage_bytes_limit, object_limit, actor=None
) -> ApiKey:
    """Change a key's quota.

    A limit below current usage is accepted: uploads are then refused until
    usage falls under it (nothing is deleted). The key stops following its
    owner's tier and keeps these figures from now on.
    """
    _check_limits(storageBytesLimit=storage_bytes_limit, objectLimit=object_limit)
    before = {
        "storage_bytes_limit": api_key.effective_storage_bytes_limit,
        "object_limit": api_key.effective_object_limit,
    }
    api_key.storage_bytes_limit = storage_bytes_limit
    api_key.object_limit = object_limit
    api_key.limits_from_tier = False
    api_key.save(
        update_fields=["storage_bytes_limit", "object_limit", "limits_from_tier"]
    )
    after = {
        "storage_bytes_limit": storage_bytes_limit,
        "object_limit": object_limit,
    }
    if before != after:
        logger.info(
            "API key limits changed key=%s before=%s after=%s",
            api_key.access_key_id,
            before,
            after,
        )
        signals.api_key_limits_changed.send(
            sender=ApiKey, api_key=api_key, actor=actor, before=before, after=after
        )
    return api_key


# --- Reads for the owner's API -------------------------------------------------

KEY_STATUSES = ("active", "revoked", "expired")


def api_key_list(*, owner, status: str | None = None) -> QuerySet[ApiKey]:
    """The owner's keys, newest first, with their namespace counters joined.

    `status` (active, revoked, expired) narrows the list; anything else is
    a 400.
    """
    keys = (
        ApiKey.objects.filter(owner=owner)
        .select_related("namespace", "tier", "owner__tier")
        .order_by("-created_at", "-id")
    )
    if not status:
        return keys

    now = timezone.now()
    revoked = Q(is_active=False) | Q(revoked_at__isnull=False)
    expired = Q(expires_at__isnull=False, expires_at__lte=now)
    if status == "active":
        return keys.exclude(revoked).exclude(expired)
    if status == "revoked":
        return keys.filter(revoked)
    if status == "expired":
        return keys.exclude(revoked).filter(expired)
    raise InvalidInput(
        f"'status' must be one of {', '.join(KEY_STATUSES)}.",
        details={"parameter": "status", "value": status},
    )


def api_key_get_owned(*, owner, key_id: str) -> ApiKey:
    """One of the owner's keys by numeric id or by accessKeyId.

    Someone else's key, an unknown id and an id out of range are the same
    404, so ids of other tenants cannot be probed.
    """
    keys = ApiKey.objects.filter(owner=owner).select_related("tier", "owner__tier")
    api_key = None
    key_pk = parse_id(key_id)
    if key_pk is not None:
        api_key = keys.filter(pk=key_pk).first()
    elif ACCESS_KEY_PATTERN.fullmatch(key_id):
        api_key = keys.filter(access_key_id=key_id).first()
    if api_key is None:
        raise NotFound("No API key with this id.", code="api_key_not_found")
    return api_key


def api_key_usage(api_key: ApiKey) -> dict | None:
    """Usage of the key's namespace against its limits (None if it has none)."""
    from storage.models import Namespace
    from storage.services import namespace_usage

    namespace = Namespace.objects.filter(api_key=api_key).first()
    return namespace_usage(namespace) if namespace is not None else None
