"""apikeys API routes, mounted under /api/ (a trailing slash is optional)."""

from django.urls import re_path

from apikeys import views

app_name = "apikeys"

urlpatterns = [
    re_path(r"^apikeys/?$", views.ApiKeyListCreateView.as_view(), name="list"),
    re_path(
        r"^apikeys/(?P<key_id>[^/]+)/?$",
        views.ApiKeyDetailView.as_view(),
        name="detail",
    ),
]
