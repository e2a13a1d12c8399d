"""Request and response shapes of the API-key endpoints (camelCase).

No output serializer has a field for the secret except the one-time
`CreatedApiKeyOutput`, which is only ever built from the value
`api_key_create` returns.
"""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from apikeys.models import ApiKey
from pockity.serializers import StrictInputSerializer


def key_status(api_key: ApiKey) -> str:
    """`active`, `revoked` or `expired`: what a request with the key meets."""
    if not api_key.is_active or api_key.revoked_at is not None:
        return "revoked"
    if api_key.is_expired:
        return "expired"
    return "active"


class ApiKeyCreateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    canList = serializers.BooleanField(required=False)
    canRead = serializers.BooleanField(required=False)
    canWrite = serializers.BooleanField(required=False)
    canDelete = serializers.BooleanField(required=False)
    readOnly = serializers.BooleanField(
        required=False,
        help_text="Shortcut for canList and canRead only (no write, no delete).",
    )
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)

    def validate_name(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("A name is required.")
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise serializers.ValidationError("Control characters are not allowed.")
        return value

    def validate_expiresAt(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must be in the future.")
        return value

    def validate(self, attrs):
        capabilities = {
            "can_list": attrs.get("canList", True),
            "can_read": attrs.get("canRead", True),
            "can_write": attrs.get("canWrite", True),
            "can_delete": attrs.get("canDelete", True),
        }
        if attrs.get("readOnly"):
            if attrs.get("canWrite") or attrs.get("canDelete"):
                raise serializers.ValidationError(
                    {"readOnly": ["A read-only key cannot have canWrite or canDelete."]}
                )
            capabilities.update(can_write=False, can_delete=False)
        if not any(capabilities.values()):
            raise serializers.ValidationError(
                {"capabilities": ["A key needs at least one capability."]}
            )
        return {
            "name": attrs["name"],
            "expires_at": attrs.get("expiresAt"),
            **capabilities,
        }


class ApiKeyOutput(serializers.ModelSerializer):
    accessKeyId = serializers.CharField(source="access_key_id")
    status = serializers.SerializerMethodField()
    isActive = serializers.BooleanField(source="is_active")
    storagePath = serializers.CharField(source="prefix")
    tier = serializers.CharField(
        source="effective_tier.name", allow_null=True, default=None
    )
    # The limits in force: the owner's current tier for a key on its
    # tier's defaults.
    storageBytesLimit = serializers.IntegerField(
        source="effective_storage_bytes_limit", allow_null=True
    )
    objectLimit = serializers.IntegerField(
        source="effective_object_limit", allow_null=True
    )
    canList = serializers.BooleanField(source="can_list")
    canRead = serializers.BooleanField(source="can_read")
    canWrite = serializers.BooleanField(source="can_write")
    canDelete = serializers.BooleanField(source="can_delete")
    readOnly = serializers.SerializerMethodField()
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "accessKeyId",
            "status",
            "isActive",
            "storagePath",
            "tier",
            "storageBytesLimit",
            "objectLimit",
            "canList",
            "canRead",
            "canWrite",
            "canDelete",
            "readOnly",
            "expiresAt",
            "revokedAt",
            "lastUsedAt",
            "createdAt",
        ]
        read_only_fields = fields

    def get_status(self, api_key) -> str:
        return key_status(api_key)

    def get_readOnly(self, api_key) -> bool:
        return not api_key.can_write and not api_key.can_delete


class ApiKeyListOutput(ApiKeyOutput):
    """A key in a list: counters read from its namespace row (no extra query)."""

    usage = serializers.SerializerMethodField()

    class Meta(ApiKeyOutput.Meta):
        fields = ApiKeyOutput.Meta.fields + ["usage"]
        read_only_fields = fields

    def get_usage(self, api_key) -> dict | None:
        namespace = getattr(api_key, "namespace", None)
        if namespace is None:
            return None
        return {"bytesUsed": namespace.bytes_used, "objects": namespace.object_count}


class ApiKeyDetailOutput(ApiKeyOutput):
    usage = serializers.DictField(
        allow_null=True, help_text="Usage of the key's namespace vs its limits."
    )

    class Meta(ApiKeyOutput.Meta):
        fields = ApiKeyOutput.Meta.fields + ["usage"]
        read_only_fields = fields


class CreatedApiKeyOutput(ApiKeyDetailOutput):
    secretKey = serializers.CharField(
        help_text="Shown once, in this response only; store it now."
    )
    warning = serializers.CharField()

    class Meta(ApiKeyDetailOutput.Meta):
        fields = ApiKeyDetailOutput.Meta.fields + ["secretKey", "warning"]
        read_only_fields = fields
