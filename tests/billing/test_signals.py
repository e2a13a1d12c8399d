"""Billing and credit services send their domain signals after commit, with
the actor; the audit log (its receivers) records them."""

from __future__ import annotations

import pytest

from audit.models import AuditLog
from billing import signals as billing_signals
from tests.billing.conftest import ETH_TX

pytestmark = pytest.mark.django_db


def test_credit_changes_are_audited_with_the_actor(
    client_for, user, staff_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(staff_user).post(
            "/api/credits/add", {"userId": user.pk, "amount": 50}, format="json"
        )
        client_for(user).post("/api/credits/deduct", {"amount": 20}, format="json")

    added = AuditLog.objects.get(action="CREDITS_ADDED")
    deducted = AuditLog.objects.get(action="CREDITS_DEDUCTED")
    assert added.actor_id == staff_user.pk
    assert added.user_id == user.pk
    assert deducted.actor_id == user.pk


def test_nothing_is_signalled_when_the_change_rolls_back(
    client_for, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post(
            "/api/billing/subscription",
            {"planId": "plan_pro_monthly", "provider": "credits"},
            format="json",
        )

    assert response.status_code == 409
    assert not AuditLog.objects.filter(
        action__in=["SUBSCRIPTION_CREATED", "INVOICE_CREATED", "PAYMENT_SUCCEEDED"]
    ).exists()


def test_paid_subscription_sends_its_signals(
    client_for, user, staff_user, django_capture_on_commit_callbacks
):
    received = []

    def record(signal_name):
        def receiver(sender, actor=None, **kwargs):
            received.append((signal_name, actor))

        return receiver

    receivers = {
        name: record(name)
        for name in (
            "subscription_changed",
            "invoice_created",
            "invoice_changed",
            "payment_created",
            "payment_succeeded",
        )
    }
    for name, receiver in receivers.items():
        getattr(billing_signals, name).connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            body = (
                client_for(user)
                .post(
                    "/api/billing/subscription",
                    {
                        "planId": "plan_pro_monthly",
                        "provider": "crypto",
                        "asset": "ETH",
                    },
                    format="json",
                )
                .json()
            )
        with django_capture_on_commit_callbacks(execute=True):
            client_for(staff_user).post(
                "/api/payments/process",
                {"paymentId": body["payment"]["id"], "txHash": ETH_TX},
                format="json",
            )
    finally:
        for name, receiver in receivers.items():
            getattr(billing_signals, name).disconnect(receiver)

    names = [name for name, _ in received]
    assert names.count("subscription_changed") == 2  # created, then activated
    assert ("invoice_created", user) in received
    assert ("payment_created", user) in received
    assert ("payment_succeeded", staff_user) in received
    assert ("invoice_changed", staff_user) in received
    assert AuditLog.objects.filter(action="PAYMENT_SUCCEEDED", actor_id=staff_user.pk)
    assert AuditLog.objects.filter(action="TIER_CHANGED", user_id=user.pk)
