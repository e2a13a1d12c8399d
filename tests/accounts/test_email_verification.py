"""E-mail verification codes: sent, hashed, expiring, attempts, resend."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import EmailVerification
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

REQUEST = "/api/users/verify-email/request"
CONFIRM = "/api/users/verify-email/confirm"


def sent_code() -> str:
    (code,) = re.findall(r"\b(\d{6})\b", mail.outbox[-1].body)
    return code


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_code_is_mailed_and_confirms_the_address(client_for, user, other_user):
    client = client_for(user)

    requested = client.post(REQUEST)
    code = sent_code()
    confirmed = client.post(CONFIRM, {"code": code}, format="json")

    assert requested.status_code == 202
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert confirmed.status_code == 200
    assert confirmed.json()["emailVerified"] is True
    user.refresh_from_db()
    other_user.refresh_from_db()
    assert user.email_verified_at is not None
    assert other_user.email_verified_at is None
    row = EmailVerification.objects.get(user=user)
    assert code not in row.code_digest and len(row.code_digest) == 64
    assert row.consumed_at is not None


def test_the_code_cannot_be_used_twice_or_by_another_user(client_for, user, other_user):
    client_for(user).post(REQUEST)
    code = sent_code()

    theirs = client_for(other_user).post(CONFIRM, {"code": code}, format="json")
    mine = client_for(user).post(CONFIRM, {"code": code}, format="json")
    again = client_for(user).post(CONFIRM, {"code": code}, format="json")

    assert theirs.status_code == 400
    assert theirs.json()["error"]["code"] == "no_pending_verification"
    assert mine.status_code == 200
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_verified"


def test_wrong_codes_count_and_the_sixth_attempt_is_refused(client_for, user):
    client = client_for(user)
    client.post(REQUEST)
    code = sent_code()

    answers = [
        client.post(CONFIRM, {"code": wrong(code)}, format="json") for _ in range(5)
    ]
    sixth = client.post(CONFIRM, {"code": code}, format="json")

    assert [a.status_code for a in answers] == [400] * 5
    assert [a.json()["error"]["details"]["attemptsRemaining"] for a in answers] == [
        4,
        3,
        2,
        1,
        0,
    ]
    assert sixth.status_code == 429
    assert sixth.json()["error"]["code"] == "verification_attempts_exhausted"
    user.refresh_from_db()
    assert user.email_verified_at is None
    assert EmailVerification.objects.get(user=user).attempts == 5


def test_an_expired_code_is_refused(client_for, user):
    client = client_for(user)
    client.post(REQUEST)
    code = sent_code()
    EmailVerification.objects.filter(user=user).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = client.post(CONFIRM, {"code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "verification_expired"
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_the_code_lives_fifteen_minutes(client_for, user):
    client_for(user).post(REQUEST)

    row = EmailVerification.objects.get(user=user)

    assert row.expires_at - row.created_at == timedelta(minutes=15)


def test_resend_is_throttled_to_one_a_minute(client_for, user):
    client = client_for(user)

    first = client.post(REQUEST)
    second = client.post(REQUEST)
    EmailVerification.objects.filter(user=user).update(
        created_at=timezone.now() - timedelta(seconds=61)
    )
    third = client.post(REQUEST)

    assert first.status_code == 202
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "throttled"
    assert third.status_code == 202
    assert len(mail.outbox) == 2
    # The newer code replaces the older one.
    assert EmailVerification.objects.filter(user=user).count() == 1


def test_an_old_code_dies_when_the_address_changes(client_for, user):
    client = client_for(user)
    client.post(REQUEST)
    code = sent_code()
    client.put(
        "/api/users/profile",
        {"email": "moved@example.com", "currentPassword": TEST_PASSWORD},
        format="json",
    )

    response = client.post(CONFIRM, {"code": code}, format="json")

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.email_verified_at is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", None])
def test_malformed_codes_are_400(client_for, user, code):
    client = client_for(user)
    client.post(REQUEST)

    response = client.post(CONFIRM, {"code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert EmailVerification.objects.get(user=user).attempts == 0


def test_the_mail_contains_no_secrets(client_for, user, api_key_for, login):
    api_key, secret = api_key_for(user)
    tokens = login(user)

    client_for(user).post(REQUEST)

    message = mail.outbox[-1]
    text = (
        message.subject
        + message.body
        + "".join(str(content) for content, _ in getattr(message, "alternatives", []))
    )
    for value in (
        TEST_PASSWORD,
        secret,
        api_key.secret_digest,
        tokens["accessToken"],
        tokens["refreshToken"],
        EmailVerification.objects.get(user=user).code_digest,
    ):
        assert value not in text
    assert sent_code() not in message.subject
