"""Request and response shapes of the account API (camelCase on the wire)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import User
from pockity.serializers import StrictInputSerializer

# --- Input -------------------------------------------------------------------


class RegisterInput(StrictInputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class LoginInput(StrictInputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshInput(serializers.Serializer):
    """`refreshToken` (ours) or `refresh` (simplejwt's name)."""

    refreshToken = serializers.CharField(required=False, max_length=4096)
    refresh = serializers.CharField(required=False, max_length=4096)

    def validate(self, attrs):
        token = attrs.get("refreshToken") or attrs.get("refresh")
        if not token:
            raise serializers.ValidationError(
                {"refreshToken": ["This field is required."]}
            )
        return {"refresh": token}


class VerifyInput(serializers.Serializer):
    token = serializers.CharField(max_length=4096)


class ProfileUpdateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False)
    currentPassword = serializers.CharField(
        required=False, max_length=128, trim_whitespace=False
    )
    # The seed's clients may send `password`; it means the same.
    password = serializers.CharField(
        required=False, max_length=128, trim_whitespace=False
    )


class ChangePasswordInput(StrictInputSerializer):
    currentPassword = serializers.CharField(
        required=False, max_length=128, trim_whitespace=False
    )
    oldPassword = serializers.CharField(
        required=False, max_length=128, trim_whitespace=False
    )
    newPassword = serializers.CharField(max_length=128, trim_whitespace=False)

    def validate(self, attrs):
        current = attrs.get("currentPassword") or attrs.get("oldPassword")
        if not current:
            raise serializers.ValidationError(
                {"currentPassword": ["This field is required."]}
            )
        return {"current_password": current, "new_password": attrs["newPassword"]}


class DeleteAccountInput(StrictInputSerializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    # Accepted as a synonym of `password`, as in change-password.
    currentPassword = serializers.CharField(
        required=False, max_length=128, trim_whitespace=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].required = False

    def validate(self, attrs):
        password = attrs.get("password") or attrs.get("currentPassword")
        if not password:
            raise serializers.ValidationError(
                {"password": ["Confirm the deletion with your password."]}
            )
        return {"password": password}


class VerifyEmailConfirmInput(StrictInputSerializer):
    code = serializers.RegexField(
        r"^\s*\d{6}\s*$",
        max_length=16,
        error_messages={"invalid": "The code is the 6 digits from the e-mail."},
    )


# --- Output ------------------------------------------------------------------


class TierOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    storageBytesLimit = serializers.IntegerField(
        source="storage_bytes_limit", allow_null=True
    )
    objectLimit = serializers.IntegerField(source="object_limit", allow_null=True)
    maxFileSizeBytes = serializers.IntegerField(
        source="max_file_size_bytes", allow_null=True
    )
    maxApiKeys = serializers.IntegerField(source="max_api_keys", allow_null=True)


class UserOutput(serializers.ModelSerializer):
    role = serializers.CharField(read_only=True)
    emailVerified = serializers.BooleanField(source="is_email_verified")
    emailVerifiedAt = serializers.DateTimeField(source="email_verified_at")
    tier = TierOutput(allow_null=True)
    createdAt = serializers.DateTimeField(source="date_joined")
    lastLoginAt = serializers.DateTimeField(source="last_login")

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "role",
            "emailVerified",
            "emailVerifiedAt",
            "tier",
            "createdAt",
            "lastLoginAt",
        ]
        read_only_fields = fields


class TokensOutput(serializers.Serializer):
    accessToken = serializers.CharField()
    refreshToken = serializers.CharField()
    token = serializers.CharField(help_text="The access token (as `accessToken`).")
    tokenType = serializers.CharField(default="Bearer")
    expiresIn = serializers.IntegerField(help_text="Access token lifetime, seconds.")


class AuthOutput(TokensOutput):
    user = UserOutput()


class UsageOutput(serializers.Serializer):
    """Usage of one namespace, as `storage.services.namespace_usage` gives it."""

    bytesUsed = serializers.IntegerField()
    objects = serializers.IntegerField()


class ProfileOutput(UserOutput):
    usage = serializers.DictField(
        help_text="Usage of users/{id}/ with limits and percentages."
    )

    class Meta(UserOutput.Meta):
        fields = UserOutput.Meta.fields + ["usage"]
        read_only_fields = fields


class KeyCountsOutput(serializers.Serializer):
    total = serializers.IntegerField()
    active = serializers.IntegerField()
    expired = serializers.IntegerField()
    revoked = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True)
    remaining = serializers.IntegerField(allow_null=True)


class SummaryKeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    accessKeyId = serializers.CharField()
    status = serializers.CharField()
    usage = serializers.DictField(allow_null=True)


class SummaryOutput(serializers.Serializer):
    user = UserOutput()
    tier = TierOutput(allow_null=True)
    usage = serializers.DictField()
    apiKeys = KeyCountsOutput()
    keys = SummaryKeyOutput(many=True)


class DeletedAccountOutput(serializers.Serializer):
    deleted = serializers.BooleanField()
    userId = serializers.IntegerField()
    deletedApiKeys = serializers.ListField(child=serializers.CharField())
    purgedPrefixes = serializers.ListField(child=serializers.CharField())


class VerifyOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    tokenType = serializers.CharField()
    userId = serializers.IntegerField()


class MessageOutput(serializers.Serializer):
    message = serializers.CharField()
