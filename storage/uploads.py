"""
Streaming uploads: a Django upload handler that sends file bytes to S3 as
they arrive, installed for the upload view only.

Django's multipart parser hands the handler the file in chunks (64 KiB); the
handler feeds them to a `storage.services.UploadSession`, which buffers at
most one S3 part and reserves quota before each part leaves. Nothing is
written to memory beyond that part, or to disk.

One file per request, in the form field `file`. The target name is
`path` + `fileName` when given (query string, or form fields sent BEFORE the
file part), else the file part's own filename. Django reduces that filename
to its last path segment (its parser drops everything up to the last `/` or
`\\`) and unescapes HTML entities in it (`&amp;` becomes `&`), so folders,
and names that must stay byte-exact, are best given with `fileName`.

Completion is deferred to the view (`UploadSession.finish()`), after the
whole body has been read: a body that ends early, a second file, or a
`path`/`fileName` field arriving after the file with a different name
aborts the upload instead of storing something the client did not mean.
"""

from __future__ import annotations

import logging

from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser

from pockity.exceptions import InvalidInput
from storage.names import join_upload_name

logger = logging.getLogger(__name__)

FILE_FIELD = "file"
NAME_FIELDS = ("path", "fileName")


class StreamedFile:
    """What the handler leaves in request.FILES: a session not yet finished."""

    def __init__(self, session, *, field_name: str, size: int):
        self.session = session
        self.field_name = field_name
        self.size = size
        self.name = session.name

    def close(self):
        # Django closes uploaded files after the response; an unfinished
        # session at that point is an upload nobody completed.
        self.session.abort()


class StreamingUploadHandler(FileUploadHandler):
    """Feeds the single file part to an UploadSession made by `open_session`.

    `open_session(name, content_type, content_length)` returns a started
    session. `fields` (set by StreamingMultiPartParser) returns the form
    fields parsed so far.
    """

    def __init__(self, request, *, open_session, query_names: dict):
        super().__init__(request)
        self.open_session = open_session
        self.query_names = query_names
        self.fields = dict
        self.session = None
        self.files_seen = 0
        self.used_names: dict = {}
        self.interrupted = False

    def resolve_names(self, fields) -> dict:
        names = {}
        for field in NAME_FIELDS:
            value = self.query_names.get(field)
            if value is None and fields is not None:
                value = fields.get(field)
            if value is not None:
                names[field] = value
        return names

    def new_file(self, field_name, file_name, content_type, content_length, *args):
        self.files_seen += 1
        if field_name != FILE_FIELD:
            self.abort()
            raise InvalidInput(
                f"Unexpected file field '{field_name}'; send the file in the "
                f"'{FILE_FIELD}' field.",
                code="unexpected_file_field",
            )
        if self.files_seen > 1:
            self.abort()
            raise InvalidInput("Send one file per request.", code="too_many_files")

        self.used_names = self.resolve_names(self.fields())
        # An explicit fileName wins even when empty, so that it is refused
        # rather than silently replaced by the part's filename.
        name = join_upload_name(
            self.used_names.get("path"), self.used_names.get("fileName", file_name)
        )
        self.session = self.open_session(name, content_type, content_length)
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        self.session.feed(raw_data)
        return None

    def file_complete(self, file_size):
        return StreamedFile(self.session, field_name=FILE_FIELD, size=file_size)

    def upload_interrupted(self):
        # The body ended inside the file part (client cut off, truncated).
        self.interrupted = True
        self.abort()

    def abort(self):
        if self.session is not None:
            self.session.abort()


class StreamingMultiPartParser(MultiPartParser):
    """DRF's multipart parser, letting the handler see fields parsed so far.

    Form fields that precede the file part (`path`, `fileName`) decide the
    key before the first byte is sent. Django's parser keeps them in its
    private `_post`; if a future Django renames it, those fields are simply
    not seen early, and a name given after the file is refused (400) by the
    late-field check in the view rather than stored under another name.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        handlers = request.upload_handlers
        encoding = parser_context.get("encoding") or "utf-8"

        try:
            parser = DjangoMultiPartParser(meta, stream, handlers, encoding)
            for handler in handlers:
                if isinstance(handler, StreamingUploadHandler):
                    handler.fields = lambda parser=parser: getattr(
                        parser, "_post", None
                    )
            data, files = parser.parse()
        except MultiPartParserError as exc:
            for handler in handlers:
                if isinstance(handler, StreamingUploadHandler):
                    handler.abort()
            raise ParseError(f"Malformed multipart body: {exc}") from exc
        return DataAndFiles(data, files)
