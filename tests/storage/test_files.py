"""Listing, download URLs, metadata, deletes and bulk deletes."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings as django_settings

from storage.models import Namespace
from tests.storage.conftest import (
    BULK_URL,
    FILES_URL,
    file_url,
    upload,
    usage_of,
)


def put_raw(s3, keys, body=b"x"):
    """Arrange many objects quickly, straight into moto."""

    def put(key):
        s3.put_object(Bucket=django_settings.S3_BUCKET, Key=key, Body=body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, keys))


def set_ledger(prefix, size, count):
    Namespace.objects.filter(prefix=prefix).update(bytes_used=size, object_count=count)


# --- Listing -----------------------------------------------------------------


def test_listing_pages_through_1005_files(key_tenant, s3):
    """F15: every name once, cursors passed back exactly, then the end."""
    client, prefix, _key = key_tenant
    put_raw(s3, [f"{prefix}bulk/{index:04d}.txt" for index in range(1000)])
    set_ledger(prefix, 1000, 1000)
    for index in range(5):
        assert upload(client, b"y", fileName=f"api/{index}.txt").status_code == 201

    names, cursor, pages = [], None, 0
    while True:
        url = f"{FILES_URL}?limit=300" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url)
        assert page.status_code == 200
        names += [item["name"] for item in page.json()["files"]]
        cursor = page.json()["nextCursor"]
        pages += 1
        if cursor is None:
            break
        assert pages < 20

    assert len(names) == 1005
    assert len(set(names)) == 1005
    assert pages == 4
    assert client.get("/api/storage/usage").json()["objects"] == 1005
    assert usage_of(prefix) == (1005, 1005)


def test_listing_limit_is_clamped_to_1000(tenant, s3):
    client, prefix = tenant
    put_raw(s3, [f"{prefix}many/{index:04d}" for index in range(1002)])

    page = client.get(f"{FILES_URL}?limit=100000&prefix=many/").json()

    assert page["count"] == 1000
    assert page["nextCursor"] is not None


@pytest.mark.parametrize(
    "query",
    [
        "limit=-1",
        "limit=0",
        "limit=abc",
        "offset=-5",
        "page=0",
        "page=999",
        "cursor=not-a-cursor",
        "cursor=%00%ff",
    ],
)
def test_bad_listing_parameters_are_400(tenant, query):
    """F15 / F31: never a 500."""
    client, _prefix = tenant
    upload(client, b"1", fileName="a.txt")

    response = client.get(f"{FILES_URL}?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_input", "invalid_cursor")


def test_cursor_of_another_tenant_or_filter_is_refused(key_tenant, other_tenant, s3):
    client, prefix, _key = key_tenant
    other_client, other_prefix = other_tenant
    put_raw(s3, [f"{prefix}{index}" for index in range(5)])
    put_raw(s3, [f"{other_prefix}{index}" for index in range(5)])
    cursor = client.get(f"{FILES_URL}?limit=2").json()["nextCursor"]

    foreign = other_client.get(f"{FILES_URL}?limit=2&cursor={cursor}")
    refiltered = client.get(f"{FILES_URL}?limit=2&prefix=x&cursor={cursor}")

    assert foreign.status_code == 400
    assert refiltered.status_code == 400


def test_listing_filters_by_prefix_and_isolates_tenants(key_tenant, other_tenant):
    client, _prefix, _key = key_tenant
    other_client, _other_prefix = other_tenant
    upload(client, b"1", fileName="docs/a.txt")
    upload(client, b"2", fileName="img/b.png")
    upload(other_client, b"3", fileName="docs/theirs.txt")

    docs = client.get(f"{FILES_URL}?prefix=docs/").json()["files"]
    theirs = other_client.get(FILES_URL).json()["files"]

    assert [item["name"] for item in docs] == ["docs/a.txt"]
    assert [item["name"] for item in theirs] == ["docs/theirs.txt"]


def test_listing_needs_the_list_scope(user, api_key_for, key_client_for):
    api_key, secret = api_key_for(user, can_list=False)

    response = key_client_for(api_key, secret).get(FILES_URL)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_scope_denied"


# --- Download URLs and metadata ----------------------------------------------------


def test_download_url_fetches_the_same_bytes(tenant):
    client, _prefix = tenant
    payload = bytes(range(256)) * 40
    upload(client, payload, fileName="x.bin")

    response = client.get(file_url("x.bin"))
    answer = response.json()
    fetched = requests.get(answer["url"], timeout=10)

    assert response["Cache-Control"] == "no-store"
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(payload).digest()
    assert answer["expiresIn"] == django_settings.PRESIGNED_URL_DEFAULT_EXPIRY
    assert answer["expiresAt"]


def test_public_endpoint_signs_for_the_public_host(key_tenant, settings):
    """F10: the URL is signed for the public host and still works."""
    client, _prefix, _key = key_tenant
    payload = b"public bytes" * 100
    upload(client, payload, fileName="x.bin")
    port = urlsplit(settings.S3_ENDPOINT_URL).port
    settings.S3_PUBLIC_ENDPOINT_URL = f"http://localhost:{port}"

    url = client.get(file_url("x.bin")).json()["url"]
    fetched = requests.get(url, timeout=10)

    assert urlsplit(url).netloc == f"localhost:{port}"
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(payload).digest()


@pytest.mark.parametrize(
    "value, status",
    [
        ("604800", 200),
        ("1", 200),
        ("604801", 400),
        ("0", 400),
        ("-1", 400),
        ("abc", 400),
        ("1e9", 400),
        ("99999999999999999999999", 400),
    ],
)
def test_expiry_bounds(tenant, value, status):
    """F12: only URLs S3 will honour; never a 500."""
    client, _prefix = tenant
    upload(client, b"x", fileName="e.txt")

    response = client.get(file_url("e.txt") + f"?expiresIn={value}")

    assert response.status_code == status
    if status == 200:
        assert response.json()["expiresIn"] == int(value)
        assert f"X-Amz-Expires={value}" in response.json()["url"]
    else:
        assert response.json()["error"]["code"] == "invalid_expiry"


def test_attachment_disposition_is_safe_and_decodes(tenant):
    """F13: ASCII fallback plus filename*, no CR/LF, original name back."""
    client, _prefix = tenant
    name = '報告 "v2"; final.pdf'
    upload(client, b"%PDF", fileName=name)

    answer = client.get(file_url(name) + "?download=1").json()
    fetched = requests.get(answer["url"], timeout=10)
    header = fetched.headers["Content-Disposition"]

    assert fetched.status_code == 200
    assert header.startswith('attachment; filename="')
    assert "\r" not in header and "\n" not in header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in fallback and "\\" not in fallback
    encoded = header.split("filename*=UTF-8''", 1)[1]
    from urllib.parse import unquote

    assert unquote(encoded) == name


def test_header_injection_names_are_refused(tenant):
    """F13: a CR/LF or TAB name never reaches a header (400 at upload)."""
    client, prefix = tenant

    crlf = upload(client, b"x", fileName="a\r\nX-Evil: 1.pdf")
    tab = upload(client, b"x", fileName='報告 "v2";\tfinal.pdf')

    assert crlf.status_code == 400
    assert tab.status_code == 400
    assert usage_of(prefix) == (0, 0)


def test_metadata_is_one_head(tenant):
    client, _prefix = tenant
    upload(client, b"12345", fileName="docs/m.txt")

    meta = client.get(file_url("docs/m.txt", "/metadata"))

    assert meta.status_code == 200
    body = meta.json()
    assert body["size"] == 5
    assert body["originalName"] == "docs/m.txt"
    assert body["contentType"]
    assert body["etag"] == hashlib.md5(b"12345").hexdigest()  # noqa: S324


def test_other_tenant_gets_404(key_tenant, other_tenant, jwt_tenant):
    client, _prefix, _key = key_tenant
    other_client, _other_prefix = other_tenant
    jwt_client, _jwt_prefix = jwt_tenant
    upload(client, b"mine", fileName="mine.txt")

    for intruder in (other_client,):
        assert intruder.get(file_url("mine.txt")).status_code == 404
        assert intruder.get(file_url("mine.txt", "/metadata")).status_code == 404
        assert intruder.delete(file_url("mine.txt")).status_code == 404
    # The key's owner signed in with a JWT works in another namespace too.
    assert jwt_client.get(file_url("mine.txt")).status_code == 404
    assert client.get(file_url("mine.txt")).status_code == 200


def test_read_scope_guards_download_and_metadata(user, api_key_for, key_client_for):
    api_key, secret = api_key_for(user, can_read=False)
    client = key_client_for(api_key, secret)
    upload(client, b"x", fileName="a.txt")

    assert client.get(file_url("a.txt")).status_code == 403
    assert client.get(file_url("a.txt", "/metadata")).status_code == 403


def test_missing_file_is_404(tenant):
    client, _prefix = tenant

    assert client.get(file_url("ghost.txt")).status_code == 404
    assert client.get(file_url("ghost.txt", "/metadata")).status_code == 404


def test_a_file_called_bulk_delete_is_still_reachable(tenant):
    client, prefix = tenant
    upload(client, b"odd", fileName="bulk-delete")

    assert client.get(file_url("bulk-delete")).status_code == 200
    assert client.delete(file_url("bulk-delete")).status_code == 200
    assert usage_of(prefix) == (0, 0)


# --- Deletes -----------------------------------------------------------------


def test_delete_releases_usage_once(tenant, s3):
    client, prefix = tenant
    upload(client, b"0123456789", fileName="a.txt")

    first = client.delete(file_url("a.txt"))
    second = client.delete(file_url("a.txt"))

    assert first.status_code == 200
    assert first.json()["size"] == 10
    assert second.status_code == 404
    assert usage_of(prefix) == (0, 0)


def test_delete_needs_the_delete_scope(user, api_key_for, key_client_for):
    api_key, secret = api_key_for(user, can_delete=False)
    client = key_client_for(api_key, secret)
    upload(client, b"x", fileName="a.txt")

    assert client.delete(file_url("a.txt")).status_code == 403
    bulk = client.post(BULK_URL, {"keys": ["a.txt"]}, format="json")
    assert bulk.status_code == 403
    assert usage_of(api_key.prefix) == (1, 1)


def test_bulk_delete_missing_and_repeated_keys(tenant):
    """F18: only what existed is subtracted; never below zero."""
    client, prefix = tenant
    upload(client, b"0123456789", fileName="a.txt")

    first = client.post(
        BULK_URL, {"keys": ["a.txt", "a.txt", "ghost.txt"]}, format="json"
    )
    after_first = usage_of(prefix)
    second = client.post(BULK_URL, {"fileNames": ["a.txt"]}, format="json")

    assert first.status_code == 200
    statuses = [(item["name"], item["status"]) for item in first.json()["results"]]
    assert statuses == [
        ("a.txt", "deleted"),
        ("a.txt", "duplicate"),
        ("ghost.txt", "not_found"),
    ]
    assert first.json()["summary"]["bytesFreed"] == 10
    assert after_first == (0, 0)
    assert second.json()["results"] == [{"name": "a.txt", "status": "not_found"}]
    assert usage_of(prefix) == (0, 0)


def test_bulk_delete_of_1001_files(key_tenant, s3):
    """F16: split into batches of 1000; all deleted, usage 0/0."""
    client, prefix, _key = key_tenant
    names = [f"n/{index:04d}" for index in range(1001)]
    put_raw(s3, [prefix + name for name in names])
    set_ledger(prefix, 1001, 1001)

    response = client.post(BULK_URL, {"keys": names}, format="json")

    assert response.status_code == 200
    assert response.json()["summary"]["deleted"] == 1001
    assert client.get(FILES_URL).json()["files"] == []
    assert usage_of(prefix) == (0, 0)


def test_bulk_delete_cannot_touch_another_tenant(key_tenant, other_tenant):
    client, _prefix, _key = key_tenant
    other_client, other_prefix = other_tenant
    upload(other_client, b"theirs", fileName="shared-name.txt")

    response = client.post(BULK_URL, {"keys": ["shared-name.txt"]}, format="json")

    assert response.json()["results"][0]["status"] == "not_found"
    assert usage_of(other_prefix) == (6, 1)


@pytest.mark.parametrize(
    "body",
    [
        {"keys": "notalist"},
        {"keys": [1, None, {}]},
        {"keys": []},
        {},
        {"keys": ["a"], "fileNames": ["b"]},
        ["a.txt"],
        {"keys": ["ok.txt", "../escape"]},
    ],
)
def test_bulk_delete_bad_bodies_are_400(tenant, body):
    """F25: 400 with the error shape, nothing deleted."""
    client, prefix = tenant
    upload(client, b"keep", fileName="ok.txt")

    response = client.post(BULK_URL, body, format="json")

    assert response.status_code == 400
    assert "error" in response.json()
    assert usage_of(prefix) == (4, 1)


def test_bulk_delete_malformed_json_and_huge_body(tenant):
    """F24 / F25: malformed JSON 400; a 3 MB body 413; both JSON."""
    client, prefix = tenant
    upload(client, b"keep", fileName="ok.txt")
    huge = '{"keys": [' + ",".join(f'"name-{i:06d}.txt"' for i in range(160_000)) + "]}"

    malformed = client.generic(
        "POST", BULK_URL, b'{"keys":', content_type="application/json"
    )
    oversized = client.generic(
        "POST", BULK_URL, huge.encode(), content_type="application/json"
    )
    too_many = client.post(
        BULK_URL, {"keys": [f"n{i}" for i in range(10_001)]}, format="json"
    )

    assert malformed.status_code == 400
    assert malformed["Content-Type"] == "application/json"
    assert len(huge) > 2_621_440
    assert oversized.status_code == 413
    assert oversized["Content-Type"] == "application/json"
    assert too_many.status_code == 400
    assert usage_of(prefix) == (4, 1)
