"""Admin API routes (staff only), mounted under /api/."""

from django.urls import path

from audit import api

app_name = "audit"

urlpatterns = [
    path("admin/health", api.AdminHealthApi.as_view(), name="admin-health"),
    path("admin/users", api.AdminUserListApi.as_view(), name="admin-users"),
    path("admin/api-keys", api.AdminApiKeyListApi.as_view(), name="admin-api-keys"),
    path(
        "admin/audit-logs",
        api.AdminAuditLogListApi.as_view(),
        name="admin-audit-logs",
    ),
]
