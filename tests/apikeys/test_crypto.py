"""At-rest encryption of key secrets and rotation of the server keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from apikeys import crypto
from apikeys.models import ApiKey


@pytest.fixture
def fernet_keys(settings):
    """Set API_KEY_ENCRYPTION_KEYS and drop the cached MultiFernet around it."""

    def use(*keys):
        settings.API_KEY_ENCRYPTION_KEYS = list(keys)
        crypto._fernet.cache_clear()

    yield use
    crypto._fernet.cache_clear()


def test_secrets_are_256_bits_and_ids_match_the_pattern():
    secret = crypto.generate_secret_key()
    access_key_id = crypto.generate_access_key_id()

    assert secret.startswith("sk_") and len(secret) == 3 + 43
    assert crypto.ACCESS_KEY_PATTERN.fullmatch(access_key_id)
    assert crypto.generate_secret_key() != secret


def test_the_digest_check_accepts_only_the_secret():
    secret = crypto.generate_secret_key()
    digest = crypto.secret_digest(secret)

    assert crypto.secret_matches(secret, digest)
    assert not crypto.secret_matches(secret + "x", digest)
    assert not crypto.secret_matches("", digest)
    assert secret not in digest


@pytest.mark.django_db
def test_the_stored_ciphertext_decrypts_to_the_shown_secret(
    user, api_key_for, fernet_keys
):
    fernet_keys(Fernet.generate_key().decode())
    api_key, secret = api_key_for(user)

    stored = ApiKey.objects.get(pk=api_key.pk).secret_encrypted

    assert secret not in stored
    assert crypto.decrypt_secret(stored) == secret


def test_rotated_server_keys_still_decrypt_old_secrets(fernet_keys):
    old_key = Fernet.generate_key().decode()
    new_key = Fernet.generate_key().decode()
    fernet_keys(old_key)
    secret = crypto.generate_secret_key()
    token = crypto.encrypt_secret(secret)

    fernet_keys(new_key, old_key)
    rotated = crypto.rotate_encrypted_secret(token)

    assert crypto.decrypt_secret(token) == secret
    assert crypto.decrypt_secret(rotated) == secret
    fernet_keys(new_key)
    assert crypto.decrypt_secret(rotated) == secret
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt_secret(token)


def test_a_malformed_server_key_is_a_configuration_error(fernet_keys):
    fernet_keys("not-a-fernet-key")

    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt_secret("sk_x")
