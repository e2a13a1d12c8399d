"""
Signal receivers that turn events into audit entries; they record, nothing else.

Connected in `AuditConfig.ready()` (by importing this module), each with a
dispatch_uid so that a second import never connects a receiver twice. Every
event produces exactly one entry: registration comes from
`accounts.signals.user_registered` (not from the user model's post_save),
deletion from `account_deleted`, and the only model signal used is the
admin's LogEntry, which is how Django records an operator's change (bulk
"delete selected" excepted: see audit.admin). Metadata keys are camelCase,
like every API response that shows them.
"""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts import signals as accounts_signals
from apikeys import signals as apikeys_signals
from audit.middleware import client_ip
from audit.models import AuditAction
from audit.services import audit_record
from billing import signals as billing_signals
from credits import signals as credits_signals
from storage import signals as storage_signals
from tiers import signals as tiers_signals

# Bulk deletes can name thousands of files; the entry keeps the first ones
# and the count.
MAX_NAMES_IN_ENTRY = 100


def _uid(name: str) -> str:
    return f"audit.receivers.{name}"


def _pick(obj, *names: str) -> dict:
    """The named attributes `obj` has (related rows as their id), camelCased.

    For models owned by other apps, so a renamed field drops out of the
    metadata instead of breaking the receiver.
    """
    picked = {}
    for name in names:
        if hasattr(obj, name):
            value = getattr(obj, name)
            picked[name] = value if not hasattr(value, "pk") else value.pk
    return _camel(picked)


def _namespace_owner(namespace):
    if namespace is None:
        return None
    if getattr(namespace, "user_id", None):
        return namespace.user
    api_key = getattr(namespace, "api_key", None)
    return api_key.owner if api_key is not None else None


def _camel(data: dict | None) -> dict:
    """Snake-case keys (as services send them) in the API's camelCase."""

    def convert(key: str) -> str:
        head, *rest = str(key).split("_")
        return head + "".join(part[:1].upper() + part[1:] for part in rest)

    return {convert(key): value for key, value in (data or {}).items()}


# --- Django auth -------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid=_uid("user_logged_in"))
def on_user_logged_in(sender, request=None, user=None, **kwargs):
    audit_record(
        action=AuditAction.USER_LOGIN,
        actor=user,
        user=user,
        ip_address=client_ip(request) if request is not None else None,
        metadata={"via": "admin" if _is_admin(request) else "api"},
    )


def _is_admin(request) -> bool:
    path = getattr(request, "path", "") or ""
    return path.startswith("/admin/")


@receiver(user_login_failed, dispatch_uid=_uid("user_login_failed"))
def on_user_login_failed(sender, credentials=None, request=None, **kwargs):
    credentials = credentials or {}
    attempted = str(
        credentials.get("email") or credentials.get("username") or ""
    ).strip()[:254]
    known = (
        get_user_model().objects.filter(email__iexact=attempted).first()
        if attempted
        else None
    )
    audit_record(
        action=AuditAction.USER_LOGIN_FAILED,
        user=known,
        user_label_text=attempted,
        ip_address=client_ip(request) if request is not None else None,
        metadata={"email": attempted, "knownUser": known is not None},
    )


# --- Django admin ------------------------------------------------------------

_ADMIN_FLAGS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}


def _affected_user_id(model, object_id) -> int | None:
    if model is not get_user_model():
        return None
    try:
        return int(object_id)
    except (TypeError, ValueError):
        return None


def record_admin_operation(
    *, operator, model, object_id, object_repr: str, operation: str, message: str
) -> None:
    """One ADMIN_ACTION entry for one object an operator changed in the admin."""
    affected = _affected_user_id(model, object_id)
    opts = model._meta if model is not None else None
    audit_record(
        action=AuditAction.ADMIN_ACTION,
        actor=operator,
        user_id=affected,
        user_label_text=object_repr if affected else "",
        metadata={
            "operation": operation,
            "model": opts.label_lower if opts else "",
            "objectId": str(object_id) if object_id is not None else None,
            "objectRepr": object_repr,
            "changeMessage": message,
        },
    )


@receiver(post_save, sender=LogEntry, dispatch_uid=_uid("admin_log_entry"))
def on_admin_log_entry(sender, instance: LogEntry, created: bool, **kwargs):
    # Django saves one LogEntry per object, except for a bulk "delete
    # selected", which it bulk-creates without signals; audit.admin wraps
    # that action to record those deletions.
    if not created:
        return

    content_type = instance.content_type
    record_admin_operation(
        operator=instance.user,
        model=content_type.model_class() if content_type else None,
        object_id=instance.object_id,
        object_repr=instance.object_repr,
        operation=_ADMIN_FLAGS.get(instance.action_flag, "other"),
        message=instance.get_change_message(),
    )


# --- accounts ----------------------------------------------------------------


def _user_event(action):
    def handler(sender, user=None, actor=None, **kwargs):
        audit_record(action=action, actor=actor, user=user)

    return handler


for _signal, _action in (
    (accounts_signals.user_registered, AuditAction.USER_REGISTERED),
    (accounts_signals.password_changed, AuditAction.PASSWORD_CHANGED),
    (accounts_signals.user_logged_out, AuditAction.USER_LOGOUT),
    (accounts_signals.email_verification_sent, AuditAction.EMAIL_VERIFICATION_SENT),
    (accounts_signals.email_verified, AuditAction.EMAIL_VERIFIED),
):
    _signal.connect(_user_event(_action), weak=False, dispatch_uid=_uid(_action))


@receiver(accounts_signals.profile_updated, dispatch_uid=_uid("profile_updated"))
def on_profile_updated(sender, user=None, actor=None, changes=None, **kwargs):
    audit_record(
        action=AuditAction.PROFILE_UPDATED,
        actor=actor,
        user=user,
        metadata={"changes": _camel(changes)},
    )


@receiver(accounts_signals.account_deleted, dispatch_uid=_uid("account_deleted"))
def on_account_deleted(
    sender, user_id=None, email="", deleted_keys=None, actor=None, **kwargs
):
    # The user row may be gone by now: the actor is recorded by label when it
    # is the deleted user itself.
    audit_record(
        action=AuditAction.ACCOUNT_DELETED,
        actor=actor,
        user_id=user_id,
        user_label_text=email,
        metadata={"email": email, "deletedKeys": list(deleted_keys or [])},
    )


# --- apikeys -----------------------------------------------------------------


@receiver(apikeys_signals.api_key_created, dispatch_uid=_uid("api_key_created"))
def on_api_key_created(sender, api_key, actor=None, via_request=None, **kwargs):
    audit_record(
        action=AuditAction.API_KEY_CREATED,
        actor=actor,
        user=api_key.owner,
        api_key=api_key,
        metadata={
            "name": api_key.name,
            "storageBytesLimit": api_key.storage_bytes_limit,
            "objectLimit": api_key.object_limit,
            "viaRequest": via_request.pk if via_request is not None else None,
        },
    )


@receiver(apikeys_signals.api_key_first_used, dispatch_uid=_uid("api_key_first_used"))
def on_api_key_first_used(sender, api_key, actor=None, **kwargs):
    audit_record(
        action=AuditAction.API_KEY_FIRST_USED,
        actor=actor,
        user=api_key.owner,
        api_key=api_key,
    )


@receiver(apikeys_signals.api_key_revoked, dispatch_uid=_uid("api_key_revoked"))
def on_api_key_revoked(sender, api_key, actor=None, reason="", **kwargs):
    audit_record(
        action=AuditAction.API_KEY_REVOKED,
        actor=actor,
        user=api_key.owner,
        api_key=api_key,
        metadata={"reason": reason},
    )


@receiver(
    apikeys_signals.api_key_limits_changed, dispatch_uid=_uid("api_key_limits_changed")
)
def on_api_key_limits_changed(
    sender, api_key, actor=None, before=None, after=None, **kwargs
):
    audit_record(
        action=AuditAction.API_KEY_LIMITS_CHANGED,
        actor=actor,
        user=api_key.owner,
        api_key=api_key,
        metadata={"before": _camel(before), "after": _camel(after)},
    )


@receiver(
    apikeys_signals.api_key_secret_revealed,
    dispatch_uid=_uid("api_key_secret_revealed"),
)
def on_api_key_secret_revealed(sender, api_key_request, actor=None, **kwargs):
    audit_record(
        action=AuditAction.API_KEY_SECRET_REVEALED,
        actor=actor,
        user=api_key_request.user,
        api_key=api_key_request.api_key,
        metadata={"requestId": api_key_request.pk},
    )


def _api_key_request_metadata(api_key_request) -> dict:
    return {
        "requestId": api_key_request.pk,
        "kind": api_key_request.kind,
        "status": api_key_request.status,
        "requestedStorageBytes": api_key_request.requested_storage_bytes,
        "requestedObjects": api_key_request.requested_objects,
    }


@receiver(
    apikeys_signals.api_key_request_created,
    dispatch_uid=_uid("api_key_request_created"),
)
def on_api_key_request_created(sender, api_key_request, actor=None, **kwargs):
    audit_record(
        action=AuditAction.API_KEY_REQUEST_CREATED,
        actor=actor,
        user=api_key_request.user,
        api_key=api_key_request.api_key,
        metadata={
            **_api_key_request_metadata(api_key_request),
            "reason": api_key_request.reason,
        },
    )


@receiver(
    apikeys_signals.api_key_request_decided,
    dispatch_uid=_uid("api_key_request_decided"),
)
def on_api_key_request_decided(
    sender, api_key_request, approved: bool, actor=None, **kwargs
):
    audit_record(
        action=(
            AuditAction.API_KEY_REQUEST_APPROVED
            if approved
            else AuditAction.API_KEY_REQUEST_REJECTED
        ),
        actor=actor,
        user=api_key_request.user,
        api_key=api_key_request.api_key,
        metadata={
            **_api_key_request_metadata(api_key_request),
            "reviewerComment": api_key_request.reviewer_comment,
        },
    )


# --- tiers -------------------------------------------------------------------


def _tier_request_metadata(tier_request) -> dict:
    return {
        "requestId": tier_request.pk,
        "currentTier": getattr(tier_request.current_tier, "name", None),
        "requestedTier": tier_request.requested_tier.name,
        "status": tier_request.status,
    }


@receiver(tiers_signals.tier_request_created, dispatch_uid=_uid("tier_request_created"))
def on_tier_request_created(sender, tier_request, actor=None, **kwargs):
    audit_record(
        action=AuditAction.TIER_REQUEST_CREATED,
        actor=actor,
        user=tier_request.user,
        metadata={
            **_tier_request_metadata(tier_request),
            "reason": tier_request.reason,
        },
    )


@receiver(tiers_signals.tier_request_decided, dispatch_uid=_uid("tier_request_decided"))
def on_tier_request_decided(sender, tier_request, approved: bool, actor=None, **kw):
    audit_record(
        action=(
            AuditAction.TIER_REQUEST_APPROVED
            if approved
            else AuditAction.TIER_REQUEST_REJECTED
        ),
        actor=actor,
        user=tier_request.user,
        metadata={
            **_tier_request_metadata(tier_request),
            "reviewerComment": tier_request.reviewer_comment,
        },
    )


@receiver(tiers_signals.tier_changed, dispatch_uid=_uid("tier_changed"))
def on_tier_changed(
    sender, user, old_tier=None, new_tier=None, actor=None, reason="", **kwargs
):
    audit_record(
        action=AuditAction.TIER_CHANGED,
        actor=actor,
        user=user,
        metadata={
            "oldTier": getattr(old_tier, "name", None),
            "newTier": getattr(new_tier, "name", None),
            "reason": reason,
        },
    )


# --- storage -----------------------------------------------------------------


@receiver(storage_signals.file_uploaded, dispatch_uid=_uid("file_uploaded"))
def on_file_uploaded(
    sender,
    namespace,
    api_key=None,
    name="",
    size=0,
    replaced_size=None,
    actor=None,
    **kwargs,
):
    audit_record(
        action=AuditAction.FILE_UPLOADED,
        actor=actor,
        user=_namespace_owner(namespace),
        api_key=api_key,
        metadata={
            "namespace": namespace.prefix,
            "name": name,
            "size": size,
            "replacedSize": replaced_size,
        },
    )


@receiver(storage_signals.files_deleted, dispatch_uid=_uid("files_deleted"))
def on_files_deleted(
    sender, namespace, api_key=None, names=None, bytes_freed=0, actor=None, **kwargs
):
    names = list(names or [])
    audit_record(
        action=AuditAction.FILE_DELETED,
        actor=actor,
        user=_namespace_owner(namespace),
        api_key=api_key,
        metadata={
            "namespace": namespace.prefix,
            "names": names[:MAX_NAMES_IN_ENTRY],
            "count": len(names),
            "bytesFreed": bytes_freed,
        },
    )


@receiver(storage_signals.quota_exceeded, dispatch_uid=_uid("quota_exceeded"))
def on_quota_exceeded(
    sender,
    namespace,
    api_key=None,
    limit_kind="",
    limit=None,
    usage=None,
    requested=None,
    actor=None,
    **kwargs,
):
    audit_record(
        action=AuditAction.QUOTA_EXCEEDED,
        actor=actor,
        user=_namespace_owner(namespace),
        api_key=api_key,
        metadata={
            "namespace": namespace.prefix,
            "limitKind": limit_kind,
            "limit": limit,
            "usage": usage,
            "requested": requested,
        },
    )


@receiver(storage_signals.usage_resynced, dispatch_uid=_uid("usage_resynced"))
def on_usage_resynced(
    sender, namespace, before=None, after=None, dry_run=False, actor=None, **kwargs
):
    audit_record(
        action=AuditAction.USAGE_RESYNCED,
        actor=actor,
        user=_namespace_owner(namespace),
        api_key=getattr(namespace, "api_key", None),
        metadata={
            "namespace": namespace.prefix,
            "before": _camel(before),
            "after": _camel(after),
            "dryRun": bool(dry_run),
        },
    )


# --- billing -----------------------------------------------------------------

_CANCELLED = {"CANCELLED", "CANCELED"}


@receiver(billing_signals.subscription_changed, dispatch_uid=_uid("subscription"))
def on_subscription_changed(
    sender, subscription, old_status=None, new_status=None, actor=None, **kwargs
):
    if old_status is None:
        action = AuditAction.SUBSCRIPTION_CREATED
    elif str(new_status).upper() in _CANCELLED:
        action = AuditAction.SUBSCRIPTION_CANCELLED
    else:
        action = AuditAction.SUBSCRIPTION_CHANGED
    audit_record(
        action=action,
        actor=actor,
        user=getattr(subscription, "user", None),
        metadata={
            "subscriptionId": subscription.pk,
            "oldStatus": old_status,
            "newStatus": new_status,
            **_pick(subscription, "plan"),
        },
    )


_MONEY_FIELDS = ("amount_minor", "amount", "currency", "provider", "status")


@receiver(billing_signals.invoice_created, dispatch_uid=_uid("invoice_created"))
def on_invoice_created(sender, invoice, actor=None, **kwargs):
    audit_record(
        action=AuditAction.INVOICE_CREATED,
        actor=actor,
        user=getattr(invoice, "user", None),
        metadata={"invoiceId": invoice.pk, **_pick(invoice, "number", *_MONEY_FIELDS)},
    )


def _payment_metadata(payment) -> dict:
    return {"paymentId": payment.pk, **_pick(payment, "invoice", *_MONEY_FIELDS)}


@receiver(billing_signals.payment_succeeded, dispatch_uid=_uid("payment_succeeded"))
def on_payment_succeeded(sender, payment, actor=None, **kwargs):
    audit_record(
        action=AuditAction.PAYMENT_SUCCEEDED,
        actor=actor,
        user=getattr(payment, "user", None),
        metadata=_payment_metadata(payment),
    )


@receiver(billing_signals.payment_failed, dispatch_uid=_uid("payment_failed"))
def on_payment_failed(sender, payment, reason="", actor=None, **kwargs):
    audit_record(
        action=AuditAction.PAYMENT_FAILED,
        actor=actor,
        user=getattr(payment, "user", None),
        metadata={**_payment_metadata(payment), "reason": reason},
    )


@receiver(billing_signals.payment_refunded, dispatch_uid=_uid("payment_refunded"))
def on_payment_refunded(sender, payment, refund=None, actor=None, **kwargs):
    refund_data = {"refundId": refund.pk} if refund is not None else {}
    if refund is not None:
        refund_data.update(_pick(refund, "amount_minor", "amount", "reason"))
    audit_record(
        action=AuditAction.PAYMENT_REFUNDED,
        actor=actor,
        user=getattr(payment, "user", None),
        metadata={**_payment_metadata(payment), "refund": refund_data},
    )


# --- credits -----------------------------------------------------------------


def _credit_event(action):
    def handler(sender, entry, actor=None, **kwargs):
        audit_record(
            action=action,
            actor=actor,
            user=getattr(entry, "user", None),
            metadata={
                "entryId": entry.pk,
                **_pick(entry, "amount", "balance_after", "kind", "reason"),
            },
        )

    return handler


credits_signals.credits_added.connect(
    _credit_event(AuditAction.CREDITS_ADDED),
    weak=False,
    dispatch_uid=_uid("credits_added"),
)
credits_signals.credits_deducted.connect(
    _credit_event(AuditAction.CREDITS_DEDUCTED),
    weak=False,
    dispatch_uid=_uid("credits_deducted"),
)
