"""In Chromium: the delete page (what goes, protected branches), Copy, the role placeholder."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from audit.models import AuditEvent
from projects.neon import get_client
from projects.views.detail import MSG_PROTECTED_BLOCKS_DELETE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFUSAL_HEADING = "Neon will refuse to delete this project"
COPY_TARGETS = {
    "Copy connection URI": "Connection URI",
    "Copy psql command": "psql command",
    "Copy environment variable line": "Environment variable",
}


@pytest.fixture
def console_errors(signed_in_page: Page):
    """Errors the page logs (a CSP violation shows up here)."""
    errors: list[str] = []
    signed_in_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


@pytest.fixture
def clipboard_page(signed_in_page: Page, live_server):
    signed_in_page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.url
    )
    return signed_in_page


def unprotected_project():
    client = get_client()
    for project in client.list_projects(limit=25).projects:
        branches = client.list_branches(project.id)
        if len(branches) > 1 and not any(b.protected for b in branches):
            return project
    pytest.fail("the seed has no unprotected project with several branches")


def protected_project():
    client = get_client()
    for project in client.list_projects(limit=25).projects:
        protected = [b for b in client.list_branches(project.id) if b.protected]
        if protected:
            return project, protected
    pytest.fail("the seed has no project with a protected branch")


def counted(n: int, word: str, plural: str) -> str:
    return f"{n} {word if n == 1 else plural}"


def test_delete_page_counts_what_goes(signed_in_page: Page, neon, console_errors):
    page = signed_in_page
    client = get_client()
    project = unprotected_project()
    branches = client.list_branches(project.id)
    endpoints = client.list_endpoints(project.id)
    databases = sum(len(client.list_databases(project.id, b.id)) for b in branches)
    page.goto(f"/projects/{project.id}/delete/")
    counts = page.locator(".lost-counts")
    expect(counts).to_contain_text(counted(len(branches), "branch", "branches"))
    expect(counts).to_contain_text(counted(len(endpoints), "compute", "computes"))
    expect(counts).to_contain_text(counted(databases, "database", "databases"))
    table = page.get_by_role("table", name=f"Branches of {project.name}")
    expect(table.locator("tbody tr")).to_have_count(len(branches))
    for branch in branches:
        header = table.get_by_role("rowheader", name=re.compile(re.escape(branch.name)))
        expect(header).to_be_visible()
    expect(page.get_by_text("which Neon marks as beta")).to_be_visible()
    expect(page.get_by_role("heading", name=REFUSAL_HEADING)).to_have_count(0)
    assert console_errors == []


def test_delete_page_warns_about_protected_branches(signed_in_page: Page, neon, console_errors):
    page = signed_in_page
    project, protected = protected_project()
    page.goto(f"/projects/{project.id}/delete/")
    warning = page.get_by_role("region", name=REFUSAL_HEADING)
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(MSG_PROTECTED_BLOCKS_DELETE)
    for branch in protected:
        expect(warning.get_by_text(branch.name, exact=True)).to_be_visible()
        row = page.get_by_role("rowheader", name=re.compile(re.escape(branch.name)))
        expect(row.get_by_text("protected", exact=True)).to_be_visible()
    # The form stays: Neon has the last word, and its refusal is shown in place.
    page.get_by_label(f"Type {project.name} to confirm").fill(project.name)
    page.get_by_role("button", name="Delete this project").click()
    refusal = page.locator("#delete-form").get_by_role("alert")
    expect(refusal).to_contain_text("protected")
    expect(refusal).to_contain_text("Request ID")
    expect(warning).to_be_visible()
    assert get_client().get_project(project.id)
    assert console_errors == []


def test_copy_buttons_copy_each_string_as_shown(clipboard_page: Page, neon, console_errors):
    page = clipboard_page
    project = get_client().list_projects(limit=5).projects[0]
    page.goto(f"/projects/{project.id}/connect/")
    announcer = page.locator("#copy-status")
    expect(announcer).to_have_attribute("aria-live", "polite")
    for button_name, box_name in COPY_TARGETS.items():
        box = page.get_by_role("textbox", name=box_name)
        shown = box.input_value()
        assert "********" in shown  # masked on screen; Copy copies a string that connects
        page.get_by_role("button", name=button_name).click()
        expect(page.get_by_role("button", name=button_name)).to_have_text("Copied")
        expect(announcer).to_have_text("Copied, password included.")
        copied = page.evaluate("navigator.clipboard.readText()")
        password = re.search(r"://[^:/@\s]+:([^@\s]+)@", copied).group(1)
        assert password != "********" and copied == shown.replace("********", password)
        assert box.input_value() == shown  # the page stays masked
    reveals = AuditEvent.objects.filter(action="connection.reveal", outcome="success")
    assert reveals.count() == len(COPY_TARGETS)  # each copy is recorded as a reveal
    # The state goes back to "Copy" by itself.
    expect(page.get_by_role("button", name="Copy connection URI")).to_have_text("Copy")

    # After the reveal (an htmx swap) the new buttons work and copy the revealed string.
    page.get_by_role("button", name="Reveal password").click()
    expect(page.get_by_role("button", name="Hide password")).to_be_visible()
    for button_name, box_name in COPY_TARGETS.items():
        shown = page.get_by_role("textbox", name=box_name).input_value()
        assert "********" not in shown
        page.get_by_role("button", name=button_name).click()
        expect(page.get_by_role("button", name=button_name)).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == shown
    assert console_errors == []


def test_copy_without_a_clipboard_selects_the_text(signed_in_page: Page, neon):
    """Plain http has no navigator.clipboard; the old copy command may be refused too."""
    page = signed_in_page
    page.add_init_script(
        "Object.defineProperty(navigator, 'clipboard', {value: undefined});"
        "document.execCommand = () => false;"
    )
    project = get_client().list_projects(limit=5).projects[0]
    page.goto(f"/projects/{project.id}/connect/")
    # Masked, selecting would copy a string that cannot connect: it says to reveal instead.
    button = page.get_by_role("button", name="Copy psql command")
    button.click()
    expect(button).to_have_text("Reveal to copy")
    expect(page.locator("#copy-status")).to_contain_text("reveal the password, then copy")
    page.get_by_role("button", name="Reveal password").click()
    expect(page.get_by_role("button", name="Hide password")).to_be_visible()
    button = page.get_by_role("button", name="Copy psql command")
    button.click()
    expect(button).to_have_text("Press Ctrl+C")
    expect(page.locator("#copy-status")).to_contain_text("The text is selected")
    box = page.get_by_role("textbox", name="psql command")
    expect(box).to_be_focused()
    selected = box.evaluate("b => b.value.slice(b.selectionStart, b.selectionEnd)")
    assert selected == box.input_value()


def test_copy_buttons_stay_hidden_without_javascript(
    browser, live_server, neon, admin_user, client
):
    client.force_login(admin_user)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    try:
        page = context.new_page()
        project = get_client().list_projects(limit=5).projects[0]
        page.goto(f"/projects/{project.id}/connect/")
        expect(page.get_by_role("textbox", name="Connection URI")).to_be_visible()
        for button_name in COPY_TARGETS:
            expect(page.get_by_role("button", name=button_name)).to_be_hidden()
    finally:
        context.close()


def test_create_form_role_placeholder_follows_the_database_name(signed_in_page: Page, neon):
    page = signed_in_page
    page.goto("/projects/new/")
    page.get_by_text("Default branch, role and database").click()
    role, database = page.get_by_label("Owner role name"), page.get_by_label("Database name")
    expect(role).to_have_attribute("data-placeholder-from", "#id_database_name")
    expect(role).to_have_attribute("placeholder", "neondb_owner")
    database.press_sequentially("orders")
    expect(role).to_have_attribute("placeholder", "orders_owner")
    expect(role).to_have_value("")  # only the hint changes; what Neon gets is still up to Neon
    database.fill("")
    expect(role).to_have_attribute("placeholder", "neondb_owner")  # from the database's hint


def take_screenshots(page: Page, out_dir: Path) -> list[Path]:
    """The delete page of a plain project and of a protected one, and the connect page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plain = unprotected_project()
    protected, _ = protected_project()
    shots = []
    for name, path in (
        ("delete", f"/projects/{plain.id}/delete/"),
        ("delete_protected", f"/projects/{protected.id}/delete/"),
        ("connect", f"/projects/{plain.id}/connect/"),
    ):
        page.goto(path)
        if name == "connect":
            page.get_by_role("button", name="Copy connection URI").click()
        shots.append(out_dir / f"{name}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
    return shots


def test_screenshots(clipboard_page: Page, neon, tmp_path):
    out_dir = Path(os.environ.get("NEONADMIN_SCREENSHOTS", tmp_path))  # set it to keep them
    assert all(path.stat().st_size > 10_000 for path in take_screenshots(clipboard_page, out_dir))
