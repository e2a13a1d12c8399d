"""
Tier services: listing tiers, moving a user between tiers, and the requests
users make to move.

The API, the Django admin and the billing app call these functions; each names
its side effects (signals for the audit log, e-mails sent after commit).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pockity.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from tiers import signals
from tiers.models import RequestStatus, Tier, TierRequest

logger = logging.getLogger(__name__)


MAX_ID = 2**63 - 1


def parse_id(raw) -> int | None:
    """A database id from a URL or body value; None when it cannot be one.

    Non-numeric text and numbers beyond bigint are None, so that callers
    answer 404 instead of failing in the database.
    """
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def tier_list_public():
    """Tiers anyone may see and ask for: active and public, in display order."""
    return Tier.objects.filter(is_active=True, is_public=True).order_by(
        "sort_order", "id"
    )


def tier_list_all():
    """Every tier, private and inactive ones included (staff only)."""
    return Tier.objects.order_by("sort_order", "id")


def user_change_tier(*, user, tier: Tier, actor, reason: str = ""):
    """Put `user` on `tier`; return the user.

    The user namespace's limits follow at once, because storage reads them
    from the user's tier on every check (there is no copy to update), and so
    do the limits of keys that take their tier's defaults; keys with figures
    of their own (an approved request, an operator's edit) keep them. Sends
    `tiers.signals.tier_changed`
    after the change commits, and only when the tier actually changed.
    """
    user_model = type(user)

    with transaction.atomic():
        locked = user_model.objects.select_for_update().get(pk=user.pk)
        old_tier = locked.tier
        if old_tier is not None and old_tier.pk == tier.pk:
            user.tier = tier
            return user

        locked.tier = tier
        locked.save(update_fields=["tier"])
        user.tier = tier

        logger.info(
            "Tier changed user=%s old=%s new=%s actor=%s",
            user.pk,
            old_tier.pk if old_tier else None,
            tier.pk,
            actor.pk if actor else None,
        )
        transaction.on_commit(
            lambda: signals.tier_changed.send(
                sender=Tier,
                user=user,
                old_tier=old_tier,
                new_tier=tier,
                actor=actor,
                reason=reason,
            )
        )
    return user


def require_verified_email(user) -> None:
    """403 `email_not_verified` for an unverified user, if the setting says so.

    Shared by tier and API-key requests.
    """
    if settings.REQUIRE_VERIFIED_EMAIL and not user.is_email_verified:
        raise Forbidden(
            "Verify your e-mail address before making requests.",
            code="email_not_verified",
        )


def tier_resolve_requestable(*, tier_id=None, tier_name: str | None = None) -> Tier:
    """The public, active tier named by id or by name; 404 when there is none.

    A private or inactive tier is reported exactly like a missing one, so
    that the API does not reveal which private tiers exist.
    """
    tiers = tier_list_public()
    if tier_id is not None:
        tier = tiers.filter(pk=tier_id).first()
    elif tier_name:
        tier = tiers.filter(name__iexact=tier_name.strip()).first()
    else:
        raise InvalidInput(
            "Give the tier to move to as 'tierId' or 'tierName'.",
            code="validation_error",
        )
    if tier is None:
        raise NotFound("No such tier is available.", code="tier_not_found")
    return tier


def tier_request_create(*, user, tier: Tier, reason: str = "") -> TierRequest:
    """Record `user`'s request to move to `tier`.

    Refuses (409) a second pending request and a request for the tier the
    user is already on, and (403) unverified users when
    REQUIRE_VERIFIED_EMAIL is on. Sends `tier_request_created` and e-mails
    staff after commit.
    """
    from notifications.emails import send_staff_email

    require_verified_email(user)
    if user.tier_id == tier.pk:
        raise Conflict(
            f"You are already on the {tier.name} tier.",
            code="already_on_tier",
            details={"tierId": tier.pk},
        )

    try:
        with transaction.atomic():
            tier_request = TierRequest.objects.create(
                user=user,
                current_tier_id=user.tier_id,
                requested_tier=tier,
                reason=reason,
            )
    except IntegrityError:
        # The partial unique index on (user) WHERE status = PENDING decides,
        # so two concurrent requests cannot both pass a check made in Python.
        pending = TierRequest.objects.filter(
            user=user, status=RequestStatus.PENDING
        ).first()
        raise Conflict(
            "You already have a pending tier request.",
            code="request_pending",
            details={"requestId": pending.pk if pending else None},
        ) from None

    logger.info(
        "Tier request created request=%s user=%s tier=%s",
        tier_request.pk,
        user.pk,
        tier.pk,
    )

    def after_commit():
        signals.tier_request_created.send(
            sender=TierRequest, tier_request=tier_request, actor=user
        )
        send_staff_email(
            template="tiers/tier_request_created",
            context={"tier_request": tier_request},
        )

    transaction.on_commit(after_commit)
    return tier_request


def tier_request_list_for_user(*, user):
    return TierRequest.objects.filter(user=user).select_related(
        "current_tier", "requested_tier", "reviewer"
    )


def tier_request_get_for_user(*, user, request_id) -> TierRequest:
    tier_request = tier_request_list_for_user(user=user).filter(pk=request_id).first()
    if tier_request is None:
        raise NotFound("No such tier request.", code="not_found")
    return tier_request


def tier_request_decide(
    *, tier_request: TierRequest, approved: bool, reviewer, comment: str = ""
) -> TierRequest:
    """Approve or reject a pending tier request; return it, decided.

    In one transaction: locks the request row, refuses (409
    `already_decided`) one that is no longer pending, records the decision
    and, on approval, moves the user with `user_change_tier`. A tier that was
    made private or inactive since the request still applies: the operator
    approving it is the authority. After commit: `tier_request_decided`
    (actor = reviewer) and an e-mail to the user.
    """
    from notifications.emails import send_templated_email

    with transaction.atomic():
        locked = (
            TierRequest.objects.select_for_update().filter(pk=tier_request.pk).first()
        )
        if locked is None:
            raise NotFound("No such tier request.", code="not_found")
        if locked.status != RequestStatus.PENDING:
            raise Conflict(
                "This request has already been decided.",
                code="already_decided",
                details={"status": locked.status},
            )

        locked.status = RequestStatus.APPROVED if approved else RequestStatus.REJECTED
        locked.reviewer = reviewer
        locked.reviewer_comment = comment or ""
        locked.reviewed_at = timezone.now()
        locked.save(
            update_fields=["status", "reviewer", "reviewer_comment", "reviewed_at"]
        )

        # Select the related rows again: the caller's copy may be stale.
        locked = TierRequest.objects.select_related(
            "user", "current_tier", "requested_tier", "reviewer"
        ).get(pk=locked.pk)
        if approved:
            user_change_tier(
                user=locked.user,
                tier=locked.requested_tier,
                actor=reviewer,
                reason=f"tier request {locked.pk}",
            )

        logger.info(
            "Tier request decided request=%s approved=%s reviewer=%s",
            locked.pk,
            approved,
            reviewer.pk if reviewer else None,
        )

        def after_commit():
            signals.tier_request_decided.send(
                sender=TierRequest,
                tier_request=locked,
                approved=approved,
                actor=reviewer,
            )
            send_templated_email(
                to=[locked.user.email],
                template="tiers/tier_request_decided",
                context={"tier_request": locked, "approved": approved},
            )

        transaction.on_commit(after_commit)

    return locked
