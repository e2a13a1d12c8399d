"""Domain signals sent by billing.services; audit receivers record them.

Every signal is sent with `actor` (a user, or None for the system).
"""

from django.dispatch import Signal

subscription_changed = Signal()  # subscription, old_status, new_status
invoice_created = Signal()  # invoice
payment_succeeded = Signal()  # payment
payment_failed = Signal()  # payment, reason: str
payment_refunded = Signal()  # payment, refund
invoice_changed = Signal()  # invoice, old_status, new_status (void, paid, ...)
payment_created = Signal()  # payment (a new attempt, still PENDING)
