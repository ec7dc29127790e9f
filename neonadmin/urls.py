from django.urls import include, path
from django.views.generic import RedirectView

from neonadmin import health, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="projects:list", permanent=False), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("accounts/login/", views.login, name="login"),
    path("accounts/logout/", views.logout, name="logout"),
    path("oidc/authenticate/", views.oidc_authenticate, name="oidc_authentication_init"),
    path("oidc/callback/", views.oidc_callback, name="oidc_authentication_callback"),
    path("audit/", include("audit.urls")),
    path("projects/", include("projects.urls")),
    path("fleet/", include("fleet.urls")),
    path("governance/", include("governance.urls")),
    path("bulk/", include("bulk.urls")),
    path("policy/", include("policy.urls")),
    path("cost/", include("cost.urls")),
]
