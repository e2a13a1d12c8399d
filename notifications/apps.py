from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Connects the quota-alert receiver to storage's usage_changed.
        from notifications import receivers  # noqa: F401
