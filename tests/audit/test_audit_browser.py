"""The audit page in Chromium: filtering and "load more" through htmx, under the CSP."""

import pytest
from playwright.sync_api import expect

from audit.forms import PAGE_SIZE
from audit.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_and_load_more(signed_in_page):
    page = signed_in_page
    csp_errors = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    for n in range(PAGE_SIZE + 10):
        AuditEvent.objects.create(
            actor=f"person{n % 2}@example.test", action="project.update", project_id="p-1",
            project_name="shop", outcome="failure" if n % 5 == 0 else "success",
            request_id=f"req-{n}", status=409 if n % 5 == 0 else 200,
            neon_message="project is locked" if n % 5 == 0 else "",
            changes={"name": {"before": "shop", "after": "shop-2"}},
        )  # fmt: skip

    page.goto("/audit/")
    rows = page.locator("#audit-results tr.audit-event")
    assert rows.count() == PAGE_SIZE
    page.get_by_role("button", name="Load more").click()
    # A locator wait, not wait_for_function: that evaluates a string, which our CSP (rightly)
    # refuses whenever the condition is not already true on the first check.
    expect(rows).to_have_count(PAGE_SIZE + 10)
    assert page.get_by_role("button", name="Load more").count() == 0

    page.get_by_label("Outcome").select_option("failure")
    page.wait_for_url("**/audit/?**outcome=failure**")
    expect(rows).to_have_count(12)
    page.locator("tr.audit-event details summary").first.click()
    assert "project is locked" in page.locator("tr.audit-event").first.inner_text()
    assert (
        page.get_by_role("link", name="Export CSV")
        .get_attribute("href")
        .endswith("outcome=failure")
    )
    assert not csp_errors, csp_errors
