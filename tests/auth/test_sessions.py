"""Login required everywhere but /healthz and the SSO callbacks; an expired session during an
htmx request redirects the whole page (HX-Redirect), and the sign-in page fits each mode."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from neonadmin.middleware import client_address

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_pages_need_a_sign_in(client):
    response = client.get("/audit/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/audit/"


def test_healthz_and_sign_in_pages_need_none(client):
    assert client.get("/healthz").status_code == 200
    assert client.get(reverse("login")).status_code == 200


def test_an_expired_session_in_an_htmx_request_redirects_the_page(client):
    response = client.get(
        "/audit/?outcome=failure",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/audit/?person=kim"},
    )

    assert response.status_code == 200  # htmx swaps nothing and follows HX-Redirect
    assert response["HX-Redirect"] == "/accounts/login/?next=/audit/%3Fperson%3Dkim"
    assert not response.content


def test_an_htmx_post_from_an_expired_session_redirects_too(client):
    response = client.post(reverse("logout"), headers={"HX-Request": "true"})

    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_demo_mode_shows_the_password_form_and_signs_in(client, settings, django_user_model):
    settings.DEBUG = True  # as `make run` has it (pytest-django turns DEBUG off)
    django_user_model.objects.create_user("demo", password="demo")

    assert b'name="password"' in client.get(reverse("login")).content
    response = client.post(reverse("login"), {"username": "demo", "password": "demo"})

    assert response.status_code == 302
    assert client.session.get("_auth_user_id")


@pytest.mark.parametrize("mode", ["oidc", "proxy"])
def test_passwords_are_refused_outside_demo_mode(client, settings, django_user_model, mode):
    settings.NEONADMIN_AUTH_MODE = mode
    django_user_model.objects.create_user("demo", password="demo")

    page = client.get(reverse("login")).content.decode()
    response = client.post(reverse("login"), {"username": "demo", "password": "demo"})

    assert 'name="password"' not in page
    assert response.status_code == 405
    assert not client.session.get("_auth_user_id")


def test_oidc_mode_offers_the_sso_button_keeping_next(client, settings):
    settings.NEONADMIN_AUTH_MODE = "oidc"

    page = client.get("/accounts/login/?next=/audit/").content.decode()

    assert 'href="/oidc/authenticate/?next=/audit/"' in page
    assert "Sign in with SSO" in page


def test_proxy_mode_explains_itself(client, settings):
    settings.NEONADMIN_AUTH_MODE = "proxy"
    settings.NEONADMIN_PROXY_JWT_HEADER = ""

    page = client.get(reverse("login")).content.decode()

    assert "single sign-on proxy" in page


def test_demo_backend_signs_nobody_in_outside_demo_mode(client, settings, django_user_model):
    from django.contrib.auth import authenticate

    django_user_model.objects.create_user("demo", password="demo")
    settings.NEONADMIN_AUTH_MODE = "oidc"

    assert authenticate(username="demo", password="demo") is None


def test_sign_out_with_oidc_ends_the_provider_session(admin_client_, settings):
    settings.NEONADMIN_AUTH_MODE = "oidc"
    settings.OIDC_OP_LOGOUT_ENDPOINT = "https://idp.example.com/logout"
    settings.OIDC_RP_CLIENT_ID = "neonadmin"
    session = admin_client_.session
    session["oidc_id_token"] = "the.id.token"
    session.save()

    response = admin_client_.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"].startswith("https://idp.example.com/logout?")
    assert "id_token_hint=the.id.token" in response["Location"]
    assert (
        "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2Faccounts%2Flogin%2F"
        in (response["Location"])
    )
    assert not admin_client_.session.get("_auth_user_id")


def test_sign_out_needs_post(admin_client_):
    assert admin_client_.get(reverse("logout")).status_code == 405


# --- Settings ----------------------------------------------------------------------------------


def load_settings(show="SECURE_CSP['form-action']", **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NEONADMIN_", "OIDC_"))}
    base |= {"DEBUG": "false", "SECRET_KEY": "x" * 50, "NEON_API_KEY": "k"}
    base.pop("DJANGO_SETTINGS_MODULE", None)
    code = f"import neonadmin.settings as s; print(s.{show})"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base | env, capture_output=True, text=True
    )


def test_form_action_allows_the_idp_logout_origin():
    result = load_settings(OIDC_OP_LOGOUT_ENDPOINT="https://idp.example.com/oauth2/v1/logout")

    assert result.returncode == 0, result.stderr
    assert "'https://idp.example.com'" in result.stdout


def test_demo_sign_in_is_refused_with_debug_off():
    result = load_settings(NEONADMIN_AUTH_MODE="demo")

    assert result.returncode != 0
    assert "demo login needs NEONADMIN_DEMO and DEBUG" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("NEONADMIN_ADMIN_GROUPS", "platform-admins, dba ,", ["platform-admins", "dba"]),
        (
            "NEONADMIN_TRUSTED_PROXIES",
            "10.0.0.0/8, 192.168.0.0/16",
            ["10.0.0.0/8", "192.168.0.0/16"],
        ),
        ("ALLOWED_HOSTS", "admin.example.com, localhost", ["admin.example.com", "localhost"]),
    ],
)
def test_list_settings_strip_the_space_after_each_comma(name, value, expected):
    result = load_settings(show=name, **{name: value})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(expected)


def test_a_trusted_proxy_that_is_no_network_fails_the_system_check(settings):
    from neonadmin.auth.checks import sign_in_configured

    settings.NEONADMIN_TRUSTED_PROXIES = ["10.0.0.0/8", "10.0.0.300/8"]

    errors = sign_in_configured(None)

    assert [e.id for e in errors] == ["neonadmin.E004"]
    assert "'10.0.0.300/8'" in errors[0].msg


def test_an_unconfigured_sso_mode_fails_the_system_check(settings):
    from neonadmin.auth.checks import sign_in_configured

    settings.NEONADMIN_AUTH_MODE = "oidc"
    settings.OIDC_OP_ISSUER = ""
    settings.OIDC_RP_CLIENT_ID = ""

    errors = sign_in_configured(None)

    assert [e.id for e in errors] == ["neonadmin.E001"]
    assert "OIDC_OP_ISSUER" in errors[0].msg and "OIDC_RP_CLIENT_ID" in errors[0].msg


# --- Client address for the audit log ----------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("192.0.2.9", "", "192.0.2.9"),
        ("192.0.2.9", "203.0.113.5", "192.0.2.9"),  # not our proxy: its header is ignored
        ("10.0.0.2", "203.0.113.5", "203.0.113.5"),
        ("10.0.0.2", "1.1.1.1, 203.0.113.5, 10.0.0.7", "203.0.113.5"),  # spoofed left part
        ("10.0.0.2", "garbage, 10.0.0.7", "10.0.0.7"),
        ("10.0.0.2", "", "10.0.0.2"),
    ],
)
def test_client_address(rf, settings, remote, forwarded, expected):
    settings.NEONADMIN_TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == expected


@pytest.mark.parametrize("off", ["DEBUG", "DEMO_MODE"])
def test_demo_backend_needs_debug_and_demo_mode_when_it_signs_in(settings, django_user_model, off):
    from django.contrib.auth import authenticate

    django_user_model.objects.create_user("demo", password="demo")
    settings.NEONADMIN_AUTH_MODE, settings.DEMO_MODE, settings.DEBUG = "demo", True, True
    setattr(settings, off, False)

    assert authenticate(username="demo", password="demo") is None


def test_oidc_without_a_logout_endpoint_is_a_system_check_warning(settings):
    from django.core import checks

    from neonadmin.auth.checks import provider_logout_configured

    settings.NEONADMIN_AUTH_MODE = "oidc"
    settings.OIDC_OP_LOGOUT_ENDPOINT = ""

    warnings = provider_logout_configured(None)

    assert [(w.id, w.level) for w in warnings] == [("neonadmin.W001", checks.WARNING)]
    settings.OIDC_OP_LOGOUT_ENDPOINT = "https://idp.example.com/logout"
    assert provider_logout_configured(None) == []
