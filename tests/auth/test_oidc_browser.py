"""End to end in Chromium against a real OpenID provider (oidc-provider-mock) on a local port:
sign in, the role from groups, a refused person, and a sign-out that ends the IdP session too."""

import pytest
import requests

from neonadmin.auth import NO_MAPPED_GROUP
from tests.auth.conftest import set_provider_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.csp_errors = []
    page.on(
        "console",
        lambda msg: (
            page.csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None
        ),
    )
    yield page
    context.close()


def sign_in_at_provider(page, subject: str) -> None:
    page.goto("/audit/")
    page.wait_for_url("**/accounts/login/?next=/audit/")
    page.get_by_role("link", name="Sign in with SSO").click()
    page.get_by_label("Subject").fill(subject)  # the provider's own sign-in form
    page.get_by_role("button", name="Authorize", exact=True).click()


def test_sign_in_role_from_groups_and_sign_out(page, oidc_mode, oidc_provider, neon):
    set_provider_user(
        oidc_provider, "u-4711", email="ada@example.test", email_verified=True, name="Ada Admin",
        groups=["platform-admins", "everyone"],
    )  # fmt: skip

    sign_in_at_provider(page, "u-4711")

    page.wait_for_url("**/audit/")
    assert page.get_by_role("heading", name="Audit log").is_visible()
    assert page.locator(".whoami .who").inner_text() == "Ada Admin"
    assert page.locator(".whoami .badge").inner_text() == "admin"

    page.get_by_role("button", name="Sign out").click()
    # The provider's end-session page: it got our id_token_hint, then sends us back.
    page.wait_for_url(f"{oidc_provider}/oauth2/end_session?**")
    assert "id_token_hint" in page.url and "post_logout_redirect_uri" in page.url
    page.get_by_role("button", name="End session").click()
    page.wait_for_url("**/accounts/login/")
    assert page.get_by_role("link", name="Sign in with SSO").is_visible()

    page.goto("/audit/")  # signed out here too
    page.wait_for_url("**/accounts/login/?next=/audit/")
    assert not page.csp_errors, page.csp_errors


def test_a_person_in_no_mapped_group_is_refused(page, oidc_mode, oidc_provider):
    set_provider_user(
        oidc_provider, "u-0815", email="mo@example.test", email_verified=True, groups=["marketing"]
    )

    sign_in_at_provider(page, "u-0815")

    page.wait_for_url("**/oidc/callback/?**")
    refusal = page.locator("#sign-in-refused")
    assert NO_MAPPED_GROUP.format(who="mo@example.test") in refusal.inner_text()
    assert "marketing" in refusal.inner_text()
    page.goto("/audit/")
    page.wait_for_url("**/accounts/login/?next=/audit/")


def test_a_wrong_issuer_is_refused_with_the_real_provider(client, oidc_mode, oidc_provider):
    """The provider's genuine tokens, but we expect another issuer: refused."""
    oidc_mode.OIDC_OP_ISSUER = "https://login.example.com"
    set_provider_user(oidc_provider, "u-1", email="x@example.test", groups=["platform"])
    authorize = client.get("/oidc/authenticate/")["Location"]
    callback = requests.post(authorize, data={"sub": "u-1"}, allow_redirects=False, timeout=5)

    response = client.get(callback.headers["Location"].replace("http://testserver", ""))

    assert response.status_code == 403
    assert "Invalid issuer" in response.content.decode()
    assert not client.session.get("_auth_user_id")
