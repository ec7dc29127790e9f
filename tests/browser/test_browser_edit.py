"""Create and settings flows in Chromium, against the live server and the emulator."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from projects.compute import MSG_CU_MIN_ABOVE_MAX
from projects.neon import get_client
from projects.project_state import project_state

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _posts(neon) -> int:
    return sum(n for route, n in neon.stats().items() if route.startswith(("POST", "PATCH")))


def _fill_create_form(page: Page, name: str) -> None:
    page.goto("/projects/new/")
    page.get_by_label("Project name").fill(name)
    page.get_by_label("Postgres version").select_option("16")
    page.get_by_text("Compute defaults").click()
    page.get_by_label("Minimum compute size").select_option("0.5")
    page.get_by_label("Maximum compute size").select_option("2")
    page.get_by_label("After a custom time").check()
    page.get_by_label("Custom suspend timeout (seconds)").fill("600")
    page.get_by_text("Network access").click()
    page.get_by_label("Allowed IP addresses").fill("203.0.113.7\n10.0.0.0/24")
    page.get_by_text("Maintenance window").click()
    page.get_by_label("Saturday").check()
    page.get_by_label("Maintenance start").fill("02:00")
    page.get_by_label("Maintenance end").fill("04:30")


def test_create_with_settings_then_find_it_in_the_list(signed_in_page: Page, neon):
    page = signed_in_page
    _fill_create_form(page, "browser-made-project")
    page.get_by_role("button", name="Create project").click()

    expect(page.get_by_role("heading", name="Project browser-made-project created")).to_be_visible()
    expect(page).to_have_title("Project browser-made-project created · Neon Admin")
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("type", "password")  # masked until revealed
    page.get_by_role("button", name="Reveal password").click()
    expect(password).to_have_attribute("type", "text")
    assert password.input_value()
    # The returned operations are followed live until they end; then polling stops.
    expect(page.get_by_text("All operations have ended")).to_be_visible(timeout=15_000)
    expect(page.locator("#operations .badge.status-finished").first).to_be_visible()

    created = next(p for p in get_client().list_projects(limit=50, search="browser-made").projects)
    assert created.pg_version == 16
    full = get_client().get_project(created.id)
    assert full.endpoint_defaults.autoscaling_limit_max_cu == 2
    assert full.endpoint_defaults.suspend_timeout_seconds == 600
    assert full.settings.allowed_ips == ("203.0.113.7", "10.0.0.0/24")
    assert full.settings.maintenance_window.weekdays == (6,)

    page.goto("/projects/")
    page.get_by_role("searchbox", name="Search projects").fill("browser-made")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="browser-made-project")).to_be_visible()


def test_edit_settings_and_see_them_on_the_detail_page(signed_in_page: Page, neon):
    page = signed_in_page
    project = get_client().list_projects(limit=1).projects[0]
    page.goto(f"/projects/{project.id}/settings/")
    page.get_by_label("Project name").fill("renamed-in-browser")
    page.get_by_text("History retention").first.click()
    page.get_by_label("History retention", exact=True).fill("78")
    page.get_by_label("History retention: unit").select_option("hours")
    page.get_by_text("Network access").click()
    page.get_by_label("Allowed IP addresses").fill("198.51.100.0/24")
    neon.clear_stats()
    page.get_by_role("button", name="Review changes").click()

    # The review shows before → after in an operator's units, and nothing is sent yet.
    review = page.locator(".review-table")
    expect(review.get_by_role("row", name=re.compile("History retention"))).to_contain_text(
        "78 hours"
    )
    expect(review.get_by_role("row", name=re.compile("Project name"))).to_contain_text(
        "renamed-in-browser"
    )
    assert _posts(neon) == 0
    page.get_by_role("button", name=re.compile(r"Apply \d+ changes")).click()

    page.wait_for_url(f"**/projects/{project.id}/")
    expect(page.get_by_text("Settings of renamed-in-browser saved")).to_be_visible()
    expect(page.get_by_role("heading", name="renamed-in-browser")).to_be_visible()
    expect(page.get_by_text("198.51.100.0/24")).to_be_visible()
    expect(page.get_by_text(re.compile(r"3 d 6 h|3 days, 6 hours"))).to_be_visible()


def test_an_invalid_form_is_refused_and_keeps_the_input(signed_in_page: Page, neon):
    page = signed_in_page
    _fill_create_form(page, "never-sent")
    page.get_by_label("Minimum compute size").select_option("4")
    page.get_by_label("Maximum compute size").select_option("1")
    neon.clear_stats()
    page.get_by_role("button", name="Create project").click()

    expect(page.get_by_text(MSG_CU_MIN_ABOVE_MAX)).to_be_visible()
    expect(page.locator("#section-compute")).to_have_attribute("open", "")
    expect(page.get_by_label("Project name")).to_have_value("never-sent")
    expect(page.get_by_label("Allowed IP addresses")).to_have_value("203.0.113.7\n10.0.0.0/24")
    assert _posts(neon) == 0


def test_create_and_settings_work_without_javascript(
    browser, live_server, neon, admin_user, client
):
    client.force_login(admin_user)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/projects/new/")
        page.get_by_label("Project name").fill("no-js-project")
        page.get_by_text("Compute defaults").click()  # <details> opens without JavaScript
        page.get_by_label("Never suspend").check()
        page.get_by_role("button", name="Create project").click()
        expect(page.get_by_role("heading", name="Project no-js-project created")).to_be_visible()
        # Chromium's script switch does not render <noscript>; a browser without JavaScript
        # shows this fallback, which holds the password in a <details> to open.
        assert page.locator("noscript").count() == 2
        created = get_client().list_projects(limit=50, search="no-js-project").projects[0]
        assert get_client().get_project(created.id).endpoint_defaults.suspend_timeout_seconds == -1

        page.goto(f"/projects/{created.id}/settings/")
        page.get_by_label("Project name").fill("no-js-renamed")
        page.get_by_role("button", name="Review changes").click()
        expect(page.get_by_role("heading", name="Review 1 change")).to_be_visible()
        page.get_by_role("button", name="Apply 1 change").click()
        page.wait_for_url(f"**/projects/{created.id}/")
        expect(page.get_by_text("Settings of no-js-renamed saved")).to_be_visible()
    finally:
        context.close()


def test_renaming_changes_nothing_else_of_odd_but_valid_settings(signed_in_page: Page, neon):
    """Values between the form's steps survive a rename exactly (issue: a rename once shrank
    0.75-7.5 CU computes to 0.25 CU)."""
    page = signed_in_page
    created = (
        get_client()
        .create_project(
            {
                "name": "odd-values",
                "history_retention_seconds": 5400,
                "default_endpoint_settings": {
                    "autoscaling_limit_min_cu": 0.75,
                    "autoscaling_limit_max_cu": 7.5,
                    "suspend_timeout_seconds": 123,
                },
                "settings": {"quota": {"logical_size_bytes": 512 * 2**20}},
            }
        )
        .project
    )
    before = project_state(get_client().get_project(created.id))
    page.goto(f"/projects/{created.id}/settings/")
    page.get_by_text("Compute defaults").click()
    expect(page.get_by_label("Minimum compute size")).to_have_value("0.75")
    expect(page.get_by_label("Maximum compute size")).to_have_value("7.5")
    page.get_by_label("Project name").fill("odd-values-renamed")
    page.get_by_role("button", name="Review changes").click()
    expect(page.get_by_role("heading", name="Review 1 change")).to_be_visible()
    expect(page.locator(".review-table tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Apply 1 change").click()
    page.wait_for_url(f"**/projects/{created.id}/")

    after = project_state(get_client().get_project(created.id))
    assert after["name"] == "odd-values-renamed"
    assert {**after, "name": before["name"]} == before


def test_a_review_of_an_irreversible_change_needs_the_typed_name(signed_in_page: Page, neon):
    page = signed_in_page
    project = next(
        p for p in get_client().list_projects(limit=25).projects
        if not get_client().get_project(p.id).settings.enable_logical_replication
    )  # fmt: skip
    page.goto(f"/projects/{project.id}/settings/")
    page.get_by_text("Replication, audit and compliance").click()
    page.get_by_label("Logical replication").check()
    page.get_by_role("button", name="Review changes").click()
    expect(page.get_by_text("cannot be undone")).to_be_visible()
    neon.clear_stats()
    page.get_by_label(re.compile("Type the project's name")).fill("wrong name")
    page.get_by_role("button", name="Apply 1 change").click()
    expect(page.get_by_text("Type the project's exact name")).to_be_visible()
    assert _posts(neon) == 0
    page.get_by_label(re.compile("Type the project's name")).fill(project.name)
    page.get_by_role("button", name="Apply 1 change").click()
    page.wait_for_url(f"**/projects/{project.id}/")
    assert get_client().get_project(project.id).settings.enable_logical_replication


def take_screenshots(page: Page, out_dir: Path, *, project_id: str) -> list[Path]:
    """Screenshots of the create (collapsed and refused), created and settings pages.

    `page` must be signed in as an admin on a server talking to an emulator (or Neon);
    `project_id` names an existing project. Reusable from scripts/screenshots.py.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = []

    def shot(name: str) -> None:
        path = out_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    page.goto("/projects/new/")
    shot("create")
    _fill_create_form(page, "screenshot-project")
    page.get_by_label("Minimum compute size").select_option("4")
    page.get_by_label("Maximum compute size").select_option("1")
    page.get_by_role("button", name="Create project").click()
    page.get_by_text(MSG_CU_MIN_ABOVE_MAX).wait_for()
    shot("create_error")
    page.get_by_label("Maximum compute size").select_option("8")
    page.get_by_role("button", name="Create project").click()
    page.get_by_text("All operations have ended").wait_for(timeout=15_000)
    shot("created")
    page.goto(f"/projects/{project_id}/settings/")
    page.get_by_text("Compute defaults").click()
    page.get_by_text("Network access").click()
    shot("settings")
    page.get_by_label("Project name").fill("renamed-for-the-review")
    page.get_by_label("Maximum compute size").select_option("4")
    page.get_by_role("button", name="Review changes").click()
    page.get_by_role("heading", name=re.compile("Review")).wait_for()
    shot("settings_review")
    return shots


def test_screenshots(signed_in_page: Page, neon, tmp_path):
    project_id = get_client().list_projects(limit=1).projects[0].id
    out_dir = Path(os.environ.get("NEONADMIN_SCREENSHOTS", tmp_path))  # set it to keep them
    shots = take_screenshots(signed_in_page, out_dir, project_id=project_id)
    assert all(path.stat().st_size > 10_000 for path in shots)
