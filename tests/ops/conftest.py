"""Fixtures for the ops tests: namespaces with chosen prefixes, signal capture."""

from __future__ import annotations

import pytest
from django.conf import settings

from storage import signals
from storage.models import Namespace


@pytest.fixture
def make_namespace(db):
    """`make_namespace(prefix, **fields)`: a namespace row with no owner."""

    def create(prefix: str, **fields) -> Namespace:
        fields.setdefault("kind", Namespace.Kind.USER)
        return Namespace.objects.create(prefix=prefix, **fields)

    return create


@pytest.fixture
def put(s3):
    """`put(key, body)`: write an object straight into the bucket."""

    def write(key: str, body: bytes = b"x") -> None:
        s3.put_object(Bucket=settings.S3_BUCKET, Key=key, Body=body)

    return write


@pytest.fixture
def captured_signals():
    """Every usage_resynced / usage_changed sent during the test, in order."""
    sent: list[tuple[str, dict]] = []

    def on_resynced(sender, **kwargs):
        sent.append(("usage_resynced", kwargs))

    def on_changed(sender, **kwargs):
        sent.append(("usage_changed", kwargs))

    signals.usage_resynced.connect(on_resynced, dispatch_uid="ops-test-resynced")
    signals.usage_changed.connect(on_changed, dispatch_uid="ops-test-changed")
    yield sent
    signals.usage_resynced.disconnect(dispatch_uid="ops-test-resynced")
    signals.usage_changed.disconnect(dispatch_uid="ops-test-changed")
