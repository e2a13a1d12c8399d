"""
The storage API under /api/storage/: thin views over storage.services.

Both kinds of caller are served: a JWT user works in `users/{id}/`, an API
key in `apikeys/{accessKeyId}/` (checked against the key's capabilities).
File names travel in the URL path, percent-encoded by the client and decoded
exactly once by the server, so `?`, `#`, `%` and `/` in names round-trip.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from urllib.parse import unquote_to_bytes, urlsplit

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from pockity.exceptions import Forbidden, InvalidInput, PayloadTooLarge
from pockity.pagination import parse_bounded_int
from pockity.parsers import BoundedJSONParser
from storage import serializers as io
from storage import services
from storage.names import InvalidName
from storage.uploads import (
    NAME_FIELDS,
    StreamedFile,
    StreamingMultiPartParser,
    StreamingUploadHandler,
)

logger = logging.getLogger(__name__)

NAME_PARAMETER = OpenApiParameter(
    "name",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The file name, percent-encoded; may contain '/'.",
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return False
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInput(
        f"'{name}' must be true or false.", details={"parameter": name, "value": raw}
    )


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _require_capability(api_key, capability: str) -> None:
    """API keys carry per-capability scopes; JWT users may do everything."""
    if api_key is not None and not getattr(api_key, capability):
        raise Forbidden(
            f"This API key lacks the '{capability.removeprefix('can_')}' capability.",
            code="api_key_scope_denied",
            details={"capability": capability.removeprefix("can_")},
        )


def _namespace(request, capability: str):
    namespace, api_key = services.namespace_for_request(request)
    _require_capability(api_key, capability)
    return namespace, api_key


def _path_is_utf8(request) -> bool:
    """Whether the request path, percent-decoded, is valid UTF-8.

    Django re-escapes invalid bytes (`%FF` becomes the three characters
    `%FF`), so the decoded name cannot tell `%FF.txt` from `%25FF.txt`; only
    the path as the client sent it can. ASGI servers give it as `raw_path`,
    gunicorn as `RAW_URI`, uWSGI and others as `REQUEST_URI`.

    Known shortcoming: behind a WSGI server that passes none of these,
    nothing is checked and `%FF.txt` names the file literally so called.
    """
    scope = getattr(request._request, "scope", None)
    if scope is not None and scope.get("raw_path") is not None:
        raw_path = bytes(scope["raw_path"])
    else:
        uri = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
        if not uri:
            return True
        try:
            raw_path = urlsplit(uri).path.encode("latin-1")
        except UnicodeEncodeError:
            return True  # Already decoded text, so already valid Unicode.
    try:
        unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class StorageView(APIView):
    parser_classes = [BoundedJSONParser]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if "name" in kwargs and not _path_is_utf8(request):
            raise InvalidName(
                "The file name in the URL is not valid UTF-8 once percent-decoded.",
                details={"name": kwargs["name"][:256]},
            )


class UploadView(StorageView):
    """POST /api/storage/upload: one file, streamed to S3 as it arrives."""

    parser_classes = [StreamingMultiPartParser]

    @extend_schema(
        operation_id="storage_upload",
        request={"multipart/form-data": io.UploadInput},
        responses={201: io.UploadOutput},
        parameters=[
            OpenApiParameter("path", OpenApiTypes.STR, description="Folder."),
            OpenApiParameter("fileName", OpenApiTypes.STR, description="Name."),
        ],
        description=(
            "Multipart upload of one file in field `file`. The name is "
            "`path` + `fileName` (query string or form fields before the file "
            "part), else the file's own name. Replacing a name counts only the "
            "size difference. 413 `quota_exceeded` / `file_too_large` when a "
            "limit would be passed; nothing is stored or counted then. "
            "Zero-byte files are accepted (0 bytes, 1 object)."
        ),
    )
    def post(self, request):
        namespace, api_key = _namespace(request, "can_write")
        query_names = {
            field: request.query_params[field]
            for field in NAME_FIELDS
            if field in request.query_params
        }

        def open_session(name, content_type, content_length):
            session = services.UploadSession(
                namespace=namespace,
                name=name,
                content_type=content_type,
                actor=request.user,
                api_key=api_key,
                declared_size=content_length,
            )
            session.start()
            return session

        handler = StreamingUploadHandler(
            request._request, open_session=open_session, query_names=query_names
        )
        request.upload_handlers = [handler]
        try:
            files = request.FILES
            fields = request.data
        except OSError as exc:
            handler.abort()
            raise InvalidInput(
                "The upload was interrupted before the body was complete.",
                code="upload_interrupted",
            ) from exc
        except BaseException:
            handler.abort()
            raise

        result = self._finish(handler, files, fields)
        usage = services.namespace_usage(namespace)
        return Response(
            {"message": "File uploaded.", "file": result, "usage": usage},
            status=status.HTTP_201_CREATED,
        )

    def _finish(self, handler, files, fields) -> dict:
        if handler.session is None:
            raise InvalidInput(
                "No file in the request: send it as multipart form field "
                "'file' with a filename.",
                code="file_required",
            )
        streamed = files.get("file")
        if handler.interrupted or not isinstance(streamed, StreamedFile):
            handler.abort()
            raise InvalidInput(
                "The upload ended before the file was complete; nothing was stored.",
                code="upload_interrupted",
            )
        if handler.resolve_names(fields) != handler.used_names:
            handler.abort()
            raise InvalidInput(
                "'path' and 'fileName' must come before the file part (or in "
                "the query string); nothing was stored.",
                code="late_name_fields",
            )
        return handler.session.finish()


class FileListView(StorageView):
    @extend_schema(
        operation_id="storage_files_list",
        parameters=[
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description="Files per page, 1..1000 (default 100); larger "
                "values are clamped to 1000.",
            ),
            OpenApiParameter(
                "cursor",
                OpenApiTypes.STR,
                description="The `nextCursor` of the previous page, unchanged.",
            ),
            OpenApiParameter("prefix", OpenApiTypes.STR, description="Name prefix."),
        ],
        responses={200: io.FileListOutput},
        description=(
            "One page of files (one S3 listing call). Folder markers are never "
            "listed, so a page may be short; the listing ends when "
            "`nextCursor` is null."
        ),
    )
    def get(self, request):
        namespace, _api_key = _namespace(request, "can_list")
        for unsupported in ("offset", "page"):
            if unsupported in request.query_params:
                raise InvalidInput(
                    f"'{unsupported}' is not supported here: this listing pages "
                    "with 'cursor' (pass back 'nextCursor').",
                    details={"parameter": unsupported},
                )
        limit = parse_bounded_int(
            request.query_params.get("limit"),
            name="limit",
            default=services.DEFAULT_LIST_LIMIT,
            minimum=1,
            maximum=services.MAX_LIST_LIMIT,
        )
        page = services.file_list(
            namespace=namespace,
            prefix_filter=request.query_params.get("prefix", ""),
            limit=limit,
            cursor=request.query_params.get("cursor") or None,
        )
        return Response(page)


class FileDetailView(StorageView):
    @extend_schema(
        operation_id="storage_file_download_url",
        parameters=[
            NAME_PARAMETER,
            OpenApiParameter(
                "expiresIn",
                OpenApiTypes.INT,
                description="URL lifetime in seconds, 1..604800 (default "
                f"{settings.PRESIGNED_URL_DEFAULT_EXPIRY}).",
            ),
            OpenApiParameter(
                "download",
                OpenApiTypes.BOOL,
                description="Ask the browser to save the file (attachment).",
            ),
        ],
        responses={200: io.DownloadOutput},
    )
    def get(self, request, name: str):
        namespace, _api_key = _namespace(request, "can_read")
        params = request.query_params
        raw_expiry = params.get("expiresIn", params.get("expires_in"))
        result = services.file_download_url(
            namespace=namespace,
            name=name,
            expires_in=services.validate_expiry(raw_expiry),
            attachment=_flag(request, "download"),
        )
        # The URL is a bearer credential for up to seven days.
        return Response(result, headers={"Cache-Control": "no-store"})

    @extend_schema(
        operation_id="storage_file_delete",
        parameters=[NAME_PARAMETER],
        responses={200: io.DeleteOutput},
    )
    def delete(self, request, name: str):
        namespace, api_key = _namespace(request, "can_delete")
        result = services.file_delete(
            namespace=namespace, name=name, actor=request.user, api_key=api_key
        )
        return Response(result)


class FileMetadataView(StorageView):
    @extend_schema(
        operation_id="storage_file_metadata",
        parameters=[NAME_PARAMETER],
        responses={200: io.MetadataOutput},
    )
    def get(self, request, name: str):
        namespace, _api_key = _namespace(request, "can_read")
        return Response(services.file_metadata(namespace=namespace, name=name))


class BulkDeleteView(FileDetailView):
    """POST files/bulk-delete; GET/DELETE still reach a file of that name."""

    @extend_schema(
        operation_id="storage_files_bulk_delete",
        request=io.BulkDeleteInput,
        responses={200: io.BulkDeleteOutput},
        description=(
            f"Delete up to {services.MAX_BULK_DELETE_NAMES} names in one request, "
            f"in batches of {services.BULK_DELETE_BATCH} (one DeleteObjects call "
            "each; sizes from HEADs for a small batch, else from a listing). Any "
            "invalid name refuses the whole request. Each name gets `deleted`, "
            "`not_found`, `duplicate` or `error`; usage drops by exactly what "
            "was deleted."
        ),
    )
    def post(self, request):
        if _content_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge(
                "The request body is too large; send at most "
                f"{services.MAX_BULK_DELETE_NAMES} names per request.",
                details={"maxBytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
            )
        namespace, api_key = _namespace(request, "can_delete")
        if not isinstance(request.data, dict):
            raise InvalidInput("The body must be a JSON object.")
        serializer = io.BulkDeleteInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.files_bulk_delete(
            namespace=namespace,
            names=serializer.validated_data["names"],
            actor=request.user,
            api_key=api_key,
        )
        return Response(result)

    @extend_schema(exclude=True)
    def get(self, request):
        return super().get(request, name="bulk-delete")

    @extend_schema(exclude=True)
    def delete(self, request):
        return super().delete(request, name="bulk-delete")


def _parse_date(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"'{name}' must be a date (YYYY-MM-DD).",
            details={"parameter": name, "value": raw[:32]},
        ) from None


def _history_range(request) -> tuple[date, date] | None:
    params = request.query_params
    history = params.get("history")
    if history is None and "from" not in params and "to" not in params:
        return None

    today = timezone.now().date()
    if history is not None:
        days = services.HISTORY_PERIODS.get(history)
        if days is None:
            raise InvalidInput(
                "'history' must be one of 7d, 30d, 90d.",
                details={"parameter": "history", "value": history[:32]},
            )
        return today - timedelta(days=days - 1), today

    date_to = _parse_date(params["to"], "to") if "to" in params else today
    if "from" in params:
        date_from = _parse_date(params["from"], "from")
    elif date_to - date.min < timedelta(days=29):
        # The default 30-day period would start before the first date there is.
        raise InvalidInput(
            "'to' is too early for the default 30-day period; give 'from' too.",
            details={"parameter": "to", "value": params["to"][:32]},
        )
    else:
        date_from = date_to - timedelta(days=29)
    if date_from > date_to:
        raise InvalidInput("'from' must not be after 'to'.")
    if (date_to - date_from).days >= services.MAX_HISTORY_DAYS:
        raise InvalidInput(
            f"The history period is at most {services.MAX_HISTORY_DAYS} days."
        )
    return date_from, date_to


class UsageView(StorageView):
    @extend_schema(
        operation_id="storage_usage",
        parameters=[
            OpenApiParameter("history", OpenApiTypes.STR, enum=["7d", "30d", "90d"]),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
        ],
        responses={200: io.UsageOutput},
    )
    def get(self, request):
        namespace, _api_key = _namespace(request, "can_list")
        period = _history_range(request)
        usage = services.namespace_usage(namespace)
        if period is not None:
            usage["history"] = services.usage_history(
                namespace=namespace, date_from=period[0], date_to=period[1]
            )
        return Response(usage)


class AnalyticsView(StorageView):
    @extend_schema(
        operation_id="storage_analytics",
        responses={200: io.AnalyticsOutput},
        description=(
            "Ledger usage plus a summary of a listing walk (by category and "
            "extension, largest and most recent files). Costs one S3 listing "
            f"call per 1000 files, up to {services.ANALYTICS_MAX_OBJECTS} files."
        ),
    )
    def get(self, request):
        namespace, _api_key = _namespace(request, "can_list")
        return Response(services.namespace_analytics(namespace=namespace))
