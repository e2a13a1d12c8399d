"""audit API routes, mounted under /api/."""

urlpatterns = []
