"""storage.s3 against moto: paging, batches, multipart, errors."""

from __future__ import annotations

import hashlib
import io

import pytest
import requests
from django.conf import settings

from pockity.exceptions import StorageUnavailable
from storage import s3 as storage_s3


def test_iter_objects_follows_continuation_tokens(s3):
    for index in range(1003):
        s3.put_object(Bucket=settings.S3_BUCKET, Key=f"p/{index:05d}", Body=b"x")

    keys = [item.key for item in storage_s3.iter_objects("p/")]

    assert len(keys) == 1003
    assert len(set(keys)) == 1003


def test_list_page_returns_no_token_on_last_page(s3):
    s3.put_object(Bucket=settings.S3_BUCKET, Key="q/a", Body=b"1")

    objects, token = storage_s3.list_page("q/", max_keys=10)

    assert [item.key for item in objects] == ["q/a"]
    assert token is None


def test_head_object_missing_is_none():
    assert storage_s3.head_object("nope/missing") is None


def test_metadata_round_trips_non_ascii():
    storage_s3.put_object(
        "m/x", b"hi", metadata={"original-name": "Ünïcødé ✓ 報告.txt"}
    )

    info = storage_s3.head_object("m/x")

    assert info.metadata["original-name"] == "Ünïcødé ✓ 報告.txt"
    assert info.size == 2


def test_delete_objects_batches_over_1000(s3):
    keys = [f"d/{index}" for index in range(1001)]
    for key in keys:
        s3.put_object(Bucket=settings.S3_BUCKET, Key=key, Body=b"")

    deleted, errors = storage_s3.delete_objects(keys)

    assert len(deleted) == 1001
    assert errors == []
    assert s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix="d/")["KeyCount"] == 0


def test_upload_fileobj_multipart_and_presign(settings):
    settings.S3_MULTIPART_PART_SIZE = 5 * 1024 * 1024
    payload = bytes(range(256)) * (45 * 1024)  # 11.25 MiB: three parts

    stored = storage_s3.upload_fileobj("big/file.bin", io.BytesIO(payload))
    url = storage_s3.presign_get("big/file.bin", expires_in=60)
    fetched = requests.get(url, timeout=30)

    assert stored == len(payload)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(payload).digest()


class _Exploding(io.BytesIO):
    def read(self, size=-1):
        if self.tell() >= 6 * 1024 * 1024:
            raise OSError("client went away")
        return super().read(size)


def test_upload_fileobj_aborts_multipart_on_source_failure(settings):
    settings.S3_MULTIPART_PART_SIZE = 5 * 1024 * 1024

    with pytest.raises(OSError):
        storage_s3.upload_fileobj("cut/file.bin", _Exploding(b"z" * (12 * 1024 * 1024)))

    assert storage_s3.head_object("cut/file.bin") is None
    assert storage_s3.list_multipart_uploads("cut/") == []


def test_unreachable_endpoint_is_storage_unavailable(settings):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{port}"
    settings.S3_MAX_ATTEMPTS = 1

    with pytest.raises(StorageUnavailable):
        storage_s3.head_object("anything")
    assert storage_s3.bucket_reachable() is False


def test_missing_bucket_is_storage_unavailable(settings):
    settings.S3_BUCKET = "pockity-no-such-bucket"

    with pytest.raises(StorageUnavailable) as caught:
        storage_s3.put_object("a", b"b")

    assert caught.value.code == "bucket_not_found"


def test_ensure_bucket_creates_it(settings):
    settings.S3_BUCKET = "pockity-created"

    storage_s3.ensure_bucket()

    assert storage_s3.bucket_reachable() is True


def test_content_disposition_is_header_safe():
    value = storage_s3.content_disposition('報告 "v2";\tfinal\r\n.pdf', attachment=True)

    assert "\r" not in value and "\n" not in value and "\t" not in value
    assert value.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E5%A0%B1%E5%91%8A%20%22v2%22%3Bfinal.pdf" in value
    value.encode("ascii")
