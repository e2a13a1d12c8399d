"""Account API: sign-up, sign-in and tokens, profile, password, deletion."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.authentication import tokens_for_user
from accounts.permissions import IsUserWithJwt
from accounts.serializers import (
    AuthOutput,
    ChangePasswordInput,
    DeleteAccountInput,
    DeletedAccountOutput,
    LoginInput,
    MessageOutput,
    ProfileOutput,
    ProfileUpdateInput,
    RefreshInput,
    RegisterInput,
    SummaryOutput,
    TierOutput,
    TokensOutput,
    UserOutput,
    VerifyEmailConfirmInput,
    VerifyInput,
    VerifyOutput,
)
from accounts.throttles import LoginRateThrottle, RegisterRateThrottle
from apikeys.serializers import key_status

ERRORS = {
    400: OpenApiResponse(description="Invalid input (error envelope)."),
    401: OpenApiResponse(description="Not signed in, or bad credentials."),
    429: OpenApiResponse(description="Throttled."),
}


def _token_body(tokens: dict[str, str]) -> dict:
    """Our camelCase token pair plus `token`, the name curl-era clients read."""
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    return {
        **tokens,
        "token": tokens["accessToken"],
        "tokenType": "Bearer",
        "expiresIn": int(lifetime.total_seconds()),
    }


def _no_store(response: Response) -> Response:
    """Mark a response carrying tokens as never to be kept by any cache."""
    response["Cache-Control"] = "no-store"
    return response


def _auth_body(user, tokens: dict[str, str]) -> dict:
    return {"user": UserOutput(user).data, **_token_body(tokens)}


def _profile_body(user) -> dict:
    return {**UserOutput(user).data, "usage": selectors.user_usage(user=user)}


# --- /api/auth/ ----------------------------------------------------------------


class PublicAuthView(APIView):
    """Endpoints that take credentials in the body, not in a header.

    No authentication runs, so a stale `Authorization` header cannot make
    sign-in or refresh fail.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]


class RegisterView(PublicAuthView):
    throttle_classes = [RegisterRateThrottle]

    @extend_schema(
        tags=["auth"],
        summary="Register a user",
        description="Returns the user and a token pair. Passwords go through "
        "Django's validators; every reason for a refusal is listed.",
        request=RegisterInput,
        responses={
            201: AuthOutput,
            409: OpenApiResponse(description="E-mail address already registered."),
            **ERRORS,
        },
    )
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)

        user = services.user_register(
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            name=data.validated_data.get("name", ""),
        )

        return _no_store(
            Response(
                _auth_body(user, tokens_for_user(user)),
                status=status.HTTP_201_CREATED,
            )
        )


class LoginView(PublicAuthView):
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        tags=["auth"],
        summary="Sign in",
        description="`token` and `accessToken` are the same access token.",
        request=LoginInput,
        responses={200: AuthOutput, **ERRORS},
    )
    def post(self, request):
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)

        user = services.user_login(
            request=request._request,
            email=data.validated_data["email"],
            password=data.validated_data["password"],
        )

        return _no_store(Response(_auth_body(user, tokens_for_user(user))))


class RefreshView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Exchange a refresh token for a new pair (rotation)",
        description="The refresh token sent is blacklisted; use the new one.",
        request=RefreshInput,
        responses={200: TokensOutput, **ERRORS},
    )
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)

        _user, tokens = services.token_refresh(refresh=data.validated_data["refresh"])

        return _no_store(Response(_token_body(tokens)))


class LogoutView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Sign out: blacklist a refresh token",
        description="The access token stays valid until it expires; change the "
        "password to end every session at once.",
        request=RefreshInput,
        responses={200: MessageOutput, **ERRORS},
    )
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)

        services.user_logout(refresh=data.validated_data["refresh"])

        return Response({"message": "Signed out."})


class VerifyTokenView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Check an access or refresh token",
        request=VerifyInput,
        responses={200: VerifyOutput, **ERRORS},
    )
    def post(self, request):
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)

        return Response(services.token_verify(token=data.validated_data["token"]))


# --- /api/users/ ---------------------------------------------------------------


class UserView(APIView):
    permission_classes = [IsUserWithJwt]


class ProfileView(UserView):
    @extend_schema(
        tags=["users"],
        summary="The signed-in user's profile, tier and usage",
        responses={200: ProfileOutput, **ERRORS},
    )
    def get(self, request):
        return Response(_profile_body(request.user))

    @extend_schema(
        tags=["users"],
        summary="Change name and/or e-mail address",
        description="A new `email` is unverified until a new code is "
        "confirmed, and the old address is told of the change. A "
        "`currentPassword`, when sent, must be right.",
        request=ProfileUpdateInput,
        responses={
            200: ProfileOutput,
            409: OpenApiResponse(description="E-mail address in use."),
            **ERRORS,
        },
    )
    def put(self, request):
        data = ProfileUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data

        changes = {key: values[key] for key in ("name", "email") if key in values}
        user = services.user_profile_update(
            user=request.user,
            current_password=values.get("currentPassword") or values.get("password"),
            **changes,
        )

        return Response(_profile_body(user))

    patch = put


class ChangePasswordView(UserView):
    @extend_schema(
        tags=["users"],
        summary="Change the password; every older token stops working",
        request=ChangePasswordInput,
        responses={200: TokensOutput, **ERRORS},
    )
    def post(self, request):
        data = ChangePasswordInput(data=request.data)
        data.is_valid(raise_exception=True)

        tokens = services.user_password_change(user=request.user, **data.validated_data)

        return _no_store(
            Response(
                {"message": "Password changed; sign in again on other devices."}
                | _token_body(tokens)
            )
        )


class SummaryView(UserView):
    @extend_schema(
        tags=["users"],
        summary="Account summary: profile, tier, usage of users/{id}/ and keys",
        responses={200: SummaryOutput, **ERRORS},
    )
    def get(self, request):
        user = request.user
        summary = selectors.user_summary(user=user)

        return Response(
            {
                "user": UserOutput(user).data,
                "tier": TierOutput(user.tier).data if user.tier else None,
                "usage": {
                    "user": summary["user_usage"],
                    "total": summary["totals"],
                },
                "apiKeys": summary["key_counts"],
                "keys": [
                    {
                        "id": api_key.pk,
                        "name": api_key.name,
                        "accessKeyId": api_key.access_key_id,
                        "status": key_status(api_key),
                        "usage": usage,
                    }
                    for api_key, usage in summary["keys"]
                ],
            }
        )


class AccountView(UserView):
    @extend_schema(
        tags=["users"],
        summary="Delete the account, its keys and every file it owns",
        description="Confirm with `password`. Revokes every key, deletes all "
        "objects under users/{id}/ and each key's apikeys/{accessKeyId}/, ends "
        "every token and removes the user. Audit entries are kept.",
        request=DeleteAccountInput,
        responses={200: DeletedAccountOutput, **ERRORS},
    )
    def delete(self, request):
        data = DeleteAccountInput(data=request.data)
        data.is_valid(raise_exception=True)

        result = services.user_account_delete(
            user=request.user, password=data.validated_data["password"]
        )

        return Response({"deleted": True, **result})


class VerifyEmailRequestView(UserView):
    @extend_schema(
        tags=["users"],
        summary="E-mail a 6-digit verification code",
        description="One code a minute; it expires after 15 minutes or 5 "
        "wrong attempts.",
        request=None,
        responses={
            202: MessageOutput,
            409: OpenApiResponse(description="Already verified."),
            **ERRORS,
        },
    )
    def post(self, request):
        verification = services.email_verification_request(user=request.user)

        return Response(
            {
                "message": f"A code was sent to {verification.email}.",
                "expiresAt": verification.expires_at,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class VerifyEmailConfirmView(UserView):
    @extend_schema(
        tags=["users"],
        summary="Confirm the e-mail address with the code",
        request=VerifyEmailConfirmInput,
        responses={
            200: UserOutput,
            409: OpenApiResponse(description="Already verified."),
            **ERRORS,
        },
    )
    def post(self, request):
        data = VerifyEmailConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)

        user = services.email_verification_confirm(
            user=request.user, code=data.validated_data["code"]
        )

        return Response(UserOutput(user).data)
