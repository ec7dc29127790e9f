"""In Chromium: protect a project, fail to delete it, ask for the protection to go, and a
second admin (another browser) approves; the requester is never offered Approve."""

import re

import pytest
from playwright.sync_api import Page, expect

from audit.services import Actor
from governance import services
from governance.models import ApprovalRequest, Protection
from projects.neon import get_client
from tests.browser.test_accessibility import describe, load_axe, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DELETES = "DELETE /api/v2/projects/{project_id}"


def plain_project():
    client = get_client()
    for project in client.list_projects(limit=25).projects[2:]:
        if not any(b.protected for b in client.list_branches(project.id)):
            return project
    pytest.fail("the seed has no project without protected branches")


def test_protect_refuse_delete_and_unprotect_with_a_second_admin(
    signed_in_page: Page, second_admin_page: Page, neon, settings
):
    settings.APPROVAL_REQUIRED_FOR = ["unprotect"]
    page = signed_in_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    project = plain_project()

    page.goto(f"/projects/{project.id}/")
    page.wait_for_load_state("networkidle")
    card = page.locator("#protection")
    expect(card.get_by_label("Why protect it?")).to_be_hidden()  # a status line, not a form
    card.get_by_text("Protect…").click()
    card.get_by_label("Why protect it?").fill("Customer invoices live here")
    card.get_by_role("button", name="Protect").click()
    expect(card.locator(".protected-badge")).to_be_visible()
    expect(card).to_contain_text("Customer invoices live here")
    expect(card).to_contain_text("ada.admin@example.test")

    page.goto("/projects/?limit=25")
    row = page.get_by_role("row").filter(has_text=project.id)
    expect(row.locator(".protected-badge")).to_have_text("protected")

    neon.clear_stats()
    page.goto(f"/projects/{project.id}/delete/")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#delete-form")).to_contain_text("the delete will be refused")
    # Nothing to type and no Delete button: the way out is removing the protection.
    expect(page.get_by_role("button", name="Delete this project")).to_have_count(0)
    expect(page.get_by_label(f"Type {project.name} to confirm")).to_have_count(0)
    expect(page.locator("#delete-form")).to_contain_text("Request removal of protection…")
    assert neon.stats().get(DELETES, 0) == 0
    assert get_client().get_project(project.id)

    page.goto(f"/projects/{project.id}/")
    page.wait_for_load_state("networkidle")
    card = page.locator("#protection")
    card.get_by_text("Request removal of protection…").click()
    card.get_by_label("Why remove the protection?").fill("Moved to the new cluster")
    card.get_by_role("button", name="Request removal of protection").click()
    expect(card).to_contain_text("waits for a second admin")
    approval = ApprovalRequest.objects.get()
    assert Protection.objects.exists()

    # The requester is offered no Approve, only Withdraw.
    page.goto(f"/governance/approvals/{approval.pk}/")
    expect(page.get_by_role("button", name="Withdraw request")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator(".mainnav")).to_contain_text("Approvals 1")

    other = second_admin_page
    other.goto("/governance/approvals/")
    other.get_by_role("link", name=re.compile("Remove deletion protection")).click()
    expect(other.locator("#h-change + p + table")).to_contain_text("Moved to the new cluster")
    other.get_by_label("Note (optional)").fill("Confirmed with the team")
    other.get_by_role("button", name="Approve").click()
    expect(other.locator("#approval-status")).to_have_text("approved")
    expect(other.locator("#flash")).to_contain_text("Protection of")

    assert not Protection.objects.exists()
    page.goto(f"/projects/{project.id}/")
    expect(page.locator("#protection")).to_contain_text("Not protected")
    assert errors == []


@pytest.mark.parametrize("name", ["detail", "delete", "approvals", "approval"])
def test_axe_finds_nothing_serious_on_governance_pages(signed_in_page: Page, neon, name):
    ada = Actor(username="ada.admin@example.test")
    project = plain_project()
    services.protection_create(
        actor=ada, project_id=project.id, project_name=project.name, reason="Invoices"
    )
    approval = services.approval_request_create(
        actor=Actor(username="bea.admin@example.test"),
        kind="delete",
        change={"project_id": project.id, "project_name": project.name},
        summary=f"Delete project “{project.name}”",
        project_id=project.id,
        project_name=project.name,
    )
    path = {
        "detail": f"/projects/{project.id}/",
        "delete": f"/projects/{project.id}/delete/",
        "approvals": "/governance/approvals/",
        "approval": f"/governance/approvals/{approval.pk}/",
    }[name]
    page = signed_in_page
    assert page.goto(path).status == 200
    page.wait_for_load_state("networkidle")
    violations = serious_violations(page, load_axe())
    assert not violations, describe(violations)
