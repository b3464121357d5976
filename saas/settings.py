"""TenantDesk settings: one file, every value from the environment (see docs/configuration.md)."""

import sys
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from saas.env import email_settings, env_bool, env_float, env_int, env_str, local_secret_key
from saas.observability import logging_config, sentry_init

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules or env_bool("TESTING")

DEBUG = env_bool("DEBUG", False)
# Production sets SECRET_KEY; a checkout without it gets a random key of its own, kept in var/.
SECRET_KEY = env_str("SECRET_KEY") or local_secret_key(BASE_DIR / "var" / "secret_key")

ROOT_DOMAIN = env_str("ROOT_DOMAIN", "tenantdesk.localhost").lower()
if ROOT_DOMAIN.count(".") < 1:
    # One login across subdomains needs a cookie Domain with two labels (DESIGN section 2).
    raise ImproperlyConfigured(f"ROOT_DOMAIN={ROOT_DOMAIN!r} needs at least two labels, e.g. tenantdesk.localhost")
ALLOWED_HOSTS = [ROOT_DOMAIN, "." + ROOT_DOMAIN]
SITE_SCHEME = env_str("SITE_SCHEME", "http" if DEBUG or TESTING else "https")
SITE_PORT = env_str("SITE_PORT", "8000" if DEBUG else "")  # only for links in emails

# --- apps --------------------------------------------------------------------------------
# Decided once (DESIGN section 3): moving an app between the lists needs a migration dance.
SHARED_APPS = [
    "django_tenants",
    "shared_apps.tenancy",
    "shared_apps.accounts",
    "shared_apps.engineers",
    "shared_apps.billing",
    "shared_apps.feedback",
    "shared_apps.publishing",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.admin",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "channels",
    "django_htmx",
    "django_prose_editor",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "guardian",
    "tenant_apps.tickets",
    "tenant_apps.profiles",
    "tenant_apps.reviews",
    "tenant_apps.knowledge",
    "tenant_apps.ai",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenancy.Client"
TENANT_DOMAIN_MODEL = "tenancy.Domain"
# A real tenant row without a domain: `migrate_schemas` keeps it current, provisioning clones it.
TENANT_BASE_SCHEMA = "tenant_template"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "saas.urls_public"
ROOT_URLCONF = "saas.urls_tenant"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# SET search_path once per schema change instead of before every query (django-tenants 4.0 forgets
# it on rollback and savepoint rollback). Code that sets search_path by hand must reset
# `connection.search_path_set_schemas` (see tenancy/schema_clone.py).
TENANT_LIMIT_SET_CALLS = True
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "saas.observability.RequestContextMiddleware",  # first: every log line of a request has its id
    # Security headers before the site lookup, so the unknown-host 404 carries them as well.
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "saas.security.PermissionsPolicyMiddleware",
    "saas.query_string.RejectNulQueryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Static files before the site lookup: the unknown-host 404 page needs its stylesheet too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "shared_apps.tenancy.middleware.CachedTenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shared_apps.tenancy.middleware.TenantAccessMiddleware",
    "tenant_apps.profiles.middleware.TimezoneMiddleware",  # after the role is known
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

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
                "shared_apps.tenancy.context_processors.site",
            ],
            "builtins": ["saas.security"],  # {% nonced_media form.media %}
        },
    },
]
WSGI_APPLICATION = "saas.wsgi.application"
ASGI_APPLICATION = "saas.asgi.application"

# --- database ----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    import dj_database_url

    _db = dj_database_url.parse(DATABASE_URL)
else:
    from saas.embedded_db import embedded_database_settings

    _db = embedded_database_settings(BASE_DIR)
_db.update(
    ENGINE="django_tenants.postgresql_backend",
    # Persistent connections with health checks. NEVER put PgBouncer in transaction-pooling mode in
    # front of this: django-tenants sets search_path once per session, and transaction pooling
    # hands that session to other clients, mixing sites' data (docs/deploy.md). Session pooling is
    # fine.
    CONN_MAX_AGE=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
    CONN_HEALTH_CHECKS=True,
)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, sessions, broker -------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    _cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
else:
    _cache = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
CACHES = {
    # Global on purpose: allauth's rate-limit counters and the host -> site cache must not split
    # per tenant (notes/django-tenants.md section 2).
    "default": {**_cache, "KEY_PREFIX": "td"},
    # Tenant data: keys are prefixed with the schema of the current connection.
    "tenant": {
        **_cache,
        "KEY_PREFIX": "tdt",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"  # public schema: one login on every subdomain
SESSION_COOKIE_DOMAIN = "." + ROOT_DOMAIN
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=300)

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL  # no broker: tasks run in-process (after commit)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 0, minimum=0) or None  # None: one per CPU
CELERY_TIMEZONE = "UTC"
# Periodic tasks (`celery -A saas beat`). Tenant-wide checks are dispatchers: they run in the
# public schema and queue one task per client site (tenant_apps/tickets/tasks.py).
CELERY_BEAT_SCHEDULE = {
    "sla-breach-check": {
        "task": "tenant_apps.tickets.tasks.sla_breach_check_all",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},  # a round the worker could not start in time is skipped
    },
    # Billing (public schema): last month's invoices on the 1st; overdue reminders/suspension daily.
    "billing-invoice-run": {
        "task": "shared_apps.billing.tasks.invoice_run_monthly",
        "schedule": crontab(minute=30, hour=2, day_of_month=1),
    },
    "billing-dunning": {
        "task": "shared_apps.billing.tasks.dunning_daily",
        "schedule": crontab(minute=0, hour=6),
    },
}

if REDIS_URL:
    # redis-py 8 reads with a 5 s socket timeout by default, the very time channels_redis blocks in
    # BZPOPMIN waiting for messages: a slow answer then kills the consumer (seen under load in
    # benchmarks/live.py). Reads may take longer than the 5 s block; a dead Redis still errors.
    _redis_host = {"address": REDIS_URL, "socket_timeout": 15}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [_redis_host]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Live ticket threads (tenant_apps/tickets/consumers.py): the largest websocket frame accepted,
# and how many messages one person may send over sockets per minute on one site.
LIVE_FRAME_MAX_BYTES = env_int("LIVE_FRAME_MAX_BYTES", 128 * 1024, minimum=1024)
LIVE_MESSAGES_PER_MINUTE = env_int("LIVE_MESSAGES_PER_MINUTE", 20, minimum=1)

# --- AI (tenant_apps/ai, docs/ai.md) ------------------------------------------------------
# "auto": OpenAI when OPENAI_API_KEY is set, else Gemini when GEMINI_API_KEY is set, else the
# offline model (no key, no network). Platform admins can override per site in the console.
AI_PROVIDER = env_str("AI_PROVIDER", "auto")
if AI_PROVIDER not in {"auto", "offline", "openai", "gemini"}:
    raise ImproperlyConfigured(f"AI_PROVIDER={AI_PROVIDER!r}: use auto, offline, openai or gemini")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")  # any OpenAI-compatible server (Ollama, vLLM, LM Studio)
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4.1-mini")
GEMINI_API_KEY = env_str("GEMINI_API_KEY")
GEMINI_BASE_URL = env_str("GEMINI_BASE_URL")
GEMINI_MODEL = env_str("GEMINI_MODEL", "gemini-2.5-flash")
AI_TIMEOUT_SECONDS = env_float("AI_TIMEOUT_SECONDS", 20.0, minimum=0.1)
AI_MAX_RETRIES = env_int("AI_MAX_RETRIES", 3, minimum=0)  # on 429, 5xx and timeouts, jittered backoff
AI_RETRY_BASE_SECONDS = env_float("AI_RETRY_BASE_SECONDS", 0.5, minimum=0.0)
AI_BREAKER_FAILURES = env_int("AI_BREAKER_FAILURES", 5, minimum=1)
AI_BREAKER_SECONDS = env_int("AI_BREAKER_SECONDS", 60, minimum=1)
AI_CONFIDENCE_THRESHOLD = env_float("AI_CONFIDENCE_THRESHOLD", 0.5, minimum=0.0, maximum=1.0)
AI_REDACT = env_bool("AI_REDACT", True)  # emails, phone numbers, passwords never leave for a remote provider
AI_CONTEXT_TOKENS = env_int("AI_CONTEXT_TOKENS", 6000, minimum=500)  # conversation budget, newest kept
# Without a broker, run AI tasks in a background thread rather than inside the request (tests run
# them inline after commit, deterministically).
AI_RUN_IN_THREAD = env_bool("AI_RUN_IN_THREAD", not TESTING)
AI_OFFLINE_STREAM_DELAY = env_float("AI_OFFLINE_STREAM_DELAY", 0.0 if TESTING else 0.02, minimum=0.0)

# --- auth (allauth, MFA) -----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[TenantDesk] "
ACCOUNT_ADAPTER = "shared_apps.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"signup": "shared_apps.accounts.forms.SiteSignupForm"}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = SITE_SCHEME
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "TenantDesk"
MFA_TOTP_TOLERANCE = 1  # accept the neighbouring 30 s window: phone clocks drift, requests can straddle a window
SOCIALACCOUNT_PROVIDERS: dict = {}
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row (our user model has no username)

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only

# --- email -------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"TenantDesk <support@{ROOT_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
globals().update(email_settings(env_str("EMAIL_URL", "console://")))

# --- static, media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Site export archives made from the console (private: served only to platform admins). Web and
# worker nodes must share it.
SITE_EXPORT_ROOT = Path(env_str("SITE_EXPORT_ROOT", str(BASE_DIR / "var" / "exports")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names need `collectstatic` (the container build runs it); development and
    # tests serve straight from the finders.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
if WHITENOISE_USE_FINDERS:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing

# --- security ----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = [f"{SITE_SCHEME}://{ROOT_DOMAIN}", f"{SITE_SCHEME}://*.{ROOT_DOMAIN}"]
# The Host the app sees is the Host the client sent, which nginx only lets through for ROOT_DOMAIN
# and its subdomains. X-Forwarded-Host is never trusted: a client could pick any site with it.
USE_X_FORWARDED_HOST = False
if SITE_SCHEME == "https":
    # Trusted because the app is only reachable through nginx, which overwrites this header on
    # every request (deploy/nginx/tenantdesk.conf). Never expose the app port directly.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]  # the operator chose not to preload

# Content-Security-Policy (django-csp 4). Scripts only from our origin, or inline with this
# request's nonce (django-prose-editor's import map, rendered by {% nonced_media %}); no
# 'unsafe-inline', no 'unsafe-eval' for scripts, so htmx runs with allowEval off (base.html).
# Style attributes stay allowed (style-src-attr): templates size bars and charts with them, and
# they cannot run script. <style> elements need our origin or a listed hash: the editor (Tiptap
# in django-prose-editor 0.28.0) injects one fixed stylesheet. On an upgrade the browser test
# (tests/browser/test_csp.py) fails and Chromium's message names the new hash.
TIPTAP_INJECTED_STYLE_HASH = "'sha256-PlumsSlvJ7vvWzjqibGAYKq92O3y/4JTxWWsWJvyUYA='"
CSP_REPORT_URI = env_str("CSP_REPORT_URI")  # e.g. Sentry's security endpoint; violations are reported there
_SITE_HOSTS = [f"{ROOT_DOMAIN}:*", f"*.{ROOT_DOMAIN}:*"]  # forms may post to the root or a site
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, TIPTAP_INJECTED_STYLE_HASH],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],  # Bootstrap's icons and the TOTP QR code are data: URLs
        "font-src": [SELF],
        "connect-src": [SELF],  # htmx, and the live pages' websockets (same host)
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF, *_SITE_HOSTS],
        **({"report-uri": [CSP_REPORT_URI]} if CSP_REPORT_URI else {}),
    },
}
# Features no page uses, switched off (saas/security.py sends the header).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# --- i18n --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- product -----------------------------------------------------------------------------
TENANT_HOST_CACHE_SECONDS = env_int("TENANT_HOST_CACHE_SECONDS", 300, minimum=0)
INVITATION_DAYS = env_int("INVITATION_DAYS", 7, minimum=1)
BILLING_PAYMENT_DAYS = env_int("BILLING_PAYMENT_DAYS", 14, minimum=0)  # invoice due this long after issue
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 21, minimum=1)  # overdue this long: past due, suspended
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "tenantdesk-demo")
TICKET_REOPEN_DAYS = env_int("TICKET_REOPEN_DAYS", 7, minimum=0)  # a closed ticket can be reopened this long
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
ATTACHMENT_MAX_FILES = env_int("ATTACHMENT_MAX_FILES", 5, minimum=1)
# Where and when announcements show is cached in the default cache and dropped on every change; a
# process that does not share that cache (no REDIS_URL, several processes) shows a new one within
# this many seconds (edits and endings show at once: publishing/selectors.py).
ANNOUNCEMENT_CACHE_SECONDS = env_int("ANNOUNCEMENT_CACHE_SECONDS", 10 if TESTING else 60, minimum=0)
# A request may carry every attachment plus the form; anything larger is refused before Django
# reads it (the proxy's client_max_body_size should match).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Production logs JSON lines on stdout with request id, schema and user id (saas/observability.py).
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG or TESTING else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not one of json, text")
LOGGING = logging_config(
    json_lines=LOG_FORMAT == "json",
    level=env_str("LOG_LEVEL", "INFO"),
    # In-process (eager) tasks would log a line per task in the web server's output.
    celery_trace_level="INFO" if REDIS_URL else "WARNING",
)
LOGGING["loggers"].update(
    {
        # The AI SDKs log every HTTP request at INFO; our AIResult rows already record each call.
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "google_genai": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        # fpdf2 subsets the invoice PDF's fonts with fontTools, which logs ~40 lines per font at INFO.
        "fontTools": {"level": "WARNING"},
    }
)
# The worker keeps our handlers (JSON lines) instead of installing its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# Error reports, only when SENTRY_DSN is set; no personal data is sent.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    sentry_init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        release=env_str("SENTRY_RELEASE"),
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )
