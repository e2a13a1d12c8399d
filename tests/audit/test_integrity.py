"""Entries are append-only, carry the request context, and never break actions."""

from __future__ import annotations

import logging

import pytest
from django.db import DatabaseError, connection, transaction

from apikeys.models import ApiKey
from apikeys.services import api_key_revoke
from audit.models import AuditAction, AuditLog
from audit.services import audit_record
from tests.conftest import TEST_PASSWORD

# --- append-only -----------------------------------------------------------------


@pytest.fixture
def entry(user):
    return audit_record(
        action=AuditAction.PROFILE_UPDATED, actor=user, user=user, metadata={"a": 1}
    )


def test_an_entry_cannot_be_saved_again_or_deleted(entry):
    entry.metadata = {"a": 2}

    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()

    assert AuditLog.objects.get(pk=entry.pk).metadata == {"a": 1}


def test_querysets_cannot_update_or_delete(entry):
    with pytest.raises(TypeError):
        AuditLog.objects.filter(pk=entry.pk).update(action="USER_LOGIN")
    with pytest.raises(TypeError):
        AuditLog.objects.all().delete()
    with pytest.raises(TypeError):
        AuditLog.objects.bulk_update([entry], ["action"])

    assert AuditLog.objects.get(pk=entry.pk).action == AuditAction.PROFILE_UPDATED


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditlog SET action = 'USER_LOGIN' WHERE id = %s",
        "DELETE FROM audit_auditlog WHERE id = %s",
    ],
)
def test_the_database_refuses_raw_update_and_delete(entry, sql):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])

    assert AuditLog.objects.get(pk=entry.pk).action == AuditAction.PROFILE_UPDATED


def test_deleting_the_user_keeps_their_entries(user, entry):
    user_id = user.pk

    user.delete()

    kept = AuditLog.objects.get(pk=entry.pk)
    assert kept.user_id == user_id
    assert kept.user_label == "owner@example.com"


def test_the_admin_shows_entries_but_allows_no_change(staff_user, entry, client):
    client.force_login(staff_user)
    change_url = f"/admin/audit/auditlog/{entry.pk}/change/"

    assert client.get("/admin/audit/auditlog/").status_code == 200
    page = client.get(change_url)
    assert page.status_code == 200
    assert b"PROFILE_UPDATED" in page.content
    assert b'name="_save"' not in page.content

    assert client.post(change_url, {"action": "USER_LOGIN"}).status_code == 403
    assert client.get("/admin/audit/auditlog/add/").status_code == 403
    assert (
        client.post(
            f"/admin/audit/auditlog/{entry.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    bulk = client.post(
        "/admin/audit/auditlog/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert AuditLog.objects.filter(pk=entry.pk, action="PROFILE_UPDATED").exists()


def test_the_admin_changelist_filters_and_searches(staff_user, user, client):
    client.force_login(staff_user)
    audit_record(action=AuditAction.USER_LOGIN, actor=user, user=user)
    audit_record(action=AuditAction.API_KEY_REVOKED, actor=staff_user, user=user)

    filtered = client.get("/admin/audit/auditlog/", {"action__exact": "USER_LOGIN"})
    searched = client.get("/admin/audit/auditlog/", {"q": "staff@example.com"})

    assert filtered.status_code == 200
    # force_login is a login too: the staff user's own entry is listed.
    assert sorted(
        (e.action, e.user_label) for e in filtered.context["cl"].result_list
    ) == [("USER_LOGIN", "owner@example.com"), ("USER_LOGIN", "staff@example.com")]
    assert sorted(e.action for e in searched.context["cl"].result_list) == [
        "API_KEY_REVOKED",
        "USER_LOGIN",
    ]


def test_a_non_staff_user_cannot_read_the_admin(user, entry, client):
    client.force_login(user)

    response = client.get("/admin/audit/auditlog/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# --- request context -------------------------------------------------------------


def admin_login(client, email, password, **extra):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password},
        **extra,
    )


def test_ip_comes_from_the_socket_by_default(staff_user, client, settings):
    settings.TRUSTED_PROXY_COUNT = 0

    admin_login(
        client,
        staff_user.email,
        "wrong",
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="198.51.100.99",
        HTTP_USER_AGENT="Mozilla/5.0 test",
        HTTP_X_REQUEST_ID="req-abc-123",
    )

    entry = AuditLog.objects.get(action=AuditAction.USER_LOGIN_FAILED)
    assert entry.ip_address == "203.0.113.7"
    assert entry.user_agent == "Mozilla/5.0 test"
    assert entry.request_id == "req-abc-123"
    assert entry.user_id == staff_user.pk


def test_forwarded_for_is_trusted_only_with_a_proxy_count(staff_user, client, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    response = admin_login(
        client,
        staff_user.email,
        TEST_PASSWORD,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.99",
    )

    assert response.status_code == 302
    entry = AuditLog.objects.get(action=AuditAction.USER_LOGIN)
    assert entry.ip_address == "198.51.100.99"
    assert entry.metadata == {"via": "admin"}


def test_a_garbage_forwarded_for_falls_back_to_the_socket(staff_user, client, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    admin_login(
        client,
        staff_user.email,
        "wrong",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="not-an-ip",
    )

    assert AuditLog.objects.get().ip_address == "10.0.0.2"


def test_a_bad_request_id_is_replaced(user, anon_client):
    response = anon_client.post(
        "/api/auth/login",
        {"email": user.email, "password": "nope-nope"},
        format="json",
        HTTP_X_REQUEST_ID="bad id with spaces\nX-Evil: 1",
    )

    entry = AuditLog.objects.get()
    assert entry.request_id == response["X-Request-ID"]
    assert " " not in entry.request_id
    assert len(entry.request_id) == 32


def test_entries_outside_a_request_have_no_context(user):
    entry = audit_record(action=AuditAction.TIER_CHANGED, actor=None, user=user)

    assert entry.ip_address is None
    assert entry.request_id == ""
    assert entry.actor_id is None
    assert entry.actor_label == ""


def test_nul_characters_do_not_cost_the_entry(user):
    entry = audit_record(
        action=AuditAction.FILE_UPLOADED,
        actor=user,
        user=user,
        metadata={"name": "a\x00b", "nested": [{"x": "\x00"}]},
    )

    assert entry is not None
    assert AuditLog.objects.get(pk=entry.pk).metadata == {
        "name": "ab",
        "nested": [{"x": ""}],
    }


# --- an audit failure never breaks the action -------------------------------------


@pytest.fixture
def failing_audit_inserts(db):
    """A trigger that makes every audit INSERT fail (rolled back with the test)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION pg_temp.refuse_audit_insert() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit insert refused for the test'; END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_audit_insert BEFORE INSERT ON audit_auditlog
                FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_audit_insert();
            """
        )


def test_a_failed_insert_is_logged_and_the_action_goes_on(
    user, api_key_for, failing_audit_inserts, caplog
):
    key, _ = api_key_for(user)

    with caplog.at_level(logging.ERROR, logger="audit.services"):
        with transaction.atomic():
            api_key_revoke(api_key=key, actor=user, reason="test")
            # The outer transaction is still usable after the failed insert.
            still_there = ApiKey.objects.filter(pk=key.pk).exists()

    assert still_there
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditLog.objects.filter(action=AuditAction.API_KEY_REVOKED).count() == 0
    assert "Audit entry not written action=API_KEY_REVOKED" in caplog.text
    assert "audit insert refused for the test" in caplog.text


def test_a_failed_insert_does_not_break_an_endpoint(
    user, client_for, failing_audit_inserts
):
    response = client_for(user).put(
        "/api/users/profile", {"name": "Still Works"}, format="json"
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.name == "Still Works"
