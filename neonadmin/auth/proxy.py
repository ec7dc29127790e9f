"""SSO-proxy sign-in: the proxy in front (Cloudflare Access, Google IAP, Pomerium) signs a JWT
naming the person on every request; we verify it against the proxy's JWKS. That assertion is
the sign-in: no session is kept for it (neonadmin.middleware.ProxyIdentityMiddleware).

Unsigned identity headers (oauth2-proxy's X-Forwarded-Email / X-Forwarded-Groups) are honoured
only when NEONADMIN_PROXY_TRUST_PLAIN_HEADERS is on and the request comes straight from one of
NEONADMIN_TRUSTED_PROXIES; from anywhere else they are ignored, as anyone could send them.
"""

import copy
import ipaddress
import threading
import time
from functools import lru_cache

import jwt
from django.conf import settings

from neonadmin.auth import SignInRefused, SsoIdentity, claim, groups_from_claim, identity_role

PLAIN_HEADERS_ISSUER = "proxy-headers"
NO_ASSERTION = "The request carries no identity from the SSO proxy."
BAD_ASSERTION = "The SSO proxy's identity assertion was refused: {reason}"
KEYS_UNAVAILABLE = "The SSO proxy's signing keys could not be fetched: {reason}"

# How long this process lets a person in on its memory of an earlier request with the same
# identity (email, name, groups), without reading the database. The bound is for a change made to
# the account elsewhere (another process or instance): an account disabled there is refused
# within this many seconds. Any change in what the proxy asserts, and any change to a user saved
# in this process, are seen at once.
KNOWN_SECONDS = 10.0
KNOWN_MAX = 10_000  # people remembered at once; past that, start again

_jwks_clients: dict[tuple, jwt.PyJWKClient] = {}
_jwks_lock = threading.Lock()
_known: dict[tuple, tuple[float, object]] = {}


def _jwks_client() -> jwt.PyJWKClient:
    """One client per JWKS URL: it caches the key set (5 minutes) and refetches on unknown kid."""
    key = (settings.NEONADMIN_PROXY_JWKS_URL, settings.NEONADMIN_PROXY_TIMEOUT)
    with _jwks_lock:
        if key not in _jwks_clients:
            _jwks_clients[key] = jwt.PyJWKClient(
                settings.NEONADMIN_PROXY_JWKS_URL,
                cache_keys=True,
                lifespan=300,
                timeout=settings.NEONADMIN_PROXY_TIMEOUT,
            )
        return _jwks_clients[key]


@lru_cache(maxsize=32)
def ip_networks(cidrs: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A setting's list of addresses and CIDRs, parsed once per value: each request looks its
    client up in one (NEONADMIN_TRUSTED_PROXIES here, METRICS_ALLOWED_NETWORKS for /metrics).
    A bad entry stops the start instead (neonadmin.auth.checks)."""
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


def is_trusted_proxy(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in ip_networks(tuple(settings.NEONADMIN_TRUSTED_PROXIES)))


def _meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def identity_from_assertion(token: str) -> SsoIdentity:
    try:
        signing_key = _jwks_client().get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise SignInRefused(KEYS_UNAVAILABLE.format(reason=exc)) from exc
    except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:  # malformed, or unknown kid
        raise SignInRefused(BAD_ASSERTION.format(reason=exc)) from exc
    try:
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=settings.NEONADMIN_PROXY_ALGORITHMS,
            audience=settings.NEONADMIN_PROXY_AUDIENCE,
            issuer=settings.NEONADMIN_PROXY_ISSUER,
            leeway=30,
            options={"require": ["iss", "aud", "sub", "exp"]},
        )
    except jwt.InvalidTokenError as exc:
        raise SignInRefused(BAD_ASSERTION.format(reason=exc)) from exc
    # The proxy signed in this person itself and vouches for the address it asserts.
    email = claim(claims, settings.NEONADMIN_PROXY_EMAIL_CLAIM) or ""
    return SsoIdentity(
        issuer=claims["iss"],
        subject=claims["sub"],
        email=str(email),
        name=str(claims.get("name") or ""),
        groups=groups_from_claim(claim(claims, settings.NEONADMIN_PROXY_GROUPS_CLAIM)),
    )


def identity_from_plain_headers(request) -> SsoIdentity | None:
    """Only the two headers of the issue, which the trusted proxy must set (or strip) on every
    request: the email is the identity. X-Forwarded-User and -Preferred-Username are not
    trusted, as a proxy that sets only these two would pass a client's own through."""
    if not settings.NEONADMIN_PROXY_TRUST_PLAIN_HEADERS:
        return None
    if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
        return None
    email = request.META.get("HTTP_X_FORWARDED_EMAIL", "").strip()
    if not email:
        return None
    return SsoIdentity(
        issuer=PLAIN_HEADERS_ISSUER,
        subject=email,
        email=email,
        groups=groups_from_claim(request.META.get("HTTP_X_FORWARDED_GROUPS", "")),
    )


def _known_key(identity: SsoIdentity) -> tuple:
    groups = tuple(sorted(identity.groups))
    return (identity.issuer, identity.subject, identity.email, identity.name, groups)


def known_user(identity: SsoIdentity):
    """The user this process let in for exactly this identity less than KNOWN_SECONDS ago, with
    the role its groups give; None if there is none, or the groups give no role now. A copy:
    each request may change its own."""
    entry = _known.get(_known_key(identity))
    if entry is None or entry[0] <= time.monotonic():
        return None
    role = identity_role(identity)
    if role is None:
        return None
    user = copy.copy(entry[1])
    user._neonadmin_role = role
    return user


def remember_user(identity: SsoIdentity, user) -> None:
    """Let this identity in as `user` on memory for KNOWN_SECONDS (see known_user)."""
    if len(_known) >= KNOWN_MAX:
        _known.clear()
    _known[_known_key(identity)] = (time.monotonic() + KNOWN_SECONDS, copy.copy(user))


def forget_known_users(**_signal) -> None:
    """Forget everyone remembered: a user was saved or deleted in this process (a signal
    receiver, see neonadmin.apps)."""
    _known.clear()


def request_identity(request) -> SsoIdentity:
    """Who the proxy says sent this request. Raises SignInRefused when nobody verifiable."""
    header = settings.NEONADMIN_PROXY_JWT_HEADER
    token = request.META.get(_meta_key(header), "").strip() if header else ""
    if token:
        return identity_from_assertion(token)
    if identity := identity_from_plain_headers(request):
        return identity
    raise SignInRefused(NO_ASSERTION)
