"""usage_snapshot_take / `manage.py snapshot_usage`: one row per namespace per day."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from storage.models import Namespace, UsageSnapshot
from storage.services import namespace_for_user
from storage.snapshots import current_period, usage_snapshot_prune, usage_snapshot_take

pytestmark = pytest.mark.django_db


def snapshot_command(*args) -> str:
    out = StringIO()
    call_command("snapshot_usage", *args, stdout=out)
    return out.getvalue()


def test_it_records_usage_and_the_limits_of_the_time(user, api_key_for):
    api_key, _secret = api_key_for(user, storage_bytes_limit=1000, object_limit=10)
    key_namespace = Namespace.objects.get(api_key=api_key)
    Namespace.objects.filter(pk=key_namespace.pk).update(bytes_used=300, object_count=3)
    user_namespace = namespace_for_user(user)

    count = usage_snapshot_take()

    assert count == 2
    snapshot = UsageSnapshot.objects.get(namespace=key_namespace)
    assert snapshot.period == current_period()
    assert (snapshot.bytes_used, snapshot.object_count) == (300, 3)
    assert (snapshot.storage_bytes_limit, snapshot.object_limit) == (1000, 10)
    assert UsageSnapshot.objects.filter(namespace=user_namespace).count() == 1


def test_running_twice_a_day_updates_the_same_row(user):
    namespace = namespace_for_user(user)
    usage_snapshot_take()
    first = UsageSnapshot.objects.get(namespace=namespace)
    Namespace.objects.filter(pk=namespace.pk).update(bytes_used=42, object_count=2)

    snapshot_command()
    snapshot_command()

    rows = UsageSnapshot.objects.filter(namespace=namespace)
    assert rows.count() == 1
    row = rows.get()
    assert row.pk == first.pk
    assert (row.bytes_used, row.object_count) == (42, 2)
    assert row.taken_at >= first.taken_at


def test_a_new_day_adds_a_row(user):
    namespace = namespace_for_user(user)
    yesterday = current_period() - timedelta(days=1)

    usage_snapshot_take(period=yesterday)
    usage_snapshot_take()

    periods = set(
        UsageSnapshot.objects.filter(namespace=namespace).values_list(
            "period", flat=True
        )
    )
    assert periods == {yesterday, current_period()}


def test_prune_deletes_only_old_snapshots(user):
    namespace = namespace_for_user(user)
    today = current_period()
    for age in (0, 30, 31, 400):
        usage_snapshot_take(period=today - timedelta(days=age))

    assert usage_snapshot_prune(days=30, dry_run=True) == 2
    assert UsageSnapshot.objects.filter(namespace=namespace).count() == 4

    output = snapshot_command("--prune-days", "30")

    left = set(UsageSnapshot.objects.values_list("period", flat=True))
    assert left == {today, today - timedelta(days=30)}
    assert "Deleted 2 snapshot(s) older than 30 day(s)." in output


def test_dry_run_writes_and_deletes_nothing(user):
    namespace = namespace_for_user(user)
    usage_snapshot_take(period=current_period() - timedelta(days=90))

    output = snapshot_command("--prune-days", "7", "--dry-run")

    assert list(
        UsageSnapshot.objects.filter(namespace=namespace).values_list(
            "period", flat=True
        )
    ) == [current_period() - timedelta(days=90)]
    assert "Would record 1 namespace(s)" in output
    assert "Would delete 1 snapshot(s)" in output


def test_negative_prune_days_is_refused(db):
    with pytest.raises(CommandError):
        snapshot_command("--prune-days", "-1")
