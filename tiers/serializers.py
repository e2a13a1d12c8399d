"""Serializers for tiers and tier requests: camelCase out, the seed's fields in."""

from __future__ import annotations

from rest_framework import serializers

from pockity.serializers import StrictInputSerializer
from tiers.models import Tier, TierRequest
from tiers.services import parse_id


class TierSerializer(serializers.ModelSerializer):
    """A tier as anyone may see it; `null` limits mean unlimited."""

    storageBytesLimit = serializers.IntegerField(source="storage_bytes_limit")
    objectLimit = serializers.IntegerField(source="object_limit")
    maxFileSizeBytes = serializers.IntegerField(source="max_file_size_bytes")
    maxApiKeys = serializers.IntegerField(source="max_api_keys")
    priceMinor = serializers.IntegerField(source="price_minor")
    isDefault = serializers.BooleanField(source="is_default")

    class Meta:
        model = Tier
        fields = [
            "id",
            "name",
            "description",
            "storageBytesLimit",
            "objectLimit",
            "maxFileSizeBytes",
            "maxApiKeys",
            "priceMinor",
            "currency",
            "isDefault",
        ]
        read_only_fields = fields


class TierAdminSerializer(TierSerializer):
    """A tier as staff see it, private and inactive ones included."""

    isPublic = serializers.BooleanField(source="is_public")
    isActive = serializers.BooleanField(source="is_active")
    sortOrder = serializers.IntegerField(source="sort_order")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta(TierSerializer.Meta):
        fields = [
            *TierSerializer.Meta.fields,
            "isPublic",
            "isActive",
            "sortOrder",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = fields


class TierNameSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name"]
        read_only_fields = fields


class TierRequestCreateSerializer(StrictInputSerializer):
    """`{"tierId": ..., "reason": ...}` as in the seed README.

    `tierId` takes the tier's numeric id or its name; `tierName` (or `tier`)
    names it too.
    """

    tierId = serializers.CharField(required=False, max_length=64)
    tierName = serializers.CharField(required=False, max_length=64)
    tier = serializers.CharField(required=False, max_length=64)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate(self, attrs):
        given = [attrs[f] for f in ("tierId", "tierName", "tier") if attrs.get(f)]
        if not given:
            raise serializers.ValidationError(
                {"tierId": "Name the tier to move to (tierId or tierName)."}
            )
        if len(given) > 1:
            raise serializers.ValidationError(
                {"tierId": "Name the tier once (tierId or tierName)."}
            )
        ref = given[0].strip()
        is_number = ref.isascii() and ref.isdigit()
        # An id too large for the database can name no tier: 0 finds none.
        attrs["tier_id"] = (parse_id(ref) or 0) if is_number else None
        attrs["tier_name"] = None if is_number else ref
        return attrs


class TierRequestSerializer(serializers.ModelSerializer):
    currentTier = TierNameSerializer(source="current_tier", allow_null=True)
    requestedTier = TierNameSerializer(source="requested_tier")
    reviewerComment = serializers.CharField(source="reviewer_comment")
    reviewedAt = serializers.DateTimeField(source="reviewed_at")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = TierRequest
        fields = [
            "id",
            "currentTier",
            "requestedTier",
            "reason",
            "status",
            "reviewerComment",
            "reviewedAt",
            "createdAt",
        ]
        read_only_fields = fields


class TierRequestAdminSerializer(TierRequestSerializer):
    user = serializers.SerializerMethodField()
    reviewer = serializers.SerializerMethodField()

    class Meta(TierRequestSerializer.Meta):
        fields = [*TierRequestSerializer.Meta.fields, "user", "reviewer"]
        read_only_fields = fields

    def get_user(self, obj) -> dict:
        return {"id": obj.user_id, "email": obj.user.email}

    def get_reviewer(self, obj) -> dict | None:
        if obj.reviewer_id is None:
            return None
        return {"id": obj.reviewer_id, "email": obj.reviewer.email}
