"""
Storage services: namespaces, their limits and usage, and file operations.

Views, the admin and management commands all call these functions. Each
names its side effects (S3 calls, ledger changes, signals). Every change to
a namespace's objects holds `namespace_change_lock` from its reservation
until its S3 call is settled, and sends `usage_changed` once committed.
"""

from __future__ import annotations

import heapq
import logging
import mimetypes
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import date, timedelta
from os.path import commonprefix

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from apikeys.models import ApiKey
from pockity.exceptions import InvalidInput, NotFound
from storage import quota, s3, signals
from storage.locks import namespace_change_lock, namespace_resync_lock
from storage.models import Namespace, UsageSnapshot
from storage.names import (
    MAX_KEY_BYTES,
    InvalidName,
    key_for,
    name_from_key,
    validate_name,
)
from storage.quota import NamespaceLimits

logger = logging.getLogger(__name__)


# --- Namespaces ----------------------------------------------------------------


def user_prefix(user) -> str:
    return f"users/{user.pk}/"


def namespace_for_user(user) -> Namespace:
    """The `users/{id}/` namespace of a JWT user, created on first use.

    No S3 call: a user's folder appears with its first upload.
    """
    namespace, created = Namespace.objects.get_or_create(
        prefix=user_prefix(user),
        defaults={"kind": Namespace.Kind.USER, "user": user, "label": user.email},
    )
    if created:
        logger.info("Namespace created prefix=%s", namespace.prefix)
    return namespace


def namespace_provision_for_api_key(api_key: ApiKey) -> Namespace:
    """Create the key's `apikeys/{accessKeyId}/` namespace and its folder marker.

    Writes the Namespace row, then PUTs the zero-byte marker (S3 call). Run
    inside the caller's transaction: a 503 from S3 rolls the row back. The
    marker is never listed, counted as a file or counted as usage.
    """
    namespace, created = Namespace.objects.get_or_create(
        prefix=api_key.prefix,
        defaults={
            "kind": Namespace.Kind.API_KEY,
            "api_key": api_key,
            "user": None,
            "label": f"{api_key.name} ({api_key.access_key_id}) of "
            f"{api_key.owner.email}",
        },
    )
    s3.put_marker(namespace.prefix)
    if created:
        logger.info("Namespace created prefix=%s", namespace.prefix)
    return namespace


def namespace_for_api_key(api_key: ApiKey) -> Namespace:
    namespace = Namespace.objects.filter(api_key=api_key).first()
    if namespace is None:
        # Keys made before namespaces existed (or imported) get theirs now.
        with transaction.atomic():
            namespace = namespace_provision_for_api_key(api_key)
    return namespace


def namespace_for_request(request) -> tuple[Namespace, ApiKey | None]:
    """The namespace a request works in, and the API key it used (if any)."""
    api_key = request.auth if isinstance(request.auth, ApiKey) else None
    if api_key is not None:
        return namespace_for_api_key(api_key), api_key
    return namespace_for_user(request.user), None


def namespace_limits(namespace: Namespace) -> NamespaceLimits:
    """The limits in force now, read live from the database (one query).

    See `limits_for` for how they are worked out. A namespace whose key or
    user is gone has no limits left to give; it is read-only in practice
    since nobody can authenticate into it.
    """
    api_key = None
    if namespace.api_key_id is not None:
        api_key = (
            ApiKey.objects.select_related("tier", "owner__tier")
            .filter(pk=namespace.api_key_id)
            .first()
        )
    user = None
    if api_key is None and namespace.user_id is not None:
        from accounts.models import User

        user = User.objects.select_related("tier").filter(pk=namespace.user_id).first()
    return limits_for(api_key=api_key, user=user)


def limits_for(*, api_key: ApiKey | None, user=None) -> NamespaceLimits:
    """The limits of a key's (else a user's) namespace, from loaded rows.

    No query of its own when the tiers came with the rows (`api_key__tier`,
    `api_key__owner__tier`, `user__tier`). API key: a key still on its
    tier's defaults follows its owner's current tier (byte, object and
    file-size limits), so a downgrade lowers it at once; a key with its own
    figures (an approved request or an operator's edit) keeps them (null
    means unlimited), with the max file size of the key's tier, else its
    owner's. User: the user's current tier, so a tier change applies at once.
    """
    if api_key is not None:
        if api_key.limits_from_tier:
            tier = api_key.owner.tier
        else:
            tier = api_key.tier or api_key.owner.tier
        return NamespaceLimits(
            storage_bytes=api_key.effective_storage_bytes_limit,
            objects=api_key.effective_object_limit,
            max_file_size=tier.max_file_size_bytes if tier else None,
        )
    tier = user.tier if user is not None else None
    if tier is not None:
        return NamespaceLimits(
            storage_bytes=tier.storage_bytes_limit,
            objects=tier.object_limit,
            max_file_size=tier.max_file_size_bytes,
        )
    return NamespaceLimits(storage_bytes=None, objects=None, max_file_size=None)


def usage_percent(used: int, limit: int | None) -> float | None:
    """Share of a limit in use, to two decimals; None when unlimited."""
    if limit is None:
        return None
    if limit == 0:
        return 100.0 if used else 0.0
    return round(used * 100 / limit, 2)


def namespace_usage(namespace: Namespace) -> dict:
    """Usage counters against the limits in force (one or two queries)."""
    namespace.refresh_from_db(fields=["bytes_used", "object_count", "updated_at"])
    limits = namespace_limits(namespace)
    return {
        "namespace": namespace.prefix,
        "bytesUsed": namespace.bytes_used,
        "objects": namespace.object_count,
        "limits": {
            "storageBytes": limits.storage_bytes,
            "objects": limits.objects,
            "maxFileSize": limits.max_file_size,
        },
        "percentages": {
            "storage": usage_percent(namespace.bytes_used, limits.storage_bytes),
            "objects": usage_percent(namespace.object_count, limits.objects),
        },
        "updatedAt": namespace.updated_at,
    }


def namespace_purge(*, namespace: Namespace, actor=None) -> int:
    """Delete every object under the prefix, then the Namespace row.

    S3 calls: paged listing and DeleteObjects until the prefix is empty.
    Holds the namespace's exclusive lock so no upload lands half-way. Sends
    `files_deleted` (names not itemised) and returns the objects deleted.
    Used by account deletion and by a key's revoke-and-purge; a revoked key's
    namespace otherwise lives until then.
    """
    with namespace_resync_lock(namespace.pk):
        deleted = s3.delete_prefix(namespace.prefix)
        namespace.refresh_from_db(fields=["bytes_used", "object_count"])
        bytes_freed = namespace.bytes_used
        namespace_id = namespace.pk
        namespace.delete()
        namespace.pk = namespace_id

    logger.info("Namespace purged prefix=%s objects=%s", namespace.prefix, deleted)
    signals.files_deleted.send(
        sender=Namespace,
        namespace=namespace,
        api_key=None,
        names=[],
        bytes_freed=bytes_freed,
        actor=actor,
    )
    return deleted


# --- Uploads -------------------------------------------------------------------


def _send_after_commit(signal, **kwargs) -> None:
    transaction.on_commit(lambda: signal.send(sender=Namespace, **kwargs))


def _usage_changed(namespace: Namespace, actor) -> None:
    _send_after_commit(signals.usage_changed, namespace=namespace, actor=actor)


ORIGINAL_NAME_META = "original-name"


class UploadSession:
    """One file's way into S3: reservation, parts, then completion or abort.

    `start()` takes the namespace's change lock and the key's lock, HEADs
    the current object (an overwrite counts only the size difference and no
    new object) and reserves the object. `feed()` buffers bytes and sends a
    part to an S3 multipart upload whenever S3_MULTIPART_PART_SIZE bytes are
    waiting, reserving those bytes first: no byte reaches S3 unreserved,
    and memory holds at most one part. `finish()` sends the rest (one PUT
    for a file that never filled a part), settles the ledger and sends
    `file_uploaded` and `usage_changed`. `abort()` (any failure) aborts the
    multipart upload and releases every reservation: nothing is counted,
    no object or part is left.

    Zero-byte files are accepted: 0 bytes, 1 object.

    The request's Content-Length is not used to reserve: it also counts the
    multipart framing and any other fields, so it only bounds the file from
    above and would refuse files that fit. A part that declares its own
    size (`declared_size`) is reserved in full before its first byte.

    Known shortcoming: the locks (and a database connection) are held while
    the body arrives, so a very slow client delays a resync of its
    namespace, and a second upload to the same name waits for the first.
    """

    def __init__(
        self,
        *,
        namespace: Namespace,
        name: str,
        content_type: str = "",
        actor=None,
        api_key: ApiKey | None = None,
        declared_size: int | None = None,
    ):
        self.namespace = namespace
        self.name = validate_name(name, prefix=namespace.prefix)
        self.key = namespace.prefix + self.name
        self.content_type = _clean_content_type(content_type)
        self.actor = actor
        self.api_key = api_key
        self.declared_size = declared_size
        self.limits = namespace_limits(namespace)
        self.part_size = max(settings.S3_MULTIPART_PART_SIZE, s3.MIN_PART_SIZE)
        self.buffer = bytearray()
        self.received = 0
        self.sent = 0
        self.existing: s3.ObjectInfo | None = None
        self.reserved_bytes = 0
        self.reserved_objects = 0
        self.multipart: s3.MultipartUpload | None = None
        self.done = False
        self._locks = ExitStack()

    # The steps, in order.

    def start(self) -> None:
        max_size = self.limits.max_file_size
        if self.declared_size is not None and max_size is not None:
            if self.declared_size > max_size:
                raise self._too_large(self.declared_size)

        self._locks.enter_context(namespace_change_lock(self.namespace.pk))
        self._locks.enter_context(quota.object_lock(self.key))
        try:
            self.existing = s3.head_object(self.key)
            if self.existing is None:
                self._reserve(objects=1)
            if self.declared_size is not None:
                self._reserve_up_to(self.declared_size)
        except BaseException:
            self.abort()
            raise

    def feed(self, data: bytes) -> None:
        try:
            self.received += len(data)
            max_size = self.limits.max_file_size
            if max_size is not None and self.received > max_size:
                raise self._too_large(self.received)
            self.buffer += data
            while len(self.buffer) >= self.part_size:
                self._send_part(bytes(self.buffer[: self.part_size]))
                del self.buffer[: self.part_size]
        except BaseException:
            self.abort()
            raise

    def finish(self) -> dict:
        try:
            metadata = {ORIGINAL_NAME_META: self.name}
            if self.multipart is None:
                body = bytes(self.buffer)
                self._reserve_up_to(len(body))
                etag = s3.put_object(
                    self.key,
                    body,
                    content_type=self.content_type,
                    metadata=metadata,
                )
            else:
                if self.buffer:
                    self._send_part(bytes(self.buffer))
                etag = self.multipart.complete()
            self.buffer = bytearray()
            self._settle()
        except BaseException:
            self.abort()
            raise
        finally:
            self._locks.close()

        replaced = self.existing.size if self.existing is not None else None
        logger.info(
            "File uploaded namespace=%s size=%s replaced=%s multipart=%s",
            self.namespace.pk,
            self.received,
            replaced,
            self.multipart is not None,
        )
        _send_after_commit(
            signals.file_uploaded,
            namespace=self.namespace,
            api_key=self.api_key,
            name=self.name,
            size=self.received,
            replaced_size=replaced,
            actor=self.actor,
        )
        _usage_changed(self.namespace, self.actor)
        return {
            "name": self.name,
            "key": self.key,
            "size": self.received,
            "contentType": self.content_type,
            "etag": etag,
            "replaced": self.existing is not None,
            "replacedSize": replaced,
        }

    def abort(self) -> None:
        """Undo everything; safe to call more than once."""
        if self.done:
            return
        self.done = True
        try:
            if self.multipart is not None:
                self.multipart.abort()
            quota.release(
                namespace_id=self.namespace.pk,
                size=self.reserved_bytes,
                objects=self.reserved_objects,
            )
            self.reserved_bytes = self.reserved_objects = 0
        finally:
            self._locks.close()

    # Helpers.

    def _too_large(self, size: int) -> quota.FileTooLarge:
        limit = self.limits.max_file_size
        return quota.FileTooLarge(
            f"The file is larger than the {limit} bytes your tier allows.",
            details={"limit": limit, "size": size},
        )

    def _reserve(self, *, size: int = 0, objects: int = 0) -> None:
        quota.reserve(
            namespace=self.namespace,
            limits=self.limits,
            size=size,
            objects=objects,
            actor=self.actor,
            api_key=self.api_key,
        )
        self.reserved_bytes += size
        self.reserved_objects += objects

    def _reserve_up_to(self, total_size: int) -> None:
        """Make sure `total_size` bytes of this file are reserved.

        An overwrite is credited the size of the object it replaces, so it
        reserves only what grows.
        """
        credit = self.existing.size if self.existing is not None else 0
        needed = max(total_size - credit, 0) - self.reserved_bytes
        if needed > 0:
            self._reserve(size=needed)

    def _send_part(self, data: bytes) -> None:
        self._reserve_up_to(self.sent + len(data))
        if self.multipart is None:
            self.multipart = s3.MultipartUpload(
                self.key,
                content_type=self.content_type,
                metadata={ORIGINAL_NAME_META: self.name},
            )
        self.multipart.upload_part(data)
        self.sent += len(data)

    def _settle(self) -> None:
        """Bring the reservation to the exact final difference."""
        credit = self.existing.size if self.existing is not None else 0
        # A file that shrank on overwrite also gives back the difference.
        surplus = self.reserved_bytes - (self.received - credit)
        quota.release(namespace_id=self.namespace.pk, size=surplus)
        self.reserved_bytes = self.reserved_objects = 0
        self.done = True


def _clean_content_type(content_type: str | None) -> str:
    value = (content_type or "").strip()
    if not value or any(ord(char) < 32 or ord(char) > 126 for char in value):
        return "application/octet-stream"
    return value[:255]


def file_upload(
    *,
    namespace: Namespace,
    name: str,
    fileobj,
    content_type: str = "",
    size: int | None = None,
    actor=None,
    api_key: ApiKey | None = None,
) -> dict:
    """Upload a file-like object (admin, commands); see UploadSession.

    S3 calls: HEAD, then one PUT or a multipart upload. Ledger: reserve,
    settle or release. Signals: file_uploaded, usage_changed.
    """
    session = UploadSession(
        namespace=namespace,
        name=name,
        content_type=content_type,
        actor=actor,
        api_key=api_key,
        declared_size=size,
    )
    session.start()
    while True:
        chunk = fileobj.read(64 * 1024)
        if not chunk:
            break
        session.feed(chunk)
    return session.finish()


# --- Reading -----------------------------------------------------------------


MAX_LIST_LIMIT = s3.MAX_LIST_KEYS
DEFAULT_LIST_LIMIT = 100


def _cursor_salt(namespace: Namespace, prefix_filter: str) -> str:
    return f"storage.file_list:{namespace.prefix}:{prefix_filter}"


def validate_prefix_filter(prefix_filter: str, *, namespace: Namespace) -> str:
    """A listing filter is matched literally by S3, so it cannot escape the
    namespace; only text S3 could not take is refused."""
    if any(unicodedata.category(char) == "Cc" for char in prefix_filter):
        raise InvalidName(
            "The prefix contains a control character.",
            details={"prefix": prefix_filter},
        )
    key_bytes = len((namespace.prefix + prefix_filter).encode("utf-8", "replace"))
    if key_bytes > MAX_KEY_BYTES:
        raise InvalidName(f"The prefix is longer than {MAX_KEY_BYTES} bytes.")
    return prefix_filter


def file_list(
    *,
    namespace: Namespace,
    prefix_filter: str = "",
    limit: int = DEFAULT_LIST_LIMIT,
    cursor: str | None = None,
) -> dict:
    """One page of the namespace's files: one ListObjectsV2 call, no HEADs.

    The cursor is S3's continuation token, signed and bound to this
    namespace and filter, so a forged, altered or foreign cursor is a 400
    rather than an S3 error. Folder markers and other keys ending in `/` are
    skipped, so a page may hold fewer than `limit` files (even none) while
    `nextCursor` is still set; the listing ends when `nextCursor` is null.
    """
    prefix_filter = validate_prefix_filter(prefix_filter, namespace=namespace)
    signer = signing.Signer(salt=_cursor_salt(namespace, prefix_filter))
    token = None
    if cursor:
        try:
            token = signer.unsign(cursor)
        except signing.BadSignature:
            raise InvalidInput(
                "The cursor is not valid for this listing; pass back exactly "
                "the nextCursor you were given.",
                code="invalid_cursor",
            ) from None

    objects, next_token = s3.list_page(
        namespace.prefix + prefix_filter,
        max_keys=min(max(limit, 1), MAX_LIST_LIMIT),
        continuation_token=token,
    )
    files = []
    for item in objects:
        name = name_from_key(item.key, prefix=namespace.prefix)
        if name is None:
            continue
        files.append(
            {
                "name": name,
                "size": item.size,
                "lastModified": item.last_modified,
                "etag": item.etag,
            }
        )
    return {
        "files": files,
        "count": len(files),
        "nextCursor": signer.sign(next_token) if next_token else None,
        "prefix": prefix_filter,
    }


def _head_or_404(namespace: Namespace, name: str) -> s3.ObjectInfo:
    info = s3.head_object(key_for(name, prefix=namespace.prefix))
    if info is None:
        raise NotFound(
            "No file with this name.", code="file_not_found", details={"name": name}
        )
    return info


def _original_name(info: s3.ObjectInfo, name: str) -> str:
    return info.metadata.get(ORIGINAL_NAME_META) or name


def file_metadata(*, namespace: Namespace, name: str) -> dict:
    """One HEAD: size, content type, dates, ETag and the original name."""
    info = _head_or_404(namespace, name)
    return {
        "name": name,
        "originalName": _original_name(info, name),
        "size": info.size,
        "contentType": info.content_type,
        "lastModified": info.last_modified,
        "etag": info.etag,
        "metadata": {
            key: value
            for key, value in info.metadata.items()
            if key != ORIGINAL_NAME_META
        },
    }


def validate_expiry(raw, *, default: int | None = None) -> int:
    """A presigned URL lifetime in whole seconds, 1..604800 (S3's SigV4 max).

    Anything else is a 400 rather than a URL that S3 would refuse.
    """
    maximum = settings.PRESIGNED_URL_MAX_EXPIRY
    if raw is None or raw == "":
        return default if default is not None else settings.PRESIGNED_URL_DEFAULT_EXPIRY
    text = str(raw).strip()
    if not text.isdigit() or len(text) > 7 or not 1 <= int(text) <= maximum:
        raise InvalidInput(
            f"'expiresIn' must be a whole number of seconds from 1 to {maximum}.",
            code="invalid_expiry",
            details={"expiresIn": str(raw)[:32], "min": 1, "max": maximum},
        )
    return int(text)


def file_download_url(
    *,
    namespace: Namespace,
    name: str,
    expires_in: int,
    attachment: bool = False,
) -> dict:
    """A presigned GET URL for an existing file (one HEAD, then local signing).

    The URL carries a Content-Disposition with the original name (inline,
    or attachment when asked). The URL is a bearer token: never logged.
    """
    info = _head_or_404(namespace, name)
    original = _original_name(info, name)
    url = s3.presign_get(
        info.key,
        expires_in=expires_in,
        filename=original.rsplit("/", 1)[-1],
        attachment=attachment,
    )
    return {
        "name": name,
        "url": url,
        "expiresIn": expires_in,
        "expiresAt": timezone.now() + timedelta(seconds=expires_in),
        "size": info.size,
        "contentType": info.content_type,
        "disposition": "attachment" if attachment else "inline",
    }


# --- Deleting ------------------------------------------------------------------


def file_delete(
    *, namespace: Namespace, name: str, actor=None, api_key: ApiKey | None = None
) -> dict:
    """Delete one file: HEAD (404 when missing), DELETE, release its usage.

    Sends `files_deleted` and `usage_changed`. A missing file changes nothing.
    """
    key = key_for(name, prefix=namespace.prefix)
    with namespace_change_lock(namespace.pk), quota.object_lock(key):
        info = s3.head_object(key)
        if info is None:
            raise NotFound(
                "No file with this name.",
                code="file_not_found",
                details={"name": name},
            )
        s3.delete_object(key)
        quota.release(namespace_id=namespace.pk, size=info.size, objects=1)

    logger.info("File deleted namespace=%s size=%s", namespace.pk, info.size)
    _send_after_commit(
        signals.files_deleted,
        namespace=namespace,
        api_key=api_key,
        names=[name],
        bytes_freed=info.size,
        actor=actor,
    )
    _usage_changed(namespace, actor)
    return {"name": name, "deleted": True, "size": info.size}


MAX_BULK_DELETE_NAMES = 10_000
_HEAD_WORKERS = 16
# Names locked, sized and deleted together: each key holds one entry of
# PostgreSQL's shared lock table (64 x max_connections by default) while its
# batch runs, so a batch stays a few hundred keys.
BULK_DELETE_BATCH = 250
# A batch of at most this many names learns sizes with HEADs (16 at a time);
# a larger one lists the range of keys it spans instead, at most
# _SIZE_LIST_PAGES pages, and HEADs only the names the listing did not reach.
BULK_HEAD_THRESHOLD = 20
_SIZE_LIST_PAGES = 3


def _head_many(keys: list[str]) -> dict[str, s3.ObjectInfo | None]:
    """HEAD each key, a few at a time (boto3 clients are thread-safe)."""
    if len(keys) <= 1:
        return {key: s3.head_object(key) for key in keys}
    with ThreadPoolExecutor(max_workers=min(_HEAD_WORKERS, len(keys))) as pool:
        return dict(zip(keys, pool.map(s3.head_object, keys), strict=True))


def _list_many(keys: list[str]) -> dict[str, s3.ObjectInfo | None]:
    """The objects for sorted `keys`, from a listing of the range they span.

    Listing order is UTF-8 byte order, which is code point order, so the
    walk starts just before the first key (at the key minus its last
    character) under the keys' longest common prefix and stops once past
    the last key. Keys beyond what _SIZE_LIST_PAGES pages reached are HEADed.
    """
    found: dict[str, s3.ObjectInfo | None] = dict.fromkeys(keys)
    first, last = keys[0], keys[-1]
    prefix = commonprefix([first, last])
    token = None
    reached = ""
    for _page in range(_SIZE_LIST_PAGES):
        objects, token = s3.list_page(
            prefix,
            max_keys=s3.MAX_LIST_KEYS,
            continuation_token=token,
            start_after=first[:-1],
        )
        for item in objects:
            if item.key in found:
                found[item.key] = item
        if objects:
            reached = objects[-1].key
        if token is None or reached >= last:
            return found

    found.update(_head_many([key for key in keys if key > reached]))
    return found


def _find_objects(keys: list[str]) -> dict[str, s3.ObjectInfo | None]:
    if len(keys) <= BULK_HEAD_THRESHOLD:
        return _head_many(keys)
    return _list_many(keys)


def files_bulk_delete(
    *,
    namespace: Namespace,
    names: list[str],
    actor=None,
    api_key: ApiKey | None = None,
) -> dict:
    """Delete up to MAX_BULK_DELETE_NAMES files; report each name's fate.

    All names are validated first: one invalid name refuses the whole
    request (400) and nothing is deleted. Repeats are reported as
    `duplicate`. The unique keys are handled in sorted batches of
    BULK_DELETE_BATCH: each batch takes the per-key locks uploads take
    (`quota.object_locks`), learns what exists and its size (HEADs for a
    batch of at most BULK_HEAD_THRESHOLD names, else a listing of the range;
    S3 reports missing keys as deleted, so its answer cannot be counted),
    deletes with DeleteObjects and releases exactly what was deleted before
    unlocking. An upload of one of the names therefore lands wholly before
    or wholly after its batch, and the ledger stays equal to S3. Sends
    `files_deleted` and `usage_changed` when anything was deleted.
    """
    for name in names:
        validate_name(name, prefix=namespace.prefix)
    unique = list(dict.fromkeys(names))
    keys = {name: namespace.prefix + name for name in unique}
    ordered = sorted(keys.values())

    found_by_key: dict[str, s3.ObjectInfo] = {}
    deleted_set: set[str] = set()
    errors: list[dict] = []
    with namespace_change_lock(namespace.pk):
        for start in range(0, len(ordered), BULK_DELETE_BATCH):
            batch = ordered[start : start + BULK_DELETE_BATCH]
            with quota.object_locks(batch):
                found = {
                    key: info for key, info in _find_objects(batch).items() if info
                }
                deleted, batch_errors = s3.delete_objects(
                    key for key in batch if key in found
                )
                gone = set(deleted) & found.keys()
                quota.release(
                    namespace_id=namespace.pk,
                    size=sum(found[key].size for key in gone),
                    objects=len(gone),
                )
            found_by_key.update(found)
            deleted_set |= gone
            errors += batch_errors

    existing = {
        name: found_by_key[key] for name, key in keys.items() if key in found_by_key
    }
    deleted_names = [name for name in unique if keys[name] in deleted_set]
    freed = sum(existing[name].size for name in deleted_names)

    errors_by_key = {error["key"]: error for error in errors}
    results = []
    seen = set()
    for name in names:
        if name in seen:
            results.append({"name": name, "status": "duplicate"})
            continue
        seen.add(name)
        key = keys[name]
        if name not in existing:
            results.append({"name": name, "status": "not_found"})
        elif key in deleted_set:
            results.append(
                {"name": name, "status": "deleted", "size": existing[name].size}
            )
        else:
            error = errors_by_key.get(key, {})
            results.append(
                {
                    "name": name,
                    "status": "error",
                    "error": {
                        "code": error.get("code") or "delete_failed",
                        "message": error.get("message") or "Not deleted.",
                    },
                }
            )

    summary = {
        "requested": len(names),
        "unique": len(unique),
        "deleted": len(deleted_names),
        "notFound": len(unique) - len(existing),
        "errors": len(existing) - len(deleted_names),
        "bytesFreed": freed,
    }
    logger.info(
        "Bulk delete namespace=%s deleted=%s not_found=%s errors=%s",
        namespace.pk,
        summary["deleted"],
        summary["notFound"],
        summary["errors"],
    )
    if deleted_names:
        _send_after_commit(
            signals.files_deleted,
            namespace=namespace,
            api_key=api_key,
            names=deleted_names,
            bytes_freed=freed,
            actor=actor,
        )
        _usage_changed(namespace, actor)
    return {"summary": summary, "results": results}


# --- Usage history and analytics ---------------------------------------------------


HISTORY_PERIODS = {"7d": 7, "30d": 30, "90d": 90}
MAX_HISTORY_DAYS = 366


def usage_history(*, namespace: Namespace, date_from: date, date_to: date) -> list:
    """The namespace's UsageSnapshot rows between two dates, oldest first."""
    rows = UsageSnapshot.objects.filter(
        namespace=namespace, period__gte=date_from, period__lte=date_to
    ).order_by("period")
    return [
        {
            "period": row.period,
            "bytesUsed": row.bytes_used,
            "objects": row.object_count,
            "storageBytesLimit": row.storage_bytes_limit,
            "objectLimit": row.object_limit,
            "takenAt": row.taken_at,
        }
        for row in rows
    ]


ANALYTICS_MAX_OBJECTS = 10_000
_TOP = 10


def _category(name: str) -> str:
    guessed, _encoding = mimetypes.guess_type(name, strict=False)
    if guessed is None:
        return "other"
    major = guessed.split("/", 1)[0]
    if major in ("image", "video", "audio", "text"):
        return major
    if guessed in (
        "application/pdf",
        "application/msword",
        "application/rtf",
    ) or guessed.startswith("application/vnd."):
        return "document"
    if guessed in (
        "application/zip",
        "application/gzip",
        "application/x-tar",
        "application/x-7z-compressed",
        "application/x-bzip2",
        "application/x-xz",
    ):
        return "archive"
    return "other"


def _extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return ""
    return base.rsplit(".", 1)[-1].lower()[:16]


def namespace_analytics(*, namespace: Namespace) -> dict:
    """Usage from the ledger plus a summary of a listing walk.

    Cost: one ListObjectsV2 call per 1000 objects, up to
    ANALYTICS_MAX_OBJECTS (10 calls), and no request per object; past that
    the summary covers the first objects in key order and says so with
    `truncated`. Categories come from file extensions, not from HEADs.
    """
    usage = namespace_usage(namespace)
    by_category: dict[str, dict] = {}
    by_extension: dict[str, dict] = {}
    largest: list[tuple[int, str, object]] = []
    recent: list[tuple[object, str, int]] = []
    scanned = 0
    scanned_bytes = 0
    truncated = False

    for item in s3.iter_objects(namespace.prefix):
        name = name_from_key(item.key, prefix=namespace.prefix)
        if name is None:
            continue
        if scanned >= ANALYTICS_MAX_OBJECTS:
            truncated = True
            break
        scanned += 1
        scanned_bytes += item.size
        for table, label in (
            (by_category, _category(name)),
            (by_extension, _extension(name)),
        ):
            entry = table.setdefault(label, {"count": 0, "bytes": 0})
            entry["count"] += 1
            entry["bytes"] += item.size
        heapq.heappush(largest, (item.size, name, item.last_modified))
        if len(largest) > _TOP:
            heapq.heappop(largest)
        if item.last_modified is not None:
            heapq.heappush(recent, (item.last_modified, name, item.size))
            if len(recent) > _TOP:
                heapq.heappop(recent)

    return {
        "usage": usage,
        "scan": {
            "files": scanned,
            "bytes": scanned_bytes,
            "truncated": truncated,
            "maxFiles": ANALYTICS_MAX_OBJECTS,
        },
        "byCategory": dict(sorted(by_category.items())),
        "byExtension": dict(
            sorted(by_extension.items(), key=lambda pair: -pair[1]["bytes"])
        ),
        "largestFiles": [
            {"name": name, "size": size, "lastModified": modified}
            for size, name, modified in sorted(largest, reverse=True)
        ],
        "recentFiles": [
            {"name": name, "size": size, "lastModified": modified}
            for modified, name, size in sorted(recent, reverse=True)
        ],
    }
