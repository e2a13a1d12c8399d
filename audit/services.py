"""
Writing audit entries.

`audit_record` is the one way an entry is written. It fills the request
context (IP, user agent, request id) from `pockity.request_context`, turns
users and keys into id + label pairs, and never raises: an audit failure is
logged and the audited action goes on.

Entries are written in the caller's transaction, inside a savepoint, rather
than from `transaction.on_commit`. An entry then commits exactly when the
change it describes commits (a crash between the two cannot lose it) and
disappears with a change that rolls back; the savepoint keeps a failed insert
from poisoning the caller's transaction. Senders that signal after their own
commit simply get an autocommitted entry. The one consequence to know: an
event sent inside a transaction that is then rolled back (e.g. a refusal
signalled before the refusing exception leaves an atomic block) leaves no
entry, so refusals must be signalled outside the rolled-back block.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from audit.models import AuditAction, AuditLog
from pockity.request_context import get_request_context

logger = logging.getLogger(__name__)

_LABEL_MAX = 254


def _clean(value: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; a header or name carrying one must not
    # cost us the entry.
    return (value or "").replace("\x00", "")[:limit]


def _json_safe(value: Any) -> Any:
    """Metadata as JSON PostgreSQL accepts: plain types, no NUL characters."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(item) for item in value]
    if isinstance(value, str):
        return value.replace("\x00", "")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value).replace("\x00", "")


def user_label(user) -> str:
    if user is None:
        return ""
    return getattr(user, "email", "") or str(user)


def api_key_label(api_key) -> str:
    if api_key is None:
        return ""
    return getattr(api_key, "access_key_id", "") or str(api_key)


def audit_record(
    *,
    action: AuditAction | str,
    actor=None,
    user=None,
    user_id: int | None = None,
    user_label_text: str = "",
    api_key=None,
    metadata: dict | None = None,
    ip_address: str | None = None,
) -> AuditLog | None:
    """Write one audit entry; return it, or None when the write failed.

    Side effects: one INSERT in a savepoint of the current transaction. Never
    raises; a failure is logged with its traceback.
    """
    context = get_request_context()
    actor_is_user = actor is not None and getattr(actor, "pk", None) is not None
    if user is not None:
        user_id = user.pk
        user_label_text = user_label(user)

    entry = AuditLog(
        action=str(action),
        actor_id=actor.pk if actor_is_user else None,
        actor_label=_clean(user_label(actor), _LABEL_MAX),
        user_id=user_id,
        user_label=_clean(user_label_text, _LABEL_MAX),
        api_key_id=api_key.pk if api_key is not None else None,
        api_key_label=_clean(api_key_label(api_key), _LABEL_MAX),
        ip_address=ip_address or context.ip_address,
        user_agent=_clean(context.user_agent, 512),
        request_id=_clean(context.request_id if context.request_id != "-" else "", 64),
        metadata=_json_safe(metadata or {}),
    )

    # The boundary of the audited action: whatever goes wrong here (a failed
    # insert, a bad value) is logged and swallowed, never raised into it.
    try:
        with transaction.atomic():
            entry.save()
    except Exception:
        logger.exception(
            "Audit entry not written action=%s user=%s api_key=%s",
            action,
            user_id,
            entry.api_key_id,
        )
        return None
    return entry
