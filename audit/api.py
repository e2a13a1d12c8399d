"""
The admin API under `/api/admin/`: health and counts, users, API keys and the
audit log, as JSON for dashboards. Staff only (403 for everyone else).

Every list is paginated (`limit`/`offset`) and built in a fixed number of
queries whatever the page size: counts and sums come from subqueries, related
rows from select_related.
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from apikeys.models import ApiKey, ApiKeyRequest
from audit.filters import AuditLogFilter
from audit.models import AuditLog
from audit.permissions import IsStaffWithJwt
from audit.serializers import (
    AdminApiKeyOutput,
    AdminUserOutput,
    AuditLogOutput,
)
from pockity import health
from storage.models import Namespace
from tiers.models import RequestStatus, TierRequest

SEARCH_MAX_LENGTH = 254

_search_parameter = OpenApiParameter(
    "search", str, description="Case-insensitive match on e-mail or name."
)


def _search_term(request) -> str:
    # PostgreSQL text cannot hold NUL, and no stored name or e-mail contains
    # one, so it is dropped rather than sent (which would be a 500).
    term = request.query_params.get("search", "").replace("\x00", "")
    return term.strip()[:SEARCH_MAX_LENGTH]


def _subquery_int(queryset, field: str, aggregate) -> Coalesce:
    """An aggregate of `queryset` per outer row, 0 when there is nothing."""
    value = queryset.order_by().values(field).annotate(total=aggregate).values("total")
    return Coalesce(Subquery(value, output_field=IntegerField()), Value(0))


class AdminHealthApi(APIView):
    permission_classes = [IsStaffWithJwt]

    @extend_schema(
        operation_id="admin_health",
        summary="System health and statistics (staff)",
        tags=["admin"],
        responses={
            200: inline_serializer(
                name="AdminHealth",
                fields={
                    "status": serializers.ChoiceField(choices=["ok", "degraded"]),
                    "database": serializers.DictField(),
                    "storage": serializers.DictField(),
                    "version": serializers.CharField(),
                    "uptime": serializers.IntegerField(),
                    "counts": serializers.DictField(child=serializers.IntegerField()),
                    "usage": serializers.DictField(child=serializers.IntegerField()),
                },
            )
        },
    )
    def get(self, request):
        report = health.health_report()

        users = User.objects.aggregate(
            total=Count("id"),
            active=Count("id", filter=Q(is_active=True)),
            staff=Count("id", filter=Q(is_staff=True)),
        )
        keys = ApiKey.objects.aggregate(
            total=Count("id"),
            active=Count("id", filter=Q(is_active=True, revoked_at__isnull=True)),
        )
        namespaces = Namespace.objects.aggregate(
            total=Count("id"),
            bytes=Coalesce(Sum("bytes_used"), 0),
            objects=Coalesce(Sum("object_count"), 0),
        )
        pending = RequestStatus.PENDING
        report["counts"] = {
            "users": users["total"],
            "activeUsers": users["active"],
            "staffUsers": users["staff"],
            "apiKeys": keys["total"],
            "activeApiKeys": keys["active"],
            "namespaces": namespaces["total"],
            "pendingApiKeyRequests": ApiKeyRequest.objects.filter(
                status=pending
            ).count(),
            "pendingTierRequests": TierRequest.objects.filter(status=pending).count(),
        }
        report["usage"] = {
            "bytesUsed": namespaces["bytes"],
            "objects": namespaces["objects"],
        }
        return Response(report)


class AdminUserListApi(ListAPIView):
    """Users with their tier, key counts and usage (own prefix and keys)."""

    permission_classes = [IsStaffWithJwt]
    serializer_class = AdminUserOutput
    filter_backends: list = []

    def get_queryset(self):
        keys = ApiKey.objects.filter(owner=OuterRef("pk"))
        key_namespaces = Namespace.objects.filter(api_key__owner=OuterRef("pk"))
        queryset = (
            User.objects.select_related("tier", "namespace")
            .annotate(
                api_key_count=_subquery_int(keys, "owner", Count("id")),
                active_api_key_count=_subquery_int(
                    keys.filter(is_active=True, revoked_at__isnull=True),
                    "owner",
                    Count("id"),
                ),
                key_bytes_used=_subquery_int(
                    key_namespaces, "api_key__owner", Sum("bytes_used")
                ),
                key_object_count=_subquery_int(
                    key_namespaces, "api_key__owner", Sum("object_count")
                ),
            )
            .order_by("-date_joined", "-id")
        )
        term = _search_term(self.request)
        if term:
            queryset = queryset.filter(
                Q(email__icontains=term) | Q(name__icontains=term)
            )
        return queryset

    @extend_schema(
        operation_id="admin_users",
        summary="Users with usage, tier and key counts (staff)",
        tags=["admin"],
        parameters=[_search_parameter],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AdminApiKeyListApi(ListAPIView):
    """Every API key with its owner, usage against its quota and last use."""

    permission_classes = [IsStaffWithJwt]
    serializer_class = AdminApiKeyOutput
    filter_backends: list = []

    def get_queryset(self):
        queryset = ApiKey.objects.select_related(
            "owner", "owner__tier", "tier", "namespace"
        ).order_by("-created_at", "-id")
        term = _search_term(self.request)
        if term:
            queryset = queryset.filter(
                Q(name__icontains=term)
                | Q(access_key_id__icontains=term)
                | Q(owner__email__icontains=term)
            )
        return queryset

    @extend_schema(
        operation_id="admin_api_keys",
        summary="API keys with owner, usage vs quota and last use (staff)",
        tags=["admin"],
        parameters=[
            OpenApiParameter(
                "search", str, description="Match on key name, access key id or owner."
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AdminAuditLogListApi(ListAPIView):
    """The audit log, newest first, filtered by action, people, key, IP, dates."""

    permission_classes = [IsStaffWithJwt]
    serializer_class = AuditLogOutput
    queryset = AuditLog.objects.order_by("-created_at", "-id")
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditLogFilter

    @extend_schema(
        operation_id="admin_audit_logs",
        summary="Audit log with filters (staff)",
        tags=["admin"],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
