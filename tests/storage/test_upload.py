"""POST /api/storage/upload: streaming, accounting, limits, malformed bodies."""

from __future__ import annotations

import hashlib
import socket

import pytest
import requests
from django.conf import settings as django_settings

from storage import s3 as storage_s3
from tests.storage.conftest import (
    FILES_URL,
    UPLOAD_URL,
    file_url,
    upload,
    usage_of,
)

BOUNDARY = "pockityTestBoundary7MA4YWxk"
MIB = 1024 * 1024


def multipart_body(parts, *, close=True) -> bytes:
    """Build a multipart body by hand: parts are (field, filename, bytes)."""
    chunks = []
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        chunks.append(
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
            + (b"Content-Type: application/octet-stream\r\n" if filename else b"")
            + b"\r\n"
            + content
            + b"\r\n"
        )
    if close:
        chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


def post_raw(client, body: bytes, content_type=None, url=UPLOAD_URL):
    return client.generic(
        "POST",
        url,
        body,
        content_type=content_type or f"multipart/form-data; boundary={BOUNDARY}",
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def s3_keys(s3, prefix):
    response = s3.list_objects_v2(Bucket=django_settings.S3_BUCKET, Prefix=prefix)
    return [item["Key"] for item in response.get("Contents", [])]


def test_upload_stores_bytes_and_counts_them(tenant, s3):
    client, prefix = tenant

    response = upload(client, b"hello world", filename="greeting.txt")

    assert response.status_code == 201
    body = response.json()
    assert body["file"]["name"] == "greeting.txt"
    assert body["file"]["size"] == 11
    assert body["usage"]["bytesUsed"] == 11
    stored = s3.get_object(
        Bucket=django_settings.S3_BUCKET, Key=prefix + "greeting.txt"
    )
    assert stored["Body"].read() == b"hello world"
    assert usage_of(prefix) == (11, 1)


def test_upload_into_a_folder_with_path_and_file_name(tenant):
    client, prefix = tenant

    response = upload(client, b"abc", path="docs/2024", fileName="r.txt")
    query = client.post(
        UPLOAD_URL + "?path=q&fileName=x.bin",
        {"file": __import__("io").BytesIO(b"q")},
        format="multipart",
    )

    assert response.json()["file"]["key"] == prefix + "docs/2024/r.txt"
    assert query.status_code == 201
    assert query.json()["file"]["name"] == "q/x.bin"


def test_unicode_name_round_trips(tenant, s3):
    """F09: non-ASCII names over both auth paths; metadata stays ASCII."""
    client, prefix = tenant
    name = "Ünïcødé ✓ 報告.txt"

    response = upload(client, b"unicode", fileName=name)
    listed = [item["name"] for item in client.get(FILES_URL).json()["files"]]
    meta = client.get(file_url(name, "/metadata")).json()
    link = client.get(file_url(name) + "?download=1").json()
    fetched = requests.get(link["url"], timeout=10)
    raw_head = s3.head_object(Bucket=django_settings.S3_BUCKET, Key=prefix + name)

    assert response.status_code == 201
    assert listed == [name]
    assert meta["originalName"] == name
    assert fetched.content == b"unicode"
    assert (
        "filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B8d%C3%A9"
        in (fetched.headers["Content-Disposition"])
    )
    raw_value = raw_head["Metadata"]["original-name"]
    raw_value.encode("ascii")
    assert raw_value != name


def test_five_bytes_and_empty_file(tenant, s3):
    """F21: sizes agree in S3, listing, download; empty files count as 1."""
    client, prefix = tenant

    five = upload(client, b"12345", fileName="five.txt")
    empty = upload(client, b"", fileName="empty.txt")

    assert five.status_code == 201 and empty.status_code == 201
    sizes = {
        item["name"]: item["size"] for item in client.get(FILES_URL).json()["files"]
    }
    assert sizes == {"five.txt": 5, "empty.txt": 0}
    for name, expected in (("five.txt", b"12345"), ("empty.txt", b"")):
        head = s3.head_object(Bucket=django_settings.S3_BUCKET, Key=prefix + name)
        assert head["ContentLength"] == len(expected)
        url = client.get(file_url(name)).json()["url"]
        assert requests.get(url, timeout=10).content == expected
    assert usage_of(prefix) == (5, 2)


def test_overwrite_counts_only_the_difference(key_tenant):
    client, prefix, _key = key_tenant

    upload(client, b"a" * 100, fileName="same.txt")
    grown = upload(client, b"b" * 150, fileName="same.txt")
    after_grow = usage_of(prefix)
    shrunk = upload(client, b"c" * 30, fileName="same.txt")

    assert grown.json()["file"]["replaced"] is True
    assert grown.json()["file"]["replacedSize"] == 100
    assert after_grow == (150, 1)
    assert shrunk.status_code == 201
    assert usage_of(prefix) == (30, 1)


def test_overwrite_fits_a_full_quota(user, api_key_for, key_client_for):
    api_key, secret = api_key_for(user, storage_bytes_limit=100, object_limit=1)
    client = key_client_for(api_key, secret)
    assert upload(client, b"x" * 100, fileName="f.bin").status_code == 201

    again = upload(client, b"y" * 100, fileName="f.bin")

    assert again.status_code == 201
    assert usage_of(api_key.prefix) == (100, 1)


def test_large_file_streams_as_multipart(key_tenant, s3, settings):
    settings.S3_MULTIPART_PART_SIZE = 5 * MIB
    client, prefix, _key = key_tenant
    payload = bytes(range(256)) * (48 * 1024)  # 12 MiB: three parts

    response = upload(client, payload, fileName="big.bin")

    assert response.status_code == 201
    url = client.get(file_url("big.bin")).json()["url"]
    assert sha256(requests.get(url, timeout=30).content) == sha256(payload)
    assert usage_of(prefix) == (len(payload), 1)
    assert storage_s3.list_multipart_uploads(prefix) == []


def test_quota_refusal_is_413_with_details(user, api_key_for, key_client_for, s3):
    api_key, secret = api_key_for(user, storage_bytes_limit=10, object_limit=None)
    client = key_client_for(api_key, secret)

    response = upload(client, b"x" * 11, fileName="too-big.bin")

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"] == {
        "limitKind": "storage",
        "limit": 10,
        "usage": 0,
        "requested": 11,
    }
    assert s3_keys(s3, api_key.prefix + "too") == []
    assert usage_of(api_key.prefix) == (0, 0)


def test_object_limit_refuses_before_any_byte(user, api_key_for, key_client_for, s3):
    api_key, secret = api_key_for(user, storage_bytes_limit=None, object_limit=1)
    client = key_client_for(api_key, secret)
    assert upload(client, b"1", fileName="one").status_code == 201

    response = upload(client, b"2", fileName="two")

    assert response.status_code == 413
    assert response.json()["error"]["details"]["limitKind"] == "objects"
    assert s3_keys(s3, api_key.prefix + "two") == []
    assert usage_of(api_key.prefix) == (1, 1)


def test_quota_refusal_in_a_multipart_upload_leaves_nothing(
    user, api_key_for, key_client_for, s3, settings
):
    settings.S3_MULTIPART_PART_SIZE = 5 * MIB
    api_key, secret = api_key_for(user, storage_bytes_limit=7 * MIB)
    client = key_client_for(api_key, secret)

    response = upload(client, b"z" * (12 * MIB), fileName="over.bin")

    assert response.status_code == 413
    assert s3_keys(s3, api_key.prefix + "over") == []
    assert storage_s3.list_multipart_uploads(api_key.prefix) == []
    assert usage_of(api_key.prefix) == (0, 0)


def test_tier_max_file_size_is_413(user, client_for, s3):
    from tiers.models import Tier

    user.tier = Tier.objects.create(name="Test Tiny", max_file_size_bytes=4)
    user.save()
    client = client_for(user)

    response = upload(client, b"12345", fileName="five.txt")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert s3_keys(s3, f"users/{user.pk}/") == []
    assert usage_of(f"users/{user.pk}/") == (0, 0)


def test_tier_change_applies_at_once(user, client_for):
    from tiers.models import Tier

    user.tier = Tier.objects.create(name="Test Small", storage_bytes_limit=3)
    user.save()
    client = client_for(user)
    refused = upload(client, b"1234", fileName="a")

    user.tier = Tier.objects.create(name="Test Large", storage_bytes_limit=1000)
    user.save()
    accepted = upload(client, b"1234", fileName="a")

    assert refused.status_code == 413
    assert accepted.status_code == 201


def test_truncated_multipart_body_leaves_nothing(key_tenant, s3, settings):
    """F22: a body cut off mid-file: no object, no parts, usage unchanged."""
    settings.S3_MULTIPART_PART_SIZE = 5 * MIB
    client, prefix, _key = key_tenant
    full = multipart_body(
        [("fileName", None, b"cut.bin"), ("file", "cut.bin", b"q" * (20 * MIB))]
    )
    truncated = full[: 10 * MIB]

    response = post_raw(client, truncated)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "upload_interrupted"
    assert s3_keys(s3, prefix + "cut") == []
    assert storage_s3.list_multipart_uploads(prefix) == []
    assert usage_of(prefix) == (0, 0)

    retry = post_raw(client, full)

    assert retry.status_code == 201
    assert usage_of(prefix) == (20 * MIB, 1)


def test_truncated_small_body_leaves_nothing(tenant, s3):
    client, prefix = tenant
    body = multipart_body([("file", "small.txt", b"abcdef" * 100)], close=False)

    response = post_raw(client, body[:-200])

    assert response.status_code == 400
    assert s3_keys(s3, prefix + "small") == []
    assert usage_of(prefix) == (0, 0)


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("multipart/form-data", multipart_body([("file", "a.txt", b"x")])),
        (None, multipart_body([("file", None, b"no filename")])),
        (None, multipart_body([("document", "a.txt", b"wrong field")])),
        ("application/json", b'{"a":'),
        ("text/plain", b"hello"),
    ],
    ids=["no-boundary", "no-filename", "wrong-field", "json", "text"],
)
def test_malformed_bodies_are_json_4xx(tenant, s3, content_type, body):
    """F25: never a 500, nothing stored or counted."""
    client, prefix = tenant

    response = post_raw(client, body, content_type=content_type)

    assert response.status_code in (400, 415), response.content
    assert response["Content-Type"] == "application/json"
    assert "error" in response.json()
    assert s3_keys(s3, prefix) in ([], [prefix])
    assert usage_of(prefix) == (0, 0)


def test_two_files_in_one_request_are_refused(tenant, s3):
    client, prefix = tenant
    body = multipart_body([("file", "a.txt", b"a"), ("file", "b.txt", b"b")])

    response = post_raw(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_files"
    assert s3_keys(s3, prefix) in ([], [prefix])
    assert usage_of(prefix) == (0, 0)


def test_101_files_are_refused(tenant, s3):
    """F24: no partial upload counted."""
    client, prefix = tenant
    body = multipart_body([("file", f"f{i}.txt", b"x") for i in range(101)])

    response = post_raw(client, body)

    assert response.status_code == 400
    assert s3_keys(s3, prefix) in ([], [prefix])
    assert usage_of(prefix) == (0, 0)


def test_oversized_text_fields_are_json_413(tenant, s3):
    """F24: text fields over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    client, prefix = tenant
    body = multipart_body([("file", "a.txt", b"x"), ("note", None, b"n" * (3 * MIB))])

    response = post_raw(client, body)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert s3_keys(s3, prefix) in ([], [prefix])
    assert usage_of(prefix) == (0, 0)


def test_name_fields_after_the_file_are_refused(tenant, s3):
    client, prefix = tenant
    body = multipart_body([("file", "a.txt", b"x"), ("fileName", None, b"b.txt")])

    response = post_raw(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "late_name_fields"
    assert s3_keys(s3, prefix) in ([], [prefix])
    assert usage_of(prefix) == (0, 0)


def test_storage_unreachable_is_503_and_counts_nothing(jwt_tenant, settings):
    client, prefix = jwt_tenant
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    settings.S3_MAX_ATTEMPTS = 1

    response = upload(client, b"data", fileName="a.txt")
    listing = client.get(FILES_URL)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert listing.status_code == 503
    assert usage_of(prefix) == (0, 0)


def test_upload_needs_the_write_scope(user, api_key_for, key_client_for, s3):
    api_key, secret = api_key_for(user, can_write=False)
    client = key_client_for(api_key, secret)

    response = upload(client, b"x", fileName="a.txt")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_scope_denied"
    assert response.json()["error"]["details"] == {"capability": "write"}
    assert s3_keys(s3, api_key.prefix) == [api_key.prefix]


def test_anonymous_and_revoked_key_are_401(
    user, api_key_for, key_client_for, anon_client
):
    from apikeys.services import api_key_revoke

    api_key, secret = api_key_for(user)
    client = key_client_for(api_key, secret)
    api_key_revoke(api_key=api_key, actor=user)

    assert upload(anon_client, b"x").status_code == 401
    assert upload(client, b"x").status_code == 401
    assert client.get(FILES_URL).status_code == 401


def test_unicode_multipart_filename_is_the_name(tenant):
    """F09 through the file part's own filename, not a form field."""
    client, prefix = tenant
    name = "Ünïcødé ✓ 報告.txt"

    response = upload(client, b"u", filename=name)

    assert response.status_code == 201
    assert response.json()["file"]["key"] == prefix + name
    assert client.get(file_url(name, "/metadata")).json()["originalName"] == name
