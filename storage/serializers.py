"""Request parsing and response shapes (for the schema) of the storage API."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from storage.services import MAX_BULK_DELETE_NAMES


@extend_schema_field(OpenApiTypes.STR)
class StrictStringField(serializers.Field):
    """A string taken exactly as sent: no coercion of numbers, no trimming."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


def _names_field() -> serializers.ListField:
    return serializers.ListField(
        child=StrictStringField(),
        allow_empty=False,
        max_length=MAX_BULK_DELETE_NAMES,
        required=False,
    )


class BulkDeleteInput(serializers.Serializer):
    """`keys` (or the seed README's `fileNames`, or `names`): file names."""

    keys = _names_field()
    fileNames = _names_field()
    names = _names_field()

    def validate(self, attrs):
        given = [field for field in ("keys", "fileNames", "names") if field in attrs]
        if not given:
            raise serializers.ValidationError(
                {"keys": "A list of file names is required."}
            )
        if len(given) > 1:
            raise serializers.ValidationError(
                {"keys": "Send the names in one field: 'keys' or 'fileNames'."}
            )
        return {"names": attrs[given[0]]}


class UploadInput(serializers.Serializer):
    """Documents the multipart form; the streaming handler does the parsing."""

    file = serializers.FileField(help_text="The file (one per request).")
    path = serializers.CharField(
        required=False,
        help_text="Folder to upload into, e.g. 'docs/2024'. Send before 'file'.",
    )
    fileName = serializers.CharField(
        required=False,
        help_text="Name to store the file under (default: the file's own "
        "name). Send before 'file'.",
    )


class UploadOutput(serializers.Serializer):
    message = serializers.CharField()
    file = serializers.DictField()
    usage = serializers.DictField()


class FileItemOutput(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    lastModified = serializers.DateTimeField()
    etag = serializers.CharField()


class FileListOutput(serializers.Serializer):
    files = FileItemOutput(many=True)
    count = serializers.IntegerField()
    nextCursor = serializers.CharField(allow_null=True)
    prefix = serializers.CharField()


class DownloadOutput(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.URLField()
    expiresIn = serializers.IntegerField()
    expiresAt = serializers.DateTimeField()
    size = serializers.IntegerField()
    contentType = serializers.CharField(allow_null=True)
    disposition = serializers.CharField()


class MetadataOutput(serializers.Serializer):
    name = serializers.CharField()
    originalName = serializers.CharField()
    size = serializers.IntegerField()
    contentType = serializers.CharField(allow_null=True)
    lastModified = serializers.DateTimeField()
    etag = serializers.CharField()
    metadata = serializers.DictField(child=serializers.CharField())


class DeleteOutput(serializers.Serializer):
    name = serializers.CharField()
    deleted = serializers.BooleanField()
    size = serializers.IntegerField()


class BulkDeleteResultOutput(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["deleted", "not_found", "duplicate", "error"]
    )
    size = serializers.IntegerField(required=False)
    error = serializers.DictField(required=False)


class BulkDeleteOutput(serializers.Serializer):
    summary = serializers.DictField()
    results = BulkDeleteResultOutput(many=True)


class UsageOutput(serializers.Serializer):
    namespace = serializers.CharField()
    bytesUsed = serializers.IntegerField()
    objects = serializers.IntegerField()
    limits = serializers.DictField()
    percentages = serializers.DictField()
    updatedAt = serializers.DateTimeField()
    history = serializers.ListField(child=serializers.DictField(), required=False)


class AnalyticsOutput(serializers.Serializer):
    usage = UsageOutput()
    scan = serializers.DictField()
    byCategory = serializers.DictField()
    byExtension = serializers.DictField()
    largestFiles = serializers.ListField(child=serializers.DictField())
    recentFiles = serializers.ListField(child=serializers.DictField())
