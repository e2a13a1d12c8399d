"""Project-wide API routes (public health), mounted under /api/."""

urlpatterns = []
