"""File name rules (F03-F08): one canonical form, nothing escapes a prefix."""

from __future__ import annotations

import pytest
import requests

from pockity.exceptions import InvalidInput
from storage.names import MAX_KEY_BYTES, name_from_key, validate_name
from tests.storage.conftest import (
    BULK_URL,
    FILES_URL,
    file_url,
    upload,
    usage_of,
)

PREFIX = "apikeys/pk_0123456789abcdef01234567/"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        ".",
        "..",
        "folder/",
        "/docs/a.txt",
        "docs//b.txt",
        "../x/secret.txt",
        "a/../../x/secret.txt",
        "a/./b.txt",
        "line\nbreak.txt",
        "carriage\rreturn.txt",
        "tab\there.txt",
        "del\x7f.txt",
        "nul\x00.txt",
        "c1\x85.txt",
        "back\\slash.txt",
        "lone\ud800surrogate.txt",
    ],
)
def test_invalid_names_are_refused(name):
    with pytest.raises(InvalidInput) as caught:
        validate_name(name, prefix=PREFIX)

    assert caught.value.code == "invalid_name"


@pytest.mark.parametrize(
    "name",
    [
        "what?.png",
        "#1 clip.txt",
        "50%20off.txt",
        "..%2Fsecret.txt",
        "Ünïcødé ✓ 報告.txt",
        "docs/2024/report.pdf",
        ".hidden",
        "...",
        "a..b",
    ],
)
def test_valid_names_are_kept_exactly(name):
    assert validate_name(name, prefix=PREFIX) == name


def test_key_length_counts_the_prefix_in_utf8_bytes():
    room = MAX_KEY_BYTES - len(PREFIX.encode())

    assert validate_name("a" * room, prefix=PREFIX) == "a" * room
    with pytest.raises(InvalidInput, match="1024 bytes"):
        validate_name("a" * (room + 1), prefix=PREFIX)
    with pytest.raises(InvalidInput, match="1024 bytes"):
        validate_name("€" * 342 + ".txt", prefix="")


def test_unicode_is_not_normalised():
    decomposed = "e\u0301.txt"

    assert validate_name(decomposed, prefix=PREFIX) == decomposed


def test_markers_and_foreign_keys_are_hidden_from_listings():
    assert name_from_key(PREFIX, prefix=PREFIX) is None
    assert name_from_key(PREFIX + "folder/", prefix=PREFIX) is None
    assert name_from_key("apikeys/other/x.txt", prefix=PREFIX) is None
    assert name_from_key(PREFIX + "folder/x.txt", prefix=PREFIX) == "folder/x.txt"


# --- Through the API ----------------------------------------------------------


@pytest.mark.parametrize("bad", ["", ".", "folder/", "   ", "/docs/a.txt", "a//b"])
def test_upload_with_bad_name_is_400_and_counts_nothing(tenant, bad):
    client, prefix = tenant

    response = upload(client, b"data", fileName=bad)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in ("invalid_name", "file_required")
    assert usage_of(prefix) == (0, 0)


def test_special_characters_round_trip(tenant, s3, settings):
    """F03: '?', '#' and '%' stay in the key and are escaped in URLs."""
    client, prefix = tenant
    contents = {
        "what?.png": b"question",
        "#1 clip.txt": b"hash",
        "50%20off.txt": b"percent",
    }
    for name, body in contents.items():
        assert upload(client, body, fileName=name).status_code == 201

    listed = {item["name"] for item in client.get(FILES_URL).json()["files"]}
    keys = {
        item["Key"]
        for item in s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix).get(
            "Contents", []
        )
    }

    assert listed == set(contents)
    assert prefix + "what" not in keys
    assert prefix + "50 off.txt" not in keys
    for name, body in contents.items():
        answer = client.get(file_url(name)).json()
        assert "%3F" in answer["url"] or "?" not in name
        fetched = requests.get(answer["url"], timeout=10)
        assert fetched.status_code == 200
        assert fetched.content == body
    assert usage_of(prefix)[1] == 3


def test_leading_and_double_slashes_are_refused(key_tenant, s3, settings):
    """F04: one canonical form; no key holds `prefix//`."""
    client, prefix, _key = key_tenant

    first = upload(client, b"1", fileName="/docs/a.txt")
    second = upload(client, b"2", fileName="docs/a.txt")
    third = upload(client, b"3", fileName="docs//b.txt")

    assert first.status_code == 400
    assert second.status_code == 201
    assert third.status_code == 400
    keys = [
        item["Key"]
        for item in s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix)[
            "Contents"
        ]
    ]
    assert not any("//" in key for key in keys)
    assert usage_of(prefix) == (1, 1)


def test_traversal_never_reaches_another_tenant(key_tenant, other_tenant, s3, settings):
    """F05: three spellings of `..`, on upload, download and bulk delete."""
    client, prefix, _key = key_tenant
    other_client, other_prefix = other_tenant
    assert upload(other_client, b"top secret", fileName="secret.txt").status_code == 201
    other_id = other_prefix.split("/")[1]

    spellings = [
        f"../{other_id}/secret.txt",
        f"a/../../{other_id}/secret.txt",
        f"../../apikeys/{other_id}/secret.txt",
    ]
    for spelling in spellings:
        assert upload(client, b"evil", fileName=spelling).status_code == 400
        assert client.get(file_url(spelling)).status_code in (400, 404)
        assert client.delete(file_url(spelling)).status_code in (400, 404)
        bulk = client.post(BULK_URL, {"keys": [spelling]}, format="json")
        assert bulk.status_code == 400
    # The percent-encoded spelling is a literal name inside the caller's prefix.
    literal = upload(client, b"literal", fileName=f"..%2F{other_id}%2Fsecret.txt")
    assert literal.status_code == 201
    assert literal.json()["file"]["key"].startswith(prefix)
    # A multipart filename with folders is reduced to its last segment by the
    # parser, so it lands in the caller's own prefix too.
    reduced = upload(client, b"reduced", filename=f"../{other_id}/secret.txt")
    assert reduced.status_code == 201
    assert reduced.json()["file"]["key"] == prefix + "secret.txt"

    body = s3.get_object(Bucket=settings.S3_BUCKET, Key=other_prefix + "secret.txt")
    assert body["Body"].read() == b"top secret"
    assert usage_of(other_prefix) == (10, 1)
    assert [f["name"] for f in other_client.get(FILES_URL).json()["files"]] == [
        "secret.txt"
    ]


def test_markers_and_empty_names_never_listed(key_tenant, s3, settings):
    """F07: an out-of-band `folder/` key is neither listed nor a file."""
    client, prefix, _key = key_tenant
    s3.put_object(Bucket=settings.S3_BUCKET, Key=prefix + "folder/", Body=b"")
    assert upload(client, b"x", fileName="folder/x.txt").status_code == 201

    names = [item["name"] for item in client.get(FILES_URL).json()["files"]]

    assert names == ["folder/x.txt"]
    assert usage_of(prefix) == (1, 1)


def test_key_length_limit_through_the_api(key_tenant):
    """F08: limits in UTF-8 bytes of the full key; the limit itself works."""
    client, prefix, _key = key_tenant
    room = MAX_KEY_BYTES - len(prefix.encode())

    euros = upload(client, b"e", fileName="€" * 342 + ".txt")
    over = upload(client, b"o", fileName="a" * (room + 1))
    exact = upload(client, b"x", fileName="b" * room)

    assert euros.status_code == 400
    assert "1024" in euros.json()["error"]["message"]
    assert over.status_code == 400
    assert exact.status_code == 201
    assert exact.json()["file"]["key"] == prefix + "b" * room
    assert client.get(file_url("b" * room, "/metadata")).json()["size"] == 1
    assert usage_of(prefix) == (1, 1)
