"""API-key endpoints: create (secret shown once), list, detail, revoke."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsUserWithJwt
from apikeys import services
from apikeys.serializers import (
    ApiKeyCreateInput,
    ApiKeyDetailOutput,
    ApiKeyListOutput,
    ApiKeyOutput,
    CreatedApiKeyOutput,
)
from pockity.exceptions import InvalidInput
from pockity.pagination import LimitOffsetPagination

SECRET_WARNING = (
    "Store secretKey now: it is shown only in this response and cannot be "
    "retrieved later."
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input (error envelope)."),
    401: OpenApiResponse(description="Not signed in."),
    403: OpenApiResponse(description="An API key cannot manage keys."),
}

KEY_ID = OpenApiParameter(
    "key_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The numeric id, or the accessKeyId (pk_...).",
)


def _detail_body(api_key) -> dict:
    return {**ApiKeyOutput(api_key).data, "usage": services.api_key_usage(api_key)}


class ApiKeyListCreateView(APIView):
    permission_classes = [IsUserWithJwt]

    @extend_schema(
        tags=["apikeys"],
        summary="Create an API key pair",
        description="Limits come from the user's tier. The key's files live "
        "under storagePath. The secret is returned once.",
        request=ApiKeyCreateInput,
        responses={
            201: CreatedApiKeyOutput,
            409: OpenApiResponse(description="api_key_limit_reached"),
            **ERRORS,
        },
    )
    def post(self, request):
        data = ApiKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)

        api_key, secret = services.api_key_create(
            owner=request.user, actor=request.user, **data.validated_data
        )

        body = {**_detail_body(api_key), "secretKey": secret, "warning": SECRET_WARNING}
        response = Response(body, status=status.HTTP_201_CREATED)
        # The secret is shown once: no browser or proxy cache may keep a copy.
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        tags=["apikeys"],
        summary="List the signed-in user's API keys (never their secrets)",
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=["active", "revoked", "expired"],
                description="Only keys in this state.",
            )
        ],
        responses={200: ApiKeyListOutput(many=True), **ERRORS},
    )
    def get(self, request):
        keys = services.api_key_list(
            owner=request.user, status=request.query_params.get("status")
        )

        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(keys, request, view=self)
        return paginator.get_paginated_response(ApiKeyListOutput(page, many=True).data)


class ApiKeyDetailView(APIView):
    permission_classes = [IsUserWithJwt]

    @extend_schema(
        tags=["apikeys"],
        summary="One of the user's keys with its usage",
        parameters=[KEY_ID],
        responses={
            200: ApiKeyDetailOutput,
            404: OpenApiResponse(description="No such key of yours."),
            **ERRORS,
        },
    )
    def get(self, request, key_id: str):
        api_key = services.api_key_get_owned(owner=request.user, key_id=key_id)

        return Response(_detail_body(api_key))

    @extend_schema(
        tags=["apikeys"],
        summary="Revoke a key (at once; idempotent)",
        description="The key row stays, inactive with revokedAt. Its files "
        "stay in its namespace and keep counting (also against the tier's key "
        "limit) until the account is deleted, unless `purge=true` deletes them "
        "too, which frees the key's place.",
        parameters=[
            KEY_ID,
            OpenApiParameter(
                "purge",
                bool,
                description="Also delete the key's files (cannot be undone).",
            ),
        ],
        responses={
            200: ApiKeyDetailOutput,
            404: OpenApiResponse(description="No such key of yours."),
            **ERRORS,
        },
    )
    def delete(self, request, key_id: str):
        purge = request.query_params.get("purge", "false").lower()
        if purge not in ("true", "false"):
            raise InvalidInput(
                "'purge' must be true or false.",
                details={"parameter": "purge", "value": purge[:20]},
            )
        api_key = services.api_key_get_owned(owner=request.user, key_id=key_id)

        api_key = services.api_key_revoke(
            api_key=api_key,
            actor=request.user,
            reason="revoked by owner",
            purge=purge == "true",
        )

        return Response(_detail_body(api_key))
