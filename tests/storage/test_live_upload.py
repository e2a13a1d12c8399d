"""An upload cut off by the client over a real socket (F22)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from storage import s3 as storage_s3
from tests.storage.conftest import UPLOAD_URL, usage_of
from tests.storage.test_upload import BOUNDARY, MIB, multipart_body


def _send_and_half_close(live_url: str, headers: dict, body: bytes) -> bytes:
    """Send a request whose body stops early, close our side, read the answer."""
    address = urlsplit(live_url)
    with socket.create_connection((address.hostname, address.port), timeout=60) as conn:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        conn.sendall(f"POST {UPLOAD_URL} HTTP/1.1\r\n{head}\r\n".encode() + body)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


@pytest.mark.django_db(transaction=True)
def test_client_cut_off_mid_upload_leaves_nothing(live_server, settings, s3):
    from apikeys.services import api_key_create
    from tests.conftest import make_user

    settings.S3_MULTIPART_PART_SIZE = 5 * MIB
    owner = make_user("cutoff@example.com")
    api_key, secret = api_key_create(owner=owner, name="cut")
    full = multipart_body(
        [("fileName", None, b"cut.bin"), ("file", "cut.bin", b"c" * (20 * MIB))]
    )
    headers = {
        "Host": "127.0.0.1",
        "x-access-key-id": api_key.access_key_id,
        "x-secret-key": secret,
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(full)),
        "Connection": "close",
    }

    answer = _send_and_half_close(live_server.url, headers, full[: 12 * MIB])

    status_line, _rest = answer.split(b"\r\n", 1)
    assert status_line.split(b" ")[1] == b"400"
    assert b'"code":"upload_interrupted"' in answer
    assert storage_s3.head_object(api_key.prefix + "cut.bin") is None
    assert storage_s3.list_multipart_uploads(api_key.prefix) == []
    assert usage_of(api_key.prefix) == (0, 0)
