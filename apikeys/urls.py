"""apikeys API routes, mounted under /api/."""

urlpatterns = []
