"""The seed README's curl flow, end to end, then the account deletion."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.accounts.conftest import bearer

pytestmark = pytest.mark.django_db

PASSWORD = "Doraemon-Pocket-2112"


def objects_under(s3, prefix):
    listing = s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_register_login_key_upload_then_delete_account(anon_client, s3):
    registered = anon_client.post(
        "/api/auth/register",
        {"email": "user@example.com", "password": PASSWORD, "name": "John Doe"},
        format="json",
    )
    assert registered.status_code == 201
    user_id = registered.json()["user"]["id"]

    login = anon_client.post(
        "/api/auth/login",
        {"email": "user@example.com", "password": PASSWORD},
        format="json",
    )
    jwt = bearer(login.json()["token"])

    created = jwt.post("/api/apikeys", {"name": "My API Key"}, format="json")
    assert created.status_code == 201
    key = created.json()
    listed = jwt.get("/api/apikeys").json()
    assert [k["accessKeyId"] for k in listed["results"]] == [key["accessKeyId"]]

    with_key = anon_client.post(
        "/api/storage/upload",
        {"file": SimpleUploadedFile("file.txt", b"via key")},
        format="multipart",
        HTTP_X_ACCESS_KEY_ID=key["accessKeyId"],
        HTTP_X_SECRET_KEY=key["secretKey"],
    )
    with_jwt = jwt.post(
        "/api/storage/upload",
        {"file": SimpleUploadedFile("file.txt", b"via jwt")},
        format="multipart",
    )
    assert with_key.status_code == 201, with_key.json()
    assert with_jwt.status_code == 201, with_jwt.json()
    assert f"{key['storagePath']}file.txt" in objects_under(s3, key["storagePath"])
    assert objects_under(s3, f"users/{user_id}/") == [f"users/{user_id}/file.txt"]

    summary = jwt.get("/api/users/summary").json()
    assert summary["usage"]["total"] == {"bytesUsed": 14, "objects": 2}

    deleted = jwt.delete("/api/users/account", {"password": PASSWORD}, format="json")

    assert deleted.status_code == 200
    assert objects_under(s3, key["storagePath"]) == []
    assert objects_under(s3, f"users/{user_id}/") == []
    again = anon_client.post(
        "/api/auth/login",
        {"email": "user@example.com", "password": PASSWORD},
        format="json",
    )
    assert again.status_code == 401
