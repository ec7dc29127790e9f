"""The cost page in Chromium: the chart is drawn (Chart.js from static, under the CSP), its
table holds the same numbers, and the page fits a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from cost import sync
from cost.models import ProjectMonth
from fleet import tasks as fleet_tasks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_cost_page_draws_its_chart_and_fits(signed_in_page: Page, neon, width):
    fleet_tasks.refresh_inventory.call(fleet_tasks.start_refresh(trigger="manual").pk)
    sync.run(sync.start_run())
    errors: list[str] = []
    page = signed_in_page
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/cost/")
    page.wait_for_load_state("load")
    expect(page.locator("canvas[data-chart]")).to_have_attribute("data-drawn", "1")
    total = sum(ProjectMonth.objects.values_list("total_cents", flat=True))
    assert total > 0
    shown = int(page.locator("#cost-total").get_attribute("data-cents"))
    assert shown <= total  # after the organizations' included transfer
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not errors, errors
