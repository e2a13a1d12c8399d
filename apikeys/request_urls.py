"""API-key request routes, mounted under /api/."""

from django.urls import path

from apikeys import request_views as views

app_name = "api-key-requests"

urlpatterns = [
    path(
        "api-key-requests",
        views.ApiKeyRequestListCreateView.as_view(),
        name="list",
    ),
    path(
        "api-key-requests/admin/all",
        views.ApiKeyRequestAdminListView.as_view(),
        name="admin-list",
    ),
    path(
        "api-key-requests/admin/<str:request_id>/review",
        views.ApiKeyRequestReviewView.as_view(),
        name="review",
    ),
    path(
        "api-key-requests/<str:request_id>",
        views.ApiKeyRequestDetailView.as_view(),
        name="detail",
    ),
]
