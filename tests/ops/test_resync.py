"""usage_resync and `manage.py resync_usage`: the counters follow S3."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from storage.models import Namespace
from storage.resync import Usage, usage_resync
from storage.services import namespace_for_user

pytestmark = pytest.mark.django_db(transaction=False)


def resync_command(*args) -> str:
    out = StringIO()
    call_command("resync_usage", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_it_counts_objects_written_behind_pockitys_back(
    user, put, captured_signals, django_capture_on_commit_callbacks
):
    namespace = namespace_for_user(user)
    put(f"{namespace.prefix}a.txt", b"12345")
    put(f"{namespace.prefix}docs/b.txt", b"1234567")

    with django_capture_on_commit_callbacks(execute=True):
        result = usage_resync(namespace=namespace)

    assert result.before == Usage(bytes_used=0, objects=0)
    assert result.after == Usage(bytes_used=12, objects=2)
    namespace.refresh_from_db()
    assert (namespace.bytes_used, namespace.object_count) == (12, 2)
    assert namespace.last_resynced_at is not None
    names = [name for name, _ in captured_signals]
    assert names == ["usage_resynced", "usage_changed"]
    resynced = captured_signals[0][1]
    assert resynced["namespace"].pk == namespace.pk
    assert resynced["before"] == {"bytesUsed": 0, "objects": 0}
    assert resynced["after"] == {"bytesUsed": 12, "objects": 2}
    assert resynced["dry_run"] is False
    assert resynced["actor"] is None


def test_it_forgets_objects_deleted_behind_pockitys_back(user, put, s3):
    namespace = namespace_for_user(user)
    put(f"{namespace.prefix}keep.txt", b"abc")
    put(f"{namespace.prefix}gone.txt", b"abcdef")
    usage_resync(namespace=namespace)
    s3.delete_object(Bucket=settings.S3_BUCKET, Key=f"{namespace.prefix}gone.txt")

    output = resync_command("--namespace", namespace.prefix)

    namespace.refresh_from_db()
    assert (namespace.bytes_used, namespace.object_count) == (3, 1)
    assert output.splitlines() == [
        f"{namespace.prefix}: bytes 9 -> 3, objects 2 -> 1",
        "Resynced 1 namespace(s); drift fixed in 1.",
    ]


def test_dry_run_changes_nothing(
    user, put, captured_signals, django_capture_on_commit_callbacks
):
    namespace = namespace_for_user(user)
    Namespace.objects.filter(pk=namespace.pk).update(bytes_used=99, object_count=9)
    put(f"{namespace.prefix}a.txt", b"12345")

    with django_capture_on_commit_callbacks(execute=True):
        output = resync_command("--dry-run")

    namespace.refresh_from_db()
    assert (namespace.bytes_used, namespace.object_count) == (99, 9)
    assert namespace.last_resynced_at is None
    assert "bytes 99 -> 5, objects 9 -> 1 (dry run, not written)" in output
    assert captured_signals == []


def test_a_namespace_in_step_sends_no_usage_changed(
    user, put, captured_signals, django_capture_on_commit_callbacks
):
    namespace = namespace_for_user(user)
    put(f"{namespace.prefix}a.txt", b"12345")
    usage_resync(namespace=namespace)

    with django_capture_on_commit_callbacks(execute=True):
        result = usage_resync(namespace=namespace)

    assert result.changed is False
    assert captured_signals == []


def test_a_person_asking_for_a_resync_is_recorded_even_in_step(
    user, staff_user, put, captured_signals, django_capture_on_commit_callbacks
):
    namespace = namespace_for_user(user)
    put(f"{namespace.prefix}a.txt", b"12345")
    usage_resync(namespace=namespace)

    with django_capture_on_commit_callbacks(execute=True):
        usage_resync(namespace=namespace, dry_run=True, actor=staff_user)

    assert [name for name, _ in captured_signals] == ["usage_resynced"]
    assert captured_signals[0][1]["dry_run"] is True
    assert captured_signals[0][1]["actor"] == staff_user


def test_users_1_and_users_10_are_counted_apart(make_namespace, put):
    one = make_namespace("users/1/")
    ten = make_namespace("users/10/")
    put("users/1/a.txt", b"1")
    put("users/10/a.txt", b"1234567890")
    put("users/10/b.txt", b"1234567890")
    put("users/100/c.txt", b"x" * 100)

    resync_command()

    one.refresh_from_db()
    ten.refresh_from_db()
    assert (one.bytes_used, one.object_count) == (1, 1)
    assert (ten.bytes_used, ten.object_count) == (20, 2)


def test_1005_objects_are_all_counted(user, api_key_for, key_client_for, put):
    """F15: the listing is paged; 1005 one-byte objects give 1005/1005."""
    api_key, secret = api_key_for(user)
    namespace = Namespace.objects.get(api_key=api_key)
    for index in range(1005):
        put(f"{namespace.prefix}f{index:04d}.bin", b"x")

    seen = []
    result = usage_resync(namespace=namespace, progress=seen.append)

    assert result.after == Usage(bytes_used=1005, objects=1005)
    # 1006 keys: the files and the key's folder marker.
    assert seen == [1000, 1006]
    usage = key_client_for(api_key, secret).get("/api/storage/usage").json()
    assert (usage["bytesUsed"], usage["objects"]) == (1005, 1005)


def test_folder_markers_are_never_counted(user, api_key_for, key_client_for, put):
    """F07: keys ending in "/" are markers, not files; list and usage agree."""
    api_key, secret = api_key_for(user)
    namespace = Namespace.objects.get(api_key=api_key)
    put(f"{namespace.prefix}folder/", b"")
    put(f"{namespace.prefix}folder/x.txt", b"xyz")
    put(f"{namespace.prefix}empty.txt", b"")
    put(f"{namespace.prefix}odd/", b"data")

    result = usage_resync(namespace=namespace)

    # The key's own marker, folder/ and odd/ are skipped; an empty file counts.
    assert result.markers_skipped == 3
    assert result.hidden_bytes == 4
    assert result.after == Usage(bytes_used=3, objects=2)
    client = key_client_for(api_key, secret)
    listed = client.get("/api/storage/files").json()["files"]
    assert sorted(entry["name"] for entry in listed) == ["empty.txt", "folder/x.txt"]
    usage = client.get("/api/storage/usage").json()
    assert (usage["bytesUsed"], usage["objects"]) == (3, 2)


def test_user_option_covers_the_user_and_their_keys_only(
    user, other_user, api_key_for, put
):
    own = namespace_for_user(user)
    api_key, _secret = api_key_for(user)
    key_namespace = Namespace.objects.get(api_key=api_key)
    stranger = namespace_for_user(other_user)
    for namespace in (own, key_namespace, stranger):
        put(f"{namespace.prefix}a.txt", b"1234")

    resync_command("--user", user.email.upper())

    for namespace in (own, key_namespace, stranger):
        namespace.refresh_from_db()
    assert (own.bytes_used, own.object_count) == (4, 1)
    assert (key_namespace.bytes_used, key_namespace.object_count) == (4, 1)
    assert (stranger.bytes_used, stranger.object_count) == (0, 0)

    resync_command("--user", str(other_user.pk))

    stranger.refresh_from_db()
    assert (stranger.bytes_used, stranger.object_count) == (4, 1)


@pytest.mark.parametrize(
    "args",
    [
        ("--namespace", "users/404/"),
        ("--user", "nobody@example.com"),
        ("--user", "99999999999999999999999"),
    ],
)
def test_unknown_targets_are_clear_errors(db, args):
    with pytest.raises(CommandError):
        resync_command(*args)


def test_s3_down_leaves_the_counters_alone(user, put, settings):
    namespace = namespace_for_user(user)
    put(f"{namespace.prefix}a.txt", b"12345")
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.S3_MAX_ATTEMPTS = 1

    with pytest.raises(CommandError, match="S3 is unavailable"):
        resync_command()

    namespace.refresh_from_db()
    assert (namespace.bytes_used, namespace.object_count) == (0, 0)
    assert namespace.last_resynced_at is None
