"""Browsing from Chromium: search, load more to the end, detail, delete, connection details."""

import re
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from neon_emulator.testing import run_emulator
from projects.forms.access import MSG_NAME_MISMATCH
from projects.neon import MSG_UNAVAILABLE, NeonNotFound, get_client
from tests.conftest import TEST_NEON_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MANY = 1000
LIST_CALL = "GET /api/v2/projects"


@pytest.fixture(scope="module")
def big_emulator():
    """A second emulator holding 1,000 projects, for walking the list to its end."""
    with run_emulator(seed=MANY, api_keys=[TEST_NEON_KEY], op_seconds=0.5) as emu:
        yield emu


@pytest.fixture
def many(signed_in_page, big_emulator, settings):
    """The signed-in page, with the dashboard pointed at the 1,000-project emulator."""
    big_emulator.reset(seed=MANY)
    settings.NEON_API_URL = big_emulator.base_url
    cache.clear()
    return signed_in_page, big_emulator


@pytest.fixture
def console_errors(signed_in_page: Page):
    """Errors the page logs (a CSP violation shows up here); checked where a test asks."""
    errors: list[str] = []
    signed_in_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def rows(page: Page):
    return page.locator("#results tbody tr:not(#load-more)")


def click_load_more(page: Page, emulator, expected_rows: int) -> None:
    emulator.clear_stats()
    page.get_by_role("button", name="Load more").click()
    expect(rows(page)).to_have_count(expected_rows, timeout=20_000)
    assert emulator.stats().get(LIST_CALL) == 1  # one upstream call per click


def test_search_filters_and_keeps_the_url(signed_in_page: Page, neon):
    page = signed_in_page
    target = get_client().list_projects(limit=25).projects[7]
    page.goto("/projects/")
    expect(rows(page)).to_have_count(10)
    page.get_by_role("searchbox", name="Search projects").fill(target.name)
    expect(page).to_have_url(re.compile(r"search=" + re.escape(target.name)))
    expect(page.get_by_role("link", name=target.name, exact=True)).to_be_visible()
    for name in rows(page).locator("td:first-child a").all_inner_texts():
        assert target.name.lower() in name.lower()
    page.get_by_role("searchbox", name="Search projects").fill("zz-no-such-project")
    expect(page.get_by_text("No project matches “zz-no-such-project”.")).to_be_visible()
    page.reload()  # the URL alone brings the same view back
    expect(page.get_by_role("searchbox", name="Search projects")).to_have_value(
        "zz-no-such-project"
    )


def listed_count(org_id: str = "") -> int:
    """How many projects Neon lists for one owner: without org_id the personal account's."""
    count, cursor = 0, None
    while True:
        page = get_client().list_projects(limit=400, cursor=cursor, org_id=org_id or None)
        count += len(page.projects)
        if not (cursor := page.next_cursor):
            return count


def load_to_the_end(page: Page, emulator, total: int) -> list[str]:
    """Click "Load more" (page size 400) until it is gone; the project IDs shown."""
    expect(rows(page)).to_have_count(min(total, 400))
    shown, clicks = min(total, 400), 0
    while page.get_by_role("button", name="Load more").count():
        shown = min(shown + 400, total)
        click_load_more(page, emulator, shown)
        clicks += 1
    assert shown == total and clicks == total // 400  # the short page is the last
    return rows(page).locator(".mono").all_inner_texts()


def test_load_more_to_the_end_of_1000_projects(many):
    """All 1,000 seeded projects, walked in the browser: Neon lists the personal account's
    without org_id and each organization's with it, so the walk covers every owner."""
    page, emulator = many
    page.goto("/projects/?limit=400")
    owners = [
        value
        for value in page.get_by_label("Organization")
        .locator("option")
        .evaluate_all("options => options.map(o => o.value)")
    ]
    assert owners[0] == "" and len(owners) >= 3  # personal account + the organizations
    seen: list[str] = []
    for org_id in owners:
        total = listed_count(org_id)
        page.goto(f"/projects/?limit=400&org_id={org_id}")
        ids = load_to_the_end(page, emulator, total)
        assert len(set(ids)) == total  # no project twice
        seen += ids
    assert len(seen) == len(set(seen)) == MANY
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)


def test_load_more_at_the_default_page_size_appends_ten_each_click(many):
    page, emulator = many
    page.goto("/projects/")
    expect(rows(page)).to_have_count(10)
    for expected in (20, 30, 40):
        click_load_more(page, emulator, expected)
    assert "cursor" not in page.url  # "Load more" does not change the bookmarkable URL


@pytest.fixture(scope="module")
def slow_emulator():
    """Operations that take seconds, long enough to watch them run and finish."""
    with run_emulator(seed=5, api_keys=[TEST_NEON_KEY], op_seconds=4) as emu:
        yield emu


def test_detail_loads_its_panels_and_follows_running_operations(
    signed_in_page: Page, slow_emulator, settings, console_errors
):
    page = signed_in_page
    slow_emulator.reset(seed=5)
    settings.NEON_API_URL = slow_emulator.base_url
    project = get_client().list_projects(limit=5).projects[1]
    get_client().update_project(
        project.id, {"default_endpoint_settings": {"autoscaling_limit_max_cu": 2}}
    )
    page.goto(f"/projects/{project.id}/")
    expect(page.get_by_role("heading", name=project.name, level=1)).to_be_visible()
    expect(page.locator("#branches table")).to_be_visible()
    expect(page.locator("#endpoints table")).to_be_visible()
    operations = page.locator("#operations")
    expect(operations.get_by_text("in progress")).to_be_visible()
    expect(operations).to_have_attribute("hx-trigger", "every 2s")
    # The panel refreshes itself, and stops polling once Neon reports every operation done.
    expect(operations.get_by_text("in progress")).to_have_count(0, timeout=15_000)
    expect(operations).not_to_have_attribute("hx-trigger", "every 2s")
    expect(operations.locator("tbody tr").first).to_contain_text("finished")
    expect(operations.get_by_text("apply_config").first).to_be_visible()
    assert console_errors == []


def test_a_failing_panel_shows_its_error_and_the_page_stays_usable(signed_in_page: Page, neon):
    page = signed_in_page
    project = get_client().list_projects(limit=5).projects[2]
    neon.set_faults({"status": 500, "path_prefix": f"/api/v2/projects/{project.id}/endpoints"})
    page.goto(f"/projects/{project.id}/")
    expect(page.locator("#endpoints").get_by_role("alert")).to_contain_text(MSG_UNAVAILABLE)
    expect(page.locator("#branches table")).to_be_visible()
    neon.clear_faults()
    page.locator("#endpoints").get_by_role("link", name="Try again").click()
    expect(page.locator("#endpoints table")).to_be_visible()
    page.get_by_role("link", name="Connect").click()
    expect(page.get_by_role("heading", name=f"Connect to {project.name}")).to_be_visible()


def test_unknown_project_shows_a_clear_page(signed_in_page: Page, neon):
    page = signed_in_page
    response = page.goto("/projects/no-such-project-0/")
    assert response.status == 404
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("link", name="Back to projects")).to_be_visible()


def test_delete_refused_with_a_wrong_name_then_done_with_the_right_one(
    signed_in_page: Page, neon, console_errors
):
    page = signed_in_page
    project = get_client().list_projects(limit=5).projects[3]
    page.goto(f"/projects/{project.id}/")
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_text("recoverable for 7 days")).to_be_visible()
    name_box = page.get_by_label(f"Type {project.name} to confirm")
    button = page.get_by_role("button", name="Delete this project")
    expect(button).to_be_disabled()
    name_box.fill(project.name.upper())
    expect(button).to_be_disabled()
    # A tampered page still meets the server's check.
    button.evaluate("b => b.disabled = false")
    button.click()
    expect(page.locator("#delete-form .errorlist")).to_have_text(MSG_NAME_MISMATCH)
    expect(page.get_by_label(f"Type {project.name} to confirm")).to_have_value(project.name.upper())
    assert get_client().get_project(project.id).name == project.name

    page.get_by_label(f"Type {project.name} to confirm").fill(project.name)
    expect(button).to_be_enabled()
    button.click()
    page.wait_for_url("**/projects/")
    expect(page.get_by_role("status").filter(has_text="was deleted")).to_contain_text(project.name)
    with pytest.raises(NeonNotFound):
        get_client().get_project(project.id)
    # By address: the seed may hold another project of the same name.
    expect(page.locator(f'a[href="/projects/{project.id}/"]')).to_have_count(0)
    assert console_errors == []


def test_connection_uri_pooled_and_direct(signed_in_page: Page, neon, console_errors):
    page = signed_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    project = get_client().list_projects(limit=5).projects[0]
    page.goto(f"/projects/{project.id}/connect/")
    uri_box = page.get_by_role("textbox", name="Connection URI")
    pooling = page.get_by_label("Connection pooling")
    expect(pooling).to_be_checked()
    expect(uri_box).to_have_value(re.compile(r"-pooler\."))
    expect(uri_box).to_have_value(re.compile(r":\*{8}@"))  # masked

    pooling.uncheck()
    expect(uri_box).not_to_have_value(re.compile(r"-pooler\."))
    expect(page).to_have_url(re.compile(r"connect/\?"))  # the choice is in the URL
    expect(page.get_by_role("textbox", name="psql command")).to_have_value(
        re.compile(r"^psql 'postgresql://")
    )
    expect(page.get_by_role("textbox", name="Environment variable")).to_have_value(
        re.compile(r"^DATABASE_URL=postgresql://")
    )

    page.get_by_role("button", name="Reveal password").click()
    expect(page.get_by_role("button", name="Hide password")).to_be_visible()
    revealed = page.get_by_role("textbox", name="Connection URI").input_value()
    assert "********" not in revealed and "-pooler." not in urlsplit(revealed).hostname
    page.get_by_role("button", name="Copy connection URI").click()
    expect(page.get_by_role("button", name="Copy connection URI")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == revealed

    page.get_by_label("Connection pooling").check()
    expect(page.get_by_role("textbox", name="Connection URI")).to_have_value(
        re.compile(r":\*{8}@ep-[a-z0-9-]+-pooler\.")
    )


def test_changing_branch_refreshes_the_choices(signed_in_page: Page, neon):
    page = signed_in_page
    client = get_client()
    for project in client.list_projects(limit=25).projects:
        endpoints = client.list_endpoints(project.id)
        branches = [b for b in client.list_branches(project.id) if not b.default]
        other = next((b for b in branches if any(e.branch_id == b.id for e in endpoints)), None)
        if other:
            break
    else:
        pytest.fail("the seed has no second branch with an endpoint")
    page.goto(f"/projects/{project.id}/connect/")
    page.get_by_label("Branch").select_option(other.id)
    own = next(e for e in endpoints if e.branch_id == other.id)
    expect(page.get_by_label("Compute endpoint")).to_have_value(own.id)
    expect(page.get_by_role("textbox", name="Connection URI")).to_have_value(
        re.compile(re.escape(own.id))
    )


@pytest.fixture
def no_js_page(browser, live_server, neon, admin_user, client):
    """An admin's page with JavaScript switched off: every flow must still work."""
    client.force_login(admin_user)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_detail_connect_and_delete_without_javascript(no_js_page: Page, neon):
    page = no_js_page
    project = get_client().list_projects(limit=5).projects[4]
    page.goto(f"/projects/{project.id}/")
    page.get_by_role("link", name="Show branches").click()
    expect(page.locator("#branches table")).to_be_visible()
    expect(page.locator("#endpoints table")).to_be_visible()
    expect(page.locator("#operations table")).to_be_visible()

    page.get_by_role("link", name="Connect").click()
    uri_box = page.get_by_role("textbox", name="Connection URI")
    expect(uri_box).to_have_value(re.compile(r"-pooler\."))
    page.get_by_label("Connection pooling").uncheck()
    page.get_by_role("button", name="Show connection details").click()
    expect(uri_box).not_to_have_value(re.compile(r"-pooler\."))
    page.get_by_role("button", name="Reveal password").click()
    expect(uri_box).not_to_have_value(re.compile(r"\*{8}"))
    assert "-pooler." not in urlsplit(uri_box.input_value()).hostname

    page.goto(f"/projects/{project.id}/delete/")
    name_box = page.get_by_label(f"Type {project.name} to confirm")
    name_box.fill(project.name + "x")
    page.get_by_role("button", name="Delete this project").click()
    expect(page.locator(".errorlist")).to_have_text(MSG_NAME_MISMATCH)
    page.get_by_label(f"Type {project.name} to confirm").fill(project.name)
    page.get_by_role("button", name="Delete this project").click()
    page.wait_for_url("**/projects/")
    expect(page.get_by_role("status").filter(has_text="was deleted")).to_contain_text(project.name)
    with pytest.raises(NeonNotFound):
        get_client().get_project(project.id)
