"""API-key request routes, mounted under /api/."""

urlpatterns = []
