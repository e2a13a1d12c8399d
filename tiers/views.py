"""
Tier API: the public tier list, the staff list, and tier-upgrade requests.

Views parse with a serializer, check permission and call `tiers.services`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.request_serializers import DecisionSerializer
from pockity.exceptions import NotFound
from tiers.filters import TierRequestFilter
from tiers.models import TierRequest
from tiers.permissions import SignedInPerson, StaffPerson
from tiers.serializers import (
    TierAdminSerializer,
    TierRequestAdminSerializer,
    TierRequestCreateSerializer,
    TierRequestSerializer,
    TierSerializer,
)
from tiers.services import (
    parse_id,
    tier_list_all,
    tier_list_public,
    tier_request_create,
    tier_request_decide,
    tier_request_list_for_user,
    tier_resolve_requestable,
)

DATE_RANGE_PARAMETERS = [
    OpenApiParameter("from", str, description="Created on or after (YYYY-MM-DD)."),
    OpenApiParameter("to", str, description="Created on or before (YYYY-MM-DD)."),
]


@extend_schema(tags=["tiers"], summary="List the tiers anyone may choose")
class TierListView(generics.ListAPIView):
    # Public: headers are ignored, so a stale token cannot turn this into 401.
    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = TierSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return tier_list_public()


@extend_schema(tags=["tiers"], summary="List every tier (staff)")
class TierAdminListView(generics.ListAPIView):
    permission_classes = [StaffPerson]
    serializer_class = TierAdminSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return tier_list_all()


class TierRequestListCreateView(generics.ListAPIView):
    permission_classes = [SignedInPerson]
    serializer_class = TierRequestSerializer
    filter_backends = []

    def get_queryset(self):
        return tier_request_list_for_user(user=self.request.user)

    @extend_schema(tags=["tier requests"], summary="List your tier requests")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["tier requests"],
        summary="Ask to move to another tier",
        request=TierRequestCreateSerializer,
        responses={201: TierRequestSerializer},
    )
    def post(self, request):
        serializer = TierRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        tier = tier_resolve_requestable(
            tier_id=data["tier_id"], tier_name=data["tier_name"]
        )
        tier_request = tier_request_create(
            user=request.user, tier=tier, reason=data.get("reason", "")
        )
        return Response(
            TierRequestSerializer(tier_request).data, status=status.HTTP_201_CREATED
        )


@extend_schema(
    tags=["tier requests"],
    summary="List every tier request (staff)",
    parameters=DATE_RANGE_PARAMETERS,
)
class TierRequestAdminListView(generics.ListAPIView):
    permission_classes = [StaffPerson]
    serializer_class = TierRequestAdminSerializer
    filterset_class = TierRequestFilter

    def get_queryset(self):
        return TierRequest.objects.select_related(
            "user", "reviewer", "current_tier", "requested_tier"
        )


class TierRequestDecideView(APIView):
    permission_classes = [StaffPerson]

    @extend_schema(
        tags=["tier requests"],
        summary="Approve or reject a tier request (staff)",
        request=DecisionSerializer,
        responses={200: TierRequestAdminSerializer},
    )
    def patch(self, request, request_id):
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tier_request = TierRequest.objects.filter(pk=parse_id(request_id) or 0).first()
        if tier_request is None:
            raise NotFound("No such tier request.", code="not_found")

        decided = tier_request_decide(
            tier_request=tier_request,
            approved=serializer.validated_data["is_approved"],
            reviewer=request.user,
            comment=serializer.validated_data["comment_text"],
        )
        return Response(TierRequestAdminSerializer(decided).data)
