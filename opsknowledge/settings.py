"""Settings for opsknowledge, read from the environment and nothing else.

Every knob a deployment turns is an environment variable documented in README.md
("Configuration"); docker-compose.yml passes exactly these (a test keeps the two in step).
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0/true/false")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None


# The variables settings read; docker-compose.yml must pass exactly these to the web service.
ENVIRONMENT_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "DATABASE_REPLICA_URLS",
    "DATABASE_REPLICA_MAX_LAG_BYTES",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "HTTPS_ONLY",
    "INTERNAL_DOMAINS",
    "API_MAX_BODY_BYTES",
    "CACHE_URL",
    "TRUSTED_PROXIES",
    "METRICS_ALLOWED_IPS",
    "THROTTLE_ENABLED",
    "THROTTLE_ANONYMOUS_RATE",
    "THROTTLE_READ_RATE",
    "THROTTLE_WRITE_RATE",
    "THROTTLE_LOGIN_RATE",
    "SESSION_COOKIE_AGE",
    "DATABASE_POOL_MAX_SIZE",
    "DATABASE_POOL_MIN_SIZE",
    "DATABASE_POOL_TIMEOUT",
)

DEBUG = env_bool("DEBUG", False)

_DEVELOPMENT_SECRET_KEY = "insecure-development-key-only-used-while-DEBUG-is-on"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))")'
        )
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# One switch for HTTPS hardening. Off by default so that DEBUG=0 still serves plain HTTP on
# loopback (behind a TLS-terminating proxy, or in tests).
HTTPS_ONLY = env_bool("HTTPS_ONLY", False)
if HTTPS_ONLY:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# No inline or eval'd script anywhere: site.js reads what it needs from data- attributes.
# Only /api/docs/ (Swagger UI) widens style-src and img-src, on that view alone.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.syndication",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "taggit",
    "opsknowledge",
    "runbooks",
    "incidents",
    "releases",
]

MIDDLEWARE = [
    "opsknowledge.middleware.RequestIdMiddleware",
    "opsknowledge.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "opsknowledge.middleware.PrivateAnswersMiddleware",
    "opsknowledge.middleware.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "opsknowledge.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "opsknowledge.middleware.ThrottleMiddleware",
    "opsknowledge.middleware.BrandedNotFoundMiddleware",
]

ROOT_URLCONF = "opsknowledge.urls"
WSGI_APPLICATION = "opsknowledge.wsgi.application"

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
                "opsknowledge.context_processors.site",
            ],
        },
    },
]

# The embedded default is an SQLite file under var/ in the checkout; production sets
# DATABASE_URL=postgres://...
_DEFAULT_DATABASE_URL = f"sqlite:///{BASE_DIR / 'var' / 'opsknowledge.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL") or _DEFAULT_DATABASE_URL


def database_from_url(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        name = config.get("NAME") or ""
        if name and name != ":memory:":
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        # Concurrent writers wait for each other instead of failing with "database is
        # locked": WAL lets readers run beside a writer, IMMEDIATE takes the write lock at
        # BEGIN (a deferred transaction cannot wait for an upgrade), and the timeout is
        # how long a writer waits.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # A server that is away must fail a request fast (a 503 the client can retry), not
        # hold a worker for the operating system's TCP timeout.
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
        # The pool variables apply to PostgreSQL only (SQLite has no server to pool
        # connections to). Each alias built here gets a pool of its own, of these sizes.
        max_size = env_int("DATABASE_POOL_MAX_SIZE", 0)
        if max_size < 0:
            raise ImproperlyConfigured(
                f"DATABASE_POOL_MAX_SIZE={max_size} is negative; use 0 (no pool) or more"
            )
        if max_size:
            min_size = env_int("DATABASE_POOL_MIN_SIZE", 1)
            if not 0 <= min_size <= max_size:
                raise ImproperlyConfigured(
                    f"DATABASE_POOL_MIN_SIZE={min_size} must be between 0 and "
                    f"DATABASE_POOL_MAX_SIZE ({max_size})"
                )
            # How long a request waits for a free connection before it fails with a 503.
            # Keep it below gunicorn's --timeout, or the worker is killed while it waits.
            timeout = env_int("DATABASE_POOL_TIMEOUT", 3)
            if timeout < 1:
                raise ImproperlyConfigured(
                    f"DATABASE_POOL_TIMEOUT={timeout} must be at least 1 (seconds)"
                )
            # Django refuses a pool together with persistent connections; the health checks
            # make the pool test a connection before lending it (one left broken by a
            # database restart is replaced, not handed to a request).
            config["CONN_MAX_AGE"] = 0
            config["CONN_HEALTH_CHECKS"] = True
            config["OPTIONS"]["pool"] = {
                "min_size": min_size,
                "max_size": max_size,
                "timeout": timeout,
            }
    return config


DATABASES = {"default": database_from_url(DATABASE_URL)}

# PostgreSQL streaming replicas of DATABASE_URL (comma-separated URLs, zero or more): safe
# requests read from them, with read-your-writes (opsknowledge.replicas). In tests each one
# mirrors "default": it reaches the test database through replication.
DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS", [])
# A replica further behind the primary than this many bytes of WAL is not read from.
DATABASE_REPLICA_MAX_LAG_BYTES = env_int("DATABASE_REPLICA_MAX_LAG_BYTES", 16 * 1024 * 1024)
DATABASE_REPLICAS = []
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    _replica = database_from_url(_url)
    if "postgresql" not in _replica["ENGINE"] or "postgresql" not in DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URLS are PostgreSQL streaming replicas of a PostgreSQL DATABASE_URL"
        )
    DATABASE_REPLICAS.append(f"replica{_number}")
    DATABASES[f"replica{_number}"] = {**_replica, "TEST": {"MIRROR": "default"}}
if DATABASE_REPLICAS:
    # Only with replicas: without them every query goes to "default" exactly as before.
    DATABASE_ROUTERS = ["opsknowledge.replicas.ReplicaRouter"]
    # Outside sessions and authentication, so that they run in its scope (and stay on the
    # primary), and it sees the response's status to record a write's position.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "opsknowledge.replicas.ReplicaReadsMiddleware",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the site's own CSS, JavaScript and images
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed copies made by `collectstatic` (make run, the Dockerfile and CI run
    # it): a new release never meets a stale cached stylesheet, and WhiteNoise serves them
    # with a cache lifetime of forever. Without DEBUG, pages need collectstatic to have run.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# With DEBUG, files are served straight from the apps' static folders as they are edited.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Members sign in on the site's own page (the admin's login admits staff only).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# A session ends this long after sign-in (default 8 hours), however busy: it is not
# renewed by every request (SESSION_SAVE_EVERY_REQUEST stays off).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_SAVE_EVERY_REQUEST = False

# Largest request body the API accepts (a runbook's Markdown is far smaller); larger → 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES + 64 * 1024

# "Ceph" and "ceph" are one tag.
TAGGIT_CASE_INSENSITIVE = True

# Host names under these domains are flagged by the redaction check before a failure
# report goes public (comma-separated, e.g. "corp.example,internal").
INTERNAL_DOMAINS = env_list("INTERNAL_DOMAINS", [])

REST_FRAMEWORK = {
    # Token first: a bad token must be 401 even when a session cookie is sent along.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "opsknowledge.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["opsknowledge.api.permissions.ReadOnlyUnlessStaff"],
    "DEFAULT_PARSER_CLASSES": ["opsknowledge.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "opsknowledge.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "opsknowledge.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "opsknowledge.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "opsknowledge.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["opsknowledge.api.throttles.SharedThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "URL_FORMAT_OVERRIDE": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "opsknowledge API",
    "DESCRIPTION": "Runbooks, failure reports, best practices and release notes shared "
    "between cloud providers.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Assets from the sidecar package: the docs page loads nothing from the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status"; name each choice set so the schema stays stable.
    "ENUM_NAME_OVERRIDES": {
        "DocumentStatusEnum": "opsknowledge.models.documents.DOCUMENT_STATUS_CHOICES",
        "ReportStatusEnum": "opsknowledge.models.documents.Status",
        "ActionItemStatusEnum": "incidents.models.ActionItem.Status",
        "AlertSeverityEnum": "runbooks.models.Severity",
        "ReportSeverityEnum": "incidents.models.Severity",
    },
}

# One cache, shared by every worker and server when CACHE_URL names a Redis
# (redis://host:6379/0): throttling counters live there. Without it each process counts alone.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "okb",
            # A cache that does not answer must not hold a request for long: throttling
            # fails open and /healthz reports it.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
THROTTLE_CACHE = "default"
# Anonymous readers' hottest answers (briefing, /r/, feeds, transparency) are kept in that
# cache (opsknowledge.hotcache) only when it is shared: a write must reach every server's
# copy to invalidate it.
HOT_CACHE = bool(CACHE_URL)

# Throttling (429 with Retry-After): <count>/<s|min|hour|day>. Anonymous readers are counted
# per address, tokens and sessions per user, writes and sign-ins on their own stricter rates.
THROTTLE_ENABLED = env_bool("THROTTLE_ENABLED", True)
THROTTLE_ANONYMOUS_RATE = os.environ.get("THROTTLE_ANONYMOUS_RATE", "300/min")
THROTTLE_READ_RATE = os.environ.get("THROTTLE_READ_RATE", "1200/min")
THROTTLE_WRITE_RATE = os.environ.get("THROTTLE_WRITE_RATE", "120/min")
THROTTLE_LOGIN_RATE = os.environ.get("THROTTLE_LOGIN_RATE", "20/min")

# Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
# Who may read /metrics (Prometheus): addresses or networks, comma-separated.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1/32", "::1/128"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "opsknowledge.requestid.RequestIdFilter"}},
    "formatters": {
        "with_request_id": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "with_request_id",
        }
    },
    "root": {"handlers": ["console"], "level": "INFO" if DEBUG else "WARNING"},
}

# POST /api/v1/import/: the largest archive accepted, and what it may unpack to.
# All Markdown fields of one document together (runbook body, a report's sections). The
# largest real runbook or postmortem we know has 13.6 KB (the whole Cluster API upgrade
# guide, 29 KB, is four runbooks); at 32 KiB the costliest Markdown we could write renders
# and sanitises in under half a second (`manage.py benchmark` measures it: at 64 KiB,
# nested blocks and table cells took 0.85 s).
DOCUMENT_MARKDOWN_MAX_BYTES = 32 * 1024
IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
IMPORT_MAX_FILES = 5000

# Runbook lint: a runbook not reviewed for longer than this is flagged.
RUNBOOK_REVIEW_MAX_AGE_DAYS = 365
