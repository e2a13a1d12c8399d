"""accounts API routes, mounted under /api/ (the seed's paths, no trailing slash)."""

from django.urls import path

from accounts import views

app_name = "accounts"


def route(pattern: str, view, name: str):
    return path(pattern, view.as_view(), name=name)


urlpatterns = [
    route("auth/register", views.RegisterView, "register"),
    route("auth/login", views.LoginView, "login"),
    route("auth/refresh", views.RefreshView, "refresh"),
    route("auth/token/refresh", views.RefreshView, "token-refresh"),
    route("auth/logout", views.LogoutView, "logout"),
    route("auth/verify", views.VerifyTokenView, "verify"),
    route("users/profile", views.ProfileView, "profile"),
    route("users/change-password", views.ChangePasswordView, "change-password"),
    route("users/summary", views.SummaryView, "summary"),
    route("users/account", views.AccountView, "account"),
    route(
        "users/verify-email/request",
        views.VerifyEmailRequestView,
        "verify-email-request",
    ),
    route(
        "users/verify-email/confirm",
        views.VerifyEmailConfirmView,
        "verify-email-confirm",
    ),
]
