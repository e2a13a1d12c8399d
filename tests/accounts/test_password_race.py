"""Concurrent password changes with the same current password: one wins."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from accounts.models import User
from tests.conftest import TEST_PASSWORD, jwt_client

CHANGES = 3


def lock_waiters() -> int:
    """Backends of the test database waiting on a lock right now."""
    with connections["default"].cursor() as cursor:
        # Inside a transaction PostgreSQL keeps one snapshot of the activity
        # view; drop it so each poll sees the present.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_only_one_of_several_concurrent_changes_succeeds(user):
    clients = [jwt_client(user) for _ in range(CHANGES)]
    results: dict[int, object] = {}

    def change(index: int) -> None:
        try:
            results[index] = clients[index].post(
                "/api/users/change-password",
                {
                    "currentPassword": TEST_PASSWORD,
                    "newPassword": f"Another-Stapler-Orbit-{index}7",
                },
                format="json",
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=change, args=(i,)) for i in range(CHANGES)]

    # Hold the user row so every request has passed its first password check
    # and waits on the row before any of them may write.
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while lock_waiters() < CHANGES and time.monotonic() < deadline:
            time.sleep(0.05)
        waiting = lock_waiters()

    for thread in threads:
        thread.join(timeout=60)

    assert waiting == CHANGES
    statuses = sorted(response.status_code for response in results.values())
    assert statuses == [200] + [400] * (CHANGES - 1)
    codes = [
        response.json()["error"]["code"]
        for response in results.values()
        if response.status_code == 400
    ]
    assert codes == ["wrong_password"] * (CHANGES - 1)
    winner = next(i for i, r in results.items() if r.status_code == 200)
    user.refresh_from_db()
    assert user.check_password(f"Another-Stapler-Orbit-{winner}7")
