"""apikeys API routes, mounted under /api/ (the seed's paths)."""

from django.urls import path

from apikeys import views

app_name = "apikeys"

urlpatterns = [
    path("apikeys", views.ApiKeyListCreateView.as_view(), name="list"),
    path("apikeys/<str:key_id>", views.ApiKeyDetailView.as_view(), name="detail"),
]
