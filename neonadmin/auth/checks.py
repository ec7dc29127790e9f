"""The chosen sign-in mode must be fully configured before the dashboard serves anyone."""

import ipaddress

from django.conf import settings
from django.core import checks

OIDC_REQUIRED = (
    "OIDC_OP_ISSUER",
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
    "OIDC_RP_CLIENT_ID",
)
PROXY_JWT_REQUIRED = (
    "NEONADMIN_PROXY_JWKS_URL",
    "NEONADMIN_PROXY_AUDIENCE",
    "NEONADMIN_PROXY_ISSUER",
)
ROLE_NAMES = ("", "viewer", "operator", "admin")


@checks.register(checks.Tags.security)
def sign_in_configured(app_configs, **kwargs):
    errors = []
    mode = settings.NEONADMIN_AUTH_MODE
    missing: list[str] = []
    if mode == "oidc":
        missing = [name for name in OIDC_REQUIRED if not getattr(settings, name)]
    elif mode == "proxy" and settings.NEONADMIN_PROXY_JWT_HEADER:
        missing = [name for name in PROXY_JWT_REQUIRED if not getattr(settings, name)]
    elif mode == "proxy" and not (
        settings.NEONADMIN_PROXY_TRUST_PLAIN_HEADERS and settings.NEONADMIN_TRUSTED_PROXIES
    ):
        errors.append(
            checks.Error(
                "Proxy sign-in needs NEONADMIN_PROXY_JWT_HEADER (with its JWKS URL, audience "
                "and issuer), or NEONADMIN_PROXY_TRUST_PLAIN_HEADERS with "
                "NEONADMIN_TRUSTED_PROXIES.",
                hint="See README.md, section 'Sign-in, roles and the audit log'.",
                id="neonadmin.E002",
            )
        )
    if missing:
        errors.append(
            checks.Error(
                f"{mode.upper()} sign-in is selected but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set.",
                hint="Set them in the environment; see README.md (sign-in) and .env.example.",
                id="neonadmin.E001",
            )
        )
    errors += _trusted_proxies_valid()
    if settings.NEONADMIN_DEFAULT_ROLE.lower() not in ROLE_NAMES:
        errors.append(
            checks.Error(
                "NEONADMIN_DEFAULT_ROLE must be empty, viewer, operator or admin.",
                id="neonadmin.E003",
            )
        )
    return errors


def _trusted_proxies_valid() -> list[checks.CheckMessage]:
    """Every request looks the client address up in these networks: a typo must stop the start,
    not fail each request (/healthz included) with a 500."""
    return _networks_valid("NEONADMIN_TRUSTED_PROXIES", "neonadmin.E004")


@checks.register(checks.Tags.security)
def metrics_networks_valid(app_configs, **kwargs):
    """Who may read /metrics: a typo must stop the start, not 500 every scrape (or let none in
    without saying why)."""
    return _networks_valid("METRICS_ALLOWED_NETWORKS", "neonadmin.E005")


def _networks_valid(name: str, check_id: str) -> list[checks.CheckMessage]:
    bad = []
    for cidr in getattr(settings, name):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            bad.append(repr(cidr))
    if not bad:
        return []
    return [
        checks.Error(
            f"{name} has entries that are not IP addresses or networks: {', '.join(bad)}.",
            hint="Give addresses or CIDRs separated by commas, e.g. 10.0.0.0/8,192.168.0.0/16.",
            id=check_id,
        )
    ]


@checks.register(checks.Tags.security)
def provider_logout_configured(app_configs, **kwargs):
    if settings.NEONADMIN_AUTH_MODE != "oidc" or settings.OIDC_OP_LOGOUT_ENDPOINT:
        return []
    return [
        checks.Warning(
            "OIDC_OP_LOGOUT_ENDPOINT is not set: signing out ends the dashboard session only, "
            "not the identity provider's, so the next sign-in needs no password.",
            hint="Set it to the IdP's end_session_endpoint (manage.py oidc_discover prints it).",
            id="neonadmin.W001",
        )
    ]
