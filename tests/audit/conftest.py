"""Helpers for audit tests: run after-commit callbacks, read the entries."""

from __future__ import annotations

import pytest

from audit.models import AuditLog


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs the block's on_commit callbacks at its end, as
    a real commit would (many domain signals are sent from them)."""

    def block():
        return django_capture_on_commit_callbacks(execute=True)

    return block


def entries(action, **filters):
    return list(AuditLog.objects.filter(action=action, **filters).order_by("id"))


def only_entry(action, **filters) -> AuditLog:
    found = entries(action, **filters)
    assert len(found) == 1, f"{action}: {len(found)} entries, expected exactly one"
    return found[0]
