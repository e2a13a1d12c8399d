"""billing and payments API routes, mounted under /api/."""

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("billing/plans", views.PlanListApi.as_view(), name="plans"),
    path("billing/subscription", views.SubscriptionApi.as_view(), name="subscription"),
    path(
        "billing/subscription/cancel",
        views.SubscriptionCancelApi.as_view(),
        name="subscription-cancel",
    ),
    path("billing/invoices", views.InvoiceApi.as_view(), name="invoices"),
    path("billing/summary", views.BillingSummaryApi.as_view(), name="summary"),
    path("payments/intents", views.PaymentIntentApi.as_view(), name="intents"),
    path("payments/process", views.PaymentProcessApi.as_view(), name="process"),
    path("payments/methods", views.PaymentMethodApi.as_view(), name="methods"),
    path("payments/history", views.PaymentHistoryApi.as_view(), name="history"),
    path("payments/refund", views.PaymentRefundApi.as_view(), name="refund"),
    path(
        "payments/webhooks/stripe",
        views.StripeWebhookApi.as_view(),
        name="webhook-stripe",
    ),
    path(
        "payments/webhooks/razorpay",
        views.RazorpayWebhookApi.as_view(),
        name="webhook-razorpay",
    ),
]
