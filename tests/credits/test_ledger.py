"""The ledger is append-only and concurrent deductions never overspend."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError

from credits.models import CreditBalance, CreditEntry
from credits.services import InsufficientCredits, credits_add, credits_deduct


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_deleted_through_the_orm(user):
    entry, _ = credits_add(user=user, amount=5, actor=None)

    entry.reason = "tampered"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        CreditEntry.objects.filter(pk=entry.pk).update(amount=500)
    with pytest.raises(TypeError):
        CreditEntry.objects.all().delete()


@pytest.mark.django_db
def test_postgres_refuses_raw_updates_and_deletes(user):
    entry, _ = credits_add(user=user, amount=5, actor=None)

    for sql in (
        "UPDATE credits_creditentry SET amount = 500 WHERE id = %s",
        "DELETE FROM credits_creditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [entry.pk])

    assert CreditEntry.objects.get(pk=entry.pk).amount == 5


@pytest.mark.django_db
def test_deleting_the_user_keeps_the_ledger(user):
    credits_add(user=user, amount=5, actor=None)
    email = user.email

    user.delete()

    entry = CreditEntry.objects.get(user_email=email)
    assert entry.user_id is None
    assert entry.amount == 5


@pytest.mark.django_db
def test_balance_after_tracks_every_entry(user):
    credits_add(user=user, amount=10, actor=None)
    credits_deduct(user=user, amount=3, actor=None)
    credits_add(user=user, amount=1, actor=None)

    entries = list(CreditEntry.objects.filter(user=user).order_by("id"))

    assert [e.amount for e in entries] == [10, -3, 1]
    assert [e.balance_after for e in entries] == [10, 7, 8]
    assert CreditBalance.objects.get(user=user).balance == 8


@pytest.mark.django_db
def test_the_database_refuses_a_negative_balance(user):
    credits_add(user=user, amount=1, actor=None)

    with pytest.raises(DatabaseError), transaction.atomic():
        CreditBalance.objects.filter(user=user).update(balance=-1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_deductions_never_overspend(user):
    credits_add(user=user, amount=10, actor=None)
    start = threading.Barrier(8)
    outcomes = []
    lock = threading.Lock()

    def spend():
        try:
            start.wait()
            try:
                credits_deduct(user=user, amount=3, actor=None)
                result = "ok"
            except InsufficientCredits:
                result = "refused"
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("ok") == 3
    assert outcomes.count("refused") == 5
    assert CreditBalance.objects.get(user=user).balance == 1
    deductions = CreditEntry.objects.filter(user=user, amount__lt=0)
    assert deductions.count() == 3
    assert min(e.balance_after for e in CreditEntry.objects.filter(user=user)) >= 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_deduct_once(user):
    credits_add(user=user, amount=10, actor=None)
    start = threading.Barrier(6)
    entry_ids = []
    lock = threading.Lock()

    def retry():
        try:
            start.wait()
            entry, _ = credits_deduct(
                user=user, amount=4, actor=None, idempotency_key="same"
            )
            with lock:
                entry_ids.append(entry.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(entry_ids) == 6
    assert len(set(entry_ids)) == 1
    assert CreditBalance.objects.get(user=user).balance == 6
