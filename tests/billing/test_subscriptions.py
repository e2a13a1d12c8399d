"""Plans and subscriptions: free, paid with credits and crypto, cancel, sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Invoice, Payment, Subscription
from billing.services import subscription_sweep
from credits.models import CreditBalance
from credits.services import credits_add
from tests.billing.conftest import ETH_TX, USDC_ADDRESS, plan
from tiers.models import Tier

pytestmark = pytest.mark.django_db


def test_plans_list_the_seeded_plans(client_for, user):
    response = client_for(user).get("/api/billing/plans")

    assert response.status_code == 200
    codes = [p["code"] for p in response.json()]
    assert codes[0] == "plan_free"
    assert "plan_pro_monthly" in codes
    pro = next(p for p in response.json() if p["code"] == "plan_pro_monthly")
    assert pro["amount"] == 999
    assert pro["currency"] == "USD"
    assert pro["tier"]["name"] == "Pro"


def test_no_subscription_yet(client_for, user):
    response = client_for(user).get("/api/billing/subscription")

    assert response.status_code == 200
    assert response.json() == {"subscription": None, "pendingSubscription": None}


def test_free_plan_as_in_the_seed_readme(client_for, user):
    user.tier = Tier.objects.get(name="Pro")
    user.save()

    response = client_for(user).post(
        "/api/billing/subscription", {"planId": "plan_free"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["subscription"]["status"] == "ACTIVE"
    assert body["subscription"]["plan"]["code"] == "plan_free"
    assert body["invoice"] is None
    user.refresh_from_db()
    assert user.tier.name == "Free"
    again = client_for(user).post(
        "/api/billing/subscription", {"planId": "plan_free"}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_subscribed"


def test_plan_by_numeric_id_and_unknown_plan(client_for, user):
    client = client_for(user)

    by_id = client.post(
        "/api/billing/subscription",
        {"planId": str(plan("plan_free").pk)},
        format="json",
    )
    unknown = client.post(
        "/api/billing/subscription", {"planId": "plan_nope"}, format="json"
    )
    huge = client.post("/api/billing/subscription", {"planId": "9" * 30}, format="json")

    assert by_id.status_code == 201
    assert unknown.status_code == 404
    assert huge.status_code == 404


def test_paid_plan_needs_an_available_provider(client_for, user):
    client = client_for(user)

    missing = client.post(
        "/api/billing/subscription", {"planId": "plan_pro_monthly"}, format="json"
    )
    stripe = client.post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "stripe"},
        format="json",
    )
    free = client.post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "free"},
        format="json",
    )

    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "provider_unavailable"
    assert stripe.status_code == 400
    assert stripe.json()["error"]["code"] == "provider_unavailable"
    assert "credits" in stripe.json()["error"]["details"]["available"]
    assert free.status_code == 400
    assert free.json()["error"]["code"] == "provider_unavailable"
    assert not Subscription.objects.filter(status="ACTIVE").exists()
    assert not Invoice.objects.filter(status="PAID").exists()
    user.refresh_from_db()
    assert user.tier.name == "Free"


def test_paid_plan_with_credits_activates_and_changes_tier(client_for, user):
    credits_add(user=user, amount=1000, actor=None)

    response = client_for(user).post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "credits"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["subscription"]["status"] == "ACTIVE"
    assert body["invoice"]["status"] == "PAID"
    assert body["invoice"]["amount"] == 999
    assert body["payment"]["status"] == "SUCCEEDED"
    user.refresh_from_db()
    assert user.tier.name == "Pro"
    assert CreditBalance.objects.get(user=user).balance == 1
    sub = Subscription.objects.get(pk=body["subscription"]["id"])
    assert sub.current_period_end - sub.current_period_start == timedelta(days=30)


def test_paid_plan_with_too_few_credits_changes_nothing(client_for, user):
    credits_add(user=user, amount=10, actor=None)

    response = client_for(user).post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "credits"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert not Subscription.objects.exists()
    assert not Invoice.objects.exists()
    assert CreditBalance.objects.get(user=user).balance == 10
    user.refresh_from_db()
    assert user.tier.name == "Free"


def test_crypto_subscription_waits_for_staff_confirmation(client_for, user, staff_user):
    response = client_for(user).post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "crypto", "asset": "USDC"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["subscription"]["status"] == "INCOMPLETE"
    assert body["invoice"]["status"] == "OPEN"
    assert body["instructions"]["address"] == USDC_ADDRESS
    assert body["instructions"]["amount"] == "9.990000"
    assert body["invoice"]["crypto"]["asset"] == "USDC"
    assert body["invoice"]["crypto"]["expectedAmount"] == "9.99"
    payment_id = body["payment"]["id"]
    user.refresh_from_db()
    assert user.tier.name == "Free"

    claim = client_for(user).post(
        "/api/payments/process",
        {"paymentId": payment_id, "txHash": ETH_TX.upper().replace("0X", "0x")},
        format="json",
    )
    assert claim.status_code == 200
    assert claim.json()["status"] == "PENDING"
    assert claim.json()["claimedTxHash"] == ETH_TX

    confirm = client_for(staff_user).post(
        "/api/payments/process",
        {"paymentId": payment_id, "txHash": ETH_TX},
        format="json",
    )
    assert confirm.status_code == 200
    assert confirm.json()["status"] == "SUCCEEDED"
    invoice = Invoice.objects.get(pk=body["invoice"]["id"])
    assert invoice.status == "PAID"
    assert invoice.crypto_tx_hash == ETH_TX
    user.refresh_from_db()
    assert user.tier.name == "Pro"
    assert client_for(user).get("/api/billing/subscription").json()["subscription"][
        "status"
    ] == ("ACTIVE")


def test_crypto_unknown_asset_is_unavailable(client_for, user, settings):
    settings.CRYPTO_BTC_USD_RATE = ""

    response = client_for(user).post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "crypto", "asset": "BTC"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "provider_unavailable"
    assert not Subscription.objects.exists()


def test_subscribing_again_replaces_the_unpaid_attempt(client_for, user):
    client = client_for(user)
    first = client.post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "crypto", "asset": "USDC"},
        format="json",
    ).json()

    second = client.post(
        "/api/billing/subscription",
        {"planId": "plan_business_monthly", "provider": "crypto", "asset": "ETH"},
        format="json",
    )

    assert second.status_code == 201
    assert Subscription.objects.get(pk=first["subscription"]["id"]).status == (
        "CANCELED"
    )
    assert Invoice.objects.get(pk=first["invoice"]["id"]).status == "VOID"
    assert Payment.objects.get(pk=first["payment"]["id"]).status == "FAILED"
    # 49.99 USD at 2500 USD/ETH, rounded up to 8 places.
    assert second.json()["instructions"]["amount"] == "0.01999600"


def _subscribe_pro_with_credits(client):
    return client.post(
        "/api/billing/subscription",
        {"planId": "plan_pro_monthly", "provider": "credits"},
        format="json",
    ).json()


def test_cancel_at_period_end_then_sweep_returns_to_free(client_for, user):
    credits_add(user=user, amount=999, actor=None)
    client = client_for(user)
    sub_id = _subscribe_pro_with_credits(client)["subscription"]["id"]

    cancel = client.post("/api/billing/subscription/cancel", {}, format="json")
    twice = client.post("/api/billing/subscription/cancel", {}, format="json")

    assert cancel.status_code == 200
    assert cancel.json()["status"] == "ACTIVE"
    assert cancel.json()["cancelAtPeriodEnd"] is True
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "invalid_state"
    user.refresh_from_db()
    assert user.tier.name == "Pro"

    result = subscription_sweep(now=timezone.now() + timedelta(days=31))

    assert result["ended"] == [sub_id]
    assert Subscription.objects.get(pk=sub_id).status == "CANCELED"
    user.refresh_from_db()
    assert user.tier.name == "Free"


def test_cancel_immediately(client_for, user):
    credits_add(user=user, amount=999, actor=None)
    client = client_for(user)
    _subscribe_pro_with_credits(client)

    response = client.post(
        "/api/billing/subscription/cancel", {"immediately": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "CANCELED"
    user.refresh_from_db()
    assert user.tier.name == "Free"
    assert client.get("/api/billing/subscription").json()["subscription"] is None


def test_cancel_without_subscription_is_404(client_for, user):
    response = client_for(user).post("/api/billing/subscription/cancel")

    assert response.status_code == 404


def test_free_plan_refused_while_paid_is_live(client_for, user):
    credits_add(user=user, amount=999, actor=None)
    client = client_for(user)
    _subscribe_pro_with_credits(client)

    response = client.post(
        "/api/billing/subscription", {"planId": "plan_free"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


def test_upgrade_cancels_the_old_subscription_when_paid(client_for, user):
    credits_add(user=user, amount=999 + 4999, actor=None)
    client = client_for(user)
    old = _subscribe_pro_with_credits(client)["subscription"]["id"]

    response = client.post(
        "/api/billing/subscription",
        {"planId": "plan_business_monthly", "provider": "credits"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["subscription"]["status"] == "ACTIVE"
    assert Subscription.objects.get(pk=old).status == "CANCELED"
    user.refresh_from_db()
    assert user.tier.name == "Business"


def test_sweep_renews_from_credits_when_the_balance_allows(client_for, user):
    credits_add(user=user, amount=999 * 2 + 5, actor=None)
    sub_id = _subscribe_pro_with_credits(client_for(user))["subscription"]["id"]
    first_end = Subscription.objects.get(pk=sub_id).current_period_end

    result = subscription_sweep(now=timezone.now() + timedelta(days=31))

    assert result["renewal_invoiced"] == [sub_id]
    sub = Subscription.objects.get(pk=sub_id)
    assert sub.status == "ACTIVE"
    assert sub.current_period_end == first_end + timedelta(days=30)
    assert CreditBalance.objects.get(user=user).balance == 5
    assert Invoice.objects.filter(subscription=sub, status="PAID").count() == 2


def test_sweep_bills_renewal_and_payment_extends_the_period(client_for, user):
    credits_add(user=user, amount=999 + 5, actor=None)
    client = client_for(user)
    sub_id = _subscribe_pro_with_credits(client)["subscription"]["id"]
    first_end = Subscription.objects.get(pk=sub_id).current_period_end

    result = subscription_sweep(now=timezone.now() + timedelta(days=31))

    assert result["renewal_invoiced"] == [sub_id]
    sub = Subscription.objects.get(pk=sub_id)
    assert sub.status == "PAST_DUE"
    assert CreditBalance.objects.get(user=user).balance == 5
    credits_add(user=user, amount=999, actor=None)
    renewal = Invoice.objects.get(subscription=sub, status="OPEN")
    pay = client.post(
        "/api/payments/intents",
        {"invoiceId": renewal.number, "provider": "credits"},
        format="json",
    )
    assert pay.status_code == 201
    sub.refresh_from_db()
    assert sub.status == "ACTIVE"
    assert sub.current_period_start == first_end
    assert sub.current_period_end == first_end + timedelta(days=30)


def test_sweep_lapses_unpaid_subscription(client_for, user):
    credits_add(user=user, amount=999, actor=None)
    sub_id = _subscribe_pro_with_credits(client_for(user))["subscription"]["id"]
    later = timezone.now() + timedelta(days=31)
    subscription_sweep(now=later)

    dry = subscription_sweep(now=later + timedelta(days=8), dry_run=True)
    assert Subscription.objects.get(pk=sub_id).status == "PAST_DUE"
    result = subscription_sweep(now=later + timedelta(days=8))

    assert dry["lapsed"] == [sub_id]
    assert result["lapsed"] == [sub_id]
    assert Subscription.objects.get(pk=sub_id).status == "CANCELED"
    assert Invoice.objects.filter(subscription_id=sub_id, status="UNCOLLECTIBLE")
    user.refresh_from_db()
    assert user.tier.name == "Free"


def test_other_tenant_sees_no_subscription(client_for, user, other_user):
    credits_add(user=user, amount=999, actor=None)
    _subscribe_pro_with_credits(client_for(user))
    other = client_for(other_user)

    current = other.get("/api/billing/subscription")
    cancel = other.post("/api/billing/subscription/cancel")

    assert current.json()["subscription"] is None
    assert cancel.status_code == 404
    user.refresh_from_db()
    assert user.tier.name == "Pro"


def test_anonymous_is_refused(anon_client):
    assert anon_client.get("/api/billing/subscription").status_code == 401
    assert anon_client.get("/api/billing/summary").status_code == 401


def test_billing_sweep_command_dry_run_changes_nothing(client_for, user):
    from io import StringIO

    from django.core.management import call_command

    credits_add(user=user, amount=999, actor=None)
    sub_id = _subscribe_pro_with_credits(client_for(user))["subscription"]["id"]
    Subscription.objects.filter(pk=sub_id).update(
        current_period_end=timezone.now() - timedelta(days=1)
    )
    out = StringIO()

    call_command("billing_sweep", "--dry-run", stdout=out)
    assert Subscription.objects.get(pk=sub_id).status == "ACTIVE"
    call_command("billing_sweep", stdout=out)

    assert "Would have: ended 0, invoiced renewal for 1" in out.getvalue()
    assert Subscription.objects.get(pk=sub_id).status == "PAST_DUE"
