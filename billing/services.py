"""
Billing services: subscriptions, invoices, payments, refunds, webhooks.

Every status change goes through `_move`, which checks the state machine
below and refuses an illegal move with 409 `invalid_state`; rows are locked
with `select_for_update` before they change, so a webhook and a user's
request racing on one payment apply one after the other. Providers report
what happened (`billing.providers`); these functions decide what it means.
Signals (`billing.signals`) are sent after the change commits.

Cancelling: a paid subscription is cancelled at the end of the period it
was paid for (`cancel_at_period_end`; `subscription_sweep` ends it and puts
the user back on the default tier), or at once with `immediately=True`,
which returns the user to the default tier now and refunds nothing.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing import signals
from billing.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    Interval,
    Invoice,
    InvoicePurpose,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Plan,
    Provider,
    Refund,
    RefundStatus,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from billing.providers import get_provider, get_webhook_provider
from billing.providers.base import FAILED, REFUNDED, SUCCEEDED, WebhookResult
from credits.models import EntryKind
from credits.services import (
    InsufficientCredits,
    credits_add,
    credits_balance_get,
    credits_deduct,
)
from pockity.exceptions import Conflict, Forbidden, InvalidInput, NotFound

logger = logging.getLogger(__name__)

S = SubscriptionStatus
I = InvoiceStatus  # noqa: E741
P = PaymentStatus

SUBSCRIPTION_MOVES = {
    S.INCOMPLETE: {S.ACTIVE, S.TRIALING, S.CANCELED},
    S.TRIALING: {S.ACTIVE, S.PAST_DUE, S.CANCELED},
    S.ACTIVE: {S.ACTIVE, S.PAST_DUE, S.CANCELED},
    S.PAST_DUE: {S.ACTIVE, S.CANCELED},
    S.CANCELED: set(),
}
INVOICE_MOVES = {
    I.DRAFT: {I.OPEN, I.VOID},
    I.OPEN: {I.PAID, I.VOID, I.UNCOLLECTIBLE},
    I.UNCOLLECTIBLE: {I.PAID, I.VOID},
    I.PAID: set(),
    I.VOID: set(),
}
PAYMENT_MOVES = {
    P.PENDING: {P.SUCCEEDED, P.FAILED},
    P.SUCCEEDED: {P.PARTIALLY_REFUNDED, P.REFUNDED},
    P.PARTIALLY_REFUNDED: {P.PARTIALLY_REFUNDED, P.REFUNDED},
    # A failed attempt is not always the end: Stripe lets the payer retry the
    # same PaymentIntent, and a superseded attempt may still be completed.
    # Only the provider's word (a webhook) can make that move.
    P.FAILED: {P.SUCCEEDED},
    P.REFUNDED: set(),
}
_MOVES = {
    Subscription: SUBSCRIPTION_MOVES,
    Invoice: INVOICE_MOVES,
    Payment: PAYMENT_MOVES,
}

# Largest amount accepted anywhere, in minor units: far above any real
# invoice and well inside a signed 64-bit column.
MAX_AMOUNT_MINOR = 10**15


class InvalidState(Conflict):
    code = "invalid_state"
    default_message = "This change is not allowed in the current state."


def _move(obj, new_status: str) -> str:
    """Set `obj.status` if the state machine allows it; return the old one."""
    old = obj.status
    if new_status not in _MOVES[type(obj)][old]:
        name = type(obj).__name__.lower()
        raise InvalidState(
            f"A {old.lower()} {name} cannot become {new_status.lower()}.",
            details={"object": name, "id": obj.pk, "from": old, "to": new_status},
        )
    obj.status = new_status
    return old


def _locked(model, pk):
    return model.objects.select_for_update().get(pk=pk)


def _after_commit(signal, **kwargs) -> None:
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs))


def _period_end(start, interval: str):
    # A month is 30 days here: simple, and the same for every customer.
    return start + (
        timedelta(days=365) if interval == Interval.YEAR else timedelta(days=30)
    )


def _default_tier():
    from tiers.models import Tier

    return Tier.default()


def _change_tier(user, tier, *, actor, reason: str) -> None:
    from tiers.services import user_change_tier

    if user is not None and tier is not None:
        user_change_tier(user=user, tier=tier, actor=actor, reason=reason)


def _lock_user(user) -> None:
    # Serialises one user's subscription changes (two tabs, two webhooks).
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _by_id_or_name(queryset, value, *, name_field: str):
    """The row whose numeric id, or else whose `name_field`, is `value`."""
    text = str(value or "").strip()
    found = None
    # Longer digit strings cannot be a bigint id; they may still be a name.
    if text.isdigit() and len(text) <= 18:
        found = queryset.filter(pk=int(text)).first()
    if found is None and text:
        found = queryset.filter(**{name_field: text}).first()
    return found


# --- plans -------------------------------------------------------------------


def plan_list_active():
    return Plan.objects.filter(active=True).select_related("tier")


def plan_resolve(plan_id) -> Plan:
    """An active plan by code ("plan_free") or numeric id; 404 otherwise."""
    plan = _by_id_or_name(plan_list_active(), plan_id, name_field="code")
    if plan is None:
        raise NotFound("Plan not found.", details={"planId": plan_id})
    return plan


# --- subscriptions -------------------------------------------------------------


def subscription_get_live(*, user) -> Subscription | None:
    return (
        Subscription.objects.filter(user=user, status__in=LIVE_SUBSCRIPTION_STATUSES)
        .select_related("plan", "plan__tier")
        .first()
    )


def subscription_get_incomplete(*, user) -> Subscription | None:
    return (
        Subscription.objects.filter(user=user, status=S.INCOMPLETE)
        .select_related("plan", "plan__tier")
        .first()
    )


def _subscription_set_status(sub, new_status, *, actor, **fields) -> None:
    old = _move(sub, new_status)
    for name, value in fields.items():
        setattr(sub, name, value)
    sub.save()
    logger.info(
        "Subscription %s user=%s plan=%s %s -> %s",
        sub.pk,
        sub.user_id,
        sub.plan.code,
        old,
        new_status,
    )
    _after_commit(
        signals.subscription_changed,
        subscription=sub,
        old_status=old,
        new_status=new_status,
        actor=actor,
    )


def _abandon_incomplete(user, *, actor) -> None:
    """Cancel a subscription still waiting for its first payment."""
    pending = Subscription.objects.select_for_update().filter(
        user=user, status=S.INCOMPLETE
    )
    for sub in pending:
        for invoice in Invoice.objects.select_for_update().filter(
            subscription=sub, status__in=[I.DRAFT, I.OPEN]
        ):
            _invoice_void(invoice, actor=actor)
        _subscription_set_status(
            sub, S.CANCELED, actor=actor, canceled_at=timezone.now()
        )


def subscription_create(
    *, user, plan: Plan, provider: str | None, actor, options: dict | None = None
) -> dict:
    """Subscribe `user` to `plan`; return the subscription and what to pay.

    Free plan: ACTIVE at once and the user's tier changes. Paid plan: an
    INCOMPLETE subscription, an OPEN invoice and a payment started with the
    provider (which may call its API); the tier changes when the invoice is
    paid. A previous INCOMPLETE subscription is cancelled and its invoice
    voided. Sends `subscription_changed`, `invoice_created`.
    """
    options = dict(options or {}, actor=actor)
    if not plan.is_free:
        # Refuse an unusable provider before anything is written.
        get_provider(provider)

    with transaction.atomic():
        _lock_user(user)
        live = subscription_get_live(user=user)
        if live and live.plan_id == plan.pk:
            raise Conflict(
                f"You are already subscribed to {plan.name}.",
                code="already_subscribed",
                details={"subscriptionId": live.pk},
            )
        if plan.is_free and live and not live.plan.is_free:
            raise InvalidState(
                "You have a paid subscription: cancel it (at period end, or "
                "with 'immediately': true) to move to a free plan.",
                details={"subscriptionId": live.pk},
            )
        _abandon_incomplete(user, actor=actor)

        now = timezone.now()
        if plan.is_free:
            if live:
                _subscription_set_status(live, S.CANCELED, actor=actor, canceled_at=now)
            sub = Subscription.objects.create(
                user=user,
                user_email=user.email,
                plan=plan,
                status=S.ACTIVE,
                provider=Provider.FREE,
                current_period_start=now,
            )
            _after_commit(
                signals.subscription_changed,
                subscription=sub,
                old_status=None,
                new_status=sub.status,
                actor=actor,
            )
            _change_tier(user, plan.tier, actor=actor, reason=f"plan {plan.code}")
            logger.info("Subscribed user=%s plan=%s (free)", user.pk, plan.code)
            return {"subscription": sub, "invoice": None, "payment": None}

        sub = Subscription.objects.create(
            user=user,
            user_email=user.email,
            plan=plan,
            status=S.INCOMPLETE,
            provider=provider,
        )
        _after_commit(
            signals.subscription_changed,
            subscription=sub,
            old_status=None,
            new_status=sub.status,
            actor=actor,
        )
        invoice = invoice_create(
            user=user,
            purpose=InvoicePurpose.SUBSCRIPTION,
            amount_minor=plan.price_minor,
            currency=plan.currency,
            description=f"{plan.name}, first {plan.interval}",
            subscription=sub,
            actor=actor,
        )
        payment, intent = payment_intent_create(
            user=user, invoice=invoice, provider=provider, actor=actor, options=options
        )
        sub.refresh_from_db()
        logger.info("Subscription started user=%s plan=%s", user.pk, plan.code)
        return {
            "subscription": sub,
            "invoice": invoice,
            "payment": payment,
            "intent": intent,
        }


def subscription_cancel(*, user, actor, immediately: bool = False) -> Subscription:
    """Cancel the user's subscription (or the one awaiting payment).

    Paid and live: at period end unless `immediately`; immediately means
    CANCELED now and the default tier now (nothing refunded). Free, or still
    INCOMPLETE: cancelled at once. 404 when there is nothing to cancel, 409
    when it is already set to end. Sends `subscription_changed`.
    """
    with transaction.atomic():
        _lock_user(user)
        sub = subscription_get_live(user=user) or subscription_get_incomplete(user=user)
        if sub is None:
            raise NotFound("You have no subscription to cancel.")
        sub = _locked(Subscription, sub.pk)
        now = timezone.now()

        if sub.status == S.INCOMPLETE:
            _abandon_incomplete(user, actor=actor)
            sub.refresh_from_db()
            return sub

        if immediately or sub.plan.is_free or sub.current_period_end is None:
            _subscription_set_status(
                sub,
                S.CANCELED,
                actor=actor,
                canceled_at=now,
                cancel_at_period_end=False,
            )
            _change_tier(user, _default_tier(), actor=actor, reason="cancelled")
            return sub

        if sub.cancel_at_period_end:
            raise InvalidState(
                "This subscription is already set to end with its period.",
                details={"currentPeriodEnd": sub.current_period_end.isoformat()},
            )
        sub.cancel_at_period_end = True
        sub.canceled_at = now
        sub.save(update_fields=["cancel_at_period_end", "canceled_at", "updated_at"])
        logger.info("Subscription %s set to end at period end", sub.pk)
        _after_commit(
            signals.subscription_changed,
            subscription=sub,
            old_status=sub.status,
            new_status=sub.status,
            actor=actor,
            cancel_at_period_end=True,
        )
        return sub


def _activate_or_renew(sub: Subscription, *, actor) -> None:
    """Apply a paid subscription invoice to its subscription."""
    sub = _locked(Subscription, sub.pk)
    now = timezone.now()
    if sub.status == S.INCOMPLETE:
        for old in Subscription.objects.select_for_update().filter(
            user_id=sub.user_id, status__in=LIVE_SUBSCRIPTION_STATUSES
        ):
            _subscription_set_status(old, S.CANCELED, actor=actor, canceled_at=now)
        _subscription_set_status(
            sub,
            S.ACTIVE,
            actor=actor,
            current_period_start=now,
            current_period_end=_period_end(now, sub.plan.interval),
        )
        _change_tier(
            sub.user, sub.plan.tier, actor=actor, reason=f"plan {sub.plan.code}"
        )
    elif sub.status in LIVE_SUBSCRIPTION_STATUSES:
        start = max(sub.current_period_end or now, now)
        _subscription_set_status(
            sub,
            S.ACTIVE,
            actor=actor,
            current_period_start=start,
            current_period_end=_period_end(start, sub.plan.interval),
        )
    else:
        logger.warning(
            "Invoice paid for cancelled subscription %s; consider a refund", sub.pk
        )


def _renew_from_credits(sub: Subscription, invoice: Invoice) -> None:
    """Pay a renewal from the balance when there is enough; else it waits."""
    try:
        payment_intent_create(
            user=sub.user, invoice=invoice, provider=Provider.CREDITS, actor=None
        )
    except InsufficientCredits:
        logger.info("Subscription %s renewal waits: not enough credits", sub.pk)


def subscription_sweep(*, now=None, dry_run: bool = False) -> dict:
    """End or bill subscriptions whose period is over; return what it did.

    - set to cancel at period end: CANCELED, user back on the default tier;
    - otherwise: a renewal invoice (OPEN) and PAST_DUE until it is paid
      (paid at once from credits for subscriptions paid with credits, when
      the balance allows);
    - PAST_DUE beyond BILLING_PAST_DUE_GRACE_DAYS: CANCELED, default tier,
      its open invoices UNCOLLECTIBLE.
    Meant for cron (`manage.py billing_sweep`).
    """
    now = now or timezone.now()
    grace = timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)
    done = {"ended": [], "renewal_invoiced": [], "lapsed": []}
    due = Subscription.objects.filter(
        status__in=[S.ACTIVE, S.TRIALING], current_period_end__lte=now
    ).values_list("pk", flat=True)
    lapsed = Subscription.objects.filter(
        status=S.PAST_DUE, current_period_end__lte=now - grace
    ).values_list("pk", flat=True)

    for pk in list(due):
        with transaction.atomic():
            sub = _locked(Subscription, pk)
            if sub.status not in (S.ACTIVE, S.TRIALING):
                continue
            key = "ended" if sub.cancel_at_period_end else "renewal_invoiced"
            done[key].append(pk)
            if dry_run:
                continue
            if sub.cancel_at_period_end:
                _subscription_set_status(sub, S.CANCELED, actor=None)
                _change_tier(
                    sub.user, _default_tier(), actor=None, reason="period ended"
                )
                continue
            _subscription_set_status(sub, S.PAST_DUE, actor=None)
            if sub.user is not None:
                renewal = invoice_create(
                    user=sub.user,
                    purpose=InvoicePurpose.SUBSCRIPTION,
                    amount_minor=sub.plan.price_minor,
                    currency=sub.plan.currency,
                    description=f"{sub.plan.name}, renewal",
                    subscription=sub,
                    actor=None,
                )
                if sub.provider == Provider.CREDITS:
                    _renew_from_credits(sub, renewal)

    for pk in list(lapsed):
        with transaction.atomic():
            sub = _locked(Subscription, pk)
            if sub.status != S.PAST_DUE:
                continue
            done["lapsed"].append(pk)
            if dry_run:
                continue
            for invoice in Invoice.objects.select_for_update().filter(
                subscription=sub, status=I.OPEN
            ):
                _invoice_set_status(invoice, I.UNCOLLECTIBLE, actor=None)
            _subscription_set_status(sub, S.CANCELED, actor=None, canceled_at=now)
            _change_tier(sub.user, _default_tier(), actor=None, reason="unpaid")
    return done


# --- invoices ------------------------------------------------------------------


def _invoice_number() -> str:
    return f"INV-{timezone.now():%Y%m%d}-{secrets.token_hex(5).upper()}"


def _validate_money(amount_minor, currency: str) -> None:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise InvalidInput("'amount' must be a whole number of minor units.")
    if amount_minor < 0 or amount_minor > MAX_AMOUNT_MINOR:
        raise InvalidInput(f"'amount' must be between 0 and {MAX_AMOUNT_MINOR}.")
    if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise InvalidInput("'currency' must be a three-letter ISO 4217 code.")


def invoice_create(
    *,
    user,
    purpose: str,
    amount_minor: int,
    currency: str,
    description: str = "",
    subscription: Subscription | None = None,
    credits: int | None = None,
    actor,
    status: str = I.OPEN,
) -> Invoice:
    """Create an invoice (OPEN unless told DRAFT). Sends `invoice_created`."""
    _validate_money(amount_minor, currency)
    due = timezone.now() + timedelta(days=settings.INVOICE_DUE_DAYS)
    invoice = Invoice.objects.create(
        user=user,
        user_email=user.email,
        subscription=subscription,
        number=_invoice_number(),
        purpose=purpose,
        description=description[:255],
        amount_minor=amount_minor,
        currency=currency,
        credits=credits,
        status=status,
        due_at=due,
    )
    logger.info(
        "Invoice %s created user=%s amount=%d %s",
        invoice.number,
        user.pk,
        amount_minor,
        currency,
    )
    _after_commit(signals.invoice_created, invoice=invoice, actor=actor)
    return invoice


def invoice_create_credit_topup(*, user, credits: int, actor) -> Invoice:
    """An OPEN invoice for `credits` credits; paying it grants them."""
    price = settings.CREDIT_PRICE_MINOR * credits
    if price > MAX_AMOUNT_MINOR:
        raise InvalidInput("That many credits cannot be bought in one invoice.")
    return invoice_create(
        user=user,
        purpose=InvoicePurpose.CREDITS,
        amount_minor=price,
        currency=settings.CREDITS_CURRENCY,
        description=f"{credits} credits",
        credits=credits,
        actor=actor,
    )


def _invoice_set_status(invoice: Invoice, new_status: str, *, actor, **fields):
    old = _move(invoice, new_status)
    for name, value in fields.items():
        setattr(invoice, name, value)
    invoice.save()
    logger.info("Invoice %s %s -> %s", invoice.number, old, new_status)
    _after_commit(
        signals.invoice_changed,
        invoice=invoice,
        old_status=old,
        new_status=new_status,
        actor=actor,
    )


def _invoice_void(invoice: Invoice, *, actor) -> None:
    _invoice_set_status(invoice, I.VOID, actor=actor, voided_at=timezone.now())
    for payment in Payment.objects.select_for_update().filter(
        invoice=invoice, status=P.PENDING
    ):
        _payment_fail(payment, reason="invoice voided", actor=actor)


def invoice_void(*, invoice: Invoice, actor) -> Invoice:
    """Void an unpaid invoice; its pending payments fail. 409 if paid."""
    with transaction.atomic():
        invoice = _locked(Invoice, invoice.pk)
        _invoice_void(invoice, actor=actor)
    return invoice


def invoice_mark_uncollectible(*, invoice: Invoice, actor) -> Invoice:
    with transaction.atomic():
        invoice = _locked(Invoice, invoice.pk)
        _invoice_set_status(invoice, I.UNCOLLECTIBLE, actor=actor)
    return invoice


def _invoice_settle(invoice: Invoice, payment: Payment, *, actor) -> None:
    """Mark paid and deliver what was bought (a plan period, credits)."""
    invoice = _locked(Invoice, invoice.pk)
    if invoice.status not in (I.OPEN, I.UNCOLLECTIBLE):
        # Money arrived for an invoice that no longer wants it (voided, or
        # paid twice through two providers). Kept, and left for a refund.
        logger.warning(
            "Payment %s succeeded for %s invoice %s; refund it",
            payment.pk,
            invoice.status,
            invoice.number,
        )
        return
    _invoice_set_status(
        invoice,
        I.PAID,
        actor=actor,
        paid_at=timezone.now(),
        provider=payment.provider,
        provider_ref=payment.provider_ref or "",
    )
    if invoice.purpose == InvoicePurpose.CREDITS and invoice.credits:
        credits_add(
            user=invoice.user,
            amount=invoice.credits,
            actor=actor,
            kind=EntryKind.TOPUP,
            reason=f"Top-up, invoice {invoice.number}",
            reference=f"invoice:{invoice.number}",
            idempotency_key=f"invoice:{invoice.number}",
        )
    elif invoice.purpose == InvoicePurpose.SUBSCRIPTION and invoice.subscription_id:
        _activate_or_renew(invoice.subscription, actor=actor)


def invoice_get_for_user(*, user, invoice_id) -> Invoice:
    """The user's invoice by id or number; 404 for anyone else's."""
    invoices = Invoice.objects.filter(user=user)
    invoice = _by_id_or_name(invoices, invoice_id, name_field="number")
    if invoice is None:
        raise NotFound("Invoice not found.")
    return invoice


# --- payments ------------------------------------------------------------------


def payment_intent_create(
    *,
    user,
    invoice: Invoice,
    provider: str | None,
    actor,
    idempotency_key: str | None = None,
    options: dict | None = None,
):
    """Start paying `invoice`; return (payment, intent result).

    The same idempotency key returns the first payment. Free and credits
    settle at once (the invoice is paid before this returns); Stripe and
    Razorpay call their APIs; crypto fills in the address and amount. Sends
    `payment_created`, and `payment_succeeded` when it settles.
    """
    options = dict(options or {}, actor=actor)
    if idempotency_key:
        earlier = Payment.objects.filter(
            user=user, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            if earlier.invoice_id != invoice.pk:
                raise Conflict(
                    "This idempotency key was used for another invoice.",
                    code="idempotency_conflict",
                )
            return earlier, None
    chosen = get_provider(provider)

    try:
        with transaction.atomic():
            invoice = _locked(Invoice, invoice.pk)
            if invoice.status != I.OPEN:
                raise InvalidState(
                    f"A {invoice.status.lower()} invoice cannot be paid.",
                    details={"invoice": invoice.number, "status": invoice.status},
                )
            # One attempt at a time: an earlier pending one is abandoned.
            # TODO: its Stripe intent or Razorpay order is not cancelled at
            # the provider; if the payer completes it anyway, the webhook
            # records the money and `_invoice_settle` logs it for a refund.
            for earlier in Payment.objects.select_for_update().filter(
                invoice=invoice, status=P.PENDING
            ):
                _payment_fail(earlier, reason="superseded", actor=actor)

            payment = Payment.objects.create(
                invoice=invoice,
                user=user,
                user_email=user.email,
                provider=chosen.name,
                amount_minor=invoice.amount_minor,
                currency=invoice.currency,
                idempotency_key=idempotency_key or None,
            )
            _after_commit(signals.payment_created, payment=payment, actor=actor)
            intent = chosen.create_intent(
                payment=payment, invoice=invoice, options=options
            )
            payment.provider_ref = intent.provider_ref
            payment.provider_charge_ref = intent.charge_ref
            payment.save(update_fields=["provider_ref", "provider_charge_ref"])
            if intent.invoice_updates:
                for name, value in intent.invoice_updates.items():
                    setattr(invoice, name, value)
                invoice.save(update_fields=[*intent.invoice_updates, "updated_at"])
            if intent.status == SUCCEEDED:
                _payment_succeed(payment, charge_ref=intent.charge_ref, actor=actor)
    except IntegrityError:
        if idempotency_key:
            earlier = Payment.objects.filter(
                user=user, idempotency_key=idempotency_key
            ).first()
            if earlier is not None:
                return earlier, None
        raise
    logger.info(
        "Payment %s started invoice=%s provider=%s",
        payment.pk,
        invoice.number,
        chosen.name,
    )
    return payment, intent


def _payment_succeed(payment: Payment, *, charge_ref: str = "", actor) -> None:
    _move(payment, P.SUCCEEDED)
    payment.succeeded_at = timezone.now()
    if charge_ref:
        payment.provider_charge_ref = charge_ref[:255]
    payment.save()
    logger.info("Payment %s succeeded provider=%s", payment.pk, payment.provider)
    _after_commit(signals.payment_succeeded, payment=payment, actor=actor)
    _invoice_settle(payment.invoice, payment, actor=actor)


def _payment_fail(payment: Payment, *, reason: str, actor) -> None:
    _move(payment, P.FAILED)
    payment.failure_reason = reason[:255]
    payment.save()
    logger.info("Payment %s failed reason=%s", payment.pk, reason)
    _after_commit(signals.payment_failed, payment=payment, reason=reason, actor=actor)


def payment_get_for_user(*, user, payment_id) -> Payment:
    """The user's payment (any payment for staff); 404 otherwise."""
    payments = Payment.objects.select_related("invoice")
    if not user.is_staff:
        payments = payments.filter(user=user)
    payment = payments.filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("Payment not found.")
    return payment


def payment_process(*, payment: Payment, data: dict, actor) -> Payment:
    """Confirm a pending payment with what the payer (or staff) reports.

    Free and credits: already settled. Razorpay: the checkout signature is
    verified. Stripe: the intent's status is read from Stripe. Crypto: staff
    confirm with the tx hash, a payer's hash is kept as a claim. 409 if the
    payment is not pending.
    """
    provider = get_provider(payment.provider)
    with transaction.atomic():
        payment = _locked(Payment, payment.pk)
        if payment.status != P.PENDING:
            raise InvalidState(
                f"A {payment.status.lower()} payment cannot be processed.",
                details={"payment": payment.pk, "status": payment.status},
            )
        result = provider.confirm(payment=payment, data=data, actor=actor)
        if result.status == SUCCEEDED:
            if payment.provider == Provider.CRYPTO:
                _crypto_record_tx(payment, result.charge_ref)
            _payment_succeed(payment, charge_ref=result.charge_ref, actor=actor)
        elif result.status == FAILED:
            _payment_fail(payment, reason=result.reason, actor=actor)
        elif payment.provider == Provider.CRYPTO and result.charge_ref:
            payment.claimed_tx_hash = result.charge_ref
            payment.save(update_fields=["claimed_tx_hash", "updated_at"])
    return payment


def _crypto_record_tx(payment: Payment, tx_hash: str) -> None:
    invoice = _locked(Invoice, payment.invoice_id)
    clash = (
        Invoice.objects.filter(
            crypto_asset=invoice.crypto_asset, crypto_tx_hash=tx_hash
        )
        .exclude(pk=invoice.pk)
        .first()
    )
    if clash is not None:
        raise Conflict(
            "This transaction already paid another invoice.",
            code="tx_hash_used",
            details={"invoice": clash.number},
        )
    invoice.crypto_tx_hash = tx_hash
    invoice.save(update_fields=["crypto_tx_hash", "updated_at"])
    payment.invoice = invoice


def crypto_payment_confirm(*, payment: Payment, tx_hash: str, actor) -> Payment:
    """Staff confirm a crypto payment by its transaction hash.

    The admin action and `payments/process` both land here. The hash must
    match the asset's format and may pay only one invoice.
    """
    if payment.provider != Provider.CRYPTO:
        raise InvalidInput("Only crypto payments are confirmed by hash.")
    if actor is None or not actor.is_staff:
        raise Forbidden("Only staff can confirm a crypto payment.")
    return payment_process(payment=payment, data={"txHash": tx_hash}, actor=actor)


def payment_history(*, user):
    return Payment.objects.filter(user=user).select_related("invoice")


# --- refunds -------------------------------------------------------------------


def refund_create(
    *, payment: Payment, amount_minor: int | None, reason: str, actor
) -> Refund:
    """Refund up to what is left of a succeeded payment (staff only).

    Calls the provider (Stripe/Razorpay API; credits go back to the ledger;
    crypto and free are recorded as refunded by hand). A refund of a credit
    top-up first takes the bought credits back (409 if they are spent).
    Pending refunds count as refunded, so two refunds can never together
    exceed the payment. Sends `payment_refunded`.
    """
    with transaction.atomic():
        payment = _locked(Payment, payment.pk)
        if payment.status not in (P.SUCCEEDED, P.PARTIALLY_REFUNDED):
            raise InvalidState(
                f"A {payment.status.lower()} payment cannot be refunded.",
                details={"payment": payment.pk, "status": payment.status},
            )
        refundable = payment.refundable_minor
        amount = refundable if amount_minor is None else amount_minor
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidInput("'amount' must be a positive whole number.")
        if amount > refundable:
            raise InvalidInput(
                f"At most {refundable} can still be refunded.",
                code="refund_exceeds_payment",
                details={"refundable": refundable, "amount": amount},
            )
        provider = get_provider(payment.provider)

        invoice = payment.invoice
        if invoice.purpose == InvoicePurpose.CREDITS and invoice.credits:
            _claw_back_credits(payment, invoice, amount, actor=actor)

        refund = Refund.objects.create(
            payment=payment,
            amount_minor=amount,
            currency=payment.currency,
            status=RefundStatus.PENDING,
            reason=reason[:255],
            actor=actor,
            actor_label=getattr(actor, "email", "") or "system",
        )
        result = provider.refund(payment=payment, refund=refund, amount_minor=amount)
        refund.status = result.status
        refund.provider_ref = result.provider_ref
        refund.save(update_fields=["status", "provider_ref"])
        if result.status != RefundStatus.FAILED:
            _payment_apply_refund(payment, amount)
    logger.info(
        "Refund %s of payment %s amount=%d status=%s",
        refund.pk,
        payment.pk,
        amount,
        refund.status,
    )
    _after_commit(signals.payment_refunded, payment=payment, refund=refund, actor=actor)
    return refund


def _claw_back_credits(payment, invoice, amount: int, *, actor) -> None:
    # Proportional, rounded up, so a refund never leaves free credits behind.
    credits = -(-invoice.credits * amount // invoice.amount_minor)
    if payment.user is None or credits <= 0:
        return
    credits_deduct(
        user=payment.user,
        amount=credits,
        actor=actor,
        kind=EntryKind.REFUND,
        reason=f"Refund of invoice {invoice.number}",
        reference=f"invoice:{invoice.number}",
    )


def _payment_apply_refund(payment: Payment, amount: int) -> None:
    payment.refunded_minor += amount
    new_status = (
        P.REFUNDED
        if payment.refunded_minor >= payment.amount_minor
        else P.PARTIALLY_REFUNDED
    )
    _move(payment, new_status)
    payment.save(update_fields=["refunded_minor", "status", "updated_at"])


# --- webhooks ------------------------------------------------------------------


def webhook_receive(
    *, provider: str, body: bytes, headers
) -> tuple[WebhookEvent, bool]:
    """Verify, record and apply one provider event; return (event, duplicate).

    400 on a bad signature (nothing recorded). An event id seen before
    changes nothing. The event row and its effects commit together, so a
    failure leaves the event unrecorded and the provider's retry applies it.
    """
    parsed = get_webhook_provider(provider).parse_webhook(body=body, headers=headers)
    with transaction.atomic():
        event, created = WebhookEvent.objects.get_or_create(
            provider=provider,
            event_id=parsed.event_id,
            defaults={"event_type": parsed.event_type, "payload": parsed.payload},
        )
        if not created:
            logger.info("Webhook %s %s replayed; ignored", provider, parsed.event_id)
            return event, True
        event.outcome = _webhook_apply(provider, parsed)[:255]
        event.save(update_fields=["outcome"])
    logger.info(
        "Webhook %s %s type=%s outcome=%s",
        provider,
        parsed.event_id,
        parsed.event_type,
        event.outcome,
    )
    return event, False


def _webhook_apply(provider: str, parsed: WebhookResult) -> str:
    if parsed.outcome not in (SUCCEEDED, FAILED, REFUNDED):
        return "ignored"
    payments = Payment.objects.select_for_update().filter(provider=provider)
    if parsed.provider_ref:
        payment = payments.filter(provider_ref=parsed.provider_ref).first()
    elif parsed.charge_ref:
        payment = payments.filter(provider_charge_ref=parsed.charge_ref).first()
    else:
        payment = None
    if payment is None:
        return "ignored: unknown payment"

    if parsed.outcome == SUCCEEDED:
        if payment.status not in (P.PENDING, P.FAILED):
            return f"no change: payment already {payment.status.lower()}"
        _payment_succeed(payment, charge_ref=parsed.charge_ref, actor=None)
        return "payment succeeded"
    if parsed.outcome == FAILED:
        if payment.status != P.PENDING:
            return f"no change: payment already {payment.status.lower()}"
        _payment_fail(payment, reason=parsed.reason, actor=None)
        return "payment failed"
    return _webhook_refund(payment, parsed)


def _webhook_refund(payment: Payment, parsed: WebhookResult) -> str:
    """Record a refund made at the provider (its dashboard, or ours settling)."""
    if parsed.refund_ref:
        ours = Refund.objects.filter(payment=payment, provider_ref=parsed.refund_ref)
        if ours.exists():
            ours.filter(status=RefundStatus.PENDING).update(
                status=RefundStatus.SUCCEEDED
            )
            return "refund confirmed"
        amount = parsed.refund_amount
    else:
        recorded = (
            payment.refunds.exclude(status=RefundStatus.FAILED).aggregate(
                total=Sum("amount_minor")
            )["total"]
            or 0
        )
        amount = (parsed.refunded_total or 0) - recorded
    amount = min(amount or 0, payment.refundable_minor)
    if amount <= 0:
        return "no change: refund already recorded"
    refund = Refund.objects.create(
        payment=payment,
        amount_minor=amount,
        currency=payment.currency,
        status=RefundStatus.SUCCEEDED,
        reason="refunded at the provider",
        provider_ref=parsed.refund_ref,
        actor_label=f"{payment.provider} webhook",
    )
    _payment_apply_refund(payment, amount)
    _after_commit(signals.payment_refunded, payment=payment, refund=refund, actor=None)
    return "refund recorded"


# --- payment methods -------------------------------------------------------------


def payment_method_add(*, user, provider: str, actor, is_default=None, **fields):
    """Save a payment method; the first one, or `is_default`, is the default."""
    if provider not in Provider.values:
        raise InvalidInput(
            f"Unknown provider '{provider}'.", details={"available": Provider.values}
        )
    get_provider(provider)
    with transaction.atomic():
        _lock_user(user)
        existing = PaymentMethod.objects.filter(user=user)
        make_default = bool(is_default) or not existing.exists()
        if make_default:
            existing.filter(is_default=True).update(is_default=False)
        method = PaymentMethod.objects.create(
            user=user, provider=provider, is_default=make_default, **fields
        )
    logger.info("Payment method %s added user=%s", method.pk, user.pk)
    return method


def payment_method_list(*, user):
    return PaymentMethod.objects.filter(user=user)


# --- summary -----------------------------------------------------------------------


def billing_summary(*, user) -> dict:
    invoices = Invoice.objects.filter(user=user)
    open_invoices = invoices.filter(status=I.OPEN)
    paid = Payment.objects.filter(
        user=user, status__in=[P.SUCCEEDED, P.PARTIALLY_REFUNDED, P.REFUNDED]
    )
    return {
        "subscription": subscription_get_live(user=user),
        "pendingSubscription": subscription_get_incomplete(user=user),
        "tier": user.tier,
        "openInvoices": open_invoices.count(),
        "amountDue": _totals(open_invoices, "amount_minor"),
        "totalPaid": _totals(paid, "amount_minor"),
        "totalRefunded": _totals(paid, "refunded_minor"),
        "creditBalance": credits_balance_get(user=user),
        "recentInvoices": list(invoices[:5]),
    }


def _totals(queryset, field: str) -> list[dict]:
    rows = queryset.values("currency").annotate(total=Sum(field)).order_by("currency")
    return [{"currency": row["currency"], "amount": row["total"]} for row in rows]
