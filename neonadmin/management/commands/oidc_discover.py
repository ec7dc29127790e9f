import json
from urllib.error import URLError
from urllib.request import urlopen

from django.core.management.base import BaseCommand, CommandError

SETTINGS_FROM_DISCOVERY = {
    "OIDC_OP_ISSUER": "issuer",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}


class Command(BaseCommand):
    help = (
        "Print the OIDC_OP_* environment lines for an issuer, read from its discovery document. "
        "The dashboard itself never fetches discovery at start-up: its endpoints are explicit."
    )

    def add_arguments(self, parser):
        parser.add_argument("issuer", help="e.g. https://sso.example.com/realms/acme")
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, issuer: str, timeout: float, **options):
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        if not url.startswith(("https://", "http://")):
            raise CommandError("The issuer must be an http(s) URL.")
        try:
            with urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
                config = json.load(response)
        except (URLError, OSError, ValueError) as exc:
            raise CommandError(f"Could not read {url}: {exc}") from exc
        # The issuer is printed as published; `iss` in tokens must match it exactly.
        if config.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
            raise CommandError(
                f"{url} names issuer {config.get('issuer')!r}, not {issuer!r}; use that instead."
            )
        for setting, key in SETTINGS_FROM_DISCOVERY.items():
            value = config.get(key, "")
            self.stdout.write(f"{setting}={value}" if value else f"# {setting}= (not published)")
        algs = config.get("id_token_signing_alg_values_supported") or []
        if "RS256" not in algs:
            self.stderr.write(f"Warning: the provider lists {algs} for ID tokens; we need RS256.")
