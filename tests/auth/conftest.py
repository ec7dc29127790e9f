"""Sign-in fixtures: a hand-made identity server (tests/auth/idp.py) for the proxy and broken-IdP
tests, and a real OIDC provider (oidc-provider-mock) for the end-to-end sign-in."""

import pytest
import requests

from neonadmin.auth import proxy
from tests.auth.idp import SigningKey, StubIdentityServer, serve

PROXY_HEADER = "Cf-Access-Jwt-Assertion"
PROXY_AUDIENCE = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
PROXY_ISSUER = "https://acme.cloudflareaccess.com"
OIDC_CLIENT_ID = "neonadmin-test-client"
GROUP_SETTINGS = {
    "NEONADMIN_VIEWER_GROUPS": ["engineering"],
    "NEONADMIN_OPERATOR_GROUPS": ["platform"],
    "NEONADMIN_ADMIN_GROUPS": ["platform-admins"],
}


@pytest.fixture(scope="session")
def _identity_server():
    app = StubIdentityServer()
    with serve(app) as url:
        yield app, url


@pytest.fixture(scope="session")
def _keys():
    return SigningKey(), SigningKey()


@pytest.fixture
def identity_server(_identity_server, _keys):
    """The hand-made IdP, publishing `signing_key` (not `other_key`), with no token queued."""
    app, url = _identity_server
    app.published = [_keys[0]]
    app.next_id_token, app.userinfo, app.jwks_requests, app.token_delay = "", {}, 0, 0.0
    app.url = url
    return app


@pytest.fixture
def signing_key(_keys):
    return _keys[0]


@pytest.fixture
def other_key(_keys):
    return _keys[1]


@pytest.fixture
def role_groups(settings):
    for name, groups in GROUP_SETTINGS.items():
        setattr(settings, name, groups)
    settings.NEONADMIN_DEFAULT_ROLE = ""
    return settings


@pytest.fixture
def proxy_mode(role_groups, identity_server):
    """Cloudflare Access style: a signed assertion header, verified against the JWKS."""
    settings = role_groups
    settings.NEONADMIN_AUTH_MODE = "proxy"
    settings.NEONADMIN_PROXY_JWT_HEADER = PROXY_HEADER
    settings.NEONADMIN_PROXY_JWKS_URL = f"{identity_server.url}/jwks"
    settings.NEONADMIN_PROXY_AUDIENCE = PROXY_AUDIENCE
    settings.NEONADMIN_PROXY_ISSUER = PROXY_ISSUER
    settings.NEONADMIN_PROXY_TRUST_PLAIN_HEADERS = False
    settings.NEONADMIN_TRUSTED_PROXIES = []
    proxy._jwks_clients.clear()  # each test publishes its own keys
    yield settings
    proxy._jwks_clients.clear()


@pytest.fixture
def stub_oidc_mode(role_groups, identity_server):
    """OIDC against the hand-made IdP, which returns whatever ID token the test queues."""
    settings = role_groups
    url = identity_server.url
    settings.NEONADMIN_AUTH_MODE = "oidc"
    settings.OIDC_OP_ISSUER = url
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{url}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{url}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{url}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{url}/jwks"
    settings.OIDC_OP_LOGOUT_ENDPOINT = f"{url}/logout"
    settings.OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "stub-client-secret"
    return settings


@pytest.fixture(scope="session")
def oidc_provider():
    """A real OpenID provider (oidc-provider-mock) on a local port, for the whole session."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def oidc_mode(role_groups, oidc_provider):
    """The dashboard as an OIDC client of the real provider, endpoints from its discovery."""
    settings = role_groups
    config = requests.get(f"{oidc_provider}/.well-known/openid-configuration", timeout=5).json()
    settings.NEONADMIN_AUTH_MODE = "oidc"
    settings.OIDC_OP_ISSUER = config["issuer"]
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = config["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = config["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = config["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = config["jwks_uri"]
    settings.OIDC_OP_LOGOUT_ENDPOINT = config["end_session_endpoint"]
    settings.OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "mock-client-secret"
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], oidc_provider],
    }
    return settings


def set_provider_user(provider_url: str, sub: str, **claims) -> None:
    response = requests.put(f"{provider_url}/users/{sub}", json=claims, timeout=5)
    response.raise_for_status()
