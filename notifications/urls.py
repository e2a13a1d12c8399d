"""Notification API routes (quota-alert webhooks), mounted under /api/."""

from django.urls import path

from notifications.api import UserWebhookApi

app_name = "notifications"

urlpatterns = [
    path("users/webhook", UserWebhookApi.as_view(), name="user-webhook"),
]
