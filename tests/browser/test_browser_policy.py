"""Policy as code from Chromium, the way the issue asks: a policy file in force, a refresh, the
drift of each rule with counts equal to the emulator's truth, one rule's drift fixed through a
dry run and a second admin's approval, a refresh, and the drift gone from the emulator's copy."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bulk.models import BulkItem, BulkJob
from fleet import tasks as fleet_tasks
from governance.models import ApprovalRequest
from policy import loaded
from projects.neon import get_client
from tests.browser.test_browser_bulk import run_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EXAMPLE = Path(__file__).resolve().parents[2] / "policy" / "example-policy.yaml"
RULE = "production.suspend_timeout_max"


def refresh() -> None:
    run = fleet_tasks.start_refresh(trigger="manual")
    fleet_tasks.refresh_inventory.call(run.pk)  # its end evaluates the policy (on commit)


def emulator_truth(policy) -> set[str]:
    """The production projects whose computes may idle for more than an hour, read from the
    emulator's own lists, not from the dashboard's inventory."""
    client = get_client()
    found = set()
    for org_id in [None, *(org.id for org in client.list_organizations())]:
        cursor = None
        while True:
            page = client.list_projects(limit=400, cursor=cursor, org_id=org_id)
            for project in page.projects:
                org = project.org_id or "personal"
                klass = next(
                    (
                        c.name
                        for c in policy.classes
                        for m in c.matches
                        # The seed annotates no branch: a match by annotation takes none.
                        if not m.annotations
                        and (not m.organizations or org in m.organizations)
                        and (
                            not m.names
                            or any(fnmatch.fnmatchcase(project.name, p) for p in m.names)
                        )
                    ),
                    "unclassified",
                )
                seconds = project.endpoint_defaults.suspend_timeout_seconds or 300
                if klass == "production" and (seconds == -1 or seconds > 3600):
                    found.add(project.id)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
    return found


def test_drift_counted_then_fixed_through_dry_run_and_a_second_admin(
    signed_in_page: Page,
    second_admin_page: Page,
    neon,
    settings,
):
    settings.POLICY_FILE = str(EXAMPLE)
    settings.APPROVAL_REQUIRED_FOR = ["bulk"]
    policy = loaded.current().policy
    refresh()
    truth = emulator_truth(policy)
    assert truth

    page = signed_in_page
    page.goto("/policy/")
    expect(page.locator("#policy-file")).to_contain_text(policy.digest[:12])
    link = page.locator(f'a[href="/policy/rules/{RULE}/"]')
    expect(link).to_have_text(str(len(truth)))
    link.click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name=re.compile(r"Fix these \d+ projects")).click()
    expect(page.locator("#job")).to_be_visible()
    job = BulkJob.objects.get()
    run_worker()  # the dry run
    expect(page.locator("#job")).to_have_attribute("data-status", "planned", timeout=10_000)
    changing = set(
        job.items.filter(verdict=BulkItem.Verdict.CHANGE).values_list("project_id", flat=True)
    )
    assert changing and changing <= truth
    page.get_by_role("button", name="Ask for approval").click()
    expect(page.locator("#job")).to_have_attribute("data-status", "awaiting_approval")
    approval = ApprovalRequest.objects.get()

    other = second_admin_page
    other.goto(f"/governance/approvals/{approval.pk}/")
    other.get_by_role("button", name="Approve").click()
    expect(other.locator("#approval-status")).to_have_text("approved")
    run_worker()  # apply
    job.refresh_from_db()
    assert job.status == BulkJob.Status.FINISHED

    refresh()
    client = get_client()
    for project_id in changing:  # the emulator's copy holds the fix
        assert client.get_project(project_id).endpoint_defaults.suspend_timeout_seconds == 3600
    assert emulator_truth(policy) == truth - changing
    page.goto("/policy/")
    left = len(truth - changing)
    if left:
        expect(page.locator(f'a[href="/policy/rules/{RULE}/"]')).to_have_text(str(left))
    else:
        expect(page.locator(f'a[href="/policy/rules/{RULE}/"]')).to_have_count(0)


def test_the_fleet_filters_by_class_drift_and_rule(signed_in_page: Page, neon, settings):
    """An operator narrows the fleet to one class's drifting projects, then to one rule's, and
    the page counts what the emulator's truth says."""
    from fleet.models import InventoryProject

    settings.POLICY_FILE = str(EXAMPLE)
    policy = loaded.current().policy
    refresh()
    truth = emulator_truth(policy)
    page = signed_in_page
    page.goto("/fleet/")
    page.wait_for_load_state("networkidle")
    page.select_option("#id_class", "production")
    expect(page).to_have_url(re.compile(r"class=production"))
    page.select_option("#id_drift", "yes")
    expect(page).to_have_url(re.compile(r"drift=yes"))
    expected = InventoryProject.objects.filter(
        gone_at__isnull=True, project_class="production", drift__gt=0
    ).count()
    expect(page.locator("#fleet-total [data-total]")).to_have_text(str(expected))
    page.goto("/fleet/")
    page.get_by_text(re.compile(r"Policy drift: \d+ rules")).click()
    chip = page.get_by_role("link", name=re.compile(r"out of production: Suspend"))
    expect(chip).to_contain_text(str(len(truth)))
    chip.click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#fleet-total [data-total]")).to_have_text(str(len(truth)))
    shown = set(
        page.locator("tr[data-project]").evaluate_all("rows => rows.map(r => r.dataset.project)")
    )
    assert shown == truth
