"""
Filters for the staff lists of requests (tier and API-key requests alike):
`status`, `user` (numeric id or e-mail), and a `from`/`to` date range on the
creation date. A bad value is a 400, never an empty page.
"""

from __future__ import annotations

from django_filters import rest_framework as filters

from tiers.models import RequestStatus, TierRequest
from tiers.services import parse_id


class RequestFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=RequestStatus.choices)
    user = filters.CharFilter(method="filter_user", help_text="User id or e-mail.")
    # `from` is a Python keyword, so the date bounds are declared under other
    # names; every concrete filterset passes through `with_date_bounds`.
    created_from = filters.DateFilter(
        field_name="created_at__date",
        lookup_expr="gte",
        help_text="Created on or after this date (YYYY-MM-DD).",
    )
    created_to = filters.DateFilter(
        field_name="created_at__date",
        lookup_expr="lte",
        help_text="Created on or before this date (YYYY-MM-DD).",
    )

    def filter_user(self, queryset, name, value):
        value = value.strip()
        if value.isascii() and value.isdigit():
            # An id beyond bigint matches nobody rather than failing.
            user_id = parse_id(value)
            return queryset.filter(user_id=user_id) if user_id else queryset.none()
        return queryset.filter(user__email__iexact=value)


def with_date_bounds(filterset_class):
    """Expose the date bounds as `from` and `to` on `filterset_class`."""
    for old, new in (("created_from", "from"), ("created_to", "to")):
        filterset_class.base_filters[new] = filterset_class.base_filters.pop(old)
    return filterset_class


@with_date_bounds
class TierRequestFilter(RequestFilter):
    requested_tier = filters.NumberFilter(field_name="requested_tier_id")

    class Meta:
        model = TierRequest
        fields = ["status", "user", "requested_tier"]
