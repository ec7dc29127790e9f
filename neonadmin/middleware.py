from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import resolve
from django_htmx.http import HttpResponseClientRedirect


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
