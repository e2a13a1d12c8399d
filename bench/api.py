"""A small Pockity API client for the benchmarks (the seed README's paths)."""

from __future__ import annotations

import secrets
from urllib.parse import quote

import requests


class PockityClient:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def _url(self, path: str) -> str:
        return f"{self.base_url}/api/{path}"

    def sign_up_with_key(self) -> tuple[str, str]:
        """Register a user, sign in, create an API key; use the key from now on."""
        email = f"bench-{secrets.token_hex(4)}@example.com"
        password = secrets.token_urlsafe(16)
        response = self.session.post(
            self._url("auth/register"),
            json={"email": email, "password": password, "name": "Bench"},
            timeout=30,
        )
        response.raise_for_status()
        response = self.session.post(
            self._url("auth/login"),
            json={"email": email, "password": password},
            timeout=30,
        )
        response.raise_for_status()
        token = response.json()["accessToken"]

        response = self.session.post(
            self._url("apikeys"),
            json={"name": "bench"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        self.session.headers.update(
            {"x-access-key-id": body["accessKeyId"], "x-secret-key": body["secretKey"]}
        )
        return body["accessKeyId"], body["secretKey"]

    def upload(self, name: str, fileobj, *, filename: str = "upload.bin") -> dict:
        response = self.session.post(
            self._url("storage/upload"),
            params={"fileName": name},
            files={"file": (filename, fileobj, "application/octet-stream")},
            timeout=300,
        )
        response.raise_for_status()
        return response.json()

    def download_url(self, name: str) -> str:
        response = self.session.get(
            self._url(f"storage/files/{quote(name, safe='')}"), timeout=30
        )
        response.raise_for_status()
        body = response.json()
        return body.get("downloadUrl") or body["url"]

    def list_all(self, prefix: str, *, page_size: int = 1000) -> int:
        """Page through the file listing to its end; returns the names seen."""
        seen = 0
        params = {"prefix": prefix, "limit": page_size}
        while True:
            response = self.session.get(
                self._url("storage/files"), params=params, timeout=60
            )
            response.raise_for_status()
            body = response.json()
            seen += len(body.get("files", body.get("results", [])))
            cursor = body.get("nextCursor") or body.get("cursor")
            if not cursor:
                return seen
            params = {"prefix": prefix, "limit": page_size, "cursor": cursor}
