"""Pagination shared by every list endpoint: strict parameters, clamped size."""

from __future__ import annotations

from rest_framework import pagination

from pockity.exceptions import InvalidInput

MAX_PAGE_SIZE = 1000


def parse_bounded_int(
    raw: str | None,
    *,
    name: str,
    default: int,
    minimum: int,
    maximum: int | None = None,
) -> int:
    """Parse a query parameter; 400 when it is not an integer >= minimum.

    Values above `maximum` are clamped rather than refused, so that a client
    asking for "everything" gets the largest page we serve.
    """
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"'{name}' must be an integer.", details={"parameter": name, "value": raw}
        ) from None
    if value < minimum:
        raise InvalidInput(
            f"'{name}' must be at least {minimum}.",
            details={"parameter": name, "value": raw},
        )
    if maximum is not None:
        value = min(value, maximum)
    return value


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=&offset=`: bad values are a 400, not a silent default."""

    max_limit = MAX_PAGE_SIZE

    def get_limit(self, request):
        return parse_bounded_int(
            request.query_params.get(self.limit_query_param),
            name=self.limit_query_param,
            default=self.default_limit,
            minimum=1,
            maximum=self.max_limit,
        )

    def get_offset(self, request):
        return parse_bounded_int(
            request.query_params.get(self.offset_query_param),
            name=self.offset_query_param,
            default=0,
            minimum=0,
        )
