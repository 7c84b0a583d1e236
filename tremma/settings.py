"""Trëmma's one settings module: every value that differs between machines is
read from the environment (see the table in README.md).

Fail-safe defaults: DEBUG is off unless asked for, and there is no SECRET_KEY
outside DEBUG. Without any variable set, the app runs on embedded components
(SQLite, in-memory channel layer, local media, console email, demo gateway).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url

from tremma.env import ImproperEnvironment, env_bool, env_email, env_int, env_list, env_steps, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TREMMA_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperEnvironment("SECRET_KEY must be set (or DEBUG=true for a local, throw-away run)")
    # Only ever reached with DEBUG on: a throw-away key for local runs.
    SECRET_KEY = "django-insecure-local-debug-only-key-never-used-in-production-0123456789"  # noqa: S105

SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])
# Websockets accept browsers whose Origin is one of these, scheme, host and port compared (tremma/asgi.py):
# the site's own origin and the trusted ones; a site on the loopback (make demo) answers to both of its names.
_site = urlparse(SITE_URL)
WEBSOCKET_ALLOWED_ORIGINS = list(
    dict.fromkeys(
        [
            f"{_site.scheme}://{_site.netloc}",
            *CSRF_TRUSTED_ORIGINS,
            *(
                [f"{_site.scheme}://{host}:{_site.port or 80}" for host in ("127.0.0.1", "localhost")]
                if _site.hostname in ("127.0.0.1", "localhost")
                else []
            ),
        ]
    )
)

INSTALLED_APPS = [
    # daphne only makes ``runserver`` serve websockets in development; in production the
    # Procfile starts the servers, and loading daphne (Twisted) would cost every process,
    # the idle worker included, about 24 MiB (measured by ``python -m bench``).
    *(["daphne"] if DEBUG else []),
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files served from our static files: /api/docs/ works offline
    "channels",
    # Before django_q: its qcluster command is ours (kernel/management/commands/qcluster.py).
    "kernel",
    "django_q",
    "django_countries",  # the names of countries in French and English (kernel/countries.py)
    "accounts",
    "campaigns",
    "donations",
    "ledger",
    "payments",
    "delivery",
    "qr",
    "receipts",
    "news",
    "alerts",
    "checkout",
    "pages",
    "realtime",
    "frontend",
]

MIDDLEWARE = [
    # First: a body over its cap is refused before anything (CSRF reads POST) starts reading it.
    "kernel.body.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kernel.csp.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tremma.urls"
WSGI_APPLICATION = "tremma.wsgi.application"
ASGI_APPLICATION = "tremma.asgi.application"
# Threads per web process that run plain HTTP requests (tremma/asgi.py); each
# may hold a database connection.
WEB_THREADS = env_int("WEB_THREADS", 8, minimum=1, maximum=64)

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "pages.context_processors.manager_links",
                "checkout.basket.basket_summary",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
_default_sqlite = f"sqlite:///{VAR_DIR / 'tremma.sqlite3'}"
DATABASE_URL = env_url("DATABASE_URL", _default_sqlite, schemes=("sqlite", "postgres", "postgresql"))
DATABASES: dict[str, Any] = {
    # Kept connections: each web process has at most WEB_THREADS of them (plus the
    # websockets' one thread), so they are bounded; opening one per request cost
    # about a tenth of a checkout's server time on PostgreSQL (make bench --profile).
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default keeps its files under var/ (not in git): make sure it exists.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # A file database for the test run too, so a live server thread or
    # process can share it with the test (Channels' live-server case needs a name).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / env_str("TEST_DATABASE_NAME", "test-tremma.sqlite3"))}
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_tremma")}
    # Django's backend, whose health check (a SELECT 1 round trip before a kept connection's first
    # query of each request) is skipped for a connection vouched for within the last
    # DB_HEALTH_CHECK_AFTER_SECONDS (tremma/postgresql/base.py); 0 checks before every request.
    DATABASES["default"]["ENGINE"] = "tremma.postgresql"
    # Parameters sent apart from the SQL, so that psycopg prepares a statement after its fifth run
    # on a connection and PostgreSQL plans it once. DB_SERVER_SIDE_BINDING=false behind a pooler
    # in transaction mode (PgBouncer without max_prepared_statements), which cannot keep them.
    DATABASES["default"].setdefault("OPTIONS", {})
    if env_bool("DB_SERVER_SIDE_BINDING", True):
        DATABASES["default"]["OPTIONS"].update({"server_side_binding": True, "prepare_threshold": 5})
DB_HEALTH_CHECK_AFTER_SECONDS = env_int("DB_HEALTH_CHECK_AFTER_SECONDS", 2, minimum=0, maximum=3600)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels and cache ---------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "", schemes=("redis", "rediss"))
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    # Redis down or slow must not fail a checkout: short timeouts, then the process's own cache (kernel/cache.py).
    CACHES = {
        "default": {
            "BACKEND": "kernel.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    # The process's hub (realtime/hub.py) reads every live event through one
    # channel: room for a burst of them (the default is 100, then drops).
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10000}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The items list at scale (pages/api/catalogue.py, docs/api.md). Anonymous list responses are cached
# per query, language and host in the shared cache, dropped by any committed change of an item, its
# photos, campaign or organisation; off without Redis by default (a per-process cache would let one
# worker serve what another has just changed). Counts are exact up to CATALOGUE_EXACT_COUNT_UP_TO
# matches, then PostgreSQL's estimate. Rows are read as values (no model instances, no DRF fields).
CATALOGUE_CACHE_SECONDS = env_int("CATALOGUE_CACHE_SECONDS", 300 if REDIS_URL else 0, minimum=0, maximum=3600)
# The item page's data (donations.selectors.item_page_item): kept in the shared cache, dropped when a
# change of the item commits; off without Redis by default, as the catalogue's.
ITEM_PAGE_CACHE_SECONDS = env_int("ITEM_PAGE_CACHE_SECONDS", 300 if REDIS_URL else 0, minimum=0, maximum=3600)
CATALOGUE_EXACT_COUNT_UP_TO = env_int("CATALOGUE_EXACT_COUNT_UP_TO", 10_000, minimum=100, maximum=10**9)
CATALOGUE_VALUES_ROWS = env_bool("CATALOGUE_VALUES_ROWS", True)

# Live-update events are kept this long for clients that resume with ?since=.
REALTIME_EVENT_RETENTION_DAYS = env_int("REALTIME_EVENT_RETENTION_DAYS", 7, minimum=1)

# --- Background work (kernel/tasks.py, docs/tasks.md) ------------------------
# django-q2 with its queue in our own database: a task recorded in a transaction exists
# exactly when the change that asked for it does. The Procfile's ``worker`` line runs
# ``manage.py qcluster``: a guard process, a pusher, a monitor and TASK_WORKERS workers.
TASK_RETRY_SECONDS = env_int("TASK_RETRY_SECONDS", 300, minimum=10, maximum=86400)
Q_CLUSTER: dict[str, Any] = {
    "name": "tremma",
    "orm": "default",
    "workers": env_int("TASK_WORKERS", 2, minimum=1, maximum=64),
    # A task's time limit is its own (@task(timeout=…)); this one is for a failed task an operator
    # resubmits from the admin (django-q2 re-enqueues it without its own): the longest of ours.
    "timeout": min(240, TASK_RETRY_SECONDS - 5),
    # A task whose worker died is handed to another after this many seconds (at least once).
    "retry": TASK_RETRY_SECONDS,
    "max_attempts": env_int("TASK_MAX_ATTEMPTS", 10, minimum=1, maximum=100),
    "ack_failures": False,
    # A queue table polled once a second by each cluster's pusher.
    "poll": 1,
    "bulk": 1,
    "catch_up": False,
    "save_limit": 1000,
    "recycle": 500,
    # A worker whose memory went above this (MiB) finishes its task and is replaced by a fresh one:
    # the first email a worker writes loads every URL and view (about 30 MiB, the OpenAPI
    # decorators included), a receipt's PDF WeasyPrint (more); an idle worker stays small.
    "max_rss": env_int("TASK_WORKER_MAX_RSS_MIB", 80, minimum=40, maximum=4096) * 1024,
    "label": "Tâches de fond",
}
# A failed task waits TASK_BACKOFF_SECONDS, then twice as long each time, at most TASK_BACKOFF_MAX_SECONDS.
TASK_BACKOFF_SECONDS = env_int("TASK_BACKOFF_SECONDS", 30, minimum=1, maximum=3600)
TASK_BACKOFF_MAX_SECONDS = env_int("TASK_BACKOFF_MAX_SECONDS", 3600, minimum=1, maximum=86400)
# Tasks run in the same process right after commit instead of in a worker (the test suite;
# never production: the tests of the engine itself start real workers).
TASKS_EAGER = env_bool("TASKS_EAGER", default=False)

# Periodic jobs, as django-q2 schedules (kernel.tasks.schedules_sync on migrate): (dotted path,
# every N minutes). Sub-minute promptness comes from elsewhere: events are published by the
# process that commits them and relayed at once when that fails; the hold release plans its
# next run at the next expiry (checkout/services/orders.py).
PERIODIC_JOBS: list[tuple[str, int]] = [
    ("realtime.services.events_relay", 1),
    ("realtime.services.events_prune", 60),
    ("checkout.services.reservations_release_expired", 1),
    ("checkout.services.transfers_pay", 5),
    ("receipts.issuing.receipts_issue_due", 10),
    ("payments.events.provider_events_retry", 1),
    ("checkout.services.transfer_reversals_pay", 5),
    ("checkout.services.payment_fees_record", 10),
    ("checkout.services.pickups_sweep", 60),
    ("checkout.services.pledges_call", 60),
    ("alerts.services.alerts_send_due", 60),
    # A carrier that pushes no tracking (Mondial Relay) is asked about its parcels; nothing to do for the demo.
    ("delivery.services.shipments_track", 30),
    ("checkout.services.parcels.parcels_sweep", 15),
]

# --- Auth -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Every sign-in (pages, admin, API) goes through this backend: it counts failures per email
# and per client address and refuses for a while past SIGN_IN_FAILURES_PER_* (accounts/throttles.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]
SIGN_IN_WINDOW_MINUTES = env_int("SIGN_IN_WINDOW_MINUTES", 15, minimum=1, maximum=1440)
SIGN_IN_FAILURES_PER_EMAIL = env_int("SIGN_IN_FAILURES_PER_EMAIL", 10, minimum=1, maximum=1000)
SIGN_IN_FAILURES_PER_CLIENT = env_int("SIGN_IN_FAILURES_PER_CLIENT", 50, minimum=1, maximum=10000)
# API tokens (POST /api/auth/token/) stop working this many days after they were made.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30, minimum=1, maximum=365)
LOGIN_URL = "/comptes/connexion/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Languages and time ---------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "fr")
# Each language is named in its own tongue (the switch reads "English" to a French reader).
LANGUAGES = [("fr", "Français"), ("en", "English")]
# English dates day first and times on 24 hours, as in France (tremma/formats/en/formats.py).
FORMAT_MODULE_PATH = ["tremma.formats"]
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ImproperEnvironment(f"LANGUAGE_CODE must be one of fr, en, not {LANGUAGE_CODE!r}")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

# --- Request bodies and uploads --------------------------------------------
# A body over its cap is refused with 413 before any of it is read (kernel/body.py), also when it
# comes without a Content-Length (chunked): multipart bodies (photos, covers, signatures) up to
# UPLOAD_MAX_BODY_BYTES, any other body (JSON, forms, webhooks) up to DATA_UPLOAD_MAX_MEMORY_SIZE.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=64 * 1024, maximum=64 * 1024 * 1024
)
# Eight photos of 12 MiB each (kernel/photos.py) and the form's other fields.
UPLOAD_MAX_BODY_BYTES = env_int(
    "UPLOAD_MAX_BODY_BYTES", 97 * 1024 * 1024, minimum=1024 * 1024, maximum=512 * 1024 * 1024
)
# An uploaded file over this size waits in a temporary file on disk, not in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# No form takes more than eight files (an item's photos); a few more get a field-level error.
DATA_UPLOAD_MAX_NUMBER_FILES = 10
# Images (photos, covers, signatures) one account may upload per hour (donations/throttles.py).
UPLOAD_IMAGES_PER_HOUR = env_int("UPLOAD_IMAGES_PER_HOUR", 100, minimum=1, maximum=10_000)

# --- Static and media -----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# Unhashed names are served when a file is missing from the manifest (tests,
# runs without collectstatic) instead of failing the page.
WHITENOISE_MANIFEST_STRICT = False

AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
MEDIA_ON_S3 = bool(AWS_STORAGE_BUCKET_NAME)
_media_storage: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if MEDIA_ON_S3:
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_url("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "eu-west-3"),
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "signature_version": "s3v4",
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", default=True),
            "custom_domain": env_str("AWS_S3_CUSTOM_DOMAIN") or None,
        },
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


# --- Content-Security-Policy (django-csp) -----------------------------------
# No inline script or style runs: every script is a file of ours. Media may live on S3.
def _origin(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


_media_origins: list[str] = []
if MEDIA_ON_S3:
    _s3 = _media_storage["OPTIONS"]
    if _s3["custom_domain"]:
        _media_origins = [f"https://{_s3['custom_domain']}"]
    elif _s3["endpoint_url"]:
        _media_origins = [_origin(_s3["endpoint_url"])]
    else:
        _media_origins = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.{_s3['region_name']}.amazonaws.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: for the small SVG icons of the API docs (Swagger UI).
        "img-src": ["'self'", "data:", *_media_origins],
        "font-src": ["'self'"],
        # 'self' covers ws:/wss: on the same host (CSP level 3): the live updates.
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        # Buy and give forms post here, then redirect to Stripe's hosted checkout, and the "connect the Stripe
        # account" button to Stripe's onboarding (browsers check redirects too).
        "form-action": ["'self'", "https://checkout.stripe.com", "https://connect.stripe.com"],
    }
}

# --- Payments -------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_url("STRIPE_API_BASE", "https://api.stripe.com")
if STRIPE_SECRET_KEY and not STRIPE_WEBHOOK_SECRET:
    raise ImproperEnvironment("STRIPE_WEBHOOK_SECRET must be set with STRIPE_SECRET_KEY")
# The Connect endpoint (events of the organisations' connected accounts) has its own signing secret.
STRIPE_CONNECT_WEBHOOK_SECRET = env_str("STRIPE_CONNECT_WEBHOOK_SECRET")
if STRIPE_SECRET_KEY and not STRIPE_CONNECT_WEBHOOK_SECRET:
    raise ImproperEnvironment("STRIPE_CONNECT_WEBHOOK_SECRET must be set with STRIPE_SECRET_KEY")
if STRIPE_CONNECT_WEBHOOK_SECRET and STRIPE_CONNECT_WEBHOOK_SECRET == STRIPE_WEBHOOK_SECRET:
    raise ImproperEnvironment("STRIPE_CONNECT_WEBHOOK_SECRET must differ from STRIPE_WEBHOOK_SECRET (two endpoints)")
# The demo gateway takes no real payment: outside DEBUG it runs only when asked for by name, never because
# a deployment forgot its Stripe keys; then every page says so (payments.context_processors) and
# `check --deploy` fails (payments/checks.py).
PAYMENTS_DEMO = env_bool("PAYMENTS_DEMO", default=False)
if PAYMENTS_DEMO and STRIPE_SECRET_KEY:
    raise ImproperEnvironment("PAYMENTS_DEMO=true and STRIPE_SECRET_KEY are both set: keep one (demo or real payments)")
if not (STRIPE_SECRET_KEY or PAYMENTS_DEMO or DEBUG):
    raise ImproperEnvironment(
        "STRIPE_SECRET_KEY must be set (real payments), or PAYMENTS_DEMO=true for a demonstration without real payment"
    )
PAYMENT_GATEWAY = "stripe" if STRIPE_SECRET_KEY else "demo"

# --- Delivery: parcels to relay points and homes (delivery room) ---------------------------------
# "demo" (offline: relay points near any postal code, labels, tracking played by POST /delivery/demo/track/)
# or a real carrier's name, whose credentials come from the environment too.
DELIVERY_CARRIER = env_str("DELIVERY_CARRIER", "demo")
# Relay-point searches one client address may make per hour (each new postal code is a call to the carrier).
RELAY_SEARCHES_PER_CLIENT = env_int("RELAY_SEARCHES_PER_CLIENT", 300, minimum=1)
if DELIVERY_CARRIER not in ("demo", "mondialrelay"):
    raise ImproperEnvironment(f"DELIVERY_CARRIER must be demo or mondialrelay, not {DELIVERY_CARRIER!r}")
# Mondial Relay (delivery/mondial_relay.py): the shipper's account ("code enseigne") and private key,
# both or neither, and only with DELIVERY_CARRIER=mondialrelay. Its web service has no price call:
# the contract's grid is given as "grams:cents" steps (up to and including that weight, VAT included).
MONDIAL_RELAY_ENSEIGNE = env_str("MONDIAL_RELAY_ENSEIGNE")
MONDIAL_RELAY_PRIVATE_KEY = env_str("MONDIAL_RELAY_PRIVATE_KEY")
MONDIAL_RELAY_API_URL = env_url("MONDIAL_RELAY_API_URL", "https://api.mondialrelay.com/Web_Services.asmx")
MONDIAL_RELAY_LABEL_BASE_URL = env_url("MONDIAL_RELAY_LABEL_BASE_URL", "https://www.mondialrelay.com")
MONDIAL_RELAY_TIMEOUT_SECONDS = env_int("MONDIAL_RELAY_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
# Required on every label as the sender's phone when the sender (a private giver) has none.
MONDIAL_RELAY_SENDER_PHONE = env_str("MONDIAL_RELAY_SENDER_PHONE")
MONDIAL_RELAY_TARIFF_RELAY = env_steps(
    "MONDIAL_RELAY_TARIFF_RELAY", "500:450,1000:520,2000:650,5000:990,10000:1490,20000:1990,30000:2690"
)
MONDIAL_RELAY_TARIFF_HOME = env_steps(
    "MONDIAL_RELAY_TARIFF_HOME", "1000:890,2000:1090,5000:1490,10000:1990,20000:2790,30000:3490"
)
if DELIVERY_CARRIER == "mondialrelay" and not (MONDIAL_RELAY_ENSEIGNE and MONDIAL_RELAY_PRIVATE_KEY):
    raise ImproperEnvironment(
        "MONDIAL_RELAY_ENSEIGNE and MONDIAL_RELAY_PRIVATE_KEY must be set with DELIVERY_CARRIER=mondialrelay"
    )
if DELIVERY_CARRIER == "mondialrelay" and not MONDIAL_RELAY_SENDER_PHONE:
    raise ImproperEnvironment(
        "MONDIAL_RELAY_SENDER_PHONE must be set with DELIVERY_CARRIER=mondialrelay (labels need one)"
    )
if DELIVERY_CARRIER != "mondialrelay" and (MONDIAL_RELAY_ENSEIGNE or MONDIAL_RELAY_PRIVATE_KEY):
    raise ImproperEnvironment("MONDIAL_RELAY_* credentials are set but DELIVERY_CARRIER is not mondialrelay: keep one")
# Parcels: heavier objects, and bulky categories, are collected only.
PARCEL_MAX_GRAMS = env_int("PARCEL_MAX_GRAMS", 20_000)
# An organisation (or a private giver) ships a paid parcel within this many days, else that part is refunded.
SHIP_BY_DAYS = env_int("SHIP_BY_DAYS", 5)
# A buyer of a shipped object may withdraw within this many days of its delivery (distance sale).
WITHDRAWAL_DAYS = env_int("WITHDRAWAL_DAYS", 14)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("payments.context_processors.demo_gateway")
# How long an item stays held for a buyer (Stripe Checkout Sessions live 30 minutes at least).
CHECKOUT_HOLD_MINUTES = env_int("CHECKOUT_HOLD_MINUTES", 30, minimum=30, maximum=1440)
# At most this many orders (a basket is one) waiting for payment at once per email and per client address.
HOLDS_MAX_PER_EMAIL = env_int("HOLDS_MAX_PER_EMAIL", 3, minimum=1)
HOLDS_MAX_PER_CLIENT = env_int("HOLDS_MAX_PER_CLIENT", 5, minimum=1)
# At most this many objects in one basket (one order, one payment).
BASKET_MAX_ITEMS = env_int("BASKET_MAX_ITEMS", 20, minimum=1, maximum=100)
# Gifts: at least 1 €, at most GIFT_MAX_CENTS (cents).
GIFT_MIN_CENTS = 100
GIFT_MAX_CENTS = env_int("GIFT_MAX_CENTS", 1_000_000, minimum=GIFT_MIN_CENTS)
# A gift's voluntary tip to Trëmma (never the campaign's): 0 by default, at most the gift itself and
# at most TIP_MAX_CENTS (cents).
TIP_MAX_CENTS = env_int("TIP_MAX_CENTS", 10_000, minimum=0, maximum=1_000_000)
# The gift form's cost after the tax reduction (article 200 of the CGI): an organisation helping people in
# difficulty opens a reduction of 75 % on gifts up to this yearly ceiling set by law (1 000 €, made permanent
# by the 2025 finance law), 66 % above it, like every other organisation of general interest (checkout.tax_reduction).
GIFT_TAX_REDUCTION_75_CEILING_CENTS = 100_000
# Tax receipts: a sale is final (its seller receipted) this many days after the hand-over, without refund or dispute.
RECEIPT_RETURN_PERIOD_DAYS = env_int("RECEIPT_RETURN_PERIOD_DAYS", 14, minimum=0, maximum=365)
# Objects paid and not collected (checkout/services/pickups.py): the buyer is reminded by email
# PICKUP_REMINDER_DAYS after paying, then PICKUP_SECOND_REMINDER_DAYS; past PICKUP_DEADLINE_DAYS
# the order is refunded and the object put back on sale.
PICKUP_REMINDER_DAYS = env_int("PICKUP_REMINDER_DAYS", 3, minimum=1, maximum=365)
PICKUP_SECOND_REMINDER_DAYS = env_int("PICKUP_SECOND_REMINDER_DAYS", 10, minimum=1, maximum=365)
PICKUP_DEADLINE_DAYS = env_int("PICKUP_DEADLINE_DAYS", 30, minimum=1, maximum=365)
if not PICKUP_REMINDER_DAYS < PICKUP_SECOND_REMINDER_DAYS < PICKUP_DEADLINE_DAYS:
    raise ImproperEnvironment(
        "PICKUP_REMINDER_DAYS < PICKUP_SECOND_REMINDER_DAYS < PICKUP_DEADLINE_DAYS is required "
        f"(got {PICKUP_REMINDER_DAYS}, {PICKUP_SECOND_REMINDER_DAYS}, {PICKUP_DEADLINE_DAYS})"
    )
# How long the signed link to a receipt's PDF (in its email) stays valid.
RECEIPT_LINK_MAX_AGE_DAYS = env_int("RECEIPT_LINK_MAX_AGE_DAYS", 90, minimum=1, maximum=3650)
# Card-testing defence: payment attempts (checkouts and gifts) per hour, per client address and per email.
PAYMENT_ATTEMPTS_PER_CLIENT = env_int("PAYMENT_ATTEMPTS_PER_CLIENT", 30, minimum=1)
PAYMENT_ATTEMPTS_PER_EMAIL = env_int("PAYMENT_ATTEMPTS_PER_EMAIL", 10, minimum=1)

# --- Email ----------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=bool(EMAIL_HOST))
# An SMTP server that never answers must not hold a worker: each socket operation gives up after this.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1, maximum=300)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Trëmma <bonjour@tremma.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Legal pages ----------------------------------------------------------
# Who runs this site, for the legal notice, the terms and the privacy notice
# (/mentions-legales/, /conditions/, /confidentialite/). No default on purpose:
# an unset value shows on those pages as "to be provided by the operator",
# never as a made-up identity, and `manage.py check --deploy` warns about it.
OPERATOR_NAME = env_str("OPERATOR_NAME")  # company or association name
OPERATOR_LEGAL_FORM = env_str("OPERATOR_LEGAL_FORM")  # "SAS", "association loi 1901"…
OPERATOR_ADDRESS = env_str("OPERATOR_ADDRESS")  # registered office
OPERATOR_REGISTRATION = env_str("OPERATOR_REGISTRATION")  # RCS + SIREN, or RNA number
OPERATOR_CAPITAL = env_str("OPERATOR_CAPITAL")  # share capital, companies only (optional)
OPERATOR_VAT_NUMBER = env_str("OPERATOR_VAT_NUMBER")  # intra-EU VAT number, if liable (optional)
OPERATOR_EMAIL = env_email("OPERATOR_EMAIL")
OPERATOR_PHONE = env_str("OPERATOR_PHONE")
OPERATOR_PUBLICATION_DIRECTOR = env_str("OPERATOR_PUBLICATION_DIRECTOR")
HOST_NAME = env_str("HOST_NAME")  # the web host (LCEN art. 6 III)
HOST_ADDRESS = env_str("HOST_ADDRESS")
HOST_PHONE = env_str("HOST_PHONE")
MEDIATOR_NAME = env_str("MEDIATOR_NAME")  # consumer mediator (Code de la consommation L612-1)
MEDIATOR_URL = env_url("MEDIATOR_URL")

# --- Security -------------------------------------------------------------
_https = SITE_URL.startswith("https://")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=_https and not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Number of reverse proxies in front of the app whose X-Forwarded-For we trust.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0, minimum=0, maximum=5)

# --- API ------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # SessionAuthentication that also checks CSRF for anonymous browsers.
        "accounts.authentication.CsrfSessionAuthentication",
        # DRF's token authentication, refusing tokens older than API_TOKEN_TTL_DAYS.
        "accounts.authentication.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": "kernel.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The stock parsers, refusing NUL characters with a field-level error (PostgreSQL text cannot hold them).
    "DEFAULT_PARSER_CLASSES": [
        "kernel.parsers.JSONParser",
        "kernel.parsers.FormParser",
        "kernel.parsers.MultiPartParser",
    ],
    # Documents the failures of each operation as well (kernel/schema.py).
    "DEFAULT_SCHEMA_CLASS": "kernel.schema.AutoSchema",
    "EXCEPTION_HANDLER": "kernel.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")
SPECTACULAR_SETTINGS = {
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "Trëmma API",
    "DESCRIPTION": "Solidarity sales and crowdfunding for the social economy. Money is integer cents.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Item and campaign statuses are both named "status": give each enum its own name.
    "ENUM_NAME_OVERRIDES": {
        "ItemStatusEnum": "donations.models.ItemStatus",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "PaymentStatusEnum": "donations.models.PaymentStatus",
        # An item's ``delivery_methods`` and the catalogue's ``delivery`` filter (a saved search's body).
        "DeliveryMethodEnum": "donations.models.DELIVERY_METHODS",
    },
    # The websocket part of the docs, rendered from the live events' declarations (realtime/events.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "realtime.docs.schema_add_live_events"],
}

# Benchmark-only routes (bench/): never on in production.
BENCH_ROUTES = env_bool("TREMMA_BENCH", default=False)

# --- Logging --------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
