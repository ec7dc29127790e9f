from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: the process answers. It does not call Neon."""
    return JsonResponse({"status": "ok"})


@login_not_required
def login(request: HttpRequest) -> HttpResponse:
    """The sign-in page: a local form in demo mode only, otherwise the SSO entry point."""
    return auth_views.LoginView.as_view(
        template_name="registration/login.html",
        redirect_authenticated_user=True,
        extra_context={"demo_mode": settings.DEMO_MODE},
    )(request)
