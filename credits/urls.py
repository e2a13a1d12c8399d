"""credits API routes, mounted under /api/."""

urlpatterns = []
