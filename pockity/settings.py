"""
Pockity's settings, read from the environment (and a `.env` file when present).

With nothing set, the product runs on embedded defaults: SQLite and the local
S3-compatible server that `make run` starts on loopback. Every value a
deployment changes has an environment variable; bad values stop the start-up
with ImproperlyConfigured rather than surfacing later as a 500.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

load_dotenv(BASE_DIR / ".env")

# A key that only the embedded defaults may use; refused when DEBUG is off.
DEFAULT_SECRET_KEY = "pockity-insecure-development-key-change-me-0123456789abcdef"


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules or env_bool("POCKITY_TESTING")

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY") or env_str("JWT_SECRET") or DEFAULT_SECRET_KEY
if not DEBUG and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY (or JWT_SECRET) must be set when DEBUG is off."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")

POCKITY_VERSION = "0.1.0"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "pockity",
    "accounts",
    "tiers",
    "apikeys",
    "storage",
    "audit",
    "billing",
    "credits",
    "notifications",
]

MIDDLEWARE = [
    "pockity.middleware.ApiJsonErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pockity.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "pockity.wsgi.application"

# --- Database --------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # The embedded server handles uploads on several threads; wait for the
    # write lock instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

if TESTING:
    # Password hashing dominates test time; production keeps the default.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Cache (throttles, lastUsedAt buffer) -----------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "pockity",
        }
    }

# --- Internationalisation, static files --------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Uploads ---------------------------------------------------------------

# Non-file form data stays small; file bytes never count against this because
# the storage upload handler streams them to S3.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FILES = 100
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# --- S3 --------------------------------------------------------------------

# Left unset, S3_ENDPOINT_URL is the embedded server started by `make run`.
# For AWS, give the regional endpoint, e.g. https://s3.eu-west-1.amazonaws.com.
S3_EMBEDDED_HOST = env_str("S3_EMBEDDED_HOST", "127.0.0.1")
S3_EMBEDDED_PORT = env_int("S3_EMBEDDED_PORT", 9090)
S3_ENDPOINT_URL = env_str(
    "S3_ENDPOINT_URL", f"http://{S3_EMBEDDED_HOST}:{S3_EMBEDDED_PORT}"
)
# Presigned URLs are signed for this endpoint when clients reach S3 by
# another host name than the server does (Docker, a CDN, a proxy).
S3_PUBLIC_ENDPOINT_URL = env_str("S3_PUBLIC_ENDPOINT_URL")
S3_BUCKET = env_str("S3_BUCKET", "pockity")
S3_ADDRESSING_STYLE = env_str("S3_ADDRESSING_STYLE", "path")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID", "pockity-local")
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY", "pockity-local-secret")
AWS_REGION = env_str("AWS_REGION", "us-east-1")
S3_CONNECT_TIMEOUT = env_int("S3_CONNECT_TIMEOUT", 5)
S3_READ_TIMEOUT = env_int("S3_READ_TIMEOUT", 60)
S3_MAX_ATTEMPTS = env_int("S3_MAX_ATTEMPTS", 3)
# S3 requires parts of at least 5 MiB; this is also the most a single upload
# holds in memory at once.
S3_MULTIPART_PART_SIZE = env_int("S3_MULTIPART_PART_SIZE", 8 * 1024 * 1024)
PRESIGNED_URL_DEFAULT_EXPIRY = env_int("PRESIGNED_URL_DEFAULT_EXPIRY", 3600)
PRESIGNED_URL_MAX_EXPIRY = 604_800

# --- API keys ----------------------------------------------------------------

# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation).
# Without one, a key is derived from SECRET_KEY so that the embedded defaults
# work; set it explicitly in production.
API_KEY_ENCRYPTION_KEYS = env_list("API_KEY_ENCRYPTION_KEYS")
API_KEY_LAST_USED_RESOLUTION = env_int("API_KEY_LAST_USED_RESOLUTION", 60)

# --- REST framework ---------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apikeys.authentication.ApiKeyAuthentication",
        "accounts.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "pockity.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "pockity.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pockity.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("THROTTLE_LOGIN", "10/min"),
        "register": env_str("THROTTLE_REGISTER", "20/hour"),
        "apikey_auth_failure": env_str("THROTTLE_APIKEY_FAILURE", "30/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env_str("JWT_SECRET") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pockity API",
    "DESCRIPTION": (
        "Multi-tenant storage orchestration: one shared S3 bucket, an isolated "
        "and quota-controlled prefix for every API key and every user."
    ),
    "VERSION": POCKITY_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set shared by several fields or apps.
    "ENUM_NAME_OVERRIDES": {
        "RequestStatusEnum": "tiers.models.RequestStatus",
        "DecisionStatusEnum": "apikeys.request_serializers.DECISION_STATUSES",
        "ApiKeyRequestKindEnum": "apikeys.models.ApiKeyRequest.Kind",
        "CapabilityEnum": "apikeys.request_services.CAPABILITIES",
        "SubscriptionStatusEnum": "billing.models.SubscriptionStatus",
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        "PaymentStatusEnum": "billing.models.PaymentStatus",
        "RefundStatusEnum": "billing.models.RefundStatus",
        "PaymentProviderEnum": "billing.models.Provider",
        "HealthStatusEnum": [("ok", "ok"), ("degraded", "degraded")],
    },
}

# --- CORS ------------------------------------------------------------------

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "x-access-key-id",
    "x-secret-key",
    "x-request-id",
]

# --- Proxies and request context ----------------------------------------------

# Number of reverse proxies in front of Pockity whose X-Forwarded-For entries
# are trusted. 0 (the default) means the socket address is the client's.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Billing ---------------------------------------------------------------

STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
RAZORPAY_KEY_ID = env_str("RAZORPAY_KEY_ID")
RAZORPAY_SECRET = env_str("RAZORPAY_SECRET")
RAZORPAY_WEBHOOK_SECRET = env_str("RAZORPAY_WEBHOOK_SECRET")
# Only to point the SDKs at a stand-in server (tests); empty means the real API.
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
RAZORPAY_API_BASE = env_str("RAZORPAY_API_BASE")
# Crypto invoices: receiving addresses, and USD rates for ETH and BTC (USDC
# is 1:1). An asset lacking either is not offered.
CRYPTO_ETH_ADDRESS = env_str("CRYPTO_ETH_ADDRESS")
CRYPTO_USDC_ADDRESS = env_str("CRYPTO_USDC_ADDRESS")
CRYPTO_BTC_ADDRESS = env_str("CRYPTO_BTC_ADDRESS")
CRYPTO_ETH_USD_RATE = env_str("CRYPTO_ETH_USD_RATE")
CRYPTO_BTC_USD_RATE = env_str("CRYPTO_BTC_USD_RATE")
# Credits: one credit pays one minor unit of this currency, and costs
# CREDIT_PRICE_MINOR of it in a top-up invoice.
CREDITS_CURRENCY = env_str("CREDITS_CURRENCY", "USD")
CREDIT_PRICE_MINOR = env_int("CREDIT_PRICE_MINOR", 1)
INVOICE_DUE_DAYS = env_int("INVOICE_DUE_DAYS", 7)
BILLING_PAST_DUE_GRACE_DAYS = env_int("BILLING_PAST_DUE_GRACE_DAYS", 7)

# --- E-mail ----------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Pockity <noreply@pockity.local>")
POCKITY_STAFF_EMAILS = env_list("POCKITY_STAFF_EMAILS")

# Whether a user must verify their e-mail address before requesting keys or
# tiers. Off by default so that the quick start stays two commands.
REQUIRE_VERIFIED_EMAIL = env_bool("REQUIRE_VERIFIED_EMAIL", False)

# Quota-alert webhooks may target loopback only where this is on (tests and
# local use); private, link-local and metadata addresses are always refused.
WEBHOOKS_ALLOW_LOOPBACK = env_bool("WEBHOOKS_ALLOW_LOOPBACK", False)

# --- Security for deployments -------------------------------------------------

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The directive only makes the site eligible for browsers' preload lists;
    # nothing is listed until an operator submits the domain.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = (
        ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
    )

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- Logging ---------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_JSON = env_bool("LOG_JSON", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "pockity.logging.RequestIdFilter"},
        # Blanks secrets, tokens and presigned-URL signatures that slip into
        # a message (see pockity/logging.py).
        "redact": {"()": "pockity.logging.RedactingFilter"},
    },
    "formatters": {
        "plain": {
            "()": "pockity.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "pockity.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "redact"],
            "formatter": "json" if LOG_JSON else "plain",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config gives "django" a console handler of its own
        # in DEBUG; replacing it keeps one line per event, formatted and
        # redacted like ours.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # botocore logs request details (and presigned URLs) at DEBUG.
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
