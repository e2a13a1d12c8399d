"""`manage.py createsuperuser --noinput` from the environment."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_createsuperuser_noinput_reads_email_and_password(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Sturdy-Admin-Pass-9")

    call_command("createsuperuser", interactive=False, verbosity=0)

    admin = User.objects.get(email="root@example.com")
    assert admin.is_superuser and admin.is_staff
    assert admin.role == "ADMIN"
    assert admin.check_password("Sturdy-Admin-Pass-9")
    assert admin.tier is not None and admin.tier.is_default
