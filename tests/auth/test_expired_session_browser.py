"""An htmx request from an expired session sends the whole browser to sign-in; the sign-in page
is never swapped into a fragment."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_expired_session_redirects_the_page_not_the_fragment(signed_in_page):
    page = signed_in_page
    page.goto("/audit/")
    page.context.clear_cookies()  # the session ends while the page is open

    page.get_by_label("Person").fill("kim")  # htmx asks for the filtered results

    page.wait_for_url("**/accounts/login/?next=/audit/**")
    assert page.locator("#audit-results").count() == 0
    assert page.get_by_role("heading", name="Sign in").count() == 1
