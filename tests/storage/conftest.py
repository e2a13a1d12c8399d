"""Storage test helpers: tenants on both auth paths, uploads, ledger reads."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from storage.models import Namespace

UPLOAD_URL = "/api/storage/upload"
FILES_URL = "/api/storage/files"
BULK_URL = "/api/storage/files/bulk-delete"
USAGE_URL = "/api/storage/usage"


def file_url(name: str, suffix: str = "") -> str:
    """The URL of a file: the name percent-encoded once, '/' kept."""
    return f"{FILES_URL}/{quote(name, safe='/')}{suffix}"


def upload(client, content: bytes, *, filename="file.bin", **fields):
    """POST one file; `fields` (path, fileName) go before the file part."""
    data = dict(fields)
    data["file"] = SimpleUploadedFile(filename, content)
    return client.post(UPLOAD_URL, data, format="multipart")


def usage_of(prefix: str) -> tuple[int, int]:
    namespace = Namespace.objects.get(prefix=prefix)
    return namespace.bytes_used, namespace.object_count


@pytest.fixture(params=["jwt", "api_key"])
def tenant(request, user, client_for, api_key_for, key_client_for):
    """(client, namespace prefix) for the owner, once per auth path."""
    if request.param == "jwt":
        return client_for(user), f"users/{user.pk}/"
    api_key, secret = api_key_for(user)
    return key_client_for(api_key, secret), api_key.prefix


@pytest.fixture
def jwt_tenant(user, client_for):
    return client_for(user), f"users/{user.pk}/"


@pytest.fixture
def key_tenant(user, api_key_for, key_client_for):
    api_key, secret = api_key_for(user)
    return key_client_for(api_key, secret), api_key.prefix, api_key


@pytest.fixture
def other_tenant(other_user, api_key_for, key_client_for):
    api_key, secret = api_key_for(other_user)
    return key_client_for(api_key, secret), api_key.prefix
