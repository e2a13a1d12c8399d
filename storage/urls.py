"""storage API routes, mounted under /api/."""

urlpatterns = []
