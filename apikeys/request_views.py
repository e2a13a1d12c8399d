"""
API-key request API: users ask for keys and quota, staff decide, and the
owner reads a provisioned key's secret once.

Views parse with a serializer, check permission and call
`apikeys.request_services`.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.models import ApiKeyRequest
from apikeys.request_serializers import (
    ApiKeyRequestAdminSerializer,
    ApiKeyRequestCreateSerializer,
    ApiKeyRequestDetailSerializer,
    ApiKeyRequestReviewSerializer,
    ApiKeyRequestSerializer,
)
from apikeys.request_services import (
    api_key_get_own_active,
    api_key_request_create_new_key,
    api_key_request_create_quota_increase,
    api_key_request_decide,
    api_key_request_list_for_user,
    api_key_request_reveal_secret,
)
from pockity.exceptions import NotFound
from tiers.filters import RequestFilter, with_date_bounds
from tiers.permissions import SignedInPerson, StaffPerson
from tiers.services import parse_id
from tiers.views import DATE_RANGE_PARAMETERS


@with_date_bounds
class ApiKeyRequestFilter(RequestFilter):
    kind = filters.ChoiceFilter(choices=ApiKeyRequest.Kind.choices)

    class Meta:
        model = ApiKeyRequest
        fields = ["status", "kind", "user"]


def _request_id_or_404(raw) -> int:
    request_id = parse_id(raw)
    if request_id is None:
        raise NotFound("No such API key request.", code="not_found")
    return request_id


class ApiKeyRequestListCreateView(generics.ListAPIView):
    permission_classes = [SignedInPerson]
    serializer_class = ApiKeyRequestSerializer
    filter_backends = []

    def get_queryset(self):
        return api_key_request_list_for_user(user=self.request.user)

    @extend_schema(tags=["api key requests"], summary="List your API-key requests")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["api key requests"],
        summary="Ask for a new key with a quota, or more quota on a key",
        request=ApiKeyRequestCreateSerializer,
        responses={201: ApiKeyRequestSerializer},
    )
    def post(self, request):
        serializer = ApiKeyRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        if data["kind"] == ApiKeyRequest.Kind.NEW_KEY:
            api_key_request = api_key_request_create_new_key(
                user=request.user,
                storage_bytes=data["storage_bytes"],
                objects=data["requestedObjects"],
                key_name=data.get("keyName", ""),
                capabilities=data["capability_set"],
                expires_at=data.get("expiresAt"),
                reason=data.get("reason", ""),
            )
        else:
            api_key = api_key_get_own_active(
                user=request.user, key_ref=data["apiKeyId"]
            )
            api_key_request = api_key_request_create_quota_increase(
                user=request.user,
                api_key=api_key,
                storage_bytes=data["storage_bytes"],
                objects=data.get("requestedObjects"),
                reason=data.get("reason", ""),
            )
        return Response(
            ApiKeyRequestSerializer(api_key_request).data,
            status=status.HTTP_201_CREATED,
        )


class ApiKeyRequestDetailView(APIView):
    permission_classes = [SignedInPerson]

    @extend_schema(
        tags=["api key requests"],
        summary="Read one of your API-key requests",
        description=(
            "After approval of a new key, the first read returns accessKeyId "
            "and secretKey; the secret is then erased and never shown again."
        ),
        responses={200: ApiKeyRequestDetailSerializer},
    )
    def get(self, request, request_id):
        api_key_request, secret = api_key_request_reveal_secret(
            user=request.user, request_id=_request_id_or_404(request_id)
        )
        response = Response(
            ApiKeyRequestDetailSerializer(
                api_key_request, context={"secret": secret}
            ).data
        )
        # A one-time secret must not linger in any cache on the way.
        response["Cache-Control"] = "no-store"
        return response


@extend_schema(
    tags=["api key requests"],
    summary="List every API-key request (staff)",
    parameters=DATE_RANGE_PARAMETERS,
)
class ApiKeyRequestAdminListView(generics.ListAPIView):
    permission_classes = [StaffPerson]
    serializer_class = ApiKeyRequestAdminSerializer
    filterset_class = ApiKeyRequestFilter

    def get_queryset(self):
        return ApiKeyRequest.objects.select_related("user", "reviewer", "api_key")


class ApiKeyRequestReviewView(APIView):
    permission_classes = [StaffPerson]

    @extend_schema(
        tags=["api key requests"],
        summary="Approve or reject an API-key request (staff)",
        description=(
            "On approval the figures may be narrowed with approvedStorageGB, "
            "approvedObjects, approvedCapabilities/approvedReadOnly and "
            "approvedExpiresAt; never widened."
        ),
        request=ApiKeyRequestReviewSerializer,
        responses={200: ApiKeyRequestAdminSerializer},
    )
    def patch(self, request, request_id):
        serializer = ApiKeyRequestReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        api_key_request = ApiKeyRequest.objects.filter(
            pk=_request_id_or_404(request_id)
        ).first()
        if api_key_request is None:
            raise NotFound("No such API key request.", code="not_found")

        decided = api_key_request_decide(
            api_key_request=api_key_request,
            approved=data["is_approved"],
            reviewer=request.user,
            comment=data["comment_text"],
            overrides=data["overrides"],
        )
        return Response(ApiKeyRequestAdminSerializer(decided).data)
