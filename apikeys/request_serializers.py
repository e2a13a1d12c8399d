"""
Serializers for API-key requests: the seed README's request fields in, camelCase
out. They parse and bound input only; the services decide.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from apikeys.models import ApiKeyRequest
from apikeys.request_services import (
    CAPABILITIES,
    MAX_REQUESTED_GB,
    MAX_REQUESTED_OBJECTS,
    Capabilities,
    Overrides,
    bytes_to_gb,
    gb_to_bytes,
)
from pockity.serializers import StrictInputSerializer
from tiers.models import RequestStatus

# Quotas are asked for in GB with up to three decimals (1 MiB-ish steps);
# one more decimal is refused rather than silently rounded.
GB_FIELD_OPTIONS = {
    "max_digits": 9,
    "decimal_places": 3,
    "min_value": Decimal("0.001"),
    "max_value": Decimal(MAX_REQUESTED_GB),
    "coerce_to_string": False,
}
OBJECTS_FIELD_OPTIONS = {"min_value": 1, "max_value": MAX_REQUESTED_OBJECTS}
DECISION_STATUSES = ["APPROVED", "REJECTED"]


def _future(value):
    if value is not None and value <= timezone.now():
        raise serializers.ValidationError("Must be in the future.")
    return value


def _capabilities_from(attrs, *, names_key: str, read_only_key: str):
    """Capabilities from a list of names and/or a read-only switch, or None."""
    names = attrs.get(names_key)
    read_only = attrs.get(read_only_key)
    if names is None and not read_only:
        return None
    if names is None:
        return Capabilities.read_only()
    capabilities = Capabilities.from_names(names)
    if read_only and (capabilities.can_write or capabilities.can_delete):
        raise serializers.ValidationError(
            {read_only_key: "A read-only key cannot also have write or delete."}
        )
    return capabilities


class ApiKeyRequestCreateSerializer(StrictInputSerializer):
    """A new key (`keyName`, quota, optional capabilities or `readOnly`,
    `expiresAt`) or, with `apiKeyId`, more quota on a key the caller holds.
    """

    kind = serializers.ChoiceField(choices=ApiKeyRequest.Kind.choices, required=False)
    apiKeyId = serializers.CharField(
        required=False,
        max_length=64,
        help_text="The key to raise (numeric id or accessKeyId); implies "
        "kind QUOTA_INCREASE.",
    )
    keyName = serializers.CharField(required=False, allow_blank=True, max_length=100)
    requestedStorageGB = serializers.DecimalField(
        required=False,
        help_text="1 GB = 2**30 bytes; 0.001 to 100000, up to three decimals.",
        **GB_FIELD_OPTIONS,
    )
    requestedObjects = serializers.IntegerField(
        required=False, help_text="1 to 10**12.", **OBJECTS_FIELD_OPTIONS
    )
    capabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=CAPABILITIES),
        required=False,
        allow_empty=False,
        max_length=len(CAPABILITIES),
    )
    readOnly = serializers.BooleanField(
        required=False, help_text="List and read only: no write, no delete."
    )
    expiresAt = serializers.DateTimeField(
        required=False, allow_null=True, validators=[_future]
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate(self, attrs):
        kind = attrs.get("kind") or (
            ApiKeyRequest.Kind.QUOTA_INCREASE
            if attrs.get("apiKeyId")
            else ApiKeyRequest.Kind.NEW_KEY
        )
        attrs["kind"] = kind
        attrs["storage_bytes"] = (
            gb_to_bytes(attrs["requestedStorageGB"])
            if "requestedStorageGB" in attrs
            else None
        )

        if kind == ApiKeyRequest.Kind.NEW_KEY:
            errors = {}
            if attrs.get("apiKeyId"):
                errors["apiKeyId"] = "Only a QUOTA_INCREASE names an existing key."
            for field in ("requestedStorageGB", "requestedObjects"):
                if field not in attrs:
                    errors[field] = "This field is required for a new key."
            if errors:
                raise serializers.ValidationError(errors)
            attrs["capability_set"] = _capabilities_from(
                attrs, names_key="capabilities", read_only_key="readOnly"
            )
            return attrs

        errors = {}
        if not attrs.get("apiKeyId"):
            errors["apiKeyId"] = "Name the key whose quota should rise."
        for field in ("capabilities", "readOnly", "expiresAt", "keyName"):
            if field in attrs:
                errors[field] = "A quota increase changes only storage and objects."
        if "requestedStorageGB" not in attrs and "requestedObjects" not in attrs:
            errors["requestedStorageGB"] = (
                "Give requestedStorageGB, requestedObjects, or both."
            )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ApiKeyRequestSerializer(serializers.ModelSerializer):
    """A request as its owner sees it; never carries a secret."""

    keyName = serializers.CharField(source="key_name")
    apiKeyId = serializers.IntegerField(source="api_key_id", allow_null=True)
    accessKeyId = serializers.SerializerMethodField()
    requestedStorageGB = serializers.SerializerMethodField()
    requestedStorageBytes = serializers.IntegerField(
        source="requested_storage_bytes", allow_null=True
    )
    requestedObjects = serializers.IntegerField(
        source="requested_objects", allow_null=True
    )
    capabilities = serializers.SerializerMethodField()
    readOnly = serializers.BooleanField(source="requested_read_only")
    expiresAt = serializers.DateTimeField(source="requested_expires_at")
    reviewerComment = serializers.CharField(source="reviewer_comment")
    reviewedAt = serializers.DateTimeField(source="reviewed_at")
    granted = serializers.SerializerMethodField()
    secretAvailable = serializers.SerializerMethodField(
        help_text="True while the new key's secret waits to be read, once, "
        "with GET /api/api-key-requests/{id}."
    )
    secretRevealedAt = serializers.DateTimeField(source="secret_revealed_at")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ApiKeyRequest
        fields = [
            "id",
            "kind",
            "status",
            "keyName",
            "apiKeyId",
            "accessKeyId",
            "requestedStorageGB",
            "requestedStorageBytes",
            "requestedObjects",
            "capabilities",
            "readOnly",
            "expiresAt",
            "reason",
            "reviewerComment",
            "reviewedAt",
            "granted",
            "secretAvailable",
            "secretRevealedAt",
            "createdAt",
        ]
        read_only_fields = fields

    def get_accessKeyId(self, obj) -> str | None:  # noqa: N802
        return obj.api_key.access_key_id if obj.api_key_id and obj.api_key else None

    def get_requestedStorageGB(self, obj) -> float | None:  # noqa: N802
        return bytes_to_gb(obj.requested_storage_bytes)

    def get_secretAvailable(self, obj) -> bool:  # noqa: N802
        return bool(obj.pending_secret_encrypted)

    def get_capabilities(self, obj) -> list[str]:
        return Capabilities.of(obj).names()

    def get_granted(self, obj) -> dict | None:
        if obj.status != RequestStatus.APPROVED:
            return None
        granted = {
            "storageBytes": obj.granted_storage_bytes,
            "storageGB": bytes_to_gb(obj.granted_storage_bytes),
            "objects": obj.granted_objects,
        }
        if obj.kind == ApiKeyRequest.Kind.NEW_KEY:
            granted["capabilities"] = Capabilities.of(obj, "granted_can_").names()
            granted["expiresAt"] = (
                obj.granted_expires_at.isoformat() if obj.granted_expires_at else None
            )
        return granted


class ApiKeyRequestAdminSerializer(ApiKeyRequestSerializer):
    """A request as staff see it: with its user and reviewer."""

    user = serializers.SerializerMethodField()
    reviewer = serializers.SerializerMethodField()

    class Meta(ApiKeyRequestSerializer.Meta):
        fields = [*ApiKeyRequestSerializer.Meta.fields, "user", "reviewer"]
        read_only_fields = fields

    def get_user(self, obj) -> dict:
        return {"id": obj.user_id, "email": obj.user.email}

    def get_reviewer(self, obj) -> dict | None:
        if obj.reviewer_id is None:
            return None
        return {"id": obj.reviewer_id, "email": obj.reviewer.email}


class ApiKeyRequestDetailSerializer(ApiKeyRequestSerializer):
    """The owner's single-request view: the secret appears once, here."""

    secretKey = serializers.SerializerMethodField()
    secretMessage = serializers.SerializerMethodField()

    class Meta(ApiKeyRequestSerializer.Meta):
        fields = [*ApiKeyRequestSerializer.Meta.fields, "secretKey", "secretMessage"]
        read_only_fields = fields

    def get_secretKey(self, obj) -> str | None:  # noqa: N802
        return self.context.get("secret")

    def get_secretMessage(self, obj) -> str | None:  # noqa: N802
        if self.context.get("secret"):
            return "Store this secret now: it is shown this once and never again."
        if obj.secret_revealed_at:
            return (
                "The secret was shown once, at secretRevealedAt, and cannot be "
                "shown again. If it was lost, revoke the key and request a new one."
            )
        return None


class DecisionSerializer(StrictInputSerializer):
    """The seed's decision body: `approved` (or `status`) and a comment.

    Accepted spellings: `{"approved": true, "reviewerComment": "..."}` as in
    the seed README, `{"status": "APPROVED"|"REJECTED", "reviewComment":
    "..."}`, and `comment`.
    """

    approved = serializers.BooleanField(required=False)
    status = serializers.ChoiceField(choices=DECISION_STATUSES, required=False)
    reviewerComment = serializers.CharField(
        required=False, allow_blank=True, max_length=2000
    )
    reviewComment = serializers.CharField(
        required=False, allow_blank=True, max_length=2000
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate(self, attrs):
        approved = attrs.get("approved")
        status = attrs.get("status")
        if approved is None and status is None:
            raise serializers.ValidationError(
                {"approved": "Say whether the request is approved (true/false)."}
            )
        if approved is not None and status is not None:
            if approved != (status == "APPROVED"):
                raise serializers.ValidationError(
                    {"status": "'approved' and 'status' disagree."}
                )
        attrs["is_approved"] = (
            approved if approved is not None else status == "APPROVED"
        )

        comments = {
            attrs[field]
            for field in ("reviewerComment", "reviewComment", "comment")
            if attrs.get(field)
        }
        if len(comments) > 1:
            raise serializers.ValidationError(
                {"comment": "Give the comment once (reviewerComment)."}
            )
        attrs["comment_text"] = comments.pop() if comments else ""
        return attrs


class ApiKeyRequestReviewSerializer(DecisionSerializer):
    """A decision, optionally narrowing what is granted on approval."""

    approvedStorageGB = serializers.DecimalField(required=False, **GB_FIELD_OPTIONS)
    approvedObjects = serializers.IntegerField(required=False, **OBJECTS_FIELD_OPTIONS)
    approvedCapabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=CAPABILITIES),
        required=False,
        allow_empty=False,
        max_length=len(CAPABILITIES),
    )
    approvedReadOnly = serializers.BooleanField(required=False)
    approvedExpiresAt = serializers.DateTimeField(required=False, validators=[_future])

    def validate(self, attrs):
        attrs = super().validate(attrs)
        attrs["overrides"] = Overrides(
            storage_bytes=gb_to_bytes(attrs["approvedStorageGB"])
            if "approvedStorageGB" in attrs
            else None,
            objects=attrs.get("approvedObjects"),
            capabilities=_capabilities_from(
                attrs,
                names_key="approvedCapabilities",
                read_only_key="approvedReadOnly",
            ),
            expires_at=attrs.get("approvedExpiresAt"),
        )
        return attrs
