"""
API-key requests: users ask for a new key with a quota, or for more quota on a
key they hold; operators approve or reject; the secret of a key provisioned on
approval reaches its owner once.

The API and the Django admin call these functions. Quotas are asked for in GB,
where 1 GB = 2**30 bytes (a GiB), the unit the seeded tiers use; the key keeps
bytes, so `/api/storage/usage` shows `GB * 2**30` as its byte limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from apikeys import signals
from apikeys.crypto import decrypt_secret, encrypt_secret
from apikeys.models import ApiKey, ApiKeyRequest
from apikeys.services import api_key_create, api_key_set_limits
from pockity.exceptions import Conflict, InvalidInput, NotFound
from tiers.models import RequestStatus
from tiers.services import parse_id, require_verified_email

logger = logging.getLogger(__name__)

BYTES_PER_GB = 2**30
MAX_REQUESTED_GB = 100_000
MAX_REQUESTED_OBJECTS = 10**12
# Pending new-key requests one user may have open; more is noise for the
# operators, not a use case.
MAX_PENDING_NEW_KEY_REQUESTS = 5

CAPABILITIES = ("list", "read", "write", "delete")
DEFAULT_KEY_NAME = "Requested key"


def gb_to_bytes(gb: Decimal | int) -> int:
    """Whole bytes in `gb` GB (2**30 bytes each), rounded down."""
    return int((Decimal(gb) * BYTES_PER_GB).to_integral_value(rounding=ROUND_FLOOR))


def bytes_to_gb(value: int | None) -> float | None:
    return None if value is None else round(value / BYTES_PER_GB, 6)


def bytes_to_gb_decimal(value: int | None) -> Decimal | None:
    """GB to three decimals: gives back exactly what a request asked for."""
    if value is None:
        return None
    return (Decimal(value) / BYTES_PER_GB).quantize(
        Decimal("0.001"), rounding=ROUND_HALF_UP
    )


@dataclass(frozen=True)
class Capabilities:
    """What a key may do; a read-only key may list and read only."""

    can_list: bool = True
    can_read: bool = True
    can_write: bool = True
    can_delete: bool = True

    @classmethod
    def from_names(cls, names) -> Capabilities:
        names = set(names)
        unknown = names - set(CAPABILITIES)
        if unknown:
            raise InvalidInput(
                f"Unknown capabilities: {', '.join(sorted(unknown))}.",
                code="validation_error",
                details={"allowed": list(CAPABILITIES)},
            )
        return cls(**{f"can_{name}": name in names for name in CAPABILITIES})

    @classmethod
    def read_only(cls) -> Capabilities:
        return cls(can_write=False, can_delete=False)

    @classmethod
    def of(cls, obj, prefix: str = "can_") -> Capabilities:
        return cls(
            **{
                f"can_{name}": bool(getattr(obj, f"{prefix}{name}"))
                for name in CAPABILITIES
            }
        )

    def names(self) -> list[str]:
        return [name for name in CAPABILITIES if getattr(self, f"can_{name}")]

    def within(self, other: Capabilities) -> bool:
        return set(self.names()) <= set(other.names())

    def as_fields(self, prefix: str = "can_") -> dict[str, bool]:
        return {
            f"{prefix}{name}": getattr(self, f"can_{name}") for name in CAPABILITIES
        }


@dataclass(frozen=True)
class Overrides:
    """What an operator grants instead of what was asked for (narrower only).

    A field left None keeps the requested value.
    """

    storage_bytes: int | None = None
    objects: int | None = None
    capabilities: Capabilities | None = None
    expires_at: object = None

    def is_empty(self) -> bool:
        return self == Overrides()


def _check_figures(storage_bytes, objects) -> None:
    # The serializers bound these already; services are also called from the
    # admin and the shell, so the bounds are checked here as well.
    if storage_bytes is not None and not (
        0 < storage_bytes <= gb_to_bytes(MAX_REQUESTED_GB)
    ):
        raise InvalidInput(
            f"Storage must be more than 0 and at most {MAX_REQUESTED_GB} GB.",
            code="validation_error",
        )
    if objects is not None and not (0 < objects <= MAX_REQUESTED_OBJECTS):
        raise InvalidInput(
            f"Objects must be between 1 and {MAX_REQUESTED_OBJECTS}.",
            code="validation_error",
        )


def api_key_get_own_active(*, user, key_ref) -> ApiKey:
    """The caller's key named by numeric id or access key id.

    Another user's key and a key that does not exist are both 404; the
    caller's own revoked or expired key is a 400.
    """
    keys = ApiKey.objects.filter(owner=user)
    ref = str(key_ref).strip()
    key_pk = parse_id(ref)
    if ref.startswith("pk_"):
        api_key = keys.filter(access_key_id=ref).first()
    elif key_pk is not None:
        api_key = keys.filter(pk=key_pk).first()
    else:
        api_key = None
    if api_key is None:
        raise NotFound("No such API key.", code="api_key_not_found")
    if not api_key.is_usable:
        raise InvalidInput(
            "This API key is revoked or expired; request a new key instead.",
            code="api_key_inactive",
        )
    return api_key


def _notify_staff_of(api_key_request: ApiKeyRequest) -> None:
    from notifications.emails import send_staff_email

    send_staff_email(
        template="apikeys/api_key_request_created",
        context={
            "api_key_request": api_key_request,
            "storage_gb": bytes_to_gb(api_key_request.requested_storage_bytes),
        },
    )


def api_key_request_create_new_key(
    *,
    user,
    storage_bytes: int,
    objects: int,
    key_name: str = "",
    capabilities: Capabilities | None = None,
    expires_at=None,
    reason: str = "",
) -> ApiKeyRequest:
    """Record `user`'s request for a new key with its own quota.

    Refuses unverified users (403) when REQUIRE_VERIFIED_EMAIL is on, and a
    sixth pending new-key request (409). Sends `api_key_request_created` and
    e-mails staff after commit.
    """
    require_verified_email(user)
    _check_figures(storage_bytes, objects)
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("expiresAt must be in the future.", code="validation_error")
    capabilities = capabilities or Capabilities()

    with transaction.atomic():
        # Lock the user's row so that concurrent requests count each other.
        type(user).objects.select_for_update().filter(pk=user.pk).first()
        pending = ApiKeyRequest.objects.filter(
            user=user, kind=ApiKeyRequest.Kind.NEW_KEY, status=RequestStatus.PENDING
        ).count()
        if pending >= MAX_PENDING_NEW_KEY_REQUESTS:
            raise Conflict(
                f"You already have {pending} pending key requests; wait for a "
                "decision first.",
                code="request_pending",
                details={"pending": pending},
            )

        api_key_request = ApiKeyRequest.objects.create(
            user=user,
            kind=ApiKeyRequest.Kind.NEW_KEY,
            key_name=(key_name or "").strip() or DEFAULT_KEY_NAME,
            requested_storage_bytes=storage_bytes,
            requested_objects=objects,
            requested_expires_at=expires_at,
            reason=reason,
            **capabilities.as_fields(),
        )
        _after_create(api_key_request)
    return api_key_request


def api_key_request_create_quota_increase(
    *,
    user,
    api_key: ApiKey,
    storage_bytes: int | None,
    objects: int | None,
    reason: str = "",
) -> ApiKeyRequest:
    """Record `user`'s request for higher limits on their own usable key.

    Each figure given must be above the key's current limit (a key without a
    limit cannot be raised). One pending increase per key (409, enforced by
    a partial unique index). Sends `api_key_request_created` and e-mails staff
    after commit.
    """
    require_verified_email(user)
    if api_key.owner_id != user.pk:
        raise NotFound("No such API key.", code="api_key_not_found")
    if storage_bytes is None and objects is None:
        raise InvalidInput(
            "Ask for more storage (requestedStorageGB), more objects "
            "(requestedObjects), or both.",
            code="validation_error",
        )
    _check_figures(storage_bytes, objects)
    for asked, current, label in (
        (storage_bytes, api_key.effective_storage_bytes_limit, "storage"),
        (objects, api_key.effective_object_limit, "objects"),
    ):
        if asked is None:
            continue
        if current is None:
            raise InvalidInput(
                f"This key's {label} is already unlimited.", code="not_an_increase"
            )
        if asked <= current:
            raise InvalidInput(
                f"The requested {label} limit must be above the current one.",
                code="not_an_increase",
                details={"current": current, "requested": asked},
            )

    try:
        with transaction.atomic():
            api_key_request = ApiKeyRequest.objects.create(
                user=user,
                kind=ApiKeyRequest.Kind.QUOTA_INCREASE,
                api_key=api_key,
                key_name=api_key.name,
                requested_storage_bytes=storage_bytes,
                requested_objects=objects,
                reason=reason,
                **Capabilities.of(api_key).as_fields(),
            )
            _after_create(api_key_request)
    except IntegrityError:
        raise Conflict(
            "This key already has a pending quota increase.",
            code="request_pending",
        ) from None
    return api_key_request


def _after_create(api_key_request: ApiKeyRequest) -> None:
    logger.info(
        "API key request created request=%s kind=%s user=%s",
        api_key_request.pk,
        api_key_request.kind,
        api_key_request.user_id,
    )

    def after_commit():
        signals.api_key_request_created.send(
            sender=ApiKeyRequest,
            api_key_request=api_key_request,
            actor=api_key_request.user,
        )
        _notify_staff_of(api_key_request)

    transaction.on_commit(after_commit)


def api_key_request_list_for_user(*, user):
    return ApiKeyRequest.objects.filter(user=user).select_related("api_key")


def api_key_request_get_for_user(*, user, request_id) -> ApiKeyRequest:
    api_key_request = (
        api_key_request_list_for_user(user=user).filter(pk=request_id).first()
    )
    if api_key_request is None:
        raise NotFound("No such API key request.", code="not_found")
    return api_key_request


def api_key_request_reveal_secret(
    *, user, request_id
) -> tuple[ApiKeyRequest, str | None]:
    """The request and, the first time its owner reads it, the key's secret.

    The secret is decrypted, cleared from the row and `secret_revealed_at` set
    in one transaction holding the row lock, so of two concurrent reads only
    one gets it. Sends `api_key_secret_revealed` after commit.
    """
    with transaction.atomic():
        api_key_request = (
            ApiKeyRequest.objects.select_for_update()
            .filter(user=user, pk=request_id)
            .first()
        )
        if api_key_request is None:
            raise NotFound("No such API key request.", code="not_found")
        if not api_key_request.pending_secret_encrypted:
            return _with_key(api_key_request), None

        secret = decrypt_secret(api_key_request.pending_secret_encrypted)
        api_key_request.pending_secret_encrypted = ""
        api_key_request.secret_revealed_at = timezone.now()
        api_key_request.save(
            update_fields=["pending_secret_encrypted", "secret_revealed_at"]
        )
        logger.info(
            "API key secret revealed request=%s user=%s", api_key_request.pk, user.pk
        )
        transaction.on_commit(
            lambda: signals.api_key_secret_revealed.send(
                sender=ApiKeyRequest, api_key_request=api_key_request, actor=user
            )
        )
    return _with_key(api_key_request), secret


def _with_key(api_key_request: ApiKeyRequest) -> ApiKeyRequest:
    # select_for_update cannot take the nullable FK with it on PostgreSQL
    # (an outer join); fetch the key separately.
    if api_key_request.api_key_id:
        api_key_request.api_key = ApiKey.objects.filter(
            pk=api_key_request.api_key_id
        ).first()
    return api_key_request


def _granted(api_key_request: ApiKeyRequest, overrides: Overrides) -> dict:
    """The figures to apply: the request's, narrowed by `overrides`.

    Widening is refused: an operator who wants to give more asks the user to
    request it, so that what a user holds is always what they asked for or
    less.
    """
    requested_caps = Capabilities.of(api_key_request)
    granted = {
        "storage_bytes": api_key_request.requested_storage_bytes,
        "objects": api_key_request.requested_objects,
        "capabilities": requested_caps,
        "expires_at": api_key_request.requested_expires_at,
    }
    is_increase = api_key_request.kind == ApiKeyRequest.Kind.QUOTA_INCREASE

    for field, value, label in (
        ("storage_bytes", overrides.storage_bytes, "storage"),
        ("objects", overrides.objects, "objects"),
    ):
        if value is None:
            continue
        asked = granted[field]
        if asked is None:
            raise InvalidInput(
                f"No {label} figure was requested, so none can be approved.",
                code="override_not_narrower",
            )
        if value <= 0 or value > asked:
            raise InvalidInput(
                f"The approved {label} must be positive and at most what was "
                "requested.",
                code="override_not_narrower",
                details={"requested": asked, "approved": value},
            )
        granted[field] = value

    if overrides.capabilities is not None:
        if is_increase:
            raise InvalidInput(
                "A quota increase does not change capabilities.",
                code="validation_error",
            )
        if not overrides.capabilities.names():
            raise InvalidInput(
                "Approve at least one capability, or reject the request.",
                code="validation_error",
            )
        if not overrides.capabilities.within(requested_caps):
            raise InvalidInput(
                "Approved capabilities must be a subset of those requested.",
                code="override_not_narrower",
                details={
                    "requested": requested_caps.names(),
                    "approved": overrides.capabilities.names(),
                },
            )
        granted["capabilities"] = overrides.capabilities

    if overrides.expires_at is not None:
        if is_increase:
            raise InvalidInput(
                "A quota increase does not change the key's expiry.",
                code="validation_error",
            )
        asked = api_key_request.requested_expires_at
        if asked is not None and overrides.expires_at > asked:
            raise InvalidInput(
                "The approved expiry must not be later than the one requested.",
                code="override_not_narrower",
            )
        granted["expires_at"] = overrides.expires_at

    if (
        not is_increase
        and granted["expires_at"] is not None
        and granted["expires_at"] <= timezone.now()
    ):
        raise InvalidInput(
            "The key's expiry has already passed; approve it with a later "
            "expiry or reject it.",
            code="expiry_passed",
        )
    return granted


def api_key_request_decide(
    *,
    api_key_request: ApiKeyRequest,
    approved: bool,
    reviewer,
    comment: str = "",
    overrides: Overrides | None = None,
) -> ApiKeyRequest:
    """Approve or reject a pending request; return it, decided.

    One transaction, holding the request's row lock: a request no longer
    pending is refused with 409 `already_decided` (two operators deciding at
    once: the second one gets it). On approval a NEW_KEY request provisions
    the key through `api_key_create` (S3 folder marker; the tier's key-count
    limit is not applied, the operator's approval being the authority) and
    keeps its secret encrypted until the owner reads it once; a
    QUOTA_INCREASE sets the key's limits through `api_key_set_limits`. A limit
    granted below the key's current usage is applied as is: uploads are then
    refused until usage falls under it. After commit: `api_key_request_decided`
    (actor = reviewer) and an e-mail to the user, which never holds a secret.
    """
    overrides = overrides or Overrides()

    with transaction.atomic():
        locked = (
            ApiKeyRequest.objects.select_for_update()
            .filter(pk=api_key_request.pk)
            .first()
        )
        if locked is None:
            raise NotFound("No such API key request.", code="not_found")
        if locked.status != RequestStatus.PENDING:
            raise Conflict(
                "This request has already been decided.",
                code="already_decided",
                details={"status": locked.status},
            )
        locked = ApiKeyRequest.objects.select_related("user").get(pk=locked.pk)
        _with_key(locked)

        if approved:
            _apply_approval(locked, _granted(locked, overrides), reviewer)
        elif not overrides.is_empty():
            raise InvalidInput(
                "Approved figures only apply to an approval.",
                code="validation_error",
            )

        locked.status = RequestStatus.APPROVED if approved else RequestStatus.REJECTED
        locked.reviewer = reviewer
        locked.reviewer_comment = comment or ""
        locked.reviewed_at = timezone.now()
        locked.save()

        logger.info(
            "API key request decided request=%s kind=%s approved=%s reviewer=%s",
            locked.pk,
            locked.kind,
            approved,
            reviewer.pk if reviewer else None,
        )
        transaction.on_commit(lambda: _after_decision(locked, approved, reviewer))

    return locked


def _apply_approval(locked: ApiKeyRequest, granted: dict, reviewer) -> None:
    capabilities = granted["capabilities"]
    locked.granted_storage_bytes = granted["storage_bytes"]
    locked.granted_objects = granted["objects"]

    if locked.kind == ApiKeyRequest.Kind.NEW_KEY:
        api_key, secret = api_key_create(
            owner=locked.user,
            name=locked.key_name or DEFAULT_KEY_NAME,
            storage_bytes_limit=granted["storage_bytes"],
            object_limit=granted["objects"],
            expires_at=granted["expires_at"],
            actor=reviewer,
            via_request=locked,
            enforce_tier_key_limit=False,
            **capabilities.as_fields(),
        )
        locked.api_key = api_key
        locked.pending_secret_encrypted = encrypt_secret(secret)
        locked.granted_expires_at = granted["expires_at"]
        for name, value in capabilities.as_fields("granted_can_").items():
            setattr(locked, name, value)
        return

    api_key = (
        ApiKey.objects.select_for_update().filter(pk=locked.api_key_id).first()
        if locked.api_key_id
        else None
    )
    if api_key is None or not api_key.is_usable:
        raise Conflict(
            "The key this request is for is gone, revoked or expired; reject "
            "the request instead.",
            code="api_key_inactive",
        )
    # A figure the user did not ask to change keeps the key's current value.
    storage = granted["storage_bytes"]
    objects = granted["objects"]
    api_key_set_limits(
        api_key=api_key,
        storage_bytes_limit=storage
        if storage is not None
        else api_key.effective_storage_bytes_limit,
        object_limit=objects if objects is not None else api_key.effective_object_limit,
        actor=reviewer,
    )
    locked.api_key = api_key


def _after_decision(api_key_request: ApiKeyRequest, approved: bool, reviewer) -> None:
    from notifications.emails import send_templated_email

    signals.api_key_request_decided.send(
        sender=ApiKeyRequest,
        api_key_request=api_key_request,
        approved=approved,
        actor=reviewer,
    )
    send_templated_email(
        to=[api_key_request.user.email],
        template="apikeys/api_key_request_decided",
        context={
            "api_key_request": api_key_request,
            "approved": approved,
            "granted_storage_gb": bytes_to_gb(api_key_request.granted_storage_bytes),
            "granted_capabilities": ", ".join(
                Capabilities.of(api_key_request, "granted_can_").names()
            )
            if api_key_request.granted_can_read is not None
            else "",
        },
    )
