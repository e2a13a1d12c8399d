"""Billing and payment API: thin views over `billing.services`.

Every endpoint but the provider webhooks wants a person signed in with a JWT
(`PersonApi`): an API key is handed to an application, which must not
subscribe, pay, add payment methods or read invoices for its owner. Staff
powers (`_require_staff`, and the services' staff branches, reached only
through these views) therefore also need a JWT.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsUserWithJwt
from audit.permissions import IsStaffWithJwt
from billing import services
from billing.models import Invoice, InvoicePurpose, Payment, PaymentMethod, Refund
from billing.providers import available_providers
from billing.serializers import (
    BillingSummaryOutput,
    IntentOutput,
    InvoiceCreateInput,
    InvoiceOutput,
    ListFilterInput,
    PaymentIntentInput,
    PaymentMethodInput,
    PaymentMethodOutput,
    PaymentOutput,
    PaymentProcessInput,
    PlanOutput,
    RefundInput,
    RefundOutput,
    SubscriptionCancelInput,
    SubscriptionCreateInput,
    SubscriptionCreateOutput,
    SubscriptionCurrentOutput,
    SubscriptionOutput,
    TierBriefOutput,
)
from credits.views import resolve_target_user
from pockity.exceptions import Forbidden

STATUS_PARAM = OpenApiParameter("status", str, description="Only this status.")


def _require_staff(request) -> None:
    # The admin API's own rule: a staff power needs a person signed in with
    # a JWT, never an API key, even a staff user's.
    if not IsStaffWithJwt().has_permission(request, None):
        raise Forbidden("Staff only.", code="permission_denied")


def _parse(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _intent_body(payment, intent) -> dict:
    return {
        "payment": PaymentOutput(payment).data if payment else None,
        "invoice": InvoiceOutput(payment.invoice).data if payment else None,
        "clientSecret": getattr(intent, "client_secret", "") or "",
        "instructions": getattr(intent, "instructions", {}) or {},
    }


class PersonApi(APIView):
    permission_classes = [IsUserWithJwt]


class PersonListApi(ListAPIView):
    permission_classes = [IsUserWithJwt]


class PlanListApi(PersonListApi):
    serializer_class = PlanOutput
    pagination_class = None

    @extend_schema(operation_id="billing_plans")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return services.plan_list_active()


class SubscriptionApi(PersonApi):
    @extend_schema(
        operation_id="billing_subscription_get", responses=SubscriptionCurrentOutput
    )
    def get(self, request):
        live = services.subscription_get_live(user=request.user)
        pending = services.subscription_get_incomplete(user=request.user)
        return Response(
            {
                "subscription": SubscriptionOutput(live).data if live else None,
                "pendingSubscription": (
                    SubscriptionOutput(pending).data if pending else None
                ),
            }
        )

    @extend_schema(
        operation_id="billing_subscription_create",
        request=SubscriptionCreateInput,
        responses={201: SubscriptionCreateOutput},
    )
    def post(self, request):
        data = _parse(SubscriptionCreateInput, request.data)
        plan = services.plan_resolve(data["planId"])

        result = services.subscription_create(
            user=request.user,
            plan=plan,
            provider=data["provider"],
            actor=request.user,
            options={"asset": data.get("asset")},
        )

        body = {"subscription": SubscriptionOutput(result["subscription"]).data}
        body.update(_intent_body(result["payment"], result.get("intent")))
        if result["payment"] is not None:
            result["invoice"].refresh_from_db()
            body["invoice"] = InvoiceOutput(result["invoice"]).data
        return Response(body, status=status.HTTP_201_CREATED)


class SubscriptionCancelApi(PersonApi):
    @extend_schema(
        operation_id="billing_subscription_cancel",
        request=SubscriptionCancelInput,
        responses=SubscriptionOutput,
    )
    def post(self, request):
        data = _parse(SubscriptionCancelInput, request.data)
        subscription = services.subscription_cancel(
            user=request.user, actor=request.user, immediately=data["immediately"]
        )
        return Response(SubscriptionOutput(subscription).data)


class InvoiceApi(PersonListApi):
    serializer_class = InvoiceOutput

    @extend_schema(operation_id="billing_invoices_list", parameters=[STATUS_PARAM])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invoice.objects.none()
        query = _parse(ListFilterInput, self.request.query_params)
        invoices = Invoice.objects.filter(user=self.request.user)
        if query.get("status"):
            invoices = invoices.filter(status=query["status"].upper())
        return invoices

    @extend_schema(
        operation_id="billing_invoices_create",
        request=InvoiceCreateInput,
        responses={201: InvoiceOutput},
    )
    def post(self, request):
        """Users buy credits (`credits`); staff may bill anyone for anything."""
        data = _parse(InvoiceCreateInput, request.data)
        if "amount" in data or data.get("userId") not in (None, request.user.pk):
            _require_staff(request)
        user = resolve_target_user(request, data.get("userId"))

        if "credits" in data:
            invoice = services.invoice_create_credit_topup(
                user=user, credits=data["credits"], actor=request.user
            )
        else:
            invoice = services.invoice_create(
                user=user,
                purpose=InvoicePurpose.OTHER,
                amount_minor=data["amount"],
                currency=data["currency"],
                description=data["description"],
                actor=request.user,
            )
        return Response(InvoiceOutput(invoice).data, status=status.HTTP_201_CREATED)


class BillingSummaryApi(PersonApi):
    @extend_schema(operation_id="billing_summary", responses=BillingSummaryOutput)
    def get(self, request):
        summary = services.billing_summary(user=request.user)
        sub = summary["subscription"]
        pending = summary["pendingSubscription"]
        tier = summary["tier"]
        body = {
            **summary,
            "subscription": SubscriptionOutput(sub).data if sub else None,
            "pendingSubscription": SubscriptionOutput(pending).data
            if pending
            else None,
            "tier": TierBriefOutput(tier).data if tier else None,
            "recentInvoices": InvoiceOutput(summary["recentInvoices"], many=True).data,
            "availableProviders": available_providers(),
        }
        return Response(body)


class PaymentIntentApi(PersonApi):
    @extend_schema(
        operation_id="payments_intents_create",
        request=PaymentIntentInput,
        responses={201: IntentOutput, 200: IntentOutput},
    )
    def post(self, request):
        data = _parse(PaymentIntentInput, request.data)
        invoice = services.invoice_get_for_user(
            user=request.user, invoice_id=data["invoiceId"]
        )

        payment, intent = services.payment_intent_create(
            user=request.user,
            invoice=invoice,
            provider=data["provider"],
            actor=request.user,
            idempotency_key=data["idempotencyKey"] or None,
            options={"asset": data.get("asset")},
        )

        payment.refresh_from_db()
        replayed = intent is None
        body = _intent_body(payment, intent)
        body["replayed"] = replayed
        return Response(body, status=200 if replayed else status.HTTP_201_CREATED)


class PaymentProcessApi(PersonApi):
    @extend_schema(
        operation_id="payments_process",
        request=PaymentProcessInput,
        responses=PaymentOutput,
    )
    def post(self, request):
        data = _parse(PaymentProcessInput, request.data)
        payment = services.payment_get_for_user(
            user=request.user, payment_id=data["paymentId"]
        )
        payment = services.payment_process(
            payment=payment, data=data, actor=request.user
        )
        payment.refresh_from_db()
        return Response(PaymentOutput(payment).data)


class PaymentMethodApi(PersonListApi):
    serializer_class = PaymentMethodOutput

    @extend_schema(operation_id="payments_methods_list")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PaymentMethod.objects.none()
        return services.payment_method_list(user=self.request.user)

    @extend_schema(
        operation_id="payments_methods_add",
        request=PaymentMethodInput,
        responses={201: PaymentMethodOutput},
    )
    def post(self, request):
        data = _parse(PaymentMethodInput, request.data)
        method = services.payment_method_add(
            user=request.user,
            provider=data["provider"],
            actor=request.user,
            is_default=data["isDefault"],
            kind=data["type"],
            provider_ref=data["providerRef"],
            brand=data["brand"],
            last4=data["last4"],
            exp_month=data["expMonth"],
            exp_year=data["expYear"],
            label=data["label"],
        )
        return Response(
            PaymentMethodOutput(method).data, status=status.HTTP_201_CREATED
        )


class PaymentHistoryApi(PersonListApi):
    serializer_class = PaymentOutput

    @extend_schema(operation_id="payments_history", parameters=[STATUS_PARAM])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Payment.objects.none()
        query = _parse(ListFilterInput, self.request.query_params)
        payments = services.payment_history(user=self.request.user)
        if query.get("status"):
            payments = payments.filter(status=query["status"].upper())
        return payments


class PaymentRefundApi(PersonApi):
    """Staff only: refunds are an operator's decision."""

    @extend_schema(
        operation_id="payments_refund",
        request=RefundInput,
        responses={201: RefundOutput},
    )
    def post(self, request):
        _require_staff(request)
        data = _parse(RefundInput, request.data)
        payment = services.payment_get_for_user(
            user=request.user, payment_id=data["paymentId"]
        )

        refund = services.refund_create(
            payment=payment,
            amount_minor=data.get("amount"),
            reason=data["reason"],
            actor=request.user,
        )
        refund = Refund.objects.get(pk=refund.pk)
        return Response(RefundOutput(refund).data, status=status.HTTP_201_CREATED)


WEBHOOK_RESPONSE = inline_serializer(
    "WebhookReceived",
    {
        "received": serializers.BooleanField(),
        "duplicate": serializers.BooleanField(),
        "outcome": serializers.CharField(),
    },
)


class _WebhookApi(APIView):
    """Unauthenticated: the provider's signature is the authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    provider = ""

    def receive(self, request):
        event, duplicate = services.webhook_receive(
            provider=self.provider, body=request.body, headers=request.headers
        )
        return Response(
            {"received": True, "duplicate": duplicate, "outcome": event.outcome}
        )


class StripeWebhookApi(_WebhookApi):
    provider = "stripe"

    @extend_schema(
        operation_id="payments_webhook_stripe",
        request=None,
        responses=WEBHOOK_RESPONSE,
        auth=[],
    )
    def post(self, request):
        return self.receive(request)


class RazorpayWebhookApi(_WebhookApi):
    provider = "razorpay"

    @extend_schema(
        operation_id="payments_webhook_razorpay",
        request=None,
        responses=WEBHOOK_RESPONSE,
        auth=[],
    )
    def post(self, request):
        return self.receive(request)
