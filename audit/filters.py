"""Query filters for the admin API's audit-log and listing endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.models import AuditAction, AuditLog

MAX_ID = 2**63 - 1


class IdFilter(django_filters.Filter):
    """A database id: an integer in BIGINT range, else a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class IpFilter(django_filters.Filter):
    field_class = forms.GenericIPAddressField


class InstantField(forms.Field):
    """An ISO 8601 date or date-time; a bare date keeps that it had no time.

    Cleans to `(aware datetime, is_date)`: `to=2026-12-01` then means "up to
    the end of that day", not "up to its first instant".
    """

    default_error_messages = {
        "invalid": "Enter an ISO 8601 date (2026-12-01) or date-time "
        "(2026-12-01T10:00:00Z)."
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        # The date first: parse_datetime would also read "2026-12-01" as its
        # first instant and lose that it was a whole day.
        try:
            day = parse_date(text)
            moment = None if day else parse_datetime(text)
        except ValueError:
            moment = day = None
        try:
            if day is not None:
                start = datetime.combine(day, time.min)
                zone = timezone.get_default_timezone()
                return timezone.make_aware(start, zone), True
            if moment is not None:
                if timezone.is_naive(moment):
                    zone = timezone.get_default_timezone()
                    moment = timezone.make_aware(moment, zone)
                # Comparing needs it in UTC; an offset pushing it past year 1
                # or 9999 cannot be represented.
                return moment.astimezone(UTC), False
        except OverflowError:
            pass
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class InstantFilter(django_filters.Filter):
    field_class = InstantField

    def __init__(self, *args, upper: bool = False, **kwargs):
        self.upper = upper
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        moment, is_date = value
        if not self.upper:
            return qs.filter(**{f"{self.field_name}__gte": moment})
        if is_date:
            try:
                end = moment + timedelta(days=1)
            except OverflowError:
                # Up to the end of the last representable day: no bound.
                return qs
            return qs.filter(**{f"{self.field_name}__lt": end})
        return qs.filter(**{f"{self.field_name}__lte": moment})


class AuditLogFilter(django_filters.FilterSet):
    """`?action=USER_LOGIN&user=7&apiKey=3&actor=1&ip=10.0.0.2&from=...&to=...`

    `action` may be repeated (any of them); `from` and `to` are inclusive,
    and a bare date as `to` includes that whole day.
    """

    action = django_filters.MultipleChoiceFilter(choices=AuditAction.choices)
    user = IdFilter(field_name="user_id")
    apiKey = IdFilter(field_name="api_key_id")
    accessKeyId = django_filters.CharFilter(field_name="api_key_label", max_length=64)
    actor = IdFilter(field_name="actor_id")
    ip = IpFilter(field_name="ip_address")
    requestId = django_filters.CharFilter(field_name="request_id", max_length=64)

    class Meta:
        model = AuditLog
        fields: list[str] = []


# `from` is a Python keyword, so these two cannot be class attributes.
AuditLogFilter.base_filters["from"] = InstantFilter(field_name="created_at")
AuditLogFilter.base_filters["to"] = InstantFilter(field_name="created_at", upper=True)
