"""Seed a plan for each seeded tier: Free, and Pro/Business monthly and yearly."""

from django.db import migrations

# (code, name, tier name, price in cents, interval, sort order)
SEED_PLANS = [
    ("plan_free", "Free", "Free", 0, "month", 0),
    ("plan_pro_monthly", "Pro (monthly)", "Pro", 999, "month", 10),
    ("plan_pro_yearly", "Pro (yearly)", "Pro", 9990, "year", 11),
    ("plan_business_monthly", "Business (monthly)", "Business", 4999, "month", 20),
    ("plan_business_yearly", "Business (yearly)", "Business", 49990, "year", 21),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    Tier = apps.get_model("tiers", "Tier")
    for code, name, tier_name, price, interval, order in SEED_PLANS:
        tier = Tier.objects.filter(name=tier_name).first()
        if tier is None:
            continue
        Plan.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "tier": tier,
                "price_minor": price,
                "currency": "USD",
                "interval": interval,
                "active": True,
                "sort_order": order,
            },
        )


def unseed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    Plan.objects.filter(code__in=[plan[0] for plan in SEED_PLANS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("tiers", "0002_seed_tiers"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
