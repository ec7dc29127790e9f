"""An operator's whole day, in Chromium, across every hand-over between flows: create in an
organization → change settings → protect → a delete the page refuses → removal of protection
approved by a second admin → delete, approved too → find it under Recently deleted → recover →
find it in the fleet with its settings → export with a filter and compare with the screen."""

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from projects.neon import get_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "day-orders"


def run_worker() -> None:
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)


def approve(page: Page, summary: str, confirm: str = "") -> None:
    page.goto("/governance/approvals/")
    page.get_by_role("link", name=re.compile(summary)).first.click()
    if confirm:
        approve_button = page.get_by_role("button", name="Approve")
        expect(approve_button).to_be_disabled()  # until the name is typed
        page.get_by_label(f"Type {confirm} to approve").fill(confirm)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#approval-status")).to_have_text("approved")


def test_an_operators_whole_day(
    signed_in_page: Page,
    second_admin_page: Page,
    neon,
    settings,
):
    settings.APPROVAL_REQUIRED_FOR = ["delete", "unprotect"]
    page, other = signed_in_page, second_admin_page
    org = get_client().list_organizations()[0]

    # Create in an organization: the address becomes the new project's.
    page.goto("/projects/new/")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Project name").fill(NAME)
    page.get_by_label("Organization").select_option(org.id)
    page.get_by_role("button", name=re.compile("Create", re.I)).click()
    expect(page.get_by_text(f"Project {NAME} created")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/projects/[a-z0-9-]+/$"))
    project_id = page.url.rstrip("/").rsplit("/", 1)[1]
    assert get_client().get_project(project_id).org_id == org.id

    # Change a setting: never suspend.
    page.goto(f"/projects/{project_id}/settings/")
    page.wait_for_load_state("networkidle")
    page.get_by_text("Compute", exact=False).first.click()
    page.get_by_label("Never suspend").check()
    page.get_by_role("button", name=re.compile("Review")).click()
    page.get_by_role("button", name=re.compile("Apply 1 change")).click()
    expect(page.locator("#flash")).to_contain_text(f"Settings of {NAME} saved")
    assert get_client().get_project(project_id).endpoint_defaults.suspend_timeout_seconds == -1

    # The detail page names the organization; protect the project.
    page.goto(f"/projects/{project_id}/")
    page.wait_for_load_state("networkidle")
    expect(page.locator("dl.facts").first).to_contain_text(org.name)
    card = page.locator("#protection")
    card.get_by_text("Protect…").click()
    card.get_by_label("Why protect it?").fill("Orders live here")
    card.get_by_role("button", name="Protect").click()
    expect(card.locator(".protected-badge")).to_be_visible()

    # The delete page refuses: no name to type, the way out named.
    page.goto(f"/projects/{project_id}/delete/")
    expect(page.locator("#delete-form")).to_contain_text("the delete will be refused")
    expect(page.get_by_role("button", name=re.compile("Delete|Request deletion"))).to_have_count(0)

    # Removal of protection, approved by a second admin.
    card = page.locator("#protection")
    card.get_by_text("Request removal of protection…").click()
    card.get_by_label("Why remove the protection?").fill("Retiring the orders service")
    card.get_by_role("button", name="Request removal of protection").click()
    expect(card).to_contain_text("waits for a second admin")
    approve(other, "Remove deletion protection")

    # Delete, approved by the second admin, who types the name.
    page.goto(f"/projects/{project_id}/delete/")
    page.wait_for_load_state("networkidle")
    page.get_by_label(f"Type {NAME} to confirm").fill(NAME)
    page.get_by_label("Why (for the approving admin)").fill("Retired")
    page.get_by_role("button", name="Request deletion").click()
    expect(page.locator("#flash")).to_contain_text("needs a second admin")
    approve(other, "Delete project", confirm=NAME)

    # Under Recently deleted, in its organization; recover it.
    page.goto("/projects/deleted/")
    page.get_by_label("Organization").select_option(org.id)
    row = page.get_by_role("row").filter(has_text=project_id)
    expect(row).to_contain_text(org.name)
    row.get_by_role("button", name=f"Recover {NAME}").click()
    expect(page.locator("#flash")).to_contain_text(f"Project “{NAME}” was recovered")
    assert get_client().get_project(project_id).org_id == org.id

    # In the fleet with its settings, after a refresh the worker runs.
    page.goto("/fleet/")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Refresh from Neon").click()
    expect(page.locator("#refresh progress")).to_be_visible()
    run_worker()
    expect(page.get_by_text("Refresh finished")).to_be_visible(timeout=10_000)
    page.get_by_role("searchbox", name="Search").fill(NAME)
    row = page.locator(f'tbody tr[data-project="{project_id}"]')
    expect(row).to_contain_text("never")  # the suspend setting changed this morning
    expect(row).to_contain_text(org.name)

    # Export with a filter, compared with the screen and the count.
    page.get_by_role("searchbox", name="Search").fill("")
    page.get_by_label("Organization").select_option(org.id)
    expect(page).to_have_url(re.compile(rf"org={org.id}"))
    total = len(get_client().list_projects(limit=400, org_id=org.id).projects)
    expect(page.locator("#fleet-total [data-total]")).to_have_attribute("data-total", str(total))
    expect(page.locator("tbody tr[data-project]")).to_have_count(total)  # one page holds them
    shown = set(
        page.locator("tbody tr[data-project]").evaluate_all("r => r.map(x => x.dataset.project)")
    )
    assert project_id in shown
    with page.expect_download() as download:
        page.get_by_role("link", name="Export JSON").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert {row["project_id"] for row in exported} == shown
