"""Domain signals sent by storage.services; audit receivers record them.

Every signal is sent with `actor` (the user behind the request, or None) and
`namespace`; `api_key` is the key used, when one was.
"""

from django.dispatch import Signal

file_uploaded = Signal()  # namespace, api_key, name, size, replaced_size
files_deleted = Signal()  # namespace, api_key, names: list[str], bytes_freed
quota_exceeded = Signal()  # namespace, api_key, limit_kind, limit, usage, requested
usage_resynced = Signal()  # namespace, before: dict, after: dict, dry_run: bool
usage_changed = Signal()  # namespace (after any change; quota alerts listen)
