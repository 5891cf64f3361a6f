"""Settings, all from environment variables with safe defaults.

With nothing set the app runs on a laptop: DEBUG on, SQLite under var/, a
Celery filesystem broker under var/. Production sets DEBUG=False, SECRET_KEY,
ALLOWED_HOSTS, DATABASE_URL and REDIS_URL (or CELERY_BROKER_URL).

The module is long because every setting of every environment is read here, from
the environment, with its default and why: one place to look, no settings
modules that override each other.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(env_file)

DEBUG = env.bool("DEBUG", default=True)


def _local_dev_secret_key(var_dir: Path) -> str:
    """This machine's own development key, made once and kept in ``var_dir``.

    Sessions, password-reset links and the import preview are signed with
    SECRET_KEY, so no key may be one that is written in the repository: anyone
    could forge with it. The file appears whole or not at all (written aside,
    then linked into place), so a web server and a worker starting together
    agree on one key.
    """
    path = var_dir / "dev-secret-key"
    if not path.exists():
        draft = var_dir / f".dev-secret-key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(50))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    key = path.read_text().strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} holds no usable key: delete it to make a new one")
    return key


# Production sets its own; with DEBUG on and none set, a key made on this machine.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = _local_dev_secret_key(VAR_DIR)

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    # Full-text search and trigram similarity of the market's search (PostgreSQL
    # only; symbiosis.market_search has a fallback for SQLite).
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens: stored hashed, with an expiry, one per client, revocable.
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_results",
    "axes",
    "csp",
    "symbiosis",
    "marketplace",
    "optimizer",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A lost database connection: 503 "try again" (the transaction rolled back).
    "symbiosis.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "symbiosis.urls"
WSGI_APPLICATION = "symbiosis.wsgi.application"

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
                "django.template.context_processors.i18n",
                "symbiosis.role_context.roles",
                # The menu's counts (read lazily: only pages that show the menu query).
                "symbiosis.role_context.navigation",
            ],
        },
    },
]
# Django's form renderer with the input and textarea templates in Python (same HTML).
FORM_RENDERER = "symbiosis.form_renderer.FormRenderer"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'symbiosis.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to one file: wait for locks, don't fail.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20})
    # A file, not memory, so a Celery worker process started by the tests
    # can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_symbiosis.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's default random_page_cost (4.0) prices disk seeks of spinning
    # disks; on SSDs or a cached database index lookups are nearly as cheap as
    # scans. With 4.0 the planner hashed all 25,000 listings of each kind to join
    # a run's 889 proposals (19 ms per results page; 6 ms with 1.1).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", f"-c random_page_cost={env.float('PG_RANDOM_PAGE_COST', default=1.1)}"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "symbiosis.User"
AUTHENTICATION_BACKENDS = [
    # Refuses a login for an address and e-mail with too many recent failures.
    "symbiosis.auth_backends.LoginRateLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# Kazakh, Russian, English: the switcher's order. Kazakh readers read Russian, so what has
# no Kazakh text (a material without name_kk) falls back to Russian, then English.
LANGUAGES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]
LANGUAGE_FALLBACKS = {"kk": ["ru", "en"], "ru": ["en"], "en": []}
# What each switcher button says (a language missing here shows its code).
LANGUAGE_BUTTONS = {"kk": "ҚАЗ", "ru": "РУС", "en": "ENG"}
LOCALE_PATHS = [BASE_DIR / "locale"]
# Django ships no number or date formats for kk: ours are in symbiosis/formats/kk/.
FORMAT_MODULE_PATH = ["symbiosis.formats"]
TIME_ZONE = "Asia/Almaty"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
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
MEDIA_ROOT = VAR_DIR / "media"

# --- Photos and documents of listings (symbiosis.attachments) ---
# Stored through the storage named "attachments": a folder under VAR_DIR by default,
# any S3-compatible bucket with MEDIA_STORAGE=s3 (django-storages). Never served from a
# public address (no MEDIA_URL): views check who may see the listing, then stream it.
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
if MEDIA_STORAGE == "filesystem":
    STORAGES["attachments"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(MEDIA_ROOT / "attachments"),
            "file_permissions_mode": 0o640,
            "directory_permissions_mode": 0o750,
        },
    }
elif MEDIA_STORAGE == "s3":
    if not env.str("AWS_STORAGE_BUCKET_NAME", default=""):
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
    STORAGES["attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            # Empty: Amazon S3 itself; else MinIO, Ceph, Yandex Object Storage, ...
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            # Empty: boto3 finds credentials itself (environment, instance role).
            "access_key": env.str("AWS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("AWS_LOCATION", default="attachments"),
            # Private objects: the bucket is never read by browsers directly.
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, not {MEDIA_STORAGE!r}")
# Per listing: at most 8 photos and 5 documents (symbiosis.attachments). Larger files,
# and pictures of more pixels (decompression bombs), are refused with a message.
PHOTO_MAX_BYTES = env.int("PHOTO_MAX_BYTES", default=10 * 1024 * 1024)
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=40_000_000)
if min(PHOTO_MAX_BYTES, DOCUMENT_MAX_BYTES, PHOTO_MAX_PIXELS) <= 0:
    raise ImproperlyConfigured(
        "PHOTO_MAX_BYTES, DOCUMENT_MAX_BYTES and PHOTO_MAX_PIXELS must be above 0"
    )

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@symbiosis.local")

# --- Notifications (symbiosis.notifications) ---
# Where users reach the site: e-mails link to SITE_URL + the page's path. No
# request is at hand when the worker writes an e-mail, so it is configured.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
if urlsplit(SITE_URL).scheme not in ("http", "https") or not urlsplit(SITE_URL).netloc:
    raise ImproperlyConfigured(f"SITE_URL must be an http(s) address, not {SITE_URL!r}")
# An e-mail the worker could not send is tried again by its task (5 retries
# from 10 s, doubling), then by the resend pass every NOTIFICATION_RESEND_MINUTES
# on the Celery beat schedule; one still unsent this many hours after it was
# made is given up (the app still shows it).
NOTIFICATION_RESEND_MINUTES = env.int("NOTIFICATION_RESEND_MINUTES", default=15)
# The city's roll-up and rates are kept by the writes (dashboard.signals); this
# periodic pass catches writes that send no signal (bulk loads, an edited factor).
DASHBOARD_RECONCILE_MINUTES = env.int("DASHBOARD_RECONCILE_MINUTES", default=60)
if DASHBOARD_RECONCILE_MINUTES <= 0:
    raise ImproperlyConfigured("DASHBOARD_RECONCILE_MINUTES must be above 0")
# The city's results for everyone at /city/public/ (off: 404), linked from the home page.
CITY_PUBLIC_PAGE = env.bool("CITY_PUBLIC_PAGE", default=False)
NOTIFICATION_EMAIL_GIVE_UP_HOURS = env.int("NOTIFICATION_EMAIL_GIVE_UP_HOURS", default=48)
# The daily digest of saved searches (symbiosis.saved_searches) goes out at this
# hour of TIME_ZONE (0-23), on the Celery beat schedule.
SAVED_SEARCH_DIGEST_HOUR = env.int("SAVED_SEARCH_DIGEST_HOUR", default=7)
if not 0 <= SAVED_SEARCH_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("SAVED_SEARCH_DIGEST_HOUR must be an hour, 0 to 23")
if NOTIFICATION_RESEND_MINUTES <= 0 or NOTIFICATION_EMAIL_GIVE_UP_HOURS <= 0:
    raise ImproperlyConfigured(
        "NOTIFICATION_RESEND_MINUTES and NOTIFICATION_EMAIL_GIVE_UP_HOURS must be above 0"
    )

# --- Security: strict when DEBUG is off (check --deploy stays clean) ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Not HttpOnly: Swagger UI's "Try it out" reads it for its X-CSRFToken header
# (pages get the token from the template; Django documents no gain from HttpOnly).
CSRF_COOKIE_SAMESITE = "Lax"
# Sessions end at the latest SESSION_COOKIE_AGE after log-in, and when the
# browser closes. No idle timeout by default: it needs a session write on every
# request (SESSION_SAVE_EVERY_REQUEST) and the run-status poll would keep an
# idle tab alive anyway; a deployment that wants one sets it with a shorter age.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
SESSION_SAVE_EVERY_REQUEST = env.bool("SESSION_SAVE_EVERY_REQUEST", default=False)

# --- Failed-login limit (django-axes) ---
# An e-mail address is locked from one client address after this many failures
# in a row, for this long; a successful login resets the count. The client
# address is REMOTE_ADDR: behind a proxy, set AXES_IPWARE_META_PRECEDENCE_ORDER
# to the header that proxy sets (a client could forge it otherwise).
# Quiet start-up: axes otherwise prints a banner on every command.
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Django's login form posts the e-mail as "username" (axes would look for "email").
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
# The lockout page (429) with Retry-After, as the API token endpoint answers.
AXES_LOCKOUT_CALLABLE = "symbiosis.auth_backends.lockout_response"
# Failures count per address however the e-mail was capitalised.
AXES_USERNAME_CALLABLE = "symbiosis.auth_backends.login_username"
AXES_IPWARE_META_PRECEDENCE_ORDER = tuple(
    env.list("AXES_IPWARE_META_PRECEDENCE_ORDER", default=["REMOTE_ADDR"])
)

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # "Authorization: Token <key>", keys from POST /api/v1/auth/token/ (knox).
        "knox.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# API tokens (django-rest-knox): only a hash is stored; a token stops working
# after API_TOKEN_TTL_HOURS, when revoked (POST /api/v1/auth/token/revoke/, the
# page /accounts/tokens/), and for good when its user's password changes or is
# reset, the user is deactivated or leaves an organization.
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=30 * 24)
if API_TOKEN_TTL_HOURS <= 0:
    raise ImproperlyConfigured("API_TOKEN_TTL_HOURS must be a positive number of hours")
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    # The header DRF's own tokens used, so existing clients keep working.
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Industrial symbiosis platform API",
    "DESCRIPTION": "Residues given away, materials needed, and the organizations behind them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for signed-in users, like the API itself.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from validator.swagger.io: it would send our schema's address to
    # a third party, and the Content-Security-Policy blocks the image anyway.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set used under several field names (fate, from_fate, to_fate).
    "ENUM_NAME_OVERRIDES": {
        "FateEnum": "symbiosis.models.listings.Fate",
        "FateEvidenceEnum": "symbiosis.models.listings.FateEvidence",
        # A document's kind, in listings' documents and the uploads (symbiosis.api.attachments).
        "DocumentKindEnum": "symbiosis.models.attachments.DocumentKind",
        # A waste permit's status and activity (symbiosis.api.permits); a listing's status
        # keeps its name beside the permit's.
        "StatusEnum": "symbiosis.models.listings.Status",
        "PermitStatusEnum": "symbiosis.models.permits.PermitStatus",
        "PermitActivityEnum": "symbiosis.models.permits.PermitActivity",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "symbiosis.api.schema.listing_unions_any_of",
    ],
}

# --- Celery ---
# Without Redis the broker is a folder under var/, so a laptop needs no service.
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=env.str("REDIS_URL", default="filesystem://")
)
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "celery-broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis hands a message not yet acknowledged to another worker after this
    # long: more than the longest run (time_limit_s <= 3600 s, plus snapshot
    # and save), so a long run is never started twice while it is still going.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7200}
# On a lost broker connection a running optimization goes on (its result goes
# to the database; a redelivered copy finds the run finished and does nothing):
# tests/faults/test_redis_restart.py. Celery 6 would cancel it by default.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Periodic tasks, run by `celery -A symbiosis beat` (docker-compose's beat
# service; on a laptop `celery -A symbiosis worker --beat`):
# - notifications-resend: e-mails not sent yet (the broker was down when the
#   action committed, or the task ran out of retries) are queued again.
CELERY_BEAT_SCHEDULE = {
    "notifications-resend": {
        "task": "symbiosis.tasks.notifications_resend_task",
        "schedule": timedelta(minutes=NOTIFICATION_RESEND_MINUTES),
    },
    "dashboard-figures-reconcile": {
        "task": "dashboard.tasks.figures_reconcile_task",
        "schedule": timedelta(minutes=DASHBOARD_RECONCILE_MINUTES),
    },
    # - saved-search-digests: each user's new listings matching their saved searches.
    "saved-search-digests": {
        "task": "symbiosis.tasks.saved_search_digests_task",
        "schedule": crontab(minute=0, hour=SAVED_SEARCH_DIGEST_HOUR),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Optimizer ---
# Runs with several components and at least this many arcs are solved as a
# Celery chord, one task per component, so more workers finish sooner.
OPTIMIZER_PARALLEL = env.bool("OPTIMIZER_PARALLEL", default=True)
OPTIMIZER_PARALLEL_MIN_ARCS = env.int("OPTIMIZER_PARALLEL_MIN_ARCS", default=50_000)
# Pricing (optimizer.pricing): auto prices national-size transport LPs (about 5 M
# pairs within reach and up), on whenever the instance allows, off never. A priced
# run goes to the workers as one task per material group (optimizer.groups).
OPTIMIZER_PRICING = env.str("OPTIMIZER_PRICING", default="auto")
if OPTIMIZER_PRICING not in ("auto", "on", "off"):
    raise ImproperlyConfigured("OPTIMIZER_PRICING must be auto, on or off.")

# --- Deliveries ---
# A delivery above this many tonnes per load (vehicle), or one that takes its
# deal's period (month, deal year, or the whole one-off deal) above the agreed
# tonnes by more than the tolerance (a fraction: 0.10 is 10 %), is held for a
# facilitator's review and counts for nothing until then (marketplace.plausibility).
DELIVERY_MAX_TONNES_PER_LOAD = env.float("DELIVERY_MAX_TONNES_PER_LOAD", default=40.0)
DELIVERY_PERIOD_TOLERANCE = env.float("DELIVERY_PERIOD_TOLERANCE", default=0.10)
if DELIVERY_MAX_TONNES_PER_LOAD <= 0 or DELIVERY_PERIOD_TOLERANCE < 0:
    raise ImproperlyConfigured(
        "DELIVERY_MAX_TONNES_PER_LOAD must be above 0 and DELIVERY_PERIOD_TOLERANCE at least 0"
    )

# --- Maps ---
# Tiles are images the browser loads; pages with a map still work when they
# cannot load (typed coordinates, markers on a blank background).
MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env.str(
    "MAP_TILE_ATTRIBUTION",
    default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
)

# --- Content-Security-Policy (django-csp) ---
# Only our own static files run or style a page: no inline script, style or
# event handler, no eval (htmx is told not to eval in base.html). JSON for the
# maps rides in <script type="application/json">, which never executes. Images
# may also come from the tile host of MAP_TILE_URL ("{s}" subdomains: any).
_tiles = urlsplit(MAP_TILE_URL)
MAP_TILE_ORIGIN = (
    f"{_tiles.scheme}://{_tiles.netloc.replace('{s}', '*')}" if _tiles.netloc else None
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *([MAP_TILE_ORIGIN] if MAP_TILE_ORIGIN else [])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Upload and import limits ---
# A listings file (CSV/XLSX) bigger than IMPORT_MAX_BYTES, or with more than
# IMPORT_MAX_ROWS rows, is refused whole with a message (symbiosis.imports).
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=5_000)
# The byte limit counts the packed file: an .xlsx that unpacks to more than
# this, or has a cell longer than IMPORT_MAX_CELL_CHARS, is refused before
# openpyxl reads it (symbiosis.import_files).
IMPORT_MAX_UNCOMPRESSED_BYTES = env.int("IMPORT_MAX_UNCOMPRESSED_BYTES", default=50 * 1024 * 1024)
IMPORT_MAX_CELL_CHARS = env.int("IMPORT_MAX_CELL_CHARS", default=2_000)
# Files with at most this many rows are checked and imported within the
# request; larger ones by the Celery worker, with progress on the page.
IMPORT_SYNC_MAX_ROWS = env.int("IMPORT_SYNC_MAX_ROWS", default=200)
# Request bodies other than files (Django's default): Django answers 400 above
# this. Uploaded files do not count; the import's confirm step posts an id.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# Uploaded files above this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# Fields in one GET or POST (Django's default); no form of ours has a hundred.
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=1_000)
