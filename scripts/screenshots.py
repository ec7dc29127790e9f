"""Screenshots of the running dashboard for the README: `make run`, then
`.venv/bin/python scripts/screenshots.py [BASE_URL]` (default http://127.0.0.1:8000).

Signs in with the demo login, opens each page an operator uses and saves a PNG per page in
docs/screenshots/. Uses Debian's Chromium; never downloads a browser.
"""

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"


def sign_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/projects/**")


def shoot(page: Page, name: str, path: str, *, full_page: bool = True, before=None) -> None:
    response = page.goto(path)
    page.wait_for_load_state("networkidle")
    if before:
        before(page)
        page.wait_for_load_state("networkidle")
    status = response.status if response else "?"
    page.screenshot(path=OUT / f"{name}.png", full_page=full_page)
    print(f"{name}: {path} -> HTTP {status}")


def open_sections(page: Page) -> None:
    for summary in page.locator("details.section > summary").all()[:3]:
        summary.click()


def review_changes(page: Page) -> None:
    """The settings page just shot, with a rename and a larger compute, at its review step."""
    page.get_by_label("Project name").fill(page.get_by_label("Project name").input_value() + "-v2")
    page.get_by_label("Maximum compute size").select_option("4")
    page.get_by_role("button", name="Review changes").click()
    page.get_by_role("heading", name="Review 2 changes").wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / "settings_review.png", full_page=False)
    print("settings_review: POST settings (review, nothing sent)")


def refresh_fleet(page: Page) -> None:
    """The fleet page fills from the worker's refresh (make run starts the worker)."""
    page.goto("/fleet/")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Refresh from Neon").click()
    page.get_by_text("Refresh finished").wait_for(timeout=60_000)
    print("fleet: refreshed from Neon")


def bulk_dry_run(page: Page) -> None:
    """A maintenance window for one organization's projects, dry run by the worker."""
    page.goto("/fleet/?org=org-borealis-labs-83920461")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Bulk change…").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("Change", exact=True).select_option("maintenance_window")
    page.get_by_label("Sunday").check()
    page.get_by_label("Maintenance start").fill("02:00")
    page.get_by_label("Maintenance end").fill("03:00")
    page.get_by_role("button", name="Start the dry run").click()
    page.locator('#job[data-status="planned"]').wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / "bulk_dry_run.png", full_page=False)
    print("bulk_dry_run: a dry run of a maintenance window (nothing sent)")


def protect_first(page: Page, detail: str) -> None:
    """The detail page of a project an admin has just protected."""
    page.goto(detail)
    page.wait_for_load_state("networkidle")
    page.get_by_text("Protect…").click()
    page.get_by_label("Why protect it?").fill("Production billing data")
    page.get_by_role("button", name="Protect", exact=True).click()
    page.locator("#protection.is-protected").wait_for()
    page.locator("#protection").screenshot(path=OUT / "protected.png")
    print("protected: the project page after Protect")


def phone(page: Page, name: str, path: str) -> None:
    """A page at a phone's width (390 px): the compact top bar, tables as cards."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.locator("tbody tr").first.scroll_into_view_if_needed()
    page.screenshot(path=OUT / f"{name}.png", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 860})
    print(f"{name}: {path} at 390 px")


def recently_deleted(page: Page) -> None:
    """Delete an organization's project, then find it under Recently deleted."""
    page.goto("/projects/?org_id=org-acme-analytics-41502719")
    page.wait_for_load_state("networkidle")
    links = page.locator("#results tbody tr a").all()
    for href in [link.get_attribute("href") for link in links]:
        page.goto(f"{href}delete/")
        page.wait_for_load_state("networkidle")
        refused = page.locator("#protected-warning, #h-permission").count()
        if not refused:  # Neon refuses a project with protected branches, or a key without rights
            break
    name = page.locator("[data-confirm-name]").get_attribute("data-confirm-name")
    page.get_by_label(f"Type {name} to confirm").fill(name)
    page.get_by_role("button", name="Delete this project").click()
    page.locator("#flash a", has_text="Recently deleted").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / "recently_deleted.png", full_page=False)
    print("recently_deleted: an organization's deleted project, from the delete message's link")


def sync_cost(page) -> None:
    """Each refresh queues a consumption sync; wait until the page has a month to show."""
    for _ in range(120):
        page.goto("/cost/")
        page.wait_for_load_state("networkidle")
        if page.locator("#sync-status").count() == 0 and page.locator("canvas").count():
            return
        page.wait_for_timeout(1000)
    print("cost: the sync did not finish in time; the page shows where it stands")


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 860})
        sign_in(page)
        shoot(page, "list", "/projects/", full_page=False)
        first = page.locator("#results tbody tr a").first.get_attribute("href")
        shoot(page, "detail", first)
        shoot(page, "create", "/projects/new/", before=open_sections)
        shoot(page, "settings", f"{first}settings/", before=open_sections)
        review_changes(page)
        shoot(page, "delete", f"{first}delete/", full_page=False)
        shoot(page, "connect", f"{first}connect/", full_page=False)
        # Leave a trail for the audit page: reveal a connection string, create a project.
        page.get_by_role("button", name="Reveal password").click()
        page.wait_for_load_state("networkidle")
        page.goto("/projects/new/")
        page.wait_for_load_state("networkidle")
        page.get_by_label("Project name").fill("billing-staging")
        page.get_by_role("button", name="Create project").click()
        page.get_by_text("billing-staging").first.wait_for()
        page.wait_for_timeout(500)
        page.screenshot(path=OUT / "created.png", full_page=True)
        print("created: POST /projects/new/")
        shoot(page, "audit", "/audit/", full_page=False)
        refresh_fleet(page)
        shoot(page, "fleet", "/fleet/?sort=-storage", full_page=False)
        phone(page, "fleet_phone", "/fleet/?sort=-storage")
        phone(page, "list_phone", "/projects/")
        shoot(page, "policy", "/policy/")  # evaluated at the refresh's end (make run's policy)
        phone(page, "policy_phone", "/policy/")
        shoot(page, "fleet_policy", "/fleet/?class=production&drift=yes", full_page=False)
        sync_cost(page)
        shoot(page, "cost", "/cost/")
        phone(page, "cost_phone", "/cost/")
        bulk_dry_run(page)
        protect_first(page, first)
        recently_deleted(page)
        browser.close()


if __name__ == "__main__":
    main()
