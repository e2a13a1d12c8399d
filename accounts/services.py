"""
Account services: registration, sign-in and tokens, profile, password,
e-mail verification, account deletion.

The API, the Django admin and management commands call these functions. Each
docstring names its side effects (signals for the audit log, e-mail, S3).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.contrib.auth import authenticate, password_validation, user_logged_in
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)
from rest_framework_simplejwt.tokens import UntypedToken

from accounts import signals
from accounts.authentication import (
    InvalidToken,
    parse_refresh_token,
    tokens_for_user,
    user_for_token,
)
from accounts.models import EmailVerification, User
from pockity.exceptions import Conflict, PockityError

logger = logging.getLogger(__name__)

EMAIL_CODE_LIFETIME = timedelta(minutes=15)
EMAIL_CODE_MAX_ATTEMPTS = 5
EMAIL_CODE_RESEND_INTERVAL = timedelta(seconds=60)

_UNSET = object()


class InvalidCredentials(PockityError):
    status_code = 401
    code = "invalid_credentials"
    default_message = "The e-mail address or password is incorrect."


class WrongPassword(PockityError):
    status_code = 400
    code = "wrong_password"
    default_message = "The current password is incorrect."


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this e-mail address already exists."


def _validate_new_password(password: str, user: User) -> None:
    """Django's password validators, reported as a 400 listing every reason."""
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from None


def _email_in_use(email: str, *, exclude_pk=None) -> bool:
    taken = User.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    return taken.exists()


# --- Registration and sign-in ---------------------------------------------


def user_register(*, email: str, password: str, name: str = "") -> User:
    """Create a user on the default tier.

    The e-mail address is stored lower-cased and must be unused (409
    `email_taken`); the password must pass AUTH_PASSWORD_VALIDATORS (400).
    Sends `user_registered`.
    """
    email = User.objects.normalize_email(email)
    candidate = User(email=email, name=name)
    _validate_new_password(password, candidate)
    if _email_in_use(email):
        raise EmailTaken()

    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, name=name)
    except IntegrityError:
        # Two registrations for one address raced past the check above.
        raise EmailTaken() from None

    logger.info("User registered user=%s", user.pk)
    signals.user_registered.send(sender=User, user=user, actor=user)
    return user


def user_login(*, request, email: str, password: str) -> User:
    """Check e-mail and password; return the user.

    Django's `authenticate` sends `user_login_failed` on failure (with the
    request); success sends `user_logged_in`, which also stamps last_login.
    Unknown address, wrong password and inactive account give one 401.
    """
    user = authenticate(
        request, email=User.objects.normalize_email(email), password=password
    )
    if user is None:
        raise InvalidCredentials()

    user_logged_in.send(sender=User, request=request, user=user)
    return user


# --- Tokens ----------------------------------------------------------------


def _blacklist(outstanding: OutstandingToken) -> bool:
    """Blacklist one refresh token; False when it already was."""
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        return False
    return True


def _outstanding_for(token) -> OutstandingToken:
    jti = token[jwt_settings.JTI_CLAIM]
    outstanding = OutstandingToken.objects.filter(jti=jti).first()
    if outstanding is None:
        # Issued by this server (the signature held) but not recorded, e.g.
        # before the blacklist app was installed: record it now.
        outstanding = token.outstand()[0]
    return outstanding


def token_refresh(*, refresh: str) -> tuple[User, dict[str, str]]:
    """Exchange a refresh token for a new access/refresh pair (rotation).

    The presented token is blacklisted in the same step; of two concurrent
    refreshes with one token only the first wins (the blacklist row is
    unique), the other gets 401. Expired, tampered, blacklisted tokens and
    tokens of deleted, inactive or signed-out-everywhere users are all 401.
    """
    token = parse_refresh_token(refresh)
    user = user_for_token(token)

    if not _blacklist(_outstanding_for(token)):
        logger.warning("Refresh token reused user=%s", user.pk)
        raise InvalidToken()
    return user, tokens_for_user(user)


def token_verify(*, token: str) -> dict:
    """Whether an access or refresh token is still good, with its type.

    Refresh tokens are checked against the blacklist; both kinds against the
    user's state and token version. Anything else is a 401.
    """
    try:
        decoded = UntypedToken(token)
    except TokenError as exc:
        raise InvalidToken() from exc

    token_type = decoded.get(jwt_settings.TOKEN_TYPE_CLAIM)
    if token_type == "refresh":
        decoded = parse_refresh_token(token)
    elif token_type != "access":
        raise InvalidToken()
    user = user_for_token(decoded)
    return {"valid": True, "tokenType": token_type, "userId": user.pk}


def user_logout(*, refresh: str, user: User | None = None) -> User:
    """Blacklist one refresh token (this session).

    Access tokens are not tracked and stay valid until they expire
    (JWT_ACCESS_MINUTES); "sign out everywhere" is a password change.
    `user`, when given, must own the token. Sends `user_logged_out`.
    """
    token = parse_refresh_token(refresh)
    owner = user_for_token(token)
    if user is not None and user.pk != owner.pk:
        raise InvalidToken()

    if not _blacklist(_outstanding_for(token)):
        raise InvalidToken()
    logger.info("User logged out user=%s", owner.pk)
    signals.user_logged_out.send(sender=User, user=owner, actor=owner)
    return owner


def user_tokens_revoke_all(*, user: User) -> None:
    """End every token the user holds: bump the version, blacklist refreshes.

    The version bump alone already refuses old access and refresh tokens;
    blacklisting the recorded refresh tokens keeps them dead even in the
    unlikely case the version were ever reset.
    """
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])

    pending = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in pending], ignore_conflicts=True
    )


# --- Profile and password --------------------------------------------------


def user_profile_update(
    *, user: User, name=_UNSET, email=_UNSET, current_password: str | None = None
) -> User:
    """Change the name and/or the e-mail address.

    A new e-mail address must be unused (409 `email_taken`) and is
    unverified until a new code is confirmed. The signed-in session is
    enough, as in the original API; a `currentPassword` that is sent must be
    right (400 `wrong_password`). The old address gets a notice of the change
    after commit, so a stolen session cannot move an account silently. Sends
    `profile_updated` with the changed fields.
    """
    changes: dict[str, list] = {}
    if name is not _UNSET and name != user.name:
        changes["name"] = [user.name, name]

    if email is not _UNSET:
        email = User.objects.normalize_email(email)
        if email != user.email:
            if current_password is not None and not user.check_password(
                current_password
            ):
                raise WrongPassword()
            if _email_in_use(email, exclude_pk=user.pk):
                raise EmailTaken()
            changes["email"] = [user.email, email]

    if not changes:
        return user

    if "name" in changes:
        user.name = name
    fields = ["name"]
    if "email" in changes:
        user.email = email
        user.email_verified_at = None
        fields += ["email", "email_verified_at"]
    try:
        with transaction.atomic():
            user.save(update_fields=fields)
    except IntegrityError:
        raise EmailTaken() from None

    if "email" in changes:
        _email_change_notify(user=user, old_email=changes["email"][0])
    logger.info("Profile updated user=%s fields=%s", user.pk, sorted(changes))
    signals.profile_updated.send(sender=User, user=user, changes=changes, actor=user)
    return user


def _email_change_notify(*, user: User, old_email: str) -> None:
    from notifications.emails import send_templated_email

    transaction.on_commit(
        lambda: send_templated_email(
            to=[old_email],
            template="accounts/email_changed",
            context={"user": user, "old_email": old_email},
        )
    )


def user_password_change(
    *, user: User, current_password: str, new_password: str
) -> dict[str, str]:
    """Set a new password and end every older session; return fresh tokens.

    The current password must match (400 `wrong_password`) and the new one
    pass the validators (400). All earlier access and refresh tokens stop
    working (token version bump + blacklist). Sends `password_changed`.
    Concurrent changes with the same current password: the user row is
    locked and the password checked again under the lock, so one wins and
    the others get `wrong_password`.
    """
    if not user.check_password(current_password):
        raise WrongPassword()
    _validate_new_password(new_password, user)

    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.check_password(current_password):
            raise WrongPassword()
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_tokens_revoke_all(user=user)
        tokens = tokens_for_user(user)

    logger.info("Password changed user=%s", user.pk)
    signals.password_changed.send(sender=User, user=user, actor=user)
    return tokens


# --- E-mail verification ---------------------------------------------------


def _code_digest(*, user_id: int, email: str, code: str) -> str:
    # Keyed with SECRET_KEY and bound to the user and address: a leaked
    # table row can be neither reversed offline nor reused for another
    # address (a 6-digit code alone has only 10**6 values).
    return salted_hmac(
        "accounts.email_verification",
        f"{user_id}:{email}:{code}",
        algorithm="sha256",
    ).hexdigest()


def email_verification_request(*, user: User) -> EmailVerification:
    """E-mail a fresh 6-digit code for the user's current address.

    At most one code a minute (429 `throttled`); a new code replaces any
    earlier pending one. The code lives 15 minutes and allows 5 attempts;
    only its HMAC is stored. Sends the e-mail and `email_verification_sent`.
    """
    from notifications.emails import send_templated_email

    if user.is_email_verified:
        raise Conflict(
            "This e-mail address is already verified.", code="already_verified"
        )

    now = timezone.now()
    with transaction.atomic():
        # The user row lock serialises two concurrent requests, so the
        # one-a-minute rule holds across processes.
        User.objects.select_for_update().filter(pk=user.pk).first()
        latest = user.email_verifications.order_by("-created_at").first()
        if latest and now - latest.created_at < EMAIL_CODE_RESEND_INTERVAL:
            wait = EMAIL_CODE_RESEND_INTERVAL - (now - latest.created_at)
            raise Throttled(
                wait=max(1, int(wait.total_seconds())),
                detail="A code was sent less than a minute ago; wait before "
                "asking for another.",
            )

        user.email_verifications.filter(consumed_at__isnull=True).delete()
        code = f"{secrets.randbelow(10**6):06d}"
        verification = EmailVerification.objects.create(
            user=user,
            email=user.email,
            code_digest=_code_digest(user_id=user.pk, email=user.email, code=code),
            created_at=now,
            expires_at=now + EMAIL_CODE_LIFETIME,
        )

    send_templated_email(
        to=[user.email],
        template="accounts/email_verification",
        context={
            "user": user,
            "code": code,
            "minutes": int(EMAIL_CODE_LIFETIME.total_seconds() // 60),
        },
    )
    logger.info("E-mail verification code sent user=%s", user.pk)
    signals.email_verification_sent.send(sender=User, user=user, actor=user)
    return verification


def email_verification_confirm(*, user: User, code: str) -> User:
    """Check a code; on success mark the user's address verified.

    Every wrong code spends one of the 5 attempts (the count is taken in the
    database before comparing, so parallel guesses cannot exceed it). After
    the 5th, or after 15 minutes, the code is dead and a new one must be
    requested. Sends `email_verified`.
    """
    if user.is_email_verified:
        raise Conflict(
            "This e-mail address is already verified.", code="already_verified"
        )

    now = timezone.now()
    pending = (
        user.email_verifications.filter(consumed_at__isnull=True, email=user.email)
        .order_by("-created_at")
        .first()
    )
    if pending is None:
        raise PockityError(
            "No verification code is pending; request one first.",
            code="no_pending_verification",
        )
    if pending.expires_at <= now:
        raise PockityError(
            "This code has expired; request a new one.", code="verification_expired"
        )

    spent = EmailVerification.objects.filter(
        pk=pending.pk, attempts__lt=EMAIL_CODE_MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not spent:
        raise PockityError(
            "Too many wrong codes; request a new one.",
            code="verification_attempts_exhausted",
            status_code=429,
        )

    expected = _code_digest(user_id=user.pk, email=user.email, code=str(code).strip())
    if not constant_time_compare(expected, pending.code_digest):
        pending.refresh_from_db(fields=["attempts"])
        remaining = max(0, EMAIL_CODE_MAX_ATTEMPTS - pending.attempts)
        raise PockityError(
            "The code is incorrect.",
            code="invalid_code",
            details={"attemptsRemaining": remaining},
        )

    with transaction.atomic():
        consumed = EmailVerification.objects.filter(
            pk=pending.pk, consumed_at__isnull=True
        ).update(consumed_at=now)
        if not consumed:
            raise PockityError(
                "This code has already been used.", code="no_pending_verification"
            )
        user.email_verified_at = now
        user.save(update_fields=["email_verified_at"])

    logger.info("E-mail verified user=%s", user.pk)
    signals.email_verified.send(sender=User, user=user, actor=user)
    return user


# --- Account deletion --------------------------------------------------------


def user_account_delete(*, user: User, password: str) -> dict:
    """Delete one's own account after confirming the password (400 if wrong).

    See `user_delete` for what is removed.
    """
    if not password or not user.check_password(password):
        raise WrongPassword("The password is incorrect; the account was not deleted.")
    return user_delete(user=user, actor=user)


def user_delete(*, user: User, actor=None) -> dict:
    """Remove a user, their keys and every file they own; return a summary.

    In order:
    1. every token ends (version bump, refresh tokens blacklisted) and every
       API key is revoked (`api_key_revoke`, which sends `api_key_revoked`),
       so nothing can write to the namespaces while they are emptied;
    2. each namespace (`users/{id}/` and `apikeys/{accessKeyId}/` of every
       key, revoked ones included) is purged in S3 together with its row
       (`storage.services.namespace_purge`);
    3. the user row goes (keys, requests and e-mail codes cascade) and
       `account_deleted` is sent in the same transaction, so the audit entry
       commits with the deletion; audit rows keep ids and labels only.

    If S3 fails in step 2 (503), the user still exists with every token and
    key ended: signing in again and repeating the deletion finishes it.
    Known gap: an upload that authenticated before step 1 and is still
    streaming when its namespace is purged can leave an orphan object;
    `resync_usage` reports it.
    """
    from apikeys.models import ApiKey
    from apikeys.services import api_key_revoke
    from storage.models import Namespace
    from storage.services import namespace_purge

    user_id, email = user.pk, user.email
    keys = list(ApiKey.objects.filter(owner=user).order_by("pk"))

    with transaction.atomic():
        user_tokens_revoke_all(user=user)
        for api_key in keys:
            api_key_revoke(api_key=api_key, actor=actor, reason="account deleted")

    namespaces = Namespace.objects.filter(
        Q(user_id=user_id)
        | Q(api_key__owner_id=user_id)
        | Q(prefix=f"users/{user_id}/")
        | Q(prefix__in=[api_key.prefix for api_key in keys])
    ).order_by("prefix")
    purged = []
    for namespace in namespaces:
        namespace_purge(namespace=namespace, actor=actor)
        purged.append(namespace.prefix)

    deleted_keys = [api_key.access_key_id for api_key in keys]
    with transaction.atomic():
        User.objects.filter(pk=user_id).delete()
        signals.account_deleted.send(
            sender=User,
            user_id=user_id,
            email=email,
            deleted_keys=deleted_keys,
            actor=actor,
        )

    logger.info(
        "Account deleted user=%s keys=%d namespaces=%d",
        user_id,
        len(deleted_keys),
        len(purged),
    )
    return {
        "userId": user_id,
        "deletedApiKeys": deleted_keys,
        "purgedPrefixes": purged,
    }
