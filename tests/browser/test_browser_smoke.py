"""The whole path from a browser: login form → view → selector → client → emulator."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_demo_login_then_the_project_list(browser, live_server, neon, django_user_model, settings):
    from neonadmin.roles import Role, user_role_set

    # The demo login exists only with DEBUG on (make run's demo mode); pytest-django turns it off.
    settings.DEBUG = True

    user = django_user_model.objects.create_user("demo-e2e", password="demo-e2e-pass")
    user_role_set(user=user, role=Role.ADMIN)
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto("/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("demo-e2e")
    page.get_by_label("Password").fill("demo-e2e-pass")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/projects/")
    page.wait_for_load_state("load")

    assert page.get_by_role("heading", name="Projects").is_visible()
    assert page.locator("#results tbody tr").count() == 11  # 10 projects + "Load more"
    assert page.get_by_role("searchbox", name="Search projects").is_visible()
    assert page.get_by_role("button", name="Load more").is_visible()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
