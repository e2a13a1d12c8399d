"""Domain signals sent by credits.services; audit receivers record them.

Every signal is sent with `actor` (a user, or None for the system).
"""

from django.dispatch import Signal

credits_added = Signal()  # entry: CreditEntry
credits_deducted = Signal()  # entry: CreditEntry
