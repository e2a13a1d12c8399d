"""Domain signals sent by apikeys.services; audit receivers record them.

Every signal is sent with `actor` (a user, or None for the system).
"""

from django.dispatch import Signal

api_key_created = Signal()  # api_key, via_request: ApiKeyRequest | None
api_key_first_used = Signal()  # api_key
api_key_revoked = Signal()  # api_key, reason: str
api_key_limits_changed = Signal()  # api_key, before: dict, after: dict
api_key_secret_revealed = Signal()  # api_key_request
api_key_request_created = Signal()  # api_key_request
api_key_request_decided = Signal()  # api_key_request, approved: bool
