import ipaddress

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.views import redirect_to_login
from django.urls import resolve
from django_htmx.http import HttpResponseClientRedirect

from neonadmin.auth import SignInRefused, identity_sign_in
from neonadmin.auth.proxy import is_trusted_proxy, request_identity
from neonadmin.views import sign_in_refused

PROXY_BACKEND = "neonadmin.auth.proxy.ProxyBackend"
PROXY_SESSION_KEY = "neonadmin_proxy_identity"


def client_address(request) -> str | None:
    """The client's address: REMOTE_ADDR, or, behind our own proxies, the nearest
    X-Forwarded-For hop that is not one of them (hops further left are the client's own say)."""
    address = request.META.get("REMOTE_ADDR") or None
    if not is_trusted_proxy(address):
        return address
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_ip(hop):
            break
        address = hop
        if not is_trusted_proxy(hop):
            break
    return address


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class ClientAddressMiddleware:
    """Sets request.client_ip, which the audit log records."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.client_ip = client_address(request)
        return self.get_response(request)


class ProxyIdentityMiddleware:
    """In proxy mode, every request must carry the proxy's identity; it decides who is signed in.

    A missing or invalid assertion is a 403 even with a live session: a request that did not
    pass through the proxy must not ride on an earlier one. Roles are re-synced whenever the
    asserted identity or groups change.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if settings.NEONADMIN_AUTH_MODE != "proxy" or not getattr(
            view_func, "login_required", True
        ):
            return None
        try:
            identity = request_identity(request)
            fingerprint = [
                identity.issuer,
                identity.subject,
                identity.email,
                sorted(identity.groups),
            ]
            if (
                request.user.is_authenticated
                and request.session.get(PROXY_SESSION_KEY) == fingerprint
            ):
                return None
            user = identity_sign_in(identity)
        except SignInRefused as refusal:
            if request.user.is_authenticated:
                auth.logout(request)
            return sign_in_refused(request, refusal)
        auth.login(request, user, backend=PROXY_BACKEND)
        request.session[PROXY_SESSION_KEY] = fingerprint
        return None


class HtmxLoginRedirectMiddleware:
    """An htmx request from an expired session gets HX-Redirect to the login page.

    Without this, LoginRequiredMiddleware's 302 is followed by htmx and the SSO login page is
    swapped into whatever fragment asked. Placed just before LoginRequiredMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(request, "htmx", False) or request.user.is_authenticated:
            return None
        if not getattr(view_func, "login_required", True):
            return None
        match = resolve(request.path_info)
        if not getattr(match.func, "login_required", True):
            return None
        current = request.htmx.current_url_abs_path or request.get_full_path()
        login = redirect_to_login(current, settings.LOGIN_URL)
        return HttpResponseClientRedirect(login.url)
