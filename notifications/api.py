"""`/api/users/webhook`: the signed-in user's quota-alert webhook."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsUserWithJwt
from notifications.models import WebhookMessage
from notifications.services import webhook_delete, webhook_get, webhook_register
from notifications.transport import MAX_URL_LENGTH


class WebhookInput(serializers.Serializer):
    url = serializers.CharField(max_length=MAX_URL_LENGTH, trim_whitespace=True)


class WebhookOutput(serializers.Serializer):
    url = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    lastDelivery = serializers.SerializerMethodField(method_name="get_last_delivery")

    def get_last_delivery(self, webhook) -> dict | None:
        message = (
            WebhookMessage.objects.filter(webhook=webhook)
            .order_by("-created_at", "-id")
            .first()
        )
        if message is None:
            return None
        return {
            "event": message.event,
            "status": message.status,
            "attempts": message.attempts,
            "createdAt": message.created_at.isoformat(),
            "deliveredAt": (
                message.delivered_at.isoformat() if message.delivered_at else None
            ),
        }


class WebhookRegistered(WebhookOutput):
    secret = serializers.CharField(
        help_text="Signs every delivery; shown only in this response."
    )


class UserWebhookApi(APIView):
    """Register, read or remove where quota alerts are POSTed."""

    # A person's setting: an API key (an application's credential) may not
    # redirect its owner's alerts.
    permission_classes = [IsUserWithJwt]

    @extend_schema(
        operation_id="users_webhook_get",
        summary="The registered quota-alert webhook",
        tags=["users"],
        responses={200: WebhookOutput, 404: OpenApiResponse(description="None set.")},
    )
    def get(self, request):
        webhook = webhook_get(user=request.user)
        return Response(WebhookOutput(webhook).data)

    @extend_schema(
        operation_id="users_webhook_put",
        summary="Register or replace the quota-alert webhook",
        description=(
            "The URL must be http or https and resolve to a public address. "
            "Each call issues a new signing secret, returned only here. "
            "Deliveries carry `X-Pockity-Timestamp` and `X-Pockity-Signature: "
            'sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.'
        ),
        tags=["users"],
        request=WebhookInput,
        responses={
            200: WebhookRegistered,
            400: OpenApiResponse(description="URL refused (scheme, address)."),
        },
    )
    def put(self, request):
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        webhook, secret = webhook_register(
            user=request.user, url=data.validated_data["url"]
        )
        body = WebhookOutput(webhook).data
        body["secret"] = secret
        return Response(body)

    @extend_schema(
        operation_id="users_webhook_delete",
        summary="Remove the quota-alert webhook",
        tags=["users"],
        responses={204: None, 404: OpenApiResponse(description="None set.")},
    )
    def delete(self, request):
        webhook_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
