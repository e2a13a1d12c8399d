"""The Django admin for keys and requests, driven through Django's test client."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.test import Client
from django.urls import reverse

from apikeys.models import ApiKey, ApiKeyRequest
from tiers.models import Tier, TierRequest
from tiers.services import tier_request_create

GIB = 2**30
REQUESTS_URL = reverse("admin:apikeys_apikeyrequest_changelist")
KEYS_URL = reverse("admin:apikeys_apikey_changelist")
TIER_REQUESTS_URL = reverse("admin:tiers_tierrequest_changelist")


@pytest.fixture
def admin_client_for(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def _action(client, url, action, ids, follow=False, **form):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in ids], **form}
    return client.post(url, data, follow=follow)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_request_list_searches_and_filters(admin_client_for, user, new_key_request):
    pending = new_key_request(user, key_name="nightly-backups")

    listing = admin_client_for.get(REQUESTS_URL)
    searched = admin_client_for.get(REQUESTS_URL, {"q": "owner@example.com"})
    filtered = admin_client_for.get(REQUESTS_URL, {"status__exact": "APPROVED"})

    assert listing.status_code == 200
    assert b"nightly-backups" in listing.content
    assert list(searched.context["cl"].result_list) == [pending]
    assert list(filtered.context["cl"].result_list) == []


def test_approve_shows_a_confirmation_page_with_a_comment_field(
    admin_client_for, user, new_key_request
):
    pending = new_key_request(user, key_name="nightly-backups")

    response = _action(admin_client_for, REQUESTS_URL, "approve_selected", [pending.pk])

    assert response.status_code == 200
    assert response.templates[0].name == "admin/requests/decide.html"
    html = response.content.decode()
    assert 'name="comment"' in html
    assert 'name="storage_gb"' in html
    assert 'value="5.000"' in html
    assert 'name="read_only"' in html
    pending.refresh_from_db()
    assert pending.status == "PENDING"
    assert not ApiKey.objects.exists()


def test_confirming_approves_and_provisions_the_key(
    admin_client_for,
    user,
    staff_user,
    new_key_request,
    sent_signals,
    django_capture_on_commit_callbacks,
):
    pending = new_key_request(user, key_name="nightly-backups")
    initial = _action(admin_client_for, REQUESTS_URL, "approve_selected", [pending.pk])
    form = initial.context["form"]
    sent_signals.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _action(
            admin_client_for,
            REQUESTS_URL,
            "approve_selected",
            [pending.pk],
            confirm="yes",
            comment="Approved in the admin",
            storage_gb=form.initial["storage_gb"],
            objects=form.initial["objects"],
            capabilities=form.initial["capabilities"],
        )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "APPROVED"
    assert pending.reviewer == staff_user
    assert pending.reviewer_comment == "Approved in the admin"
    api_key = ApiKey.objects.get(owner=user)
    assert api_key.name == "nightly-backups"
    assert api_key.storage_bytes_limit == 5 * GIB
    assert api_key.object_limit == 10_000
    assert api_key.can_write and api_key.can_delete
    decided = [kw for name, kw in sent_signals if name == "api_key_request_decided"]
    assert decided[0]["actor"] == staff_user
    assert mail.outbox[-1].to == [user.email]
    assert "Approved in the admin" in mail.outbox[-1].body


def test_a_single_approval_may_narrow_quota_and_make_it_read_only(
    admin_client_for, user, new_key_request
):
    pending = new_key_request(user)

    response = _action(
        admin_client_for,
        REQUESTS_URL,
        "approve_selected",
        [pending.pk],
        confirm="yes",
        comment="Smaller, read-only",
        storage_gb="1.000",
        objects="100",
        capabilities=["list", "read", "write", "delete"],
        read_only="on",
    )

    assert response.status_code == 302
    api_key = ApiKey.objects.get(owner=user)
    assert api_key.storage_bytes_limit == GIB
    assert api_key.object_limit == 100
    assert not api_key.can_write
    assert not api_key.can_delete
    assert api_key.can_read and api_key.can_list


def test_widening_in_the_admin_is_refused_with_a_message(
    admin_client_for, user, new_key_request
):
    pending = new_key_request(user)

    response = _action(
        admin_client_for,
        REQUESTS_URL,
        "approve_selected",
        [pending.pk],
        confirm="yes",
        storage_gb="50",
        objects="10000",
        capabilities=["list", "read", "write", "delete"],
        follow=True,
    )

    assert any("at most what was requested" in m for m in _messages(response))
    pending.refresh_from_db()
    assert pending.status == "PENDING"
    assert not ApiKey.objects.exists()


def test_an_invalid_figure_shows_the_page_again(
    admin_client_for, user, new_key_request
):
    pending = new_key_request(user)

    response = _action(
        admin_client_for,
        REQUESTS_URL,
        "approve_selected",
        [pending.pk],
        confirm="yes",
        storage_gb="-1",
        objects="10000",
    )

    assert response.status_code == 200
    assert response.context["form"].errors["storage_gb"]
    pending.refresh_from_db()
    assert pending.status == "PENDING"


def test_bulk_reject_with_an_already_decided_request(
    admin_client_for, user, other_user, staff_user, new_key_request
):
    first = new_key_request(user)
    second = new_key_request(other_user)
    done = new_key_request(user)
    ApiKeyRequest.objects.filter(pk=done.pk).update(status="APPROVED")
    ids = [first.pk, second.pk, done.pk]

    page = _action(admin_client_for, REQUESTS_URL, "reject_selected", ids)
    response = admin_client_for.post(
        REQUESTS_URL,
        {
            "action": "reject_selected",
            ACTION_CHECKBOX_NAME: [str(pk) for pk in ids],
            "confirm": "yes",
            "comment": "Not now",
        },
        follow=True,
    )

    assert page.status_code == 200
    assert 'name="storage_gb"' not in page.content.decode()
    assert [obj.pk for obj in page.context["decided"]] == [done.pk]
    assert response.status_code == 200
    messages = _messages(response)
    assert any("2 requests rejected" in message for message in messages)
    assert any(
        f"#{done.pk}" in message and "already been decided" in message
        for message in messages
    )
    statuses = dict(ApiKeyRequest.objects.values_list("pk", "status"))
    assert statuses == {
        first.pk: "REJECTED",
        second.pk: "REJECTED",
        done.pk: "APPROVED",
    }
    assert not ApiKey.objects.exists()


def test_decided_requests_are_read_only(admin_client_for, user, new_key_request):
    done = new_key_request(user)
    ApiKeyRequest.objects.filter(pk=done.pk).update(status="REJECTED")
    url = reverse("admin:apikeys_apikeyrequest_change", args=[done.pk])

    page = admin_client_for.get(url)
    post = admin_client_for.post(url, {"reason": "edited"})
    add = admin_client_for.get(reverse("admin:apikeys_apikeyrequest_add"))

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert post.status_code == 403
    assert add.status_code == 403
    done.refresh_from_db()
    assert done.reason == ""


def test_non_staff_cannot_reach_the_admin(user, new_key_request):
    client = Client()
    client.force_login(user)

    response = client.get(REQUESTS_URL)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_key_list_shows_usage_and_never_a_secret(admin_client_for, user, api_key_for):
    api_key, secret = api_key_for(user, storage_bytes_limit=GIB, object_limit=10)

    listing = admin_client_for.get(KEYS_URL, {"q": api_key.access_key_id})
    change = admin_client_for.get(
        reverse("admin:apikeys_apikey_change", args=[api_key.pk])
    )

    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [api_key]
    assert b"1.00 GB" in listing.content
    for page in (listing, change):
        html = page.content.decode()
        assert secret not in html
        assert api_key.secret_digest not in html
        assert api_key.secret_encrypted not in html
    assert api_key.prefix in change.content.decode()


def test_key_revoke_action(
    admin_client_for, user, staff_user, api_key_for, sent_signals
):
    from apikeys import signals

    revoked = []

    def on_revoked(sender, **kwargs):
        revoked.append(kwargs)

    signals.api_key_revoked.connect(on_revoked, weak=False, dispatch_uid="t-revoke")
    api_key, _ = api_key_for(user)
    try:
        response = _action(admin_client_for, KEYS_URL, "revoke_selected", [api_key.pk])
    finally:
        signals.api_key_revoked.disconnect(dispatch_uid="t-revoke")

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert not api_key.is_active
    assert api_key.revoked_at is not None
    assert revoked[0]["actor"] == staff_user


def _key_form(api_key, **changes):
    data = {
        "name": api_key.name,
        "storage_bytes_limit": api_key.storage_bytes_limit or "",
        "object_limit": api_key.object_limit or "",
        "can_list": "on",
        "can_read": "on",
        "can_write": "on",
        "can_delete": "on",
        "expires_at_0": "",
        "expires_at_1": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_key_limits_change_through_the_service(
    admin_client_for, user, staff_user, api_key_for, sent_signals
):
    api_key, _ = api_key_for(user, storage_bytes_limit=GIB, object_limit=10)
    url = reverse("admin:apikeys_apikey_change", args=[api_key.pk])

    response = admin_client_for.post(
        url, _key_form(api_key, storage_bytes_limit=2 * GIB, read_only="on")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    api_key.refresh_from_db()
    assert api_key.storage_bytes_limit == 2 * GIB
    assert not api_key.can_write and not api_key.can_delete
    changed = [kw for name, kw in sent_signals if name == "api_key_limits_changed"]
    assert changed[0]["actor"] == staff_user
    assert changed[0]["before"]["storage_bytes_limit"] == GIB


@pytest.mark.parametrize("value", [-1, 2**63, "99999999999999999999999", "abc"])
def test_key_limits_out_of_range_are_form_errors(
    admin_client_for, user, api_key_for, value
):
    api_key, _ = api_key_for(user, storage_bytes_limit=GIB, object_limit=10)
    url = reverse("admin:apikeys_apikey_change", args=[api_key.pk])

    response = admin_client_for.post(url, _key_form(api_key, storage_bytes_limit=value))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["storage_bytes_limit"]
    api_key.refresh_from_db()
    assert api_key.storage_bytes_limit == GIB


def _tier_form(tier, **changes):
    data = {
        "name": tier.name,
        "description": tier.description,
        "storage_bytes_limit": tier.storage_bytes_limit,
        "object_limit": tier.object_limit,
        "max_file_size_bytes": tier.max_file_size_bytes or "",
        "max_api_keys": tier.max_api_keys or "",
        "price_minor": tier.price_minor,
        "currency": tier.currency,
        "is_public": "on",
        "is_active": "on",
        "sort_order": tier.sort_order,
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "field", ["storage_bytes_limit", "object_limit", "max_file_size_bytes"]
)
@pytest.mark.parametrize("value", [-1, 2**63])
def test_tier_limits_out_of_range_are_form_errors(admin_client_for, field, value):
    pro = Tier.objects.get(name="Pro")
    url = reverse("admin:tiers_tier_change", args=[pro.pk])

    response = admin_client_for.post(url, _tier_form(pro, **{field: value}))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert Tier.objects.get(pk=pro.pk).storage_bytes_limit == 100 * GIB


def test_tier_limits_can_be_edited(admin_client_for):
    pro = Tier.objects.get(name="Pro")
    url = reverse("admin:tiers_tier_change", args=[pro.pk])

    response = admin_client_for.post(
        url, _tier_form(pro, storage_bytes_limit=2**63 - 1, object_limit="")
    )

    assert response.status_code == 302
    pro.refresh_from_db()
    assert pro.storage_bytes_limit == 2**63 - 1
    assert pro.object_limit is None


def test_tier_request_admin_approves_with_a_comment(
    admin_client_for, user, staff_user, django_capture_on_commit_callbacks
):
    pro = Tier.objects.get(name="Pro")
    pending = tier_request_create(user=user, tier=pro)

    page = _action(
        admin_client_for, TIER_REQUESTS_URL, "approve_selected", [pending.pk]
    )
    with django_capture_on_commit_callbacks(execute=True):
        done = _action(
            admin_client_for,
            TIER_REQUESTS_URL,
            "approve_selected",
            [pending.pk],
            confirm="yes",
            comment="Enjoy Pro",
        )
    again = _action(
        admin_client_for,
        TIER_REQUESTS_URL,
        "reject_selected",
        [pending.pk],
        confirm="yes",
        comment="oops",
        follow=True,
    )

    assert page.status_code == 200
    assert 'name="comment"' in page.content.decode()
    assert done.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "APPROVED"
    assert pending.reviewer_comment == "Enjoy Pro"
    user.refresh_from_db()
    assert user.tier == pro
    assert any("already been decided" in m for m in _messages(again))
    assert TierRequest.objects.get(pk=pending.pk).status == "APPROVED"


def test_admin_decisions_are_audited_with_the_operator_as_actor(
    admin_client_for,
    user,
    staff_user,
    new_key_request,
    django_capture_on_commit_callbacks,
):
    from audit.models import AuditLog

    pending = new_key_request(user)

    with django_capture_on_commit_callbacks(execute=True):
        _action(
            admin_client_for,
            REQUESTS_URL,
            "approve_selected",
            [pending.pk],
            confirm="yes",
            comment="audited",
            storage_gb="5.000",
            objects="10000",
            capabilities=["list", "read", "write", "delete"],
        )

    entry = AuditLog.objects.get(action="API_KEY_REQUEST_APPROVED")
    assert entry.actor_id == staff_user.pk
    assert entry.user_id == user.pk
    assert entry.metadata["requestId"] == pending.pk
    created = AuditLog.objects.get(action="API_KEY_CREATED")
    assert created.actor_id == staff_user.pk


def test_a_pending_request_page_has_decision_buttons(
    admin_client_for, user, new_key_request
):
    pending = new_key_request(user)
    change_url = reverse("admin:apikeys_apikeyrequest_change", args=[pending.pk])
    approve_url = reverse(
        "admin:apikeys_apikeyrequest_decide", args=[pending.pk, "approve"]
    )

    page = admin_client_for.get(change_url)
    decide_page = admin_client_for.get(approve_url)
    done = admin_client_for.post(
        approve_url,
        {
            "confirm": "yes",
            "comment": "From the request page",
            "storage_gb": "2",
            "objects": "10000",
            "capabilities": ["list", "read", "write", "delete"],
        },
    )
    after = admin_client_for.get(change_url)

    assert approve_url in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert decide_page.status_code == 200
    assert 'name="comment"' in decide_page.content.decode()
    assert done.status_code == 302
    assert done["Location"] == REQUESTS_URL
    pending.refresh_from_db()
    assert pending.status == "APPROVED"
    assert pending.reviewer_comment == "From the request page"
    assert ApiKey.objects.get(owner=user).storage_bytes_limit == 2 * GIB
    assert approve_url not in after.content.decode()


@pytest.mark.parametrize(
    ("object_id", "verdict"), [("999999", "approve"), ("abc", "reject"), ("1", "x")]
)
def test_the_decision_page_404s_on_bad_ids(admin_client_for, object_id, verdict):
    url = f"{REQUESTS_URL}{object_id}/decide/{verdict}/"

    response = admin_client_for.get(url)

    assert response.status_code == 404


def test_a_quota_increase_is_approved_with_fewer_objects(
    admin_client_for, user, api_key_for
):
    from apikeys.request_services import api_key_request_create_quota_increase

    api_key, _ = api_key_for(user, storage_bytes_limit=GIB, object_limit=10)
    pending = api_key_request_create_quota_increase(
        user=user, api_key=api_key, storage_bytes=2 * GIB, objects=100
    )

    page = _action(admin_client_for, REQUESTS_URL, "approve_selected", [pending.pk])
    done = _action(
        admin_client_for,
        REQUESTS_URL,
        "approve_selected",
        [pending.pk],
        confirm="yes",
        storage_gb="2.000",
        objects="40",
    )

    html = page.content.decode()
    assert 'name="objects"' in html
    assert 'name="capabilities"' not in html
    assert done.status_code == 302
    api_key.refresh_from_db()
    assert api_key.storage_bytes_limit == 2 * GIB
    assert api_key.object_limit == 40


def test_the_default_tier_cannot_be_deactivated(admin_client_for):
    free = Tier.objects.get(name="Free")
    url = reverse("admin:tiers_tier_change", args=[free.pk])
    form = _tier_form(free, is_default="on")
    del form["is_active"]

    response = admin_client_for.post(url, form)

    assert response.status_code == 200
    assert "must stay active" in str(response.context["adminform"].form.errors)
    assert Tier.objects.get(pk=free.pk).is_active
