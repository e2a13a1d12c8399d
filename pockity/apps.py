from django.apps import AppConfig


class PockityConfig(AppConfig):
    name = "pockity"
    verbose_name = "Pockity"
