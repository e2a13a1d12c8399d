"""Request and response shapes of the credit API (camelCase, as the seed)."""

from __future__ import annotations

from rest_framework import serializers

from credits.models import CreditEntry
from credits.services import MAX_CREDIT_AMOUNT


class AmountField(serializers.IntegerField):
    """A whole, positive number of credits; anything else is a 400."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_CREDIT_AMOUNT)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # DRF would read True as 1 and 2.0 as 2; money amounts are stricter.
        if isinstance(data, (bool, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class UserIdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class CreditChangeInput(serializers.Serializer):
    userId = UserIdField(help_text="Staff only: whose credits; default yourself.")
    amount = AmountField()
    reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )
    idempotencyKey = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )


class CreditCheckInput(serializers.Serializer):
    amount = AmountField()
    userId = UserIdField()


class UserQueryInput(serializers.Serializer):
    userId = UserIdField()


class CreditEntryOutput(serializers.ModelSerializer):
    balanceAfter = serializers.IntegerField(source="balance_after")
    idempotencyKey = serializers.CharField(source="idempotency_key")
    actor = serializers.CharField(source="actor_label")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = CreditEntry
        fields = [
            "id",
            "kind",
            "amount",
            "balanceAfter",
            "reason",
            "reference",
            "idempotencyKey",
            "actor",
            "createdAt",
        ]


class CreditBalanceOutput(serializers.Serializer):
    userId = serializers.IntegerField()
    balance = serializers.IntegerField()


class CreditChangeOutput(serializers.Serializer):
    entry = CreditEntryOutput()
    balance = serializers.IntegerField()
    replayed = serializers.BooleanField(
        help_text="True when the idempotency key was seen before; nothing moved."
    )


class CreditCheckOutput(serializers.Serializer):
    userId = serializers.IntegerField()
    balance = serializers.IntegerField()
    required = serializers.IntegerField()
    sufficient = serializers.BooleanField()
