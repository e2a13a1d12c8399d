"""Refresh, rotation, logout and verify (F27, F28), and the token version."""

from __future__ import annotations

import pytest

from accounts import services
from tests.accounts.conftest import bearer

pytestmark = pytest.mark.django_db

INVALID_TOKEN = {
    "code": "invalid_token",
    "message": "The token is invalid, expired or revoked; sign in again.",
    "details": {},
}


def refresh(client, token, path="/api/auth/refresh", field="refreshToken"):
    return client.post(path, {field: token}, format="json")


def test_refresh_rotates_and_the_old_token_is_then_refused(anon_client, user, login):
    r1 = login(user)["refreshToken"]

    first = refresh(anon_client, r1)
    reused = refresh(anon_client, r1)

    assert first.status_code == 200
    body = first.json()
    assert body["refreshToken"] != r1
    assert body["token"] == body["accessToken"]
    assert bearer(body["accessToken"]).get("/api/users/profile").status_code == 200
    assert reused.status_code == 401
    assert reused.json()["error"] == INVALID_TOKEN


def test_the_newest_refresh_token_keeps_working_along_the_chain(
    anon_client, user, login
):
    token = login(user)["refreshToken"]

    for _ in range(3):
        response = refresh(anon_client, token)
        assert response.status_code == 200
        token = response.json()["refreshToken"]


def test_the_simplejwt_alias_and_field_name_work(anon_client, user, login):
    r1 = login(user)["refreshToken"]

    response = refresh(anon_client, r1, path="/api/auth/token/refresh", field="refresh")

    assert response.status_code == 200
    assert response.json()["refreshToken"]


def test_f28_logout_blacklists_and_verify_then_refuses(anon_client, user, login):
    r1 = login(user)["refreshToken"]
    r2 = refresh(anon_client, r1).json()["refreshToken"]
    assert refresh(anon_client, r1).status_code == 401

    logout = anon_client.post("/api/auth/logout", {"refreshToken": r2}, format="json")
    verify = anon_client.post("/api/auth/verify", {"token": r2}, format="json")
    again = refresh(anon_client, r2)
    second_logout = anon_client.post(
        "/api/auth/logout", {"refreshToken": r2}, format="json"
    )

    assert logout.status_code == 200
    assert verify.status_code == 401
    assert verify.json()["error"] == INVALID_TOKEN
    assert again.status_code == 401
    assert second_logout.status_code == 401


def test_verify_accepts_live_tokens_of_both_kinds(anon_client, user, login):
    tokens = login(user)

    access = anon_client.post(
        "/api/auth/verify", {"token": tokens["accessToken"]}, format="json"
    )
    refresh_ = anon_client.post(
        "/api/auth/verify", {"token": tokens["refreshToken"]}, format="json"
    )

    assert access.json() == {"valid": True, "tokenType": "access", "userId": user.pk}
    assert refresh_.json()["tokenType"] == "refresh"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 5000])
def test_garbage_tokens_are_refused_without_500(anon_client, token):
    for path in ("/api/auth/refresh", "/api/auth/logout"):
        response = anon_client.post(path, {"refreshToken": token}, format="json")
        assert response.status_code in (400, 401)
    verify = anon_client.post("/api/auth/verify", {"token": token}, format="json")
    assert verify.status_code in (400, 401)


def test_an_access_token_is_not_a_refresh_token(anon_client, user, login):
    tokens = login(user)

    response = refresh(anon_client, tokens["accessToken"])

    assert response.status_code == 401


def test_f27_inactive_user_refresh_and_old_access_are_401(anon_client, user, login):
    tokens = login(user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    refreshed = refresh(anon_client, tokens["refreshToken"])
    profile = bearer(tokens["accessToken"]).get("/api/users/profile")
    files = bearer(tokens["accessToken"]).get("/api/storage/files")
    verify = anon_client.post(
        "/api/auth/verify", {"token": tokens["accessToken"]}, format="json"
    )

    assert refreshed.status_code == 401
    assert refreshed.json()["error"] == INVALID_TOKEN
    assert profile.status_code == 401
    assert files.status_code == 401
    assert verify.status_code == 401


def test_f27_deleted_user_refresh_and_old_access_are_401(anon_client, user, login):
    tokens = login(user)
    user.delete()

    refreshed = refresh(anon_client, tokens["refreshToken"])
    profile = bearer(tokens["accessToken"]).get("/api/users/profile")
    files = bearer(tokens["accessToken"]).get("/api/storage/files")
    download = bearer(tokens["accessToken"]).get("/api/storage/files/a.txt")

    assert refreshed.status_code == 401
    assert profile.status_code == 401
    assert files.status_code == 401
    assert download.status_code == 401


def test_ending_all_sessions_refuses_every_older_token(anon_client, user, login):
    tokens = login(user)
    other_session = login(user)

    services.user_tokens_revoke_all(user=user)

    assert bearer(tokens["accessToken"]).get("/api/users/profile").status_code == 401
    assert refresh(anon_client, tokens["refreshToken"]).status_code == 401
    assert refresh(anon_client, other_session["refreshToken"]).status_code == 401
    assert login(user)["accessToken"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_with_one_token_only_one_wins(user):
    from threading import Barrier, Thread

    from django.db import connection

    from accounts.authentication import tokens_for_user

    r1 = tokens_for_user(user)["refreshToken"]
    barrier = Barrier(4)
    outcomes = []

    def attempt():
        barrier.wait()
        try:
            services.token_refresh(refresh=r1)
            outcomes.append("ok")
        except services.InvalidToken:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok", "refused", "refused", "refused"]


def test_a_bad_access_token_gets_one_plain_401(user, login):
    tokens = login(user)
    tampered = tokens["accessToken"][:-2] + (
        "AA" if tokens["accessToken"][-2:] != "AA" else "BB"
    )

    for token in ("garbage", tampered, tokens["refreshToken"]):
        response = bearer(token).get("/api/users/profile")
        assert response.status_code == 401
        assert response.json()["error"] == {
            "code": "authentication_failed",
            "message": "The access token is invalid or expired.",
            "details": {},
        }
