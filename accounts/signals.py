"""Domain signals sent by accounts.services; audit receivers record them.

Every signal is sent with `actor` (the user acting, or None for the system)
and the keyword arguments listed beside it.
"""

from django.dispatch import Signal

user_registered = Signal()  # user
profile_updated = Signal()  # user, changes: dict[field, [old, new]]
password_changed = Signal()  # user
user_logged_out = Signal()  # user
account_deleted = Signal()  # user_id, email, deleted_keys: list[str]
email_verification_sent = Signal()  # user
email_verified = Signal()  # user
