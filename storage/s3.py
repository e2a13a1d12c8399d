"""
The one module that talks to S3 (boto3/botocore are imported nowhere else).

Clients are built lazily from settings read at call time and cached per
configuration, so a settings override (tests, a reconfigured endpoint) takes
effect at once. Presigned URLs come from a second client built for
S3_PUBLIC_ENDPOINT_URL when it is set: SigV4 signs the host, so a URL can
only be valid for the host it was signed for, never edited afterwards.

Vendor failures leave this module as Pockity errors: an unreachable endpoint,
a timeout, a 5xx or a missing bucket is `StorageUnavailable` (503); a missing
object is a normal result (`None`) where the caller asks for one.

User metadata is written percent-encoded (S3 carries metadata in HTTP
headers, which are US-ASCII) and decoded when read back.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from urllib.parse import quote, unquote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from pockity.exceptions import InvalidInput, StorageUnavailable

logger = logging.getLogger(__name__)

# S3's own limits (ListObjectsV2 page, DeleteObjects batch, multipart parts).
MAX_LIST_KEYS = 1000
MAX_DELETE_KEYS = 1000
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10_000

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
_BUCKET_MISSING_CODES = {"NoSuchBucket"}

_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime | None
    etag: str
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


# --- Clients -----------------------------------------------------------------


def _build_client(endpoint_url: str):
    config = Config(
        region_name=settings.AWS_REGION,
        signature_version="s3v4",
        s3={"addressing_style": settings.S3_ADDRESSING_STYLE},
        connect_timeout=settings.S3_CONNECT_TIMEOUT,
        read_timeout=settings.S3_READ_TIMEOUT,
        retries={"max_attempts": settings.S3_MAX_ATTEMPTS, "mode": "standard"},
    )
    # A session per client: boto3's default session is not thread-safe, the
    # clients it makes are.
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID or None,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY or None,
        region_name=settings.AWS_REGION,
        config=config,
    )


def _cached_client(endpoint_url: str):
    cache_key = (
        endpoint_url,
        settings.AWS_ACCESS_KEY_ID,
        settings.AWS_SECRET_ACCESS_KEY,
        settings.AWS_REGION,
        settings.S3_ADDRESSING_STYLE,
        settings.S3_CONNECT_TIMEOUT,
        settings.S3_READ_TIMEOUT,
        settings.S3_MAX_ATTEMPTS,
    )
    client = _clients.get(cache_key)
    if client is None:
        with _clients_lock:
            client = _clients.get(cache_key)
            if client is None:
                client = _build_client(endpoint_url)
                _clients[cache_key] = client
    return client


def get_client():
    """The client for every S3 call the server itself makes."""
    return _cached_client(settings.S3_ENDPOINT_URL)


def get_presign_client():
    """The client that signs URLs handed to clients (public endpoint)."""
    return _cached_client(settings.S3_PUBLIC_ENDPOINT_URL or settings.S3_ENDPOINT_URL)


def _bucket() -> str:
    return settings.S3_BUCKET


# --- Errors ------------------------------------------------------------------


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _is_missing(exc: ClientError) -> bool:
    return _error_code(exc) in _MISSING_CODES


def _unavailable(operation: str, exc: Exception) -> StorageUnavailable:
    """Translate a vendor failure that the client cannot fix into a 503."""
    if isinstance(exc, ClientError):
        code = _error_code(exc)
        if code in _BUCKET_MISSING_CODES:
            logger.error("S3 bucket missing bucket=%s op=%s", _bucket(), operation)
            return StorageUnavailable(
                "The storage bucket does not exist; nothing was changed.",
                code="bucket_not_found",
            )
        logger.error(
            "S3 error op=%s code=%s status=%s", operation, code, _http_status(exc)
        )
    else:
        logger.error("S3 unreachable op=%s error=%s", operation, type(exc).__name__)
    return StorageUnavailable()


def _call(operation: str, **params):
    """Run one client call; every vendor failure becomes `StorageUnavailable`.

    Callers that expect a missing object catch `ClientError` themselves
    through `_call_allow_missing`.
    """
    try:
        return getattr(get_client(), operation)(Bucket=_bucket(), **params)
    except ClientError as exc:
        if _error_code(exc) == "KeyTooLongError":
            raise InvalidInput(
                "The object name is longer than the storage backend allows.",
                code="invalid_name",
            ) from exc
        raise _unavailable(operation, exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(operation, exc) from exc


def _call_allow_missing(operation: str, **params):
    """Like `_call`, but a missing object returns None instead of raising."""
    try:
        return getattr(get_client(), operation)(Bucket=_bucket(), **params)
    except ClientError as exc:
        if _is_missing(exc):
            return None
        raise _unavailable(operation, exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(operation, exc) from exc


# --- Metadata ----------------------------------------------------------------


def encode_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """Percent-encode metadata values so that any text survives HTTP headers."""
    return {
        key.lower(): quote(str(value), safe=" !$&'()*+,-./:;=@_~")
        for key, value in (metadata or {}).items()
    }


def decode_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    return {key: unquote(value) for key, value in (metadata or {}).items()}


# --- Reading -----------------------------------------------------------------


def _info_from_listing(item: dict) -> ObjectInfo:
    return ObjectInfo(
        key=item["Key"],
        size=int(item.get("Size", 0)),
        last_modified=item.get("LastModified"),
        etag=str(item.get("ETag", "")).strip('"'),
    )


def list_page(
    prefix: str,
    *,
    max_keys: int,
    continuation_token: str | None = None,
    start_after: str | None = None,
) -> tuple[list[ObjectInfo], str | None]:
    """One ListObjectsV2 page under `prefix`; returns (objects, next token).

    `start_after` skips every key up to and including it (S3 ignores it
    once a continuation token is given). The next token is None when the
    listing is complete, also when a backend says "truncated" but gives no
    token (which would otherwise loop forever).
    """
    params: dict[str, Any] = {
        "Prefix": prefix,
        "MaxKeys": max(1, min(int(max_keys), MAX_LIST_KEYS)),
    }
    if continuation_token:
        params["ContinuationToken"] = continuation_token
    elif start_after:
        params["StartAfter"] = start_after

    try:
        response = get_client().list_objects_v2(Bucket=_bucket(), **params)
    except ClientError as exc:
        if continuation_token and _http_status(exc) == 400:
            raise InvalidInput(
                "The listing cursor is not valid.", code="invalid_cursor"
            ) from exc
        raise _unavailable("list_objects_v2", exc) from exc
    except BotoCoreError as exc:
        raise _unavailable("list_objects_v2", exc) from exc

    objects = [_info_from_listing(item) for item in response.get("Contents", [])]
    next_token = response.get("NextContinuationToken")
    if not response.get("IsTruncated") or not next_token:
        next_token = None
    return objects, next_token


def iter_objects(prefix: str) -> Iterator[ObjectInfo]:
    """Every object under `prefix`, one ListObjectsV2 page (1000 keys) at a time."""
    token = None
    while True:
        objects, token = list_page(
            prefix, max_keys=MAX_LIST_KEYS, continuation_token=token
        )
        yield from objects
        if token is None:
            return


def head_object(key: str) -> ObjectInfo | None:
    """One HEAD request; None when the object does not exist."""
    response = _call_allow_missing("head_object", Key=key)
    if response is None:
        return None
    return ObjectInfo(
        key=key,
        size=int(response.get("ContentLength", 0)),
        last_modified=response.get("LastModified"),
        etag=str(response.get("ETag", "")).strip('"'),
        content_type=response.get("ContentType"),
        metadata=decode_metadata(response.get("Metadata")),
    )


# --- Presigned URLs -----------------------------------------------------------


def _ascii_fallback(filename: str) -> str:
    decomposed = unicodedata.normalize("NFKD", filename)
    kept = []
    for char in decomposed:
        if ord(char) < 32 or ord(char) >= 127:
            continue
        kept.append("_" if char in '"\\' else char)
    return "".join(kept).strip() or "download"


def content_disposition(filename: str, *, attachment: bool) -> str:
    """A Content-Disposition value safe for any name (RFC 6266 + RFC 5987).

    Control characters are dropped before anything else, so no CR/LF can
    reach a header; the exact name travels percent-encoded in `filename*`.
    """
    cleaned = "".join(
        char for char in filename if unicodedata.category(char) not in ("Cc", "Cf")
    )
    disposition = "attachment" if attachment else "inline"
    fallback = _ascii_fallback(cleaned)
    encoded = quote(cleaned, safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def presign_get(
    key: str, *, expires_in: int, filename: str | None = None, attachment=False
) -> str:
    """A presigned GET URL, signed by the public-endpoint client.

    Makes no network call. Never log the returned URL: it is a bearer token.
    """
    params: dict[str, Any] = {"Bucket": _bucket(), "Key": key}
    if filename is not None or attachment:
        params["ResponseContentDisposition"] = content_disposition(
            filename or key.rsplit("/", 1)[-1], attachment=attachment
        )
    try:
        return get_presign_client().generate_presigned_url(
            "get_object", Params=params, ExpiresIn=int(expires_in)
        )
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("generate_presigned_url", exc) from exc


# --- Writing -----------------------------------------------------------------


def put_object(
    key: str,
    body: bytes,
    *,
    content_type: str = "application/octet-stream",
    metadata: dict[str, str] | None = None,
) -> str:
    """One PUT of a small object; returns its ETag."""
    response = _call(
        "put_object",
        Key=key,
        Body=body,
        ContentType=content_type,
        Metadata=encode_metadata(metadata),
    )
    return str(response.get("ETag", "")).strip('"')


class MultipartUpload:
    """An S3 multipart upload driven part by part (see `storage.uploads`).

    `abort()` is safe to call at any point and more than once; a failed
    abort is logged, since the upload is then left for the bucket's
    lifecycle rule (AbortIncompleteMultipartUpload) to clear.
    """

    def __init__(self, key: str, *, content_type: str, metadata: dict | None):
        self.key = key
        self.parts: list[dict] = []
        self.upload_id: str | None = None
        self.finished = False
        response = _call(
            "create_multipart_upload",
            Key=key,
            ContentType=content_type,
            Metadata=encode_metadata(metadata),
        )
        self.upload_id = response["UploadId"]

    def upload_part(self, data: bytes) -> None:
        number = len(self.parts) + 1
        if number > MAX_PARTS:
            raise InvalidInput("The file has too many parts for the storage backend.")
        response = _call(
            "upload_part",
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
        )
        self.parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def complete(self) -> str:
        response = _call(
            "complete_multipart_upload",
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )
        self.finished = True
        return str(response.get("ETag", "")).strip('"')

    def abort(self) -> None:
        if self.finished or self.upload_id is None:
            return
        self.finished = True
        try:
            get_client().abort_multipart_upload(
                Bucket=_bucket(), Key=self.key, UploadId=self.upload_id
            )
        except (ClientError, BotoCoreError):
            logger.exception("S3 multipart abort failed upload_id=%s", self.upload_id)


def _part_size() -> int:
    return max(int(settings.S3_MULTIPART_PART_SIZE), MIN_PART_SIZE)


def _read_full(fileobj: IO[bytes], size: int) -> bytes:
    """Read up to `size` bytes, looping over short reads until EOF."""
    chunks = []
    remaining = size
    while remaining > 0:
        chunk = fileobj.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def upload_fileobj(
    key: str,
    fileobj: IO[bytes],
    *,
    size: int | None = None,
    content_type: str = "application/octet-stream",
    metadata: dict[str, str] | None = None,
) -> int:
    """Stream `fileobj` to `key`; returns the number of bytes stored.

    Reads at most one part (S3_MULTIPART_PART_SIZE) into memory at a time.
    Small files go as one PUT, larger ones as a multipart upload which is
    aborted on any failure (reading the source included), so a failed
    upload leaves no object and no parts behind. `size` is advisory.
    """
    part_size = _part_size()
    first = _read_full(fileobj, part_size)
    rest = _read_full(fileobj, 1) if len(first) == part_size else b""
    if not rest:
        put_object(key, first, content_type=content_type, metadata=metadata)
        return len(first)
    first += rest

    upload = MultipartUpload(key, content_type=content_type, metadata=metadata)
    total = 0
    try:
        pending = first
        while True:
            pending += _read_full(fileobj, part_size - len(pending))
            if len(pending) < part_size:
                break
            upload.upload_part(pending[:part_size])
            total += part_size
            pending = pending[part_size:]
        if pending or not upload.parts:
            upload.upload_part(pending)
            total += len(pending)
        upload.complete()
    except BaseException:
        upload.abort()
        raise
    return total


def delete_object(key: str) -> None:
    _call("delete_object", Key=key)


def delete_objects(keys: Iterable[str]) -> tuple[list[str], list[dict]]:
    """Delete keys in DeleteObjects batches of at most 1000.

    Returns (deleted keys, errors as {"key", "code", "message"}). S3 reports
    missing keys as deleted; callers that count must know what existed.
    """
    keys = list(keys)
    deleted: list[str] = []
    errors: list[dict] = []
    for start in range(0, len(keys), MAX_DELETE_KEYS):
        batch = keys[start : start + MAX_DELETE_KEYS]
        response = _call(
            "delete_objects",
            Delete={"Objects": [{"Key": key} for key in batch], "Quiet": False},
        )
        deleted.extend(item["Key"] for item in response.get("Deleted", []))
        errors.extend(
            {
                "key": item.get("Key"),
                "code": item.get("Code", ""),
                "message": item.get("Message", ""),
            }
            for item in response.get("Errors", [])
        )
    return deleted, errors


def put_marker(prefix: str) -> None:
    """A zero-byte `prefix/` key so that consoles show the folder at once."""
    if not prefix.endswith("/"):
        raise ValueError("A folder marker key must end with '/'.")
    put_object(prefix, b"", content_type="application/x-directory")


def delete_prefix(prefix: str) -> int:
    """Delete every object under `prefix`, page by page; returns the count."""
    if not prefix or not prefix.endswith("/"):
        raise ValueError("Refusing to delete a prefix that is not a folder.")
    count = 0
    while True:
        objects, _token = list_page(prefix, max_keys=MAX_LIST_KEYS)
        if not objects:
            return count
        deleted, errors = delete_objects(obj.key for obj in objects)
        count += len(deleted)
        if errors:
            logger.error(
                "S3 prefix delete incomplete prefix=%s errors=%s", prefix, len(errors)
            )
            raise StorageUnavailable("Some objects could not be deleted.")


def list_multipart_uploads(prefix: str) -> list[dict]:
    """In-progress multipart uploads under `prefix` (first page only)."""
    response = _call("list_multipart_uploads", Prefix=prefix)
    return [
        {"key": item["Key"], "upload_id": item["UploadId"]}
        for item in response.get("Uploads", [])
    ]


@dataclass(frozen=True)
class MultipartUploadInfo:
    key: str
    upload_id: str
    initiated: datetime | None


def iter_multipart_uploads(prefix: str = "") -> Iterator[MultipartUploadInfo]:
    """Every in-progress multipart upload under `prefix`, paged (1000 a call)."""
    markers: dict[str, str] = {}
    while True:
        response = _call("list_multipart_uploads", Prefix=prefix, **markers)
        for item in response.get("Uploads", []):
            yield MultipartUploadInfo(
                key=item["Key"],
                upload_id=item["UploadId"],
                initiated=item.get("Initiated"),
            )

        next_key = response.get("NextKeyMarker")
        if not response.get("IsTruncated") or not next_key:
            return
        markers = {
            "KeyMarker": next_key,
            "UploadIdMarker": response.get("NextUploadIdMarker", ""),
        }


def abort_multipart_upload(key: str, upload_id: str) -> None:
    """Abort one multipart upload, freeing its parts."""
    _call("abort_multipart_upload", Key=key, UploadId=upload_id)


# --- Bucket ------------------------------------------------------------------


def bucket_reachable() -> bool:
    """True when the bucket answers a HEAD; never raises."""
    try:
        get_client().head_bucket(Bucket=_bucket())
    except (ClientError, BotoCoreError):
        return False
    return True


def ensure_bucket() -> None:
    """Create the bucket if it is missing (embedded server, first start)."""
    try:
        get_client().head_bucket(Bucket=_bucket())
        return
    except ClientError as exc:
        if _http_status(exc) != 404 and not _is_missing(exc):
            raise _unavailable("head_bucket", exc) from exc
    except BotoCoreError as exc:
        raise _unavailable("head_bucket", exc) from exc

    params: dict[str, Any] = {}
    if settings.AWS_REGION and settings.AWS_REGION != "us-east-1":
        params["CreateBucketConfiguration"] = {
            "LocationConstraint": settings.AWS_REGION
        }
    try:
        get_client().create_bucket(Bucket=_bucket(), **params)
    except ClientError as exc:
        if _error_code(exc) not in ("BucketAlreadyOwnedByYou",):
            raise _unavailable("create_bucket", exc) from exc
    except BotoCoreError as exc:
        raise _unavailable("create_bucket", exc) from exc
    logger.info("S3 bucket created bucket=%s", _bucket())
