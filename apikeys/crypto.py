"""
Key-pair generation, secret digests and at-rest encryption for API keys.

Secrets are 256 random bits, so a single SHA-256 digest is enough to check
them (no slow password hash: that would make every request a CPU lever).
The secret is also kept encrypted with MultiFernet under
API_KEY_ENCRYPTION_KEYS, the first key encrypting and all of them decrypting,
so that keys can be rotated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ACCESS_KEY_PREFIX = "pk_"
SECRET_KEY_PREFIX = "sk_"

# What an access key id can look like. Anything else is refused before it
# reaches the database (a NUL byte, for one, would make PostgreSQL raise).
ACCESS_KEY_PATTERN = re.compile(r"pk_[A-Za-z0-9]{8,61}")


def generate_access_key_id() -> str:
    return ACCESS_KEY_PREFIX + secrets.token_hex(12)


def generate_secret_key() -> str:
    return SECRET_KEY_PREFIX + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret), digest)


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    configured = settings.API_KEY_ENCRYPTION_KEYS
    if not configured:
        derived = hashlib.sha256(
            b"pockity-api-key-encryption:" + settings.SECRET_KEY.encode()
        ).digest()
        configured = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key) for key in configured])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "API_KEY_ENCRYPTION_KEYS must be comma-separated Fernet keys."
        ) from exc


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An API key secret cannot be decrypted with API_KEY_ENCRYPTION_KEYS."
        ) from exc


def rotate_encrypted_secret(token: str) -> str:
    """Re-encrypt under the first (newest) key."""
    return _fernet().rotate(token.encode()).decode()
