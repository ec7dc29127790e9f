"""Bulk changes from Chromium: filter the fleet to one organization's 50 projects, dry-run a
maintenance window (it names the projects Neon would refuse), apply it and follow its progress
to the end, then check the emulator's copies against the dry run; and stop a job halfway."""

import threading

import pytest
from django.core.management import call_command
from django_tasks_db.management.commands.db_worker import Worker
from playwright.sync_api import Page, expect

from bulk.models import BulkItem, BulkJob
from fleet import tasks as fleet_tasks
from projects.neon import get_client
from tests.browser.test_accessibility import (
    PHONE,
    STICKING_OUT,
    describe,
    load_axe,
    serious_violations,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# With 361 seeded projects the emulator's Borealis Labs, the organization with per-project
# permissions, has exactly 50, some of which the key may only view.
SEED = 361
BOREALIS = "org-borealis-labs-83920461"


def run_worker() -> None:
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)


def worker_in_background() -> threading.Thread:
    """db_worker's own Worker, beside the page that follows its progress. Only the command's
    signal handlers are left out: Python lets the main thread alone set those. In batch mode it
    ends when the queue is empty, so start it once the task is queued."""
    worker = Worker(
        queue_names=["default"], interval=0.1, batch=True, backend_name="default",
        startup_delay=False, max_tasks=None, worker_id="browser-test", excluded_queue_names=[],
    )  # fmt: skip
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def big_fleet(neon):
    neon.reset(seed=SEED)
    run = fleet_tasks.start_refresh(trigger="manual")
    fleet_tasks.refresh_inventory.call(run.pk)
    return neon


def start_dry_run(page: Page, query: str, kind: str, fill) -> BulkJob:
    page.goto(f"/fleet/?{query}")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Bulk change…").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("Change", exact=True).select_option(kind)
    fill(page)
    page.get_by_role("button", name="Start the dry run").click()
    expect(page.locator("#job")).to_be_visible()
    job = BulkJob.objects.latest("pk")
    run_worker()
    expect(page.locator("#job")).to_have_attribute("data-status", "planned", timeout=10_000)
    return job


def window_fields(page: Page) -> None:
    page.get_by_label("Sunday").check()
    page.get_by_label("Maintenance start").fill("02:00")
    page.get_by_label("Maintenance end").fill("03:00")


def test_a_maintenance_window_over_fifty_projects(signed_in_page: Page, big_fleet):
    page = signed_in_page
    client = get_client()
    truth = client.list_projects(limit=400, org_id=BOREALIS).projects
    assert len(truth) == 50
    view_only = {p.id for p in truth if p.permission == "CAN_VIEW"}
    assert view_only

    job = start_dry_run(page, f"org={BOREALIS}", "maintenance_window", window_fields)

    assert job.items.count() == 50
    expect(page.locator('[data-verdict-count="refused"]')).to_have_text(str(len(view_only)))
    for pid in view_only:
        row = page.locator(f'tr[data-project="{pid}"]')
        expect(row).to_have_attribute("data-verdict", "refused")
        expect(row).to_contain_text("view access only")
    dry_run = {i.project_id: i for i in job.items.all()}
    to_change = [i for i in dry_run.values() if i.verdict == BulkItem.Verdict.CHANGE]

    page.get_by_role("button", name=f"Apply to {len(to_change)} projects").click()
    expect(page.locator("#job")).to_have_attribute("data-status", "queued")
    worker = worker_in_background()
    expect(page.locator("#job")).to_have_attribute("data-status", "finished", timeout=30_000)
    worker.join(timeout=30)
    expect(page.locator('[data-outcome-count="changed"]')).to_have_text(str(len(to_change)))
    expect(page.locator('[data-outcome-count="refused"]')).to_have_text(str(len(view_only)))

    # The emulator's copies are what the dry run said they would be.
    for project in client.list_projects(limit=400, org_id=BOREALIS).projects:
        item = dry_run[project.id]
        window = project.settings.maintenance_window
        shown = (list(window.weekdays), window.start_time, window.end_time) if window else None
        if item.verdict in (BulkItem.Verdict.CHANGE, BulkItem.Verdict.UNCHANGED):
            assert shown == ([7], "02:00", "03:00")
        else:
            assert shown == _window(item.before)


def _window(state: dict) -> tuple | None:
    window = state["settings"]["maintenance_window"]
    return (window["weekdays"], window["start_time"], window["end_time"]) if window else None


def test_a_job_stopped_halfway_reports_what_it_did_and_did_not_do(signed_in_page: Page, big_fleet):
    page = signed_in_page

    def suspend(page: Page) -> None:
        page.get_by_label("After a custom time").check()
        page.get_by_label("Custom suspend timeout (seconds)").fill("900")

    job = start_dry_run(page, f"org={BOREALIS}&pg=17", "suspend", suspend)
    planned = job.items.filter(verdict=BulkItem.Verdict.CHANGE).count()
    assert planned >= 4
    # Neon slow to answer changes, so the operator can stop the job while it runs.
    big_fleet.set_faults(method="PATCH", latency_ms=700)
    page.get_by_role("button", name=f"Apply to {planned} projects").click()
    expect(page.locator("#job")).to_have_attribute("data-status", "queued")  # enqueued first
    worker = worker_in_background()
    expect(page.locator("#job")).to_have_attribute("data-status", "running", timeout=10_000)
    expect(page.locator('[data-outcome-count="changed"]')).not_to_have_text("0", timeout=10_000)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#job")).to_have_attribute("data-status", "stopped", timeout=20_000)
    worker.join(timeout=30)

    job.refresh_from_db()
    changed = job.items.filter(outcome=BulkItem.Outcome.CHANGED)
    not_done = job.items.filter(outcome=BulkItem.Outcome.NOT_RUN)
    assert changed.count() >= 1 and not_done.count() >= 1
    assert changed.count() + not_done.count() == planned
    expect(page.locator('[data-outcome-count="not_run"]')).to_have_text(str(not_done.count()))
    client = get_client()
    for item in not_done:
        before = item.before["default_endpoint_settings"]["suspend_timeout_seconds"]
        project = client.get_project(item.project_id)
        assert (project.endpoint_defaults.suspend_timeout_seconds or 0) == before
    for item in changed:
        assert client.get_project(item.project_id).endpoint_defaults.suspend_timeout_seconds == 900


def test_bulk_pages_pass_axe_and_fit_a_phone(signed_in_page: Page, big_fleet):
    """The bulk pages (the list, choosing a change, a dry run) at 1,280 px through axe-core,
    and at a phone's width with nothing scrolling sideways: the items are cards there."""
    page = signed_in_page
    job = start_dry_run(page, f"org={BOREALIS}", "maintenance_window", window_fields)
    pages = {"list": "/bulk/", "new": f"/bulk/new/?org={BOREALIS}", "job": f"/bulk/{job.pk}/"}
    axe = load_axe()
    for name, path in pages.items():
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(path)
        page.wait_for_load_state("load")
        violations = serious_violations(page, axe)
        assert violations == [], f"{name}: {describe(violations)}"
        page.set_viewport_size(PHONE)
        page.goto(path)
        page.wait_for_load_state("load")
        scroll_width, inner = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert scroll_width <= inner, f"{name}: {page.evaluate(STICKING_OUT)}"
