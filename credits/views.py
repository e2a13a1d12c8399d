"""Credit API: balance, add (staff), deduct, history, check.

Every endpoint wants a person signed in with a JWT: an API key is handed to
an application, which must not spend or grant credits on its owner's behalf.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsUserWithJwt
from audit.permissions import IsStaffWithJwt
from credits import services
from credits.models import CreditEntry
from credits.serializers import (
    CreditBalanceOutput,
    CreditChangeInput,
    CreditChangeOutput,
    CreditCheckInput,
    CreditCheckOutput,
    CreditEntryOutput,
    UserQueryInput,
)
from pockity.exceptions import Forbidden, NotFound

USER_ID_PARAM = OpenApiParameter(
    "userId", int, description="Staff only: whose credits (default: yourself)."
)


def _is_staff_person(request) -> bool:
    # The admin API's own rule: staff powers need a person signed in with a
    # JWT, never an API key, even a staff user's.
    return IsStaffWithJwt().has_permission(request, None)


def resolve_target_user(request, user_id):
    """The caller, or for staff (signed in with a JWT) the user named by `userId`.

    A non-staff caller naming anyone but themselves gets the same 404 as an
    unknown id, so ids of other tenants cannot be probed.
    """
    if user_id is None or user_id == request.user.pk:
        return request.user
    if not _is_staff_person(request):
        raise NotFound("User not found.")
    target = get_user_model().objects.filter(pk=user_id).first()
    if target is None:
        raise NotFound("User not found.")
    return target


def _change_response(entry, created: bool, user):
    body = {
        "entry": CreditEntryOutput(entry).data,
        "balance": services.credits_balance_get(user=user),
        "replayed": not created,
    }
    return Response(body, status=status.HTTP_201_CREATED if created else 200)


class CreditBalanceApi(APIView):
    permission_classes = [IsUserWithJwt]

    @extend_schema(
        operation_id="credits_balance",
        parameters=[USER_ID_PARAM],
        responses=CreditBalanceOutput,
    )
    def get(self, request):
        query = UserQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = resolve_target_user(request, query.validated_data.get("userId"))
        return Response(
            {"userId": user.pk, "balance": services.credits_balance_get(user=user)}
        )


class CreditAddApi(APIView):
    """Staff grant credits; users buy them with a CREDITS invoice instead."""

    permission_classes = [IsUserWithJwt]

    @extend_schema(
        operation_id="credits_add",
        request=CreditChangeInput,
        responses={201: CreditChangeOutput, 200: CreditChangeOutput},
    )
    def post(self, request):
        if not _is_staff_person(request):
            raise Forbidden(
                "Only staff can add credits; buy them through an invoice "
                "(POST /api/billing/invoices with 'credits').",
                code="permission_denied",
            )
        data = CreditChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = resolve_target_user(request, data.validated_data.get("userId"))

        entry, created = services.credits_add(
            user=user,
            amount=data.validated_data["amount"],
            actor=request.user,
            reason=data.validated_data["reason"],
            idempotency_key=data.validated_data["idempotencyKey"],
        )
        return _change_response(entry, created, user)


class CreditDeductApi(APIView):
    permission_classes = [IsUserWithJwt]

    @extend_schema(
        operation_id="credits_deduct",
        request=CreditChangeInput,
        responses={201: CreditChangeOutput, 200: CreditChangeOutput},
    )
    def post(self, request):
        data = CreditChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = resolve_target_user(request, data.validated_data.get("userId"))

        entry, created = services.credits_deduct(
            user=user,
            amount=data.validated_data["amount"],
            actor=request.user,
            reason=data.validated_data["reason"],
            idempotency_key=data.validated_data["idempotencyKey"],
        )
        return _change_response(entry, created, user)


class CreditCheckApi(APIView):
    permission_classes = [IsUserWithJwt]

    @extend_schema(
        operation_id="credits_check",
        parameters=[
            OpenApiParameter("amount", int, required=True),
            USER_ID_PARAM,
        ],
        responses=CreditCheckOutput,
    )
    def get(self, request):
        query = CreditCheckInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = resolve_target_user(request, query.validated_data.get("userId"))
        result = services.credits_check(
            user=user, amount=query.validated_data["amount"]
        )
        return Response({"userId": user.pk, **result})


class CreditHistoryApi(ListAPIView):
    permission_classes = [IsUserWithJwt]
    serializer_class = CreditEntryOutput

    @extend_schema(operation_id="credits_history", parameters=[USER_ID_PARAM])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CreditEntry.objects.none()
        query = UserQueryInput(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        user = resolve_target_user(self.request, query.validated_data.get("userId"))
        return services.credits_history(user=user)
