"""Domain signals sent by tiers.services; audit receivers record them.

Every signal is sent with `actor` (a user, or None for the system).
"""

from django.dispatch import Signal

tier_request_created = Signal()  # tier_request
tier_request_decided = Signal()  # tier_request, approved: bool
tier_changed = Signal()  # user, old_tier, new_tier, reason: str
