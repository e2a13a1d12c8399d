"""Request parsers shared by every app's API."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with nesting too deep to decode answered as a 400.

    Python's decoder recurses once per nesting level and raises
    RecursionError (not ValueError) on a body like `[[[[...]]]]`, which DRF
    would let through as a 500, on endpoints that need no sign-in too.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                "JSON parse error: the body is nested too deeply."
            ) from None
