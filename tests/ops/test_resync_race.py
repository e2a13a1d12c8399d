"""A resync running while uploads arrive neither loses nor double-counts one.

Uploads hold their namespace's shared lock from reservation to settlement
and the resync holds it exclusively, so on PostgreSQL the counters end equal
to what S3 holds however the two interleave.
"""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from storage.locks import namespace_change_lock
from storage.models import Namespace
from storage.quota import NamespaceLimits, reserve
from storage.resync import Usage, usage_resync
from storage.services import namespace_for_user
from tests.conftest import key_client, raw_s3

UPLOADERS = 4
UPLOADS_EACH = 8
UNLIMITED = NamespaceLimits(storage_bytes=None, objects=None, max_file_size=None)


def _s3_usage(prefix: str) -> Usage:
    total = objects = 0
    pages = raw_s3().get_paginator("list_objects_v2")
    for page in pages.paginate(Bucket=settings.S3_BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/"):
                continue
            total += item["Size"]
            objects += 1
    return Usage(bytes_used=total, objects=objects)


@pytest.mark.django_db(transaction=True)
def test_resync_racing_uploads_ends_equal_to_s3(user, api_key_for, put):
    api_key, secret = api_key_for(user)
    namespace = Namespace.objects.get(api_key=api_key)
    # Drift for the resyncs to fix while uploads run.
    put(f"{namespace.prefix}behind-the-back.bin", b"0123456789")
    failures: list[str] = []

    def upload_many(worker: int) -> None:
        client = key_client(api_key.access_key_id, secret)
        try:
            for index in range(UPLOADS_EACH):
                body = b"x" * (100 + worker * 10 + index)
                response = client.post(
                    "/api/storage/upload",
                    {"file": SimpleUploadedFile(f"w{worker}-{index}.bin", body)},
                    format="multipart",
                )
                if response.status_code != 201:
                    failures.append(f"{response.status_code} {response.content!r}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=upload_many, args=(worker,))
        for worker in range(UPLOADERS)
    ]
    stop = threading.Event()

    def resync_until_stopped() -> None:
        try:
            while not stop.is_set():
                usage_resync(namespace=namespace)
        finally:
            connection.close()

    resyncer = threading.Thread(target=resync_until_stopped)
    resyncer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    resyncer.join()

    assert failures == []
    namespace.refresh_from_db()
    in_s3 = _s3_usage(namespace.prefix)
    assert in_s3.objects == UPLOADERS * UPLOADS_EACH + 1
    assert Usage(namespace.bytes_used, namespace.object_count) == in_s3
    assert usage_resync(namespace=namespace).changed is False


def _waiting_advisory_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_resync_waits_for_a_change_in_flight(user, put):
    """The interleaving that loses an upload without the lock, forced.

    A change reserves, the resync starts, and only then the object reaches
    S3. The resync must wait for the change, so it lists the new object.
    """
    namespace = namespace_for_user(user)
    key = f"{namespace.prefix}in-flight.bin"
    reserved = threading.Event()
    resync_waiting = threading.Event()
    results = []

    def change_in_flight() -> None:
        try:
            with namespace_change_lock(namespace.pk):
                reserve(namespace=namespace, limits=UNLIMITED, size=7, objects=1)
                reserved.set()
                resync_waiting.wait(timeout=60)
                put(key, b"1234567")
        finally:
            connection.close()

    def resync() -> None:
        try:
            results.append(usage_resync(namespace=namespace))
        finally:
            connection.close()

    changer = threading.Thread(target=change_in_flight)
    changer.start()
    assert reserved.wait(timeout=60)
    resyncer = threading.Thread(target=resync)
    resyncer.start()
    # Bounded wait for the resync to queue behind the change's shared lock.
    for _ in range(600):
        if _waiting_advisory_locks():
            break
        resyncer.join(timeout=0.1)
    resync_waiting.set()
    changer.join()
    resyncer.join()

    assert results[0].after == Usage(bytes_used=7, objects=1)
    namespace.refresh_from_db()
    assert (namespace.bytes_used, namespace.object_count) == (7, 1)
