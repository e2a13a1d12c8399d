"""
Shared fixtures: S3 served by moto on a loopback port, tenants, clients.

Every test runs against moto's server over real HTTP (a thread in this
process), so presigned URLs can be fetched and concurrent uploads really run
in parallel. The bucket is emptied before each test.
"""

from __future__ import annotations

import socket

import boto3
import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from moto.server import ThreadedMotoServer
from rest_framework.test import APIClient

from accounts.authentication import tokens_for_user

TEST_PASSWORD = "Correct-Horse-Battery-42"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    yield endpoint
    server.stop()


@pytest.fixture(autouse=True)
def s3_backend(moto_endpoint, settings):
    """Point Pockity at moto and give each test an empty bucket."""
    settings.S3_ENDPOINT_URL = moto_endpoint
    settings.S3_PUBLIC_ENDPOINT_URL = ""
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_REGION = "us-east-1"
    settings.S3_BUCKET = "pockity-test"
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    raw_s3().create_bucket(Bucket=settings.S3_BUCKET)
    cache.clear()
    yield moto_endpoint


def raw_s3():
    """A boto3 client straight to the bucket, for arranging and checking."""
    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def s3():
    return raw_s3()


def make_user(email: str, *, staff: bool = False, **extra):
    from accounts.models import User

    return User.objects.create_user(
        email=email,
        password=TEST_PASSWORD,
        is_staff=staff,
        is_superuser=staff,
        **extra,
    )


@pytest.fixture
def user(db):
    return make_user("owner@example.com", name="Olive Owner")


@pytest.fixture
def other_user(db):
    return make_user("other@example.com", name="Otto Other")


@pytest.fixture
def staff_user(db):
    return make_user("staff@example.com", staff=True, name="Stella Staff")


@pytest.fixture
def anon_client():
    return APIClient()


def jwt_client(user) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user)['accessToken']}"
    )
    return client


def key_client(access_key_id: str, secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_ACCESS_KEY_ID=access_key_id, HTTP_X_SECRET_KEY=secret)
    return client


@pytest.fixture
def client_for():
    """`client_for(user)` is an APIClient signed in with a JWT."""
    return jwt_client


@pytest.fixture
def api_key_for(db):
    """`api_key_for(user, **options)` creates a key; returns (key, secret)."""
    from apikeys.services import api_key_create

    def create(owner, name="test key", **options):
        return api_key_create(owner=owner, name=name, **options)

    return create


@pytest.fixture
def key_client_for():
    """`key_client_for(api_key, secret)` is an APIClient using the key pair."""

    def build(api_key, secret):
        return key_client(api_key.access_key_id, secret)

    return build
