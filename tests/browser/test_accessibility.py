"""Accessibility in Chromium: axe-core on every page, a phone's width, the skip link.

axe-core is the npm package pinned in tests/browser/npm (`npm ci --prefix tests/browser/npm`,
which `make test` runs). It is injected with `page.evaluate`, which the page's CSP does not
govern; a <script> tag would be refused.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from audit.models import AuditEvent
from cost import sync as cost_sync
from fleet import tasks as fleet_tasks
from projects.neon import get_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_JS = Path(__file__).resolve().parent / "npm" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
PAGES = (
    "list", "detail", "settings", "create", "delete", "connect", "recently_deleted", "audit",
    "fleet", "login", "cost", "policy",
)  # fmt: skip


def load_axe(path: Path = AXE_JS) -> str:
    """axe-core's source. Missing, it skips the test locally and fails it in CI (CI set)."""
    if not path.exists():
        reason = "axe-core is not installed (run `npm ci --prefix tests/browser/npm`)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the accessibility tests, but {reason}.", pytrace=False)
        pytest.skip(reason)
    return path.read_text()


@pytest.fixture(scope="session")
def axe_source() -> str:
    return load_axe()


def test_without_axe_ci_fails_and_a_developer_skips(monkeypatch, tmp_path):
    missing = tmp_path / "axe.min.js"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the accessibility tests"):
        load_axe(missing)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="axe-core is not installed"):
        load_axe(missing)


@pytest.fixture
def paths(neon) -> dict[str, str]:
    """Every page by name, each with something on it: a deleted project, audit records."""
    client = get_client()
    shown, deleted = client.list_projects(limit=2).projects
    client.delete_project(deleted.id)
    AuditEvent.objects.create(
        actor="ada.admin@example.test", client_ip="203.0.113.7", action="project.update",
        project_id=shown.id, project_name=shown.name, outcome=AuditEvent.Outcome.SUCCESS,
        status=200, request_id="req-a11y-1",
        changes={"history_retention_seconds": {"before": 86400, "after": 3600}},
    )  # fmt: skip
    AuditEvent.objects.create(
        actor="otto.operator@example.test", action="project.delete", project_id=deleted.id,
        project_name=deleted.name, outcome=AuditEvent.Outcome.FAILURE, status=403,
        neon_message="Deleting projects needs the admin role.",
    )  # fmt: skip
    # The fleet with its table: an inventory read from the emulator, as the worker reads it.
    run = fleet_tasks.start_refresh(trigger="manual")
    fleet_tasks.refresh_inventory.call(run.pk)
    cost_sync.run(cost_sync.start_run())  # the cost page's numbers and charts
    project = f"/projects/{shown.id}"
    return {
        "list": "/projects/",
        "detail": f"{project}/",
        "settings": f"{project}/settings/",
        "create": "/projects/new/",
        "delete": f"{project}/delete/",
        "connect": f"{project}/connect/",
        "recently_deleted": "/projects/deleted/",
        "audit": "/audit/",
        "fleet": "/fleet/?sort=-storage",
        "cost": "/cost/",
        "policy": "/policy/",
        "login": "/accounts/login/",
    }


def open_page(page: Page, paths: dict[str, str], name: str) -> None:
    """Loads the page and waits until htmx has filled its lazy panels (the detail page's)."""
    if name == "login":
        page.context.clear_cookies()  # signed out: signed in, the login page redirects
    response = page.goto(paths[name])
    assert response.status == 200, f"{paths[name]}: HTTP {response.status}"
    page.wait_for_load_state("load")
    expect(page.locator('[aria-busy="true"]')).to_have_count(0)


def serious_violations(page: Page, axe_source: str) -> list[dict]:
    # Closed <details> (form sections, audit details) hide what axe should check too.
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.evaluate(axe_source)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    {target}")
            lines.append(f"      {node['html'][:160]}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_nothing_serious(signed_in_page: Page, paths, axe_source, name):
    page = signed_in_page
    open_page(page, paths, name)

    violations = serious_violations(page, axe_source)

    assert not violations, f"axe on {paths[name]}:\n{describe(violations)}"


@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_nothing_serious_on_the_settings_review(
    signed_in_page: Page, paths, axe_source, width
):
    """The review step is no URL of its own: reached by saving an irreversible change, so its
    typed-name box is on the page too."""
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 900})
    open_page(page, paths, "settings")
    page.get_by_label("Project name").fill("renamed-for-axe")
    page.get_by_text("Replication, audit and compliance").click()
    if page.get_by_label("Logical replication").is_enabled():
        page.get_by_label("Logical replication").check()
    page.get_by_role("button", name="Review changes").click()
    expect(page.get_by_role("heading", name=re.compile("^Review"))).to_be_visible()

    violations = serious_violations(page, axe_source)

    assert not violations, f"axe on the review at {width} px:\n{describe(violations)}"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("name", PAGES)
def test_axe_at_a_phones_width_finds_nothing_serious(signed_in_page: Page, paths, axe_source, name):
    """On a phone tables scroll in their own box, which axe asks keyboards to reach."""
    page = signed_in_page
    page.set_viewport_size(PHONE)
    open_page(page, paths, name)

    violations = serious_violations(page, axe_source)

    assert not violations, f"axe on {paths[name]} at {PHONE['width']} px:\n{describe(violations)}"


# Elements that stick out past the right edge of the screen, outermost first: why a page is
# wider than the screen.
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5
            && e.parentElement.getBoundingClientRect().right <= innerWidth + 0.5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + [...e.classList].map(c => '.' + c).join(''))
  .slice(0, 10)"""


@pytest.mark.parametrize("name", PAGES)
def test_at_a_phones_width_nothing_scrolls_sideways(signed_in_page: Page, paths, name):
    page = signed_in_page
    page.set_viewport_size(PHONE)
    open_page(page, paths, name)

    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"{paths[name]} is {scroll_width} px wide on a {inner_width} px screen: "
        f"{page.evaluate(STICKING_OUT)}"
    )
    if name != "login":
        # The top bar is one row on a phone; its menu holds the navigation and Sign out.
        assert page.locator(".topbar").bounding_box()["height"] < 60
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_have_attribute("aria-expanded", "false")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        sign_out = page.get_by_role("button", name="Sign out")
        expect(sign_out).to_be_visible()
        box = sign_out.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= inner_width, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box


# Not the login page: its username field has autofocus (Django's form), the one thing there to do.
@pytest.mark.parametrize("name", ["list", "detail"])
def test_the_first_tab_reaches_a_skip_link_to_the_content(signed_in_page: Page, paths, name):
    page = signed_in_page
    open_page(page, paths, name)
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.bounding_box()["y"] + skip.bounding_box()["height"] <= 0  # off screen until used

    page.keyboard.press("Tab")

    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box["y"] >= 0 and box["width"] > 20 and box["height"] > 10, box  # shown on focus
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main#main")).to_be_focused()
