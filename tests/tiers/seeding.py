"""Put the seeded tiers back for transactional tests.

A transactional test starts from whatever the previous one's flush left:
often no rows at all, so not the Free/Pro/Business tiers the data migration
seeded. `serialized_rollback` would restore them but collides with content
types that other tests' flushes re-create, so the seed is re-applied here.
"""

from __future__ import annotations

import importlib

from tiers.models import Tier

_seed_migration = importlib.import_module("tiers.migrations.0002_seed_tiers")


def seed_tiers() -> None:
    for values in _seed_migration.SEED_TIERS:
        Tier.objects.update_or_create(
            name=values["name"],
            defaults={**values, "currency": "USD", "is_public": True},
        )
