"""Root URLs: the Django admin, the API (one include per app) and its docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema"),
        name="swagger-ui",
    ),
    path("api/", include("pockity.api_urls")),
    path("api/", include("accounts.urls")),
    path("api/", include("apikeys.urls")),
    path("api/", include("apikeys.request_urls")),
    path("api/", include("tiers.urls")),
    path("api/", include("storage.urls")),
    path("api/", include("audit.urls")),
    path("api/", include("billing.urls")),
    path("api/", include("credits.urls")),
    path("api/", include("notifications.urls")),
]
