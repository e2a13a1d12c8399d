"""credits API routes, mounted under /api/."""

from django.urls import path

from credits import views

app_name = "credits"

urlpatterns = [
    path("credits/balance", views.CreditBalanceApi.as_view(), name="balance"),
    path("credits/add", views.CreditAddApi.as_view(), name="add"),
    path("credits/deduct", views.CreditDeductApi.as_view(), name="deduct"),
    path("credits/history", views.CreditHistoryApi.as_view(), name="history"),
    path("credits/check", views.CreditCheckApi.as_view(), name="check"),
]
