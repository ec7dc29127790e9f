from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from mozilla_django_oidc import views as oidc_views

from neonadmin.auth import SignInRefused
from neonadmin.auth.oidc import provider_logout_url
from neonadmin.roles import ROLE_GROUP_SETTINGS

SIGN_IN_FAILED = "Single sign-on did not complete, so you are not signed in."
IDP_UNAVAILABLE = "The identity provider did not answer in time. Try again in a moment."
NOT_STARTED_HERE = "This sign-in link was not started from this browser (or has expired)."
IDP_ANSWERED = "The identity provider answered: {code}."
# The error codes of RFC 6749 4.1.2.1 and OIDC Core 3.1.2.6. Only these are shown: the callback
# URL is anyone's to craft, so free text (error_description) could put words in our mouth.
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: the process answers. It does not call Neon."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
def login(request: HttpRequest) -> HttpResponse:
    """The sign-in page: the local form in demo mode only, otherwise the way to SSO."""
    mode = settings.NEONADMIN_AUTH_MODE
    demo = mode == "demo"  # settings refuse to start in demo mode unless NEONADMIN_DEMO and DEBUG
    if not demo and request.method == "POST":
        return HttpResponse("Passwords are not accepted here; use single sign-on.", status=405)
    return auth_views.LoginView.as_view(
        template_name="registration/login.html",
        redirect_authenticated_user=True,
        extra_context={"demo_mode": demo, "auth_mode": mode},
    )(request)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Ends our session and, with OIDC or a proxy that has a logout URL, the SSO session too."""
    mode = settings.NEONADMIN_AUTH_MODE
    if mode == "oidc":
        target = provider_logout_url(request)
    elif mode == "proxy" and settings.NEONADMIN_PROXY_LOGOUT_URL:
        target = settings.NEONADMIN_PROXY_LOGOUT_URL
    else:
        target = reverse("login")
    auth.logout(request)
    return HttpResponseRedirect(target)


def sign_in_refused(request: HttpRequest, refusal: SignInRefused, status: int = 403):
    """The page for a genuine identity we do not admit, or an assertion we do not believe."""
    mapped = sorted({g for name in ROLE_GROUP_SETTINGS.values() for g in getattr(settings, name)})
    context = {
        "refusal": refusal,
        "mapped_groups": mapped,
        "auth_mode": settings.NEONADMIN_AUTH_MODE,
    }
    response = render(request, "auth/refused.html", context, status=status)
    if getattr(request, "htmx", False):
        # htmx swaps no 4xx: reload the whole page, which then shows this refusal.
        response["HX-Refresh"] = "true"
    return response


class OIDCAuthenticateView(oidc_views.OIDCAuthenticationRequestView):
    """Starts the OIDC sign-in (PKCE and nonce on, see settings). Only in OIDC mode."""

    def __init__(self, *args, **kwargs):
        if settings.NEONADMIN_AUTH_MODE != "oidc":
            raise Http404("Single sign-on through OIDC is not configured.")
        super().__init__(*args, **kwargs)


class OIDCCallbackView(oidc_views.OIDCAuthenticationCallbackView):
    """The IdP's redirect back. Every failure ends on a page that says why, never a loop or a 500:
    forged or replayed state, refused tokens, people in no mapped group, an unreachable IdP."""

    def get(self, request):
        if settings.NEONADMIN_AUTH_MODE != "oidc":
            raise Http404("Single sign-on through OIDC is not configured.")
        if request.GET.get("error"):
            return self._provider_error(request)
        # A refused sign-in this session started ends the session: the earlier user must not
        # stay signed in (holding the refused person's ID token). One it did not start is
        # anyone's link and changes nothing.
        self.started_here = request.GET.get("state") in request.session.get("oidc_states", {})
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            return self._refuse(SignInRefused(f"{SIGN_IN_FAILED} {exc}"))
        except OSError:  # requests' errors: the IdP's token, JWKS or userinfo call failed
            return self._refuse(SignInRefused(IDP_UNAVAILABLE), status=502)

    def login_failure(self):
        refusal = getattr(self.request, "sign_in_refusal", None)
        if refusal is None:
            refusal = SignInRefused(SIGN_IN_FAILED + " " + self._reason())
        return self._refuse(refusal)

    def _refuse(self, refusal: SignInRefused, status: int = 403) -> HttpResponse:
        if self.started_here:
            auth.logout(self.request)
        return sign_in_refused(self.request, refusal, status=status)

    def _provider_error(self, request):
        """The IdP's own refusal. Only one for a sign-in this session started ends the session
        (as mozilla-django-oidc would): a link with ?error= sent by anyone must not sign out."""
        state = request.GET.get("state", "")
        states = request.session.get("oidc_states", {})
        if state not in states:
            return sign_in_refused(request, SignInRefused(f"{SIGN_IN_FAILED} {NOT_STARTED_HERE}"))
        del states[state]  # spent, so the same answer cannot be replayed
        request.session.modified = True
        auth.logout(request)
        error = request.GET["error"]
        code = error if error in OAUTH_ERRORS else "an unrecognised error"
        return sign_in_refused(
            request, SignInRefused(f"{SIGN_IN_FAILED} {IDP_ANSWERED.format(code=code)}")
        )

    def _reason(self) -> str:
        if "oidc_states" not in self.request.session:
            return NOT_STARTED_HERE
        return "The sign-in was not accepted."


oidc_authenticate = login_not_required(OIDCAuthenticateView.as_view())
oidc_callback = login_not_required(OIDCCallbackView.as_view())
