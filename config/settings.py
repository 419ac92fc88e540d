"""Parley's settings: one module, driven by environment variables.

The defaults make a fresh checkout run on its own: SQLite in ``var/`` and an
in-memory channel layer. ``DATABASE_URL`` switches to PostgreSQL (psycopg 3 with
its connection pool) and ``REDIS_URL`` to the Redis channel layer; a real
deployment sets both, plus ``DJANGO_DEBUG=0``, ``SECRET_KEY`` and
``ALLOWED_HOSTS``.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from common.mail import CONSOLE_BACKEND, UNCONFIGURED_BACKEND, mailer_from_url


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item]


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PARLEY_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get(
    "SECRET_KEY", "django-insecure-parley-development-key-change-me"
)
if not DEBUG and (len(SECRET_KEY) < 50 or "insecure" in SECRET_KEY):
    # A published or placeholder key would let anyone forge sessions.
    raise ImproperlyConfigured(
        "Set SECRET_KEY to 50+ random characters when DJANGO_DEBUG=0 "
        "(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "axes",
    "negotiation",
    "playbooks",
    "room.apps.LiveSessionsConfig",
    "review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.caching.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "common.middleware.refuse_nul_characters",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a lockout into its page
    "common.errors.OwnErrorPagesMiddleware",  # last: its process_exception first
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "room.context_processors.guest",
            ],
        },
    },
]

# --- Data ------------------------------------------------------------------
# Under ASGI every request runs its ORM work in a worker thread, so persistent
# connections (CONN_MAX_AGE) would leak one connection per thread. PostgreSQL
# uses psycopg's pool instead; SQLite needs a real file so that daphne and the
# tests' own process share it.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'parley.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    from psycopg_pool import ConnectionPool

    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "1")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "10")),
        "timeout": 10,
        # A connection is checked (one round trip) as it leaves the pool, so
        # that after a PostgreSQL restart the pool's dead connections are
        # replaced, instead of each failing one request or action.
        "check": ConnectionPool.check_connection,
    }
    # A daphne killed mid-transaction leaves its backend "idle in
    # transaction", holding row locks, until PostgreSQL notices the dead
    # client; every process's database thread then waits on those locks and
    # its sockets freeze (bench/faults.py). The server ends such a
    # transaction after a few seconds, and a lock wait gives up (the action
    # is refused with "try again") rather than blocking the thread.
    DATABASES["default"]["OPTIONS"]["options"] = (
        "-c idle_in_transaction_session_timeout="
        + os.environ.get("PG_IDLE_IN_TRANSACTION_TIMEOUT", "5s")
        + " -c lock_timeout="
        + os.environ.get("PG_LOCK_TIMEOUT", "3s")
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # WAL lets the browser tests' daphne read while the test process writes.
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # Redis Pub/Sub: a group send is one PUBLISH, fanned out by Redis, where
    # the original layer runs a script and a queue per socket. Delivery is at
    # most once, which the room is built for: every event carries its seq, a
    # socket that sees a gap reads what it missed, heartbeats catch up on a
    # lost last event, and a reconnect syncs.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# The cache holds counters every process must share (the throttle on unknown
# share links): Redis when there is one, else this process's memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "parley",
        }
    }

# --- Accounts --------------------------------------------------------------
_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
# Login throttling (django-axes), the admin's login included: after
# AXES_FAILURE_LIMIT wrong passwords for one username from one IP, that pair is
# refused (429, even with the right password) for AXES_COOLOFF_MINUTES; a
# successful login clears its count. Attempts are kept in the database.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = int(os.environ.get("AXES_COOLOFF_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "negotiation.views.accounts.locked_out"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "negotiation:deal-list"
LOGOUT_REDIRECT_URL = "home"
# One URL for the mailer (common/mail.py). Without it: the console in
# development; with DEBUG off, a mailer that refuses, and a system check warns.
EMAIL_URL = os.environ.get("EMAIL_URL", "")
MAILERS = {
    "default": mailer_from_url(EMAIL_URL)
    if EMAIL_URL
    else {"BACKEND": CONSOLE_BACKEND if DEBUG else UNCONFIGURED_BACKEND}
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Parley <parley@localhost>")

# --- Parley ----------------------------------------------------------------
# How long a share link can be redeemed before it expires.
PARLEY_INVITE_DAYS = int(os.environ.get("PARLEY_INVITE_DAYS", "14"))
# Minutes without an open room after which a side the room waits for is
# emailed (``manage.py send_waiting_emails``).
PARLEY_AWAY_MINUTES = int(os.environ.get("PARLEY_AWAY_MINUTES", "10"))
# Unknown share-link tokens per IP before /join/ answers 429, and the window.
PARLEY_JOIN_UNKNOWN_LIMIT = int(os.environ.get("PARLEY_JOIN_UNKNOWN_LIMIT", "20"))
PARLEY_JOIN_UNKNOWN_WINDOW = int(os.environ.get("PARLEY_JOIN_UNKNOWN_WINDOW", "600"))
# The room's websocket limits: frame size, and a token bucket per socket.
PARLEY_WS_MAX_FRAME_BYTES = 64 * 1024
PARLEY_WS_RATE_PER_SECOND = float(os.environ.get("PARLEY_WS_RATE_PER_SECOND", "20"))
PARLEY_WS_BURST = int(os.environ.get("PARLEY_WS_BURST", "40"))
# Per participant, whatever the number of sockets and processes: at most this
# many open sockets (a new one closes the oldest), and at most this many room
# actions per window of seconds, counted in the cache (Redis when set).
PARLEY_SOCKETS_PER_PARTICIPANT = int(
    os.environ.get("PARLEY_SOCKETS_PER_PARTICIPANT", "5")
)
PARLEY_PARTICIPANT_ACTIONS = int(os.environ.get("PARLEY_PARTICIPANT_ACTIONS", "100"))
PARLEY_PARTICIPANT_ACTIONS_WINDOW = int(
    os.environ.get("PARLEY_PARTICIPANT_ACTIONS_WINDOW", "10")
)
# A socket renders the presence list at most once per this many seconds, so a
# storm of sockets coming and going costs each socket a few renders.
PARLEY_PRESENCE_COALESCE_SECONDS = 0.25

# --- Locale ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security --------------------------------------------------------------
# Never send a Referer to another site. Responses to share-link URLs (which
# carry a token) send "no-referrer" themselves. Pages with forms cannot: under
# "no-referrer" browsers send `Origin: null` with every POST, which Django's
# CSRF origin check rightly refuses.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    # Behind a TLS-terminating proxy (docker-compose's), which sets this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# One console handler for everything, with share-link tokens and team join
# codes redacted (config/logs.py). Django's own "django" and "django.server"
# handlers are replaced, so no record reaches the console around the filter.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "config.logs.RedactSecretsFilter"},
        "redis_outage": {"()": "common.outage.RedisOutageFilter"},
        "database_outage": {"()": "common.outage.DatabasePoolOutageFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "INFO"},
        # One warning per Redis outage instead of a traceback a second.
        "channels_redis.pubsub": {"filters": ["redis_outage"]},
        "psycopg.pool": {"filters": ["database_outage"]},
    },
}
