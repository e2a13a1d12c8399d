"""Project-wide API routes (public health), mounted under /api/."""

from django.urls import path

from pockity.health import OpenHealthView

app_name = "pockity"

urlpatterns = [
    path("open/health", OpenHealthView.as_view(), name="open-health"),
]
