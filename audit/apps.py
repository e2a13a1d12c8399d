from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self):
        # Connects the receivers that turn domain and model signals into
        # AuditLog rows.
        from audit import receivers  # noqa: F401
