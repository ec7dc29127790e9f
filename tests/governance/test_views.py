"""Protection and approvals through the pages: what each role may do, what reaches Neon."""

import pytest
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from audit.models import AuditEvent
from governance import services
from governance.models import ApprovalRequest, Protection
from governance.presenters import confirmation
from projects.neon import get_client
from projects.services import project_create
from tests.formdata import form_data
from tests.governance.conftest import neon_writes

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
Status = ApprovalRequest.Status
DELETES = "DELETE /api/v2/projects/{project_id}"


def html(response) -> str:
    return response.content.decode()


def protect(project, actor, reason="production data"):
    return services.protection_create(
        actor=actor, project_id=project.id, project_name=project.name, reason=reason
    )


def failures(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, outcome="failure"))


# --- Protection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_admin_protects_and_unprotects_from_the_detail_page(project, admin_client_, neon, htmx):
    detail = reverse("projects:detail", args=[project.id])
    page = html(admin_client_.get(detail))
    assert 'id="protection"' in page and "Protect</button>" in page
    headers = HX if htmx else {}
    url = reverse("governance:protect", args=[project.id])
    done = admin_client_.post(url, {"reason": "holds invoices", "next": detail}, headers=headers)
    if htmx:
        assert done.status_code == 200 and "<html" not in html(done)
        assert "holds invoices" in html(done) and "Remove protection" in html(done)
    else:
        assert done.status_code == 302 and done["Location"] == detail
    protection = Protection.objects.get()
    assert (protection.project_name, protection.protected_by) == (
        project.name,
        "ada.admin@example.test",
    )
    page = html(admin_client_.get(detail))
    assert "ada.admin@example.test" in page and "holds invoices" in page
    assert "Remove protection" in page
    url = reverse("governance:unprotect", args=[project.id])
    admin_client_.post(url, {"reason": "decommissioned"}, headers=headers)
    assert not Protection.objects.exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", "outcome")) == [
        ("project.protect", "success"),
        ("project.unprotect", "success"),
    ]
    assert neon_writes(neon) == 0


def test_a_reason_is_required_and_the_form_comes_back(project, admin_client_):
    url = reverse("governance:protect", args=[project.id])
    response = admin_client_.post(url, {"reason": "   "}, headers=HX)
    assert response.status_code == 200 and "This field is required." in html(response)
    assert not Protection.objects.exists()


@pytest.mark.parametrize("who", ["viewer_client", "operator_client"])
@pytest.mark.parametrize("name", ["protect", "unprotect"])
def test_only_admins_change_protection(project, request, who, name, ada):
    client = request.getfixturevalue(who)
    if name == "unprotect":
        protect(project, ada)
    detail = html(client.get(reverse("projects:detail", args=[project.id])))
    assert 'id="protection"' in detail and "<textarea" not in detail  # seen, not offered
    response = client.post(reverse(f"governance:{name}", args=[project.id]), {"reason": "x"})
    assert response.status_code == 403
    (refused,) = failures(f"project.{name}")
    assert refused.status == 403 and refused.project_id == project.id
    assert Protection.objects.exists() == (name == "unprotect")


def test_the_list_shows_protection_with_one_query_then_none(project, admin_client_, ada, neon):
    """One query after a change; then the badges come from the cache (governance.selectors)."""
    protect(project, ada)
    for expected_queries in (1, 0):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client_.get(reverse("projects:list") + "?limit=25")
        assert html(response).count("protected-badge") == 1
        sql = [q["sql"] for q in queries.captured_queries]
        assert len([q for q in sql if "governance_protection" in q]) == expected_queries


@pytest.mark.parametrize("htmx", [False, True])
def test_a_protected_project_cannot_be_deleted(project, admin_client_, ada, neon, htmx):
    protect(project, ada)
    url = reverse("projects:delete", args=[project.id])
    page = html(admin_client_.get(url))
    assert "production data" in page and "the delete will be refused" in page
    neon.clear_stats()
    response = admin_client_.post(url, {"name": project.name}, headers=HX if htmx else {})
    assert neon.stats() == {}  # refused before any Neon call, not even a read
    if htmx:
        assert response["HX-Redirect"] == url
    else:
        assert response.status_code == 302 and response["Location"] == url
    (refused,) = failures("project.delete")
    assert "protected" in refused.neon_message and refused.project_name == project.name
    shown = html(admin_client_.get(url))
    assert escape(refused.neon_message) in shown
    assert get_client().get_project(project.id)


def test_protected_irreversible_settings_are_refused(project, admin_client_, ada, neon):
    protect(project, ada)
    url = f"/projects/{project.id}/settings/"
    data = {**form_data(html(admin_client_.get(url)), "settings-form"), "hipaa": ["on"]}
    reviewed = admin_client_.post(url, data)
    assert "This project is protected" in html(reviewed)
    apply = {**form_data(html(reviewed), "settings-form"), "step": ["apply"]}
    refused = admin_client_.post(url, {**apply, "confirm_name": [project.name]})
    assert refused.status_code == 200 and "cannot be changed until an admin" in html(refused)
    assert neon_writes(neon) == 0
    assert failures("project.update")[0].request_data == {"settings": {"hipaa": True}}
    assert not get_client().get_project(project.id).settings.hipaa


def test_reversible_settings_of_a_protected_project_still_apply(project, admin_client_, ada):
    protect(project, ada)
    url = f"/projects/{project.id}/settings/"
    data = {
        **form_data(html(admin_client_.get(url)), "settings-form"),
        "block_vpc_connections": ["on"],
    }
    reviewed = admin_client_.post(url, data)
    apply = {**form_data(html(reviewed), "settings-form"), "step": ["apply"]}
    assert admin_client_.post(url, apply).status_code == 302
    assert get_client().get_project(project.id).settings.block_vpc_connections


def test_new_projects_are_protected_when_configured(
    neon, settings, ada, django_capture_on_commit_callbacks
):
    settings.PROTECT_NEW_PROJECTS = True
    with django_capture_on_commit_callbacks(execute=True):  # features hear of writes on commit
        created = project_create(actor=ada, data={"name": "born-protected"})
    protection = Protection.objects.get(project_id=created.project.id)
    assert protection.reason == services.PROTECT_AT_CREATION
    assert protection.project_name == "born-protected"


def test_new_projects_are_not_protected_by_default(neon, ada, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        project_create(actor=ada, data={"name": "born-plain"})
    assert not Protection.objects.exists()


# --- Approvals ------------------------------------------------------------------------------------


@pytest.fixture
def needs(settings):
    def needs(*kinds):
        settings.APPROVAL_REQUIRED_FOR = list(kinds)

    return needs


def test_delete_needing_approval_becomes_a_request(
    project, admin_client_, second_admin_client, neon, needs
):
    needs("delete")
    url = reverse("projects:delete", args=[project.id])
    assert "Request deletion" in html(admin_client_.get(url))
    neon.clear_stats()
    response = admin_client_.post(url, {"name": project.name, "reason": "replaced by v2"})
    approval = ApprovalRequest.objects.get()
    assert response["Location"] == reverse("governance:approval", args=[approval.pk])
    assert neon_writes(neon) == 0
    assert (approval.kind, approval.status, approval.project_id) == (
        "delete",
        "pending",
        project.id,
    )
    assert "replaced by v2" in approval.summary and approval.before["name"] == project.name

    # The requester sees no Approve button, and the server refuses it (audited).
    detail = reverse("governance:approval", args=[approval.pk])
    own_page = html(admin_client_.get(detail))
    assert ">Approve</button>" not in own_page and "Withdraw request" in own_page
    refused = admin_client_.post(reverse("governance:approve", args=[approval.pk]))
    assert refused.status_code == 403
    (record,) = failures("approval.approve")
    assert record.neon_message == services.MSG_SELF_APPROVAL
    assert neon_writes(neon) == 0

    other_page = html(second_admin_client.get(detail))
    assert ">Approve</button>" in other_page and ">Reject</button>" in other_page
    assert 'id="approve-button" class="danger"' in other_page  # approving deletes
    unconfirmed = second_admin_client.post(
        reverse("governance:approve", args=[approval.pk]), {"note": "ok"}, headers=HX
    )
    assert unconfirmed.status_code == 200 and "exactly to approve" in html(unconfirmed)
    approval.refresh_from_db()
    assert approval.status == Status.PENDING and neon.stats().get(DELETES, 0) == 0
    done = second_admin_client.post(
        reverse("governance:approve", args=[approval.pk]),
        {"note": "ok", "confirm": project.name},
        headers=HX,
    )
    assert done["HX-Redirect"] == detail
    approval.refresh_from_db()
    assert approval.status == Status.APPROVED and approval.decided_by == "bea.admin@example.test"
    assert neon.stats()[DELETES] == 1
    deleted = AuditEvent.objects.get(action="project.delete")
    assert deleted.outcome == "success" and deleted.actor == "bea.admin@example.test"
    assert "deleted" in html(second_admin_client.get(detail))

    # Every step of the request, the delete it ran included, is one filter of the audit log.
    assert deleted.approval_id == approval.pk
    trail = admin_client_.get(reverse("audit:list"), {"approval": approval.pk})
    actions = [event.action for event in trail.context["page"].events]
    assert actions == ["approval.approve", "project.delete", "approval.approve", "approval.request"]
    assert f"approval request #{approval.pk}" in html(trail)
    export = b"".join(admin_client_.get(reverse("audit:export"), {"approval": approval.pk}))
    assert export.decode().count("\r\n") == 1 + 4  # the header, then the four records
    assert not AuditEvent.objects.filter(approval_id=None, action__startswith="approval.")


def test_irreversible_change_needing_approval_sends_exactly_the_request(
    project, admin_client_, second_admin_client, neon, needs
):
    needs("irreversible")
    url = f"/projects/{project.id}/settings/"
    data = {
        **form_data(html(admin_client_.get(url)), "settings-form"),
        "enable_logical_replication": ["on"],
        "block_vpc_connections": ["on"],
    }
    reviewed = admin_client_.post(url, data)
    assert "Request approval for 2 changes" in html(reviewed)
    apply = {**form_data(html(reviewed), "settings-form"), "step": ["apply"]}
    asked = admin_client_.post(url, {**apply, "confirm_name": [project.name]})
    approval = ApprovalRequest.objects.get()
    assert asked.status_code == 302 and neon_writes(neon) == 0
    body = {"settings": {"enable_logical_replication": True, "block_vpc_connections": True}}
    assert approval.change["body"] == body
    page = html(second_admin_client.get(reverse("governance:approval", args=[approval.pk])))
    assert "Logical replication" in page and "cannot be undone" in page

    second_admin_client.post(
        reverse("governance:approve", args=[approval.pk]), {"confirm": project.name}
    )
    approval.refresh_from_db()
    assert approval.status == Status.APPROVED, approval.result
    assert AuditEvent.objects.get(action="project.update").request_data == body
    assert neon.stats()["PATCH /api/v2/projects/{project_id}"] == 1
    assert get_client().get_project(project.id).settings.enable_logical_replication


def test_unprotect_needing_approval(project, admin_client_, second_admin_client, ada, needs):
    needs("unprotect")
    protect(project, ada)
    url = reverse("governance:unprotect", args=[project.id])
    page = html(admin_client_.post(url, {"reason": "moving to v2"}, headers=HX))
    approval = ApprovalRequest.objects.get()
    assert f"request #{approval.pk}" in page and Protection.objects.exists()
    assert approval.change["reason"] == "moving to v2"
    second_admin_client.post(reverse("governance:approve", args=[approval.pk]))
    approval.refresh_from_db()
    assert approval.status == Status.APPROVED and not Protection.objects.exists()
    record = AuditEvent.objects.get(action="project.unprotect")
    assert record.request_data == {"reason": "moving to v2", "approval_id": approval.pk}


def test_reject_and_withdraw(project, admin_client_, second_admin_client, ada, needs):
    needs("unprotect")
    protect(project, ada)
    url = reverse("governance:unprotect", args=[project.id])
    admin_client_.post(url, {"reason": "one"})
    first = ApprovalRequest.objects.get()
    second_admin_client.post(reverse("governance:reject", args=[first.pk]), {"note": "not yet"})
    first.refresh_from_db()
    assert (first.status, first.note) == (Status.REJECTED, "not yet")
    admin_client_.post(url, {"reason": "two"})
    second = ApprovalRequest.objects.exclude(pk=first.pk).get()
    admin_client_.post(reverse("governance:reject", args=[second.pk]))
    second.refresh_from_db()
    assert second.status == Status.CANCELLED and Protection.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"approval.reject", "approval.cancel", "approval.request"} <= actions


@pytest.mark.parametrize("who", ["viewer_client", "operator_client"])
@pytest.mark.parametrize("name", ["approve", "reject"])
def test_only_admins_decide(who, name, request, ada):
    approval = services.approval_request_create(
        actor=ada, kind="unprotect", change={}, summary="Remove protection", project_id="p-1"
    )
    client = request.getfixturevalue(who)
    detail = html(client.get(reverse("governance:approval", args=[approval.pk])))
    assert "Remove protection" in detail and "<button" not in detail.split("</header>")[1]
    response = client.post(reverse(f"governance:{name}", args=[approval.pk]))
    assert response.status_code == 403
    assert failures(f"approval.{name}")[0].status == 403
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


def test_list_filters_newest_first_and_htmx_gets_the_rows(viewer_client, ada, bea):
    ids = [
        services.approval_request_create(
            actor=ada, kind="unprotect", change={}, summary=f"Request {n}", project_id=f"p-{n}"
        ).pk
        for n in range(3)
    ]
    services.approval_reject(actor=bea, approval_id=ids[0])
    page = viewer_client.get(reverse("governance:approvals"))
    body = html(page)
    assert "<html" in body and body.index("Request 2") < body.index("Request 1")
    assert "Approvals <span" in body  # the nav's pending count
    fragment = html(
        viewer_client.get(reverse("governance:approvals") + "?status=rejected", headers=HX)
    )
    assert "<html" not in fragment and "Request 0" in fragment and "Request 1" not in fragment


def test_changed_project_fails_the_request_naming_what_changed(
    project, admin_client_, second_admin_client, neon, needs
):
    needs("delete")
    url = reverse("projects:delete", args=[project.id])
    admin_client_.post(url, {"name": project.name})
    approval = ApprovalRequest.objects.get()
    get_client().update_project(project.id, {"settings": {"block_vpc_connections": True}})
    neon.clear_stats()
    second_admin_client.post(
        reverse("governance:approve", args=[approval.pk]), {"confirm": project.name}
    )
    approval.refresh_from_db()
    assert approval.status == Status.FAILED and "Block VPC connections" in approval.result
    assert neon_writes(neon) == 0
    assert get_client().get_project(project.id)


def test_unknown_approval_kinds_stop_the_start(settings):
    settings.APPROVAL_REQUIRED_FOR = ["delete", "dleete"]
    errors = [e for e in checks.run_checks() if e.id == "governance.E001"]
    assert errors and "dleete" in errors[0].msg


def test_an_expired_request_cannot_be_approved(second_admin_client, ada, neon):
    approval = services.approval_request_create(
        actor=ada, kind="unprotect", change={}, summary="Remove protection", project_id="p-1"
    )
    ApprovalRequest.objects.filter(pk=approval.pk).update(expires_at=approval.requested_at)
    response = second_admin_client.post(reverse("governance:approve", args=[approval.pk]))
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.status == Status.EXPIRED
    page = html(second_admin_client.get(response["Location"]))
    assert "expired" in page and ">Approve</button>" not in page
    assert AuditEvent.objects.filter(action="approval.expire").count() == 1


def test_a_project_protected_after_a_delete_request_is_not_deleted(
    project, admin_client_, second_admin_client, neon, needs, bea
):
    needs("delete")
    admin_client_.post(reverse("projects:delete", args=[project.id]), {"name": project.name})
    approval = ApprovalRequest.objects.get()
    protect(project, bea)
    second_admin_client.post(
        reverse("governance:approve", args=[approval.pk]), {"confirm": project.name}
    )
    approval.refresh_from_db()
    assert approval.status == Status.FAILED and "protected" in approval.result
    assert neon.stats().get(DELETES, 0) == 0


def test_unknown_request_is_a_404(viewer_client):
    assert viewer_client.get(reverse("governance:approval", args=[999])).status_code == 404


def test_what_the_approving_admin_types():
    def request(kind, **fields):
        return ApprovalRequest(kind=kind, project_id="p-1", project_name="billing", **fields)

    assert confirmation(request("delete")) == "billing"
    assert confirmation(request("irreversible")) == "billing"
    assert confirmation(request("unprotect")) == ""  # undone by protecting again
    assert confirmation(request("bulk", change={"kind": "delete", "projects": 12})) == "12"
    assert confirmation(request("bulk", change={"kind": "suspend", "projects": 12})) == ""
