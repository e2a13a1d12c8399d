"""Output shapes of the admin API (camelCase, as every Pockity response)."""

from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditLog
from storage.services import usage_percent


class AuditLogOutput(serializers.ModelSerializer):
    actorId = serializers.IntegerField(source="actor_id")
    actorLabel = serializers.CharField(source="actor_label")
    userId = serializers.IntegerField(source="user_id")
    userLabel = serializers.CharField(source="user_label")
    apiKeyId = serializers.IntegerField(source="api_key_id")
    apiKeyLabel = serializers.CharField(source="api_key_label")
    ipAddress = serializers.IPAddressField(source="ip_address")
    userAgent = serializers.CharField(source="user_agent")
    requestId = serializers.CharField(source="request_id")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = AuditLog
        fields = [
            "id",
            "action",
            "actorId",
            "actorLabel",
            "userId",
            "userLabel",
            "apiKeyId",
            "apiKeyLabel",
            "ipAddress",
            "userAgent",
            "requestId",
            "metadata",
            "createdAt",
        ]
        read_only_fields = fields


class TierBrief(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UsageFigures(serializers.Serializer):
    bytesUsed = serializers.IntegerField()
    objects = serializers.IntegerField()
    storageBytesLimit = serializers.IntegerField(allow_null=True)
    objectLimit = serializers.IntegerField(allow_null=True)
    storagePercent = serializers.FloatField(allow_null=True)
    objectsPercent = serializers.FloatField(allow_null=True)


def usage_figures(*, bytes_used: int, objects: int, bytes_limit, object_limit) -> dict:
    return {
        "bytesUsed": bytes_used,
        "objects": objects,
        "storageBytesLimit": bytes_limit,
        "objectLimit": object_limit,
        "storagePercent": usage_percent(bytes_used, bytes_limit),
        "objectsPercent": usage_percent(objects, object_limit),
    }


class AdminUserOutput(serializers.Serializer):
    """Expects the annotations of `AdminUserListApi.get_queryset`."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    role = serializers.CharField()
    isActive = serializers.BooleanField(source="is_active")
    emailVerified = serializers.BooleanField(source="is_email_verified")
    tier = TierBrief(allow_null=True)
    dateJoined = serializers.DateTimeField(source="date_joined")
    lastLogin = serializers.DateTimeField(source="last_login", allow_null=True)
    apiKeyCount = serializers.IntegerField(source="api_key_count")
    activeApiKeyCount = serializers.IntegerField(source="active_api_key_count")
    usage = serializers.SerializerMethodField()
    apiKeysUsage = serializers.SerializerMethodField(method_name="get_keys_usage")

    def get_usage(self, user) -> UsageFigures:
        """The user's own prefix `users/{id}/` against the tier's limits."""
        # A missing reverse one-to-one raises an AttributeError subclass.
        namespace = getattr(user, "namespace", None)
        tier = user.tier
        return usage_figures(
            bytes_used=namespace.bytes_used if namespace else 0,
            objects=namespace.object_count if namespace else 0,
            bytes_limit=tier.storage_bytes_limit if tier else None,
            object_limit=tier.object_limit if tier else None,
        )

    def get_keys_usage(self, user) -> dict:
        """Totals over the namespaces of all the user's API keys."""
        return {"bytesUsed": user.key_bytes_used, "objects": user.key_object_count}


class OwnerBrief(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()


class AdminApiKeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    accessKeyId = serializers.CharField(source="access_key_id")
    owner = OwnerBrief()
    tier = TierBrief(allow_null=True)
    isActive = serializers.BooleanField(source="is_active")
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    usage = serializers.SerializerMethodField()

    def get_usage(self, api_key) -> UsageFigures:
        namespace = getattr(api_key, "namespace", None)
        return usage_figures(
            bytes_used=namespace.bytes_used if namespace else 0,
            objects=namespace.object_count if namespace else 0,
            bytes_limit=api_key.effective_storage_bytes_limit,
            object_limit=api_key.effective_object_limit,
        )
