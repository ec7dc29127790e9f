"""The fleet from Chromium: a refresh run by the real worker shows progress and finishes; then
sort by storage and filter by organization and Postgres version, counts as the emulator has them."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from fleet.models import InventoryRun
from projects.neon import get_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_refresh_then_sort_and_filter(signed_in_page: Page, neon):
    page = signed_in_page
    page.goto("/fleet/")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text("No refresh has finished yet.")).to_be_visible()
    page.get_by_role("button", name="Refresh from Neon").click()
    expect(page.locator("#refresh progress")).to_be_visible()  # polling until the worker is done
    # The worker as production runs it (django-tasks-db), here in the test's own thread while
    # the page keeps polling from the browser.
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    assert InventoryRun.objects.get().status == "finished"
    expect(page.get_by_text("Refresh finished")).to_be_visible(timeout=10_000)

    client = get_client()
    everyone = [p for org in [None, *[o.id for o in client.list_organizations()]]
                for p in client.list_projects(limit=400, org_id=org).projects]  # fmt: skip
    page.goto("/fleet/?sort=-storage")
    largest = max(everyone, key=lambda p: p.synthetic_storage_size or -1)
    expect(page.locator("tbody tr").first).to_contain_text(largest.name)

    org = next(o for o in client.list_organizations())
    version = next(p.pg_version for p in everyone if p.org_id == org.id)
    expected = [p for p in everyone if p.org_id == org.id and p.pg_version == version]
    page.get_by_label("Organization").select_option(org.id)
    expect(page).to_have_url(re.compile(rf"org={org.id}"))
    page.get_by_label("Postgres").select_option(str(version))
    expect(page.locator("#fleet-total [data-total]")).to_have_attribute(
        "data-total", str(len(expected))
    )
    expect(page.locator("tbody tr[data-project]")).to_have_count(len(expected))

    # Exports = screen: after the htmx swaps, the links carry the filters on screen, and the
    # files hold exactly the rows shown.
    shown = set(page.locator("tbody tr[data-project]").evaluate_all(
        "rows => rows.map(r => r.dataset.project)"
    ))  # fmt: skip
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    lines = Path(csv_download.value.path()).read_text().splitlines()
    assert {line.split(",")[0] for line in lines[1:]} == shown and len(lines) == len(shown) + 1
    json_href = page.get_by_role("link", name="Export JSON").get_attribute("href")
    assert f"org={org.id}" in json_href and f"pg={version}" in json_href
    exported = page.request.get(json_href).json()
    assert {row["project_id"] for row in exported} == shown

    # "Bulk change…" posts the selection: the ticked rows travel in the body, not the URL.
    first = sorted(shown)[0]
    page.locator(f'tbody tr[data-project="{first}"] input[type=checkbox]').check()
    page.get_by_role("button", name="Bulk change…").click()
    expect(page).to_have_url(re.compile(r"/bulk/new/$"))
    expect(page.locator("[data-selected]")).to_have_attribute("data-selected", "1")
