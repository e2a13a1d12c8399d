"""Notification API routes (quota-alert webhooks), mounted under /api/."""

urlpatterns = []
