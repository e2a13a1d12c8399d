"""The ledger under concurrency (F19) and with big numbers (F23)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings as django_settings
from django.db import connection

from pockity.exceptions import QuotaExceeded
from storage import quota
from storage.models import Namespace
from storage.quota import NamespaceLimits
from tests.conftest import key_client
from tests.storage.conftest import FILES_URL, file_url, upload, usage_of

MB = 1_000_000


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_never_pass_the_quota(s3):
    """F19: 10 x 2 MB at a 10 MB / 5 object quota, all at once."""
    from apikeys.services import api_key_create
    from tests.conftest import make_user

    owner = make_user("racer@example.com")
    api_key, secret = api_key_create(
        owner=owner, name="race", storage_bytes_limit=10 * MB, object_limit=5
    )
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def racer(index: int) -> None:
        client = key_client(api_key.access_key_id, secret)
        barrier.wait()
        try:
            response = upload(client, b"r" * (2 * MB), fileName=f"race-{index}.bin")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stored = s3.list_objects_v2(
        Bucket=django_settings.S3_BUCKET, Prefix=api_key.prefix + "race-"
    ).get("Contents", [])
    bytes_used, objects = usage_of(api_key.prefix)
    assert len(statuses) == 10
    assert set(statuses) <= {201, 413}
    assert statuses.count(201) <= 5
    assert bytes_used <= 10 * MB and objects <= 5
    assert len(stored) == statuses.count(201)
    assert (bytes_used, objects) == (sum(o["Size"] for o in stored), len(stored))


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_at_the_database(db):
    """The conditional UPDATE alone: 20 threads reserve 1 of 7 slots each."""
    namespace = Namespace.objects.create(prefix="users/race/", kind="USER")
    limits = NamespaceLimits(storage_bytes=700, objects=7, max_file_size=None)
    barrier = threading.Barrier(20)
    outcomes: list[bool] = []

    def reserve() -> None:
        barrier.wait()
        try:
            quota.reserve(namespace=namespace, limits=limits, size=100, objects=1)
            outcomes.append(True)
        except QuotaExceeded:
            outcomes.append(False)
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    namespace.refresh_from_db()
    assert outcomes.count(True) == 7
    assert (namespace.bytes_used, namespace.object_count) == (700, 7)


def test_release_never_goes_negative(db):
    namespace = Namespace.objects.create(prefix="users/neg/", kind="USER")
    namespace.bytes_used, namespace.object_count = 5, 1
    namespace.save()

    quota.release(namespace_id=namespace.pk, size=50, objects=3)

    namespace.refresh_from_db()
    assert (namespace.bytes_used, namespace.object_count) == (0, 0)


def test_lowered_limit_blocks_growth_but_not_deletes(user, api_key_for, key_client_for):
    from apikeys.services import api_key_set_limits

    api_key, secret = api_key_for(user, storage_bytes_limit=100)
    client = key_client_for(api_key, secret)
    upload(client, b"x" * 60, fileName="a")
    api_key_set_limits(
        api_key=api_key, storage_bytes_limit=10, object_limit=None, actor=user
    )

    refused = upload(client, b"y", fileName="b")
    deleted = client.delete(file_url("a"))
    accepted = upload(client, b"z" * 10, fileName="c")

    assert refused.status_code == 413
    assert deleted.status_code == 200
    assert accepted.status_code == 201
    assert usage_of(api_key.prefix) == (10, 1)


def test_quota_refusal_is_audited(user, api_key_for, key_client_for):
    from storage import signals

    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    signals.quota_exceeded.connect(listener, dispatch_uid="test-quota-listener")
    try:
        api_key, secret = api_key_for(user, storage_bytes_limit=1)
        upload(key_client_for(api_key, secret), b"xx", fileName="a")
    finally:
        signals.quota_exceeded.disconnect(dispatch_uid="test-quota-listener")

    assert len(received) == 1
    assert received[0]["limit_kind"] == "storage"
    assert received[0]["api_key"] == api_key
    assert received[0]["actor"] == user


def test_gigabyte_counters_are_exact(user, api_key_for, key_client_for):
    """F23: 3 GiB used of 5 GiB; 64-bit counters, exact percentages."""
    gib = 1024**3
    api_key, secret = api_key_for(user, storage_bytes_limit=5 * gib)
    Namespace.objects.filter(prefix=api_key.prefix).update(
        bytes_used=3 * gib, object_count=3
    )

    usage = key_client_for(api_key, secret).get("/api/storage/usage").json()

    assert usage["bytesUsed"] == 3 * gib
    assert usage["limits"]["storageBytes"] == 5 * gib
    assert usage["percentages"]["storage"] == 60.0


@pytest.mark.parametrize(
    "url",
    [
        FILES_URL + "?limit=99999999999999999999999",
        file_url("a.txt") + "?expiresIn=99999999999999999999999",
        FILES_URL + "?cursor=99999999999999999999999",
        "/api/storage/usage?from=99999999999999999999999",
    ],
)
def test_huge_numbers_are_never_500(tenant, url):
    client, _prefix = tenant
    upload(client, b"1", fileName="a.txt")

    response = client.get(url)

    assert response.status_code in (200, 400, 404)
    if "limit=" in url:
        assert response.status_code == 200
        assert response.json()["count"] == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_overwrites_of_one_name_count_once(s3):
    """Uploads replacing the same name are serialised by the key lock."""
    from apikeys.services import api_key_create
    from tests.conftest import make_user

    owner = make_user("overwriter@example.com")
    api_key, secret = api_key_create(owner=owner, name="same")
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def writer(index: int) -> None:
        client = key_client(api_key.access_key_id, secret)
        barrier.wait()
        try:
            response = upload(client, b"w" * (1000 * (index + 1)), fileName="same.bin")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    head = s3.head_object(
        Bucket=django_settings.S3_BUCKET, Key=api_key.prefix + "same.bin"
    )
    assert statuses == [201] * 6
    assert usage_of(api_key.prefix) == (head["ContentLength"], 1)


def test_changes_send_their_signals(tenant, django_capture_on_commit_callbacks):
    from storage import signals

    client, prefix = tenant
    seen: list[tuple[str, dict]] = []

    def recorder(name):
        def listener(sender, **kwargs):
            seen.append((name, kwargs))

        return listener

    listeners = {
        signal: recorder(name)
        for name, signal in (
            ("uploaded", signals.file_uploaded),
            ("deleted", signals.files_deleted),
            ("usage", signals.usage_changed),
        )
    }
    for signal, listener in listeners.items():
        signal.connect(listener, weak=False)
    try:
        # The signals go out once the change commits.
        with django_capture_on_commit_callbacks(execute=True):
            upload(client, b"abc", fileName="s.txt")
            upload(client, b"abcdef", fileName="s.txt")
            client.delete(file_url("s.txt"))
    finally:
        for signal, listener in listeners.items():
            signal.disconnect(listener)

    names = [name for name, _kwargs in seen]
    assert names == ["uploaded", "usage", "uploaded", "usage", "deleted", "usage"]
    assert seen[2][1]["size"] == 6 and seen[2][1]["replaced_size"] == 3
    assert seen[4][1]["names"] == ["s.txt"] and seen[4][1]["bytes_freed"] == 6
    assert all(kwargs["namespace"].prefix == prefix for _name, kwargs in seen)
    assert all("actor" in kwargs for _name, kwargs in seen)


def test_reserving_in_a_purged_namespace_is_a_conflict(db):
    from pockity.exceptions import Conflict

    namespace = Namespace.objects.create(prefix="users/gone/", kind="USER")
    Namespace.objects.filter(pk=namespace.pk).delete()
    limits = NamespaceLimits(storage_bytes=None, objects=None, max_file_size=None)

    with pytest.raises(Conflict):
        quota.reserve(namespace=namespace, limits=limits, size=1, objects=1)
