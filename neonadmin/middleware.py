import ipaddress

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.views import redirect_to_login
from django.middleware.csrf import rotate_token
from django.urls import resolve
from django_htmx.http import HttpResponseClientRedirect

from neonadmin.auth import SignInRefused, identity_sign_in, identity_user_unchanged
from neonadmin.auth.proxy import is_trusted_proxy, known_user, remember_user, request_identity
from neonadmin.views import sign_in_refused


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
    """In proxy mode, every request must carry the proxy's identity; it alone decides who is
    signed in, so no session is kept for it: a request that did not pass through the proxy has
    nothing earlier to ride on. A known person costs one query (`identity_user_unchanged`), or
    none when this process let the same identity in within the last few seconds (`known_user`).
    A missing or invalid assertion is a 403. The person is signed in again (user, role, a new
    CSRF token) whenever the asserted email, name or groups change, and refused as soon as the
    groups map to no role or the account is disabled.
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
            user = known_user(identity)
            if user is None:
                user = identity_user_unchanged(identity)
                if user is None:
                    user = identity_sign_in(identity)
                    rotate_token(request)  # as a login does: the token never outlives a change
                remember_user(identity, user)
        except SignInRefused as refusal:
            if request.user.is_authenticated:  # a session from another mode, or from before
                auth.logout(request)
            return sign_in_refused(request, refusal)
        request.user = user
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
