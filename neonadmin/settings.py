"""Settings, read once from the environment (every variable is documented in .env.example)."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated setting. env.list keeps the space of "a, b" (" b" then matches no group
    and is no network), so every entry is stripped and empty ones are dropped."""
    return [item.strip() for item in env.list(name, default=default) if item.strip()]


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")

# The Neon management API. One key for the whole team; it never leaves the server.
NEON_API_KEY = env.str("NEON_API_KEY", default="")
NEON_API_URL = env.str("NEON_API_URL", default="https://console.neon.tech/api/v2")
NEON_ORG_ID = env.str("NEON_ORG_ID", default="")
NEON_CONNECT_TIMEOUT = env.float("NEON_CONNECT_TIMEOUT", default=3.05)
NEON_READ_TIMEOUT = env.float("NEON_READ_TIMEOUT", default=15.0)
NEON_RETRY_BUDGET = env.float("NEON_RETRY_BUDGET", default=10.0)
NEON_MAX_ATTEMPTS = env.int("NEON_MAX_ATTEMPTS", default=4)
# The gateway (projects/neon/gateway.py). The account budget: the dashboard's share of Neon's
# limits (about 700 a minute per account, 40 a second per route), shared by every instance
# through Redis; the rest is headroom for the Neon Console and scripts using the same account.
NEON_RATE_LIMIT = env.str("NEON_RATE_LIMIT", default="600/min")
# The consumption history's own limit (Neon documents about 30 a minute per account, apart from
# the rest; platforms on Neon's Agent plan may have more). Its bucket holds a tenth of a minute,
# so any 60 s carries at most 1.1 times this: 27/min stays under 30.
NEON_CONSUMPTION_RATE_LIMIT = env.str("NEON_CONSUMPTION_RATE_LIMIT", default="27/min")
NEON_ROUTE_BURST = env.str("NEON_ROUTE_BURST", default="30/s")
# How long an operator's page may wait for budget before reads fall back to the last known data,
# and how long a call with nothing to fall back on (a first read, a write, a secret) may wait,
# ahead of those reads, before the page says the budget is spent.
NEON_BUDGET_WAIT = env.float("NEON_BUDGET_WAIT", default=2.0)
NEON_BUDGET_MAX_WAIT = env.float("NEON_BUDGET_MAX_WAIT", default=8.0)
# The share of the budget one process takes when it cannot reach Redis to share it.
NEON_BUDGET_LOCAL_SHARE = env.float("NEON_BUDGET_LOCAL_SHARE", default=0.5)
# Seconds that reads of branches, endpoints, databases, roles and account data stay fresh.
NEON_CACHE_SECONDS = env.float("NEON_CACHE_SECONDS", default=30.0)
# How long the last known answer of a read is kept to show when Neon fails (with its age).
NEON_STALE_SECONDS = env.int("NEON_STALE_SECONDS", default=86400)
# Threads one process uses to make a page's independent Neon calls at once.
NEON_FANOUT_THREADS = env.int("NEON_FANOUT_THREADS", default=16)

# Background work (django.tasks with django-tasks-db: the queue is a table of this database, so
# SQLite in `make run` and PostgreSQL in production need nothing more; `manage.py fleet_worker`
# runs it). The fleet inventory is refreshed every FLEET_REFRESH_MINUTES.
TASKS_BACKEND = env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")
TASKS = {"default": {"BACKEND": TASKS_BACKEND}}
# Policy as code (policy/): the YAML file of classes and the settings each must have; empty:
# no policy. Read at start (a file with problems stops the start) and again when it changes.
POLICY_FILE = env.str("POLICY_FILE", default="")
# Rules on the default branch (protected, backup schedule) and classes by its annotation need
# the branch, read project by project (two calls each): after each evaluation the worker reads
# at most POLICY_BRANCH_READS of them, never read first, then those older than
# POLICY_BRANCH_FRESH_HOURS.
POLICY_BRANCH_READS = env.int("POLICY_BRANCH_READS", default=500)
POLICY_BRANCH_FRESH_HOURS = env.int("POLICY_BRANCH_FRESH_HOURS", default=24)
# Drift notices (a rule's notify_after) go to the team's channels and, by mail, to each project's
# owner. Only a full read of a project gives its owner: a pass reads at most POLICY_OWNER_READS.
POLICY_NOTIFY_OWNERS = env.bool("POLICY_NOTIFY_OWNERS", default=True)
POLICY_OWNER_READS = env.int("POLICY_OWNER_READS", default=200)
# Cost per project (cost/): a consumption sync after each fleet refresh (off: only "Sync now").
COST_SYNC = env.bool("COST_SYNC", default=True)
# Neon's published prices, dated (docs "Plans", updated 2026-03-20);
# each can be set from the environment when Neon changes them. The page calls them estimates.
COST_PRICES = {
    "as_of": env.str("COST_PRICES_AS_OF", default="2026-03-20"),
    "compute_launch": env.str("COST_PRICE_COMPUTE_LAUNCH", default="0.106"),  # per CU-hour
    "compute_scale": env.str("COST_PRICE_COMPUTE_SCALE", default="0.222"),
    "storage": env.str("COST_PRICE_STORAGE", default="0.35"),  # per GB-month
    "history": env.str("COST_PRICE_HISTORY", default="0.20"),
    "snapshot": env.str("COST_PRICE_SNAPSHOT", default="0.09"),
    "public_transfer": env.str("COST_PRICE_PUBLIC_TRANSFER", default="0.10"),  # per GB
    "public_allowance_gb": env.int("COST_PUBLIC_ALLOWANCE_GB", default=100),
    "private_transfer": env.str("COST_PRICE_PRIVATE_TRANSFER", default="0.01"),
    "extra_branch": env.str("COST_PRICE_EXTRA_BRANCH", default="1.50"),  # per branch-month
}
# The worker's CPU priority (nice(2) increment): its work is background work, so on a machine
# it shares with web servers the pages get the CPU first. 0 leaves it as started.
WORKER_NICE = env.int("WORKER_NICE", default=10)
FLEET_REFRESH_MINUTES = env.int("FLEET_REFRESH_MINUTES", default=15)
# Findings' thresholds: idle longer than this with storage still billed; autoscaling above this
# many CU without a compute-time quota.
FLEET_IDLE_DAYS = env.int("FLEET_IDLE_DAYS", default=30)
FLEET_LARGE_CU = env.float("FLEET_LARGE_CU", default=4.0)

# --- Governance (governance/): deletion protection and two-person approval.
# Protect every project created through the dashboard from deletion and irreversible changes.
PROTECT_NEW_PROJECTS = env.bool("PROTECT_NEW_PROJECTS", default=False)
# Kinds of action a second admin must approve: any of delete, irreversible, bulk, unprotect
# (an unknown value stops the start: check governance.E001).
APPROVAL_REQUIRED_FOR = env_list("APPROVAL_REQUIRED_FOR", default=[])
APPROVAL_TTL_HOURS = env.int("APPROVAL_TTL_HOURS", default=24)
# Notices of each request and decision (both off when empty), sent as background tasks.
APPROVAL_NOTIFY_EMAILS = env_list("APPROVAL_NOTIFY_EMAILS", default=[])
APPROVAL_WEBHOOK_URL = env.str("APPROVAL_WEBHOOK_URL", default="")
APPROVAL_WEBHOOK_TIMEOUT = env.float("APPROVAL_WEBHOOK_TIMEOUT", default=5.0)
# The dashboard's public address, so notices carry a full link to the request.
APPROVAL_LINK_BASE_URL = env.str("APPROVAL_LINK_BASE_URL", default="")
# Django's mailer as a URL: smtp://user:password@host:25, smtp+tls://...:587, consolemail://.
_email = env.email_url("EMAIL_URL", default="smtp://localhost:25")
_EMAIL_OPTIONS = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": (
            {option: _email[key] for key, option in _EMAIL_OPTIONS.items() if _email.get(key)}
            if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="neonadmin@localhost")

# --- Bulk changes (bulk/): one change to many projects of the fleet, dry run first.
# The most projects one job may cover, so a dry run stays a page a person can review.
BULK_MAX_PROJECTS = env.int("BULK_MAX_PROJECTS", default=500)
# A dry run judges a project from the fleet inventory, without asking Neon, when the inventory
# read it this recently; an older one is read from Neon. Apply reads each project again before
# sending, whatever this is, so a project changed since is skipped, never overwritten. 0: the
# dry run always reads Neon.
BULK_INVENTORY_FRESH_SECONDS = env.int("BULK_INVENTORY_FRESH_SECONDS", default=1800)
# How many times a project's change is sent while Neon answers 423, 429 or 503 (each of which
# means "not applied"), and the wait between tries (the longer of this and Retry-After).
BULK_ITEM_ATTEMPTS = env.int("BULK_ITEM_ATTEMPTS", default=6)
BULK_RETRY_SECONDS = env.float("BULK_RETRY_SECONDS", default=5.0)
# How long a change waits for a project's running operations (Neon answers 423 meanwhile).
BULK_LOCKED_WAIT_SECONDS = env.float("BULK_LOCKED_WAIT_SECONDS", default=300.0)

# Demo mode is what `make run` starts without a Neon key: the emulator and a local login.
DEMO_MODE = env.bool("NEONADMIN_DEMO", default=False)

if not DEBUG:
    missing = [name for name in ("SECRET_KEY", "NEON_API_KEY") if not globals()[name]]
    if missing:
        raise ImproperlyConfigured(
            f"{' and '.join(missing)} must be set in the environment when DEBUG is off "
            "(see .env.example)."
        )
    if DEMO_MODE:
        raise ImproperlyConfigured("NEONADMIN_DEMO is for local use only; it needs DEBUG on.")
elif not SECRET_KEY:
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "neonadmin",
    "audit",
    "projects",
    "django_tasks_db",
    "fleet",
    "governance",
    "bulk",
    "policy",
    "cost",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "neonadmin.middleware.ClientAddressMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "neonadmin.middleware.ProxyIdentityMiddleware",
    "neonadmin.middleware.HtmxLoginRedirectMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "projects.middleware.NeonErrorMiddleware",
    "projects.middleware.NeonGatewayMiddleware",
]

ROOT_URLCONF = "neonadmin.urls"
WSGI_APPLICATION = "neonadmin.wsgi.application"

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
                "neonadmin.context_processors.access",
                "projects.context_processors.neon_stale",
                "governance.context_processors.approvals",
            ],
            "builtins": ["django_htmx.templatetags.django_htmx"],
        },
    }
]

# Django's renderer with the common widgets (inputs, selects, choice lists, multi-widgets, labels)
# drawn in Python, output identical to Django's templates: they were most of the settings form's
# rendering time (neonadmin/form_renderer.py; anything else still goes to the templates).
FORM_RENDERER = "neonadmin.form_renderer.PythonWidgetRenderer"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite's default deferred transactions fail at once with "database is locked" when two
    # threads write together (first sign-ins, sessions). IMMEDIATE takes the write lock up front,
    # so a writer waits its turn (up to `timeout` seconds); WAL lets readers go on meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: optional, and a helper only (neonadmin/cache.py). While it is unavailable the cache
# acts as empty and the dashboard keeps working from Neon. Sessions live in the database, not here.
REDIS_URL = env.str("REDIS_URL", default="")
# Seconds to connect to Redis, and for each command: short, as the cache can do without it.
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=0.5)
CACHES = {
    "default": (
        {
            "BACKEND": "neonadmin.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
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

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# No inline script or style anywhere: htmx is configured through a <meta> tag, and the little
# JavaScript we have is served from static/js/.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind TLS: redirect plain HTTP and send HSTS (start small; see Django's deployment checklist).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Access: who may sign in and what each role may do (neonadmin/auth.py, neonadmin/roles.py).
# Group names from the IdP or the SSO proxy, mapped to roles. A person in none is refused.
NEONADMIN_VIEWER_GROUPS = env_list("NEONADMIN_VIEWER_GROUPS", default=[])
NEONADMIN_OPERATOR_GROUPS = env_list("NEONADMIN_OPERATOR_GROUPS", default=[])
NEONADMIN_ADMIN_GROUPS = env_list("NEONADMIN_ADMIN_GROUPS", default=[])

# How people sign in (README.md, sign-in section): "oidc" (the dashboard is an OIDC client),
# "proxy" (an SSO proxy in front signs each request), or "demo" (local password; demo mode only).
_default_mode = "demo" if DEMO_MODE else "oidc"
NEONADMIN_AUTH_MODE = env.str("NEONADMIN_AUTH_MODE", default="") or _default_mode
if NEONADMIN_AUTH_MODE not in ("oidc", "proxy", "demo"):
    raise ImproperlyConfigured("NEONADMIN_AUTH_MODE must be oidc, proxy or demo.")
if NEONADMIN_AUTH_MODE == "demo" and not (DEMO_MODE and DEBUG):
    raise ImproperlyConfigured("The demo login needs NEONADMIN_DEMO and DEBUG; use oidc or proxy.")

# All listed so the mode can be chosen per deployment (and per test); each backend signs
# nobody in unless NEONADMIN_AUTH_MODE names it (neonadmin/auth/). Demo first: force_login.
# Proxy mode needs none: the proxy's assertion on each request is the sign-in, not a session.
AUTHENTICATION_BACKENDS = [
    "neonadmin.auth.demo.DemoBackend",
    "neonadmin.auth.oidc.OIDCBackend",
]

# A person admitted by SSO but in no mapped group gets this role ("" refuses them). For proxies
# that send no groups (Google IAP), where the proxy's own policy already says who may enter.
NEONADMIN_DEFAULT_ROLE = env.str("NEONADMIN_DEFAULT_ROLE", default="")
# Addresses (CIDRs) of our own reverse proxies: their X-Forwarded-For names the client address
# in the audit log, and only they may send plain identity headers.
NEONADMIN_TRUSTED_PROXIES = env_list("NEONADMIN_TRUSTED_PROXIES", default=[])

# --- OIDC (mozilla-django-oidc, hardened in neonadmin/auth/oidc.py)
# Exactly as the IdP writes it in its tokens (Auth0's ends in "/"): `iss` must match it.
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of RP-initiated logout
OIDC_TIMEOUT = (
    env.float("OIDC_CONNECT_TIMEOUT", default=3.05),
    env.float("OIDC_TIMEOUT", default=10),
)
OIDC_CLOCK_SKEW = env.int("OIDC_CLOCK_SKEW", default=60)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "login"

# --- SSO proxy: a signed JWT assertion per request (Cloudflare Access, Google IAP, Pomerium)
NEONADMIN_PROXY_JWT_HEADER = env.str("NEONADMIN_PROXY_JWT_HEADER", default="")
NEONADMIN_PROXY_JWKS_URL = env.str("NEONADMIN_PROXY_JWKS_URL", default="")
NEONADMIN_PROXY_AUDIENCE = env.str("NEONADMIN_PROXY_AUDIENCE", default="")
NEONADMIN_PROXY_ISSUER = env.str("NEONADMIN_PROXY_ISSUER", default="")
NEONADMIN_PROXY_ALGORITHMS = env_list("NEONADMIN_PROXY_ALGORITHMS", default=["RS256", "ES256"])
NEONADMIN_PROXY_EMAIL_CLAIM = env.str("NEONADMIN_PROXY_EMAIL_CLAIM", default="email")
NEONADMIN_PROXY_GROUPS_CLAIM = env.str("NEONADMIN_PROXY_GROUPS_CLAIM", default="groups")
NEONADMIN_PROXY_TIMEOUT = env.float("NEONADMIN_PROXY_TIMEOUT", default=5.0)
NEONADMIN_PROXY_LOGOUT_URL = env.str("NEONADMIN_PROXY_LOGOUT_URL", default="")
# oauth2-proxy style unsigned X-Forwarded-Email/-Groups: only when enabled, only from
# NEONADMIN_TRUSTED_PROXIES.
NEONADMIN_PROXY_TRUST_PLAIN_HEADERS = env.bool("NEONADMIN_PROXY_TRUST_PLAIN_HEADERS", default=False)

# Whether the chosen mode is fully configured is a system check (neonadmin/auth/checks.py): it
# stops `migrate`, `runserver` and `check --deploy` with a list of what is missing.

# Signing out also ends the IdP's (or the proxy's) session, which the browser reaches by
# following our logout form's redirect: form-action must allow that origin.
for _url in (OIDC_OP_LOGOUT_ENDPOINT, NEONADMIN_PROXY_LOGOUT_URL):
    if _url.startswith(("https://", "http://")):
        _origin = "/".join(_url.split("/", 3)[:3])
        if _origin not in SECURE_CSP["form-action"]:
            SECURE_CSP["form-action"].append(_origin)

# --- Monitoring (neonadmin/health.py): /healthz (liveness), /readyz (readiness), /metrics.
# Networks (CIDRs) that may read /metrics; anyone else gets a 404. A bad entry stops the start
# (check E005). Behind a proxy this is the client address as ClientAddressMiddleware finds it.
# PROMETHEUS_MULTIPROC_DIR is read by prometheus_client itself (gunicorn.conf.py sets it).
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
