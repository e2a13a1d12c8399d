"""Seed the Free, Pro and Business tiers; Free is the default for new users."""

from django.db import migrations

GIB = 1024**3
MIB = 1024**2

SEED_TIERS = [
    {
        "name": "Free",
        "description": "For trying Pockity out.",
        "storage_bytes_limit": 5 * GIB,
        "object_limit": 10_000,
        "max_file_size_bytes": 1 * GIB,
        "max_api_keys": 5,
        "price_minor": 0,
        "is_default": True,
        "sort_order": 0,
    },
    {
        "name": "Pro",
        "description": "For applications in production.",
        "storage_bytes_limit": 100 * GIB,
        "object_limit": 1_000_000,
        "max_file_size_bytes": 5 * GIB,
        "max_api_keys": 25,
        "price_minor": 999,
        "is_default": False,
        "sort_order": 10,
    },
    {
        "name": "Business",
        "description": "For teams with large archives.",
        "storage_bytes_limit": 1024 * GIB,
        "object_limit": 10_000_000,
        "max_file_size_bytes": None,
        "max_api_keys": 100,
        "price_minor": 4999,
        "is_default": False,
        "sort_order": 20,
    },
]


def seed(apps, schema_editor):
    Tier = apps.get_model("tiers", "Tier")
    for values in SEED_TIERS:
        Tier.objects.update_or_create(
            name=values["name"],
            defaults={**values, "currency": "USD", "is_public": True},
        )


def unseed(apps, schema_editor):
    Tier = apps.get_model("tiers", "Tier")
    Tier.objects.filter(name__in=[t["name"] for t in SEED_TIERS]).delete()


class Migration(migrations.Migration):
    dependencies = [("tiers", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
