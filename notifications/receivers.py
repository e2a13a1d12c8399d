"""Quota alerts follow every usage change (storage sends it after commit)."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from notifications.services import quota_alerts_check
from storage import signals as storage_signals

logger = logging.getLogger(__name__)


@receiver(
    storage_signals.usage_changed, dispatch_uid="notifications.receivers.usage_changed"
)
def on_usage_changed(sender, namespace, actor=None, **kwargs):
    # The upload or delete has already happened; an alert that cannot be
    # sent is logged, never turned into an error for that request.
    try:
        quota_alerts_check(namespace=namespace, actor=actor)
    except Exception:
        logger.exception("Quota alert check failed namespace=%s", namespace.pk)
