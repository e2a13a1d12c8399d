"""tiers API routes, mounted under /api/."""

from django.urls import path

from tiers import views

app_name = "tiers"

urlpatterns = [
    path("tiers", views.TierListView.as_view(), name="tier-list"),
    path("tiers/admin/all", views.TierAdminListView.as_view(), name="tier-admin-list"),
    path(
        "tier-requests",
        views.TierRequestListCreateView.as_view(),
        name="tier-request-list",
    ),
    path(
        "tier-requests/admin/all",
        views.TierRequestAdminListView.as_view(),
        name="tier-request-admin-list",
    ),
    path(
        "tier-requests/admin/<str:request_id>/approve",
        views.TierRequestDecideView.as_view(),
        name="tier-request-decide",
    ),
]
