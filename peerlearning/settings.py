"""Settings for the peer-learning platform, read from the environment.

One file for every deployment: development defaults (SQLite, an embedded broker, e-mail to
files) need nothing installed, and production turns each of them into a real service through
variables documented in `.env.example` and `docs/configuration.md`.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")
# An empty variable means "not set", so a copy of .env.example with blanks takes the defaults.
for _name in [name for name, value in os.environ.items() if value == ""]:
    del os.environ[_name]


def env_secret(name: str, default: str | None = None) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (container secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Run `make .env` for development, or set SECRET_KEY "
        "(or SECRET_KEY_FILE) in production."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Peer Learning")
# Domains at which a submitter may name a reader outside the roster, who then gets an
# account by invitation (e.g. "hospital.org,telerad-partner.com"); empty allows any.
OUTSIDE_READER_EMAIL_DOMAINS = env.list("OUTSIDE_READER_EMAIL_DOMAINS", default=[])

# The results feed from the reporting system (docs/integrations.md): where `hl7_listen`
# listens, how an ORU's fields map, and how long the raw messages are kept.
HL7_LISTEN_HOST = env.str("HL7_LISTEN_HOST", default="127.0.0.1")
HL7_LISTEN_PORT = env.int("HL7_LISTEN_PORT", default=2575)
HL7_APPLICATION = env.str("HL7_APPLICATION", default="PEERLEARN")
HL7_FACILITY = env.str("HL7_FACILITY", default="")
HL7_ENCODING = env.str("HL7_ENCODING", default="utf-8")
HL7_ACCESSION_FIELDS = env.list("HL7_ACCESSION_FIELDS", default=["OBR-3", "OBR-18", "OBR-2"])
HL7_STATUS_FIELD = env.str("HL7_STATUS_FIELD", default="OBR-25")
HL7_SIGNER_FIELD = env.str("HL7_SIGNER_FIELD", default="OBR-32")
RESULT_MESSAGES_KEEP_DAYS = env.int("RESULT_MESSAGES_KEEP_DAYS", default=30)
# The PACS viewer, opened by "Open images" (e.g. IHE Invoke Image Display:
# https://pacs.example.org/IHEInvokeImageDisplay?requestType=STUDY&accessionNumber={accession}&studyUID={study_uid}).
OPEN_IMAGES_URL = env.str("OPEN_IMAGES_URL", default="")

INSTALLED_APPS = [
    "peerlearning.apps.PeerLearningAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "django_htmx",
    "template_partials",
    "peerlearning",
    "submissions",
    "conferences",
    "reporting",
    "anonymizer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "peerlearning.lib.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "peerlearning.lib.security.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "peerlearning.access.AccessMiddleware",
    "peerlearning.mfa.MfaEnforcementMiddleware",
]

ROOT_URLCONF = "peerlearning.urls"
WSGI_APPLICATION = "peerlearning.wsgi.application"
ASGI_APPLICATION = "peerlearning.asgi.application"

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
                "peerlearning.context_processors.navigation",
                "peerlearning.context_processors.sign_in_notice",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# Database: SQLite under var/ by default, PostgreSQL (psycopg 3) when DATABASE_URL says so.
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Falls back to per-process memory while Redis is away (peerlearning/lib/cache.py).
    CACHES = {
        "default": {
            "BACKEND": "peerlearning.lib.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    # A file cache is shared by the web and worker processes, so login rate limits hold.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_USER_MODEL = "peerlearning.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# Automatic logoff after idle time (HIPAA-style): requests push the expiry forward, writing
# the session at most once every SESSION_REFRESH_SECONDS (peerlearning/lib/security.py
# IdleSessionMiddleware), so the timeout holds to within that many seconds.
SESSION_IDLE_TIMEOUT_MINUTES = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=15)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
SESSION_REFRESH_SECONDS = 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# django-allauth: e-mail is the login, no public sign-up, rate-limited failures.
ACCOUNT_ADAPTER = "peerlearning.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "peerlearning.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_SESSION_REMEMBER = False
# Behind a reverse proxy, how many proxies append to X-Forwarded-For (1 behind nginx), so
# per-address sign-in limits and the audit trail see the client, not the proxy.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
LOGIN_FAILURES_ALLOWED = env.int("LOGIN_FAILURES_ALLOWED", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"20/m/ip,{LOGIN_FAILURES_ALLOWED}/{LOGIN_LOCKOUT_MINUTES * 60}s/key",
    "reset_password": "20/m/ip,3/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Addresses come from the roster an administrator imports, not from self sign-up.
MFA_ALLOW_UNVERIFIED_EMAIL = True
MFA_TOTP_ISSUER = SITE_NAME
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_ONLY = False
# Hospital SSO (peerlearning/sso/): our subclasses of allauth's providers always check the ID
# token's signature and nonce, and read the IdP's MFA statement the site chooses to accept.
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "provider_class": "peerlearning.sso.oidc.HospitalOpenIDConnectProvider",
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [],
    },
    "saml": {"provider_class": "peerlearning.sso.saml.HospitalSAMLProvider", "APPS": []},
}
OIDC_SERVER_URL = env.str("OIDC_SERVER_URL", default="")
if OIDC_SERVER_URL:
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"].append(
        {
            "provider_id": env.str("OIDC_PROVIDER_ID", default="hospital"),
            "name": env.str("OIDC_NAME", default="Hospital sign-in"),
            "client_id": env.str("OIDC_CLIENT_ID"),
            "secret": env_secret("OIDC_CLIENT_SECRET", default=""),
            "settings": {
                "server_url": OIDC_SERVER_URL,
                "mfa_amr": env.list("OIDC_MFA_AMR", default=[]),
                "mfa_acr": env.list("OIDC_MFA_ACR", default=[]),
            },
        }
    )
SAML_IDP_ENTITY_ID = env.str("SAML_IDP_ENTITY_ID", default="")
if SAML_IDP_ENTITY_ID:
    SOCIALACCOUNT_PROVIDERS["saml"]["APPS"].append(
        {
            "client_id": env.str("SAML_ORGANIZATION", default="") or "hospital",
            "name": env.str("SAML_NAME", default="") or "Hospital sign-in",
            "settings": {
                "idp": {
                    "entity_id": SAML_IDP_ENTITY_ID,
                    "metadata_url": env.str("SAML_IDP_METADATA_URL"),
                },
                "sp": {"entity_id": env.str("SAML_SP_ENTITY_ID", default="") or None},
                "attribute_mapping": {
                    "uid": env.list("SAML_ATTRIBUTE_UID", default=[]),
                    "email": env.list("SAML_ATTRIBUTE_EMAIL", default=[])
                    or [
                        "urn:oid:0.9.2342.19200300.100.1.3",
                        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                    ],
                    "first_name": env.list("SAML_ATTRIBUTE_FIRST_NAME", default=[])
                    or ["urn:oid:2.5.4.42"],
                    "last_name": env.list("SAML_ATTRIBUTE_LAST_NAME", default=[])
                    or ["urn:oid:2.5.4.4"],
                },
                "mfa_authn_contexts": env.list("SAML_MFA_AUTHN_CONTEXTS", default=[]),
                "advanced": {
                    "want_assertion_signed": True,
                    "reject_idp_initiated_sso": True,
                },
            },
        }
    )

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Only hashed names are kept, and source maps are not compressed: collectstatic stays fast.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [
    "jpg",
    "jpeg",
    "png",
    "gif",
    "webp",
    "zip",
    "gz",
    "tgz",
    "bz2",
    "tbz",
    "xz",
    "br",
    "swf",
    "flv",
    "woff",
    "woff2",
    "map",
]
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# E-mail: files under var/mail/ by default; EMAIL_URL=smtp://host:port for a real server.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL.startswith("filemail:"):
    _parsed = urlparse(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = unquote(_parsed.netloc + _parsed.path) or str(VAR_DIR / "mail")
elif EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Peer Learning <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=8)

# Celery: an embedded filesystem broker by default; Redis when REDIS_URL or
# CELERY_BROKER_URL is set. Reliability choices are explained in docs/architecture.md.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
if CELERY_BROKER_URL.startswith("filesystem"):
    for _folder in ("queue", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Longer than the slowest task's time limit, or Redis re-delivers a running task.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int(
            "CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 300
        ),
    }

# API tokens expire this many days after they are made (peerlearning/tokens.py).
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=90)
if API_TOKEN_DAYS < 1:
    raise ImproperlyConfigured("API_TOKEN_DAYS must be a whole number of days, 1 or more.")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "peerlearning.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["peerlearning.access.RoleAccessPermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's three default parsers, JSON made safe against deep nesting; JSON 400s for bodies
    # over the upload limits (peerlearning/lib/uploads.py).
    "DEFAULT_PARSER_CLASSES": [
        "peerlearning.lib.uploads.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "peerlearning.lib.uploads.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {"user": "600/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Peer Learning API",
    "DESCRIPTION": (
        "Case submissions, feedback, conferences and reports of the radiology peer-learning "
        "program. Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["peerlearning.access.RoleAccessPermission"],
}

ANONYMIZER_SECRET = env_secret("ANONYMIZER_SECRET", default=SECRET_KEY)
# Days the upload page's results (de-identified zip, report) are kept (anonymizer/jobs.py).
ANONYMIZER_RESULTS_DAYS = env.int("ANONYMIZER_RESULTS_DAYS", default=7)

# Teaching-case DICOM uploads (anonymizer/uploads.py) and anonymous audience votes.
TEACHING_CASE_UPLOAD_MAX_MB = env.int("TEACHING_CASE_UPLOAD_MAX_MB", default=500)
TEACHING_CASE_UNZIPPED_MAX_MB = env.int("TEACHING_CASE_UNZIPPED_MAX_MB", default=2048)
TEACHING_CASE_ZIP_MAX_RATIO = env.int("TEACHING_CASE_ZIP_MAX_RATIO", default=100)
TEACHING_CASE_UPLOAD_MAX_FILES = env.int("TEACHING_CASE_UPLOAD_MAX_FILES", default=5000)
# Keys the receipts that stop double voting (never who voted what). Default: SECRET_KEY.
VOTE_SECRET = env_secret("VOTE_SECRET", default=SECRET_KEY)

# --- PACS retrieval over DICOMweb (anonymizer/pacs.py) ------------------------------------
# Empty PACS_DICOMWEB_URL: retrieval is off and the pages and command say so.
PACS_DICOMWEB_URL = env.str("PACS_DICOMWEB_URL", default="").strip()
PACS_USERNAME = env.str("PACS_USERNAME", default="")
PACS_PASSWORD = env_secret("PACS_PASSWORD", default="")
PACS_TIMEOUT = env.float("PACS_TIMEOUT", default=30.0)
PACS_VERIFY_TLS = env.bool("PACS_VERIFY_TLS", default=True)
PACS_CA_BUNDLE = env.str("PACS_CA_BUNDLE", default="")
# Where originals wait for de-identification (default: the system's temporary folder).
PACS_WORK_DIR = env.str("PACS_WORK_DIR", default="")
if PACS_DICOMWEB_URL:
    _pacs = urlparse(PACS_DICOMWEB_URL)
    if _pacs.scheme not in ("http", "https") or not _pacs.hostname:
        raise ImproperlyConfigured("PACS_DICOMWEB_URL must be an http:// or https:// address.")
    if _pacs.username or _pacs.password:
        raise ImproperlyConfigured(
            "PACS_DICOMWEB_URL must not carry credentials; use PACS_USERNAME and "
            "PACS_PASSWORD (or PACS_PASSWORD_FILE)."
        )
    if PACS_TIMEOUT <= 0:
        raise ImproperlyConfigured("PACS_TIMEOUT must be a positive number of seconds.")
# --- end of PACS retrieval ------------------------------------------------------------------

# Security headers. Production values come from the environment; `check --deploy` is clean
# when DEBUG is off (see docs/deployment.md).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# Request log records lose their query strings (a PACS launch URL carries the accession
# number there), and tracebacks lose PostgreSQL's DETAIL values (a unique key's accession
# number); peerlearning/lib/security.py. The development server keeps Django's own format.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "strip_query_strings": {"()": "peerlearning.lib.security.StripQueryStrings"},
        "redact_database_details": {"()": "peerlearning.lib.security.RedactDatabaseDetails"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_database_details"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_database_details"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR", "filters": ["strip_query_strings"]},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["strip_query_strings"],
        },
        "weasyprint": {"level": "WARNING"},
    },
}
