"""The services other apps code against: protection, requests, the executor registry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from governance import registry, selectors, services
from governance.models import ApprovalRequest, Protection
from projects import services as project_services
from projects.neon import NeonNotFound, get_client
from projects.project_state import project_state
from tests.governance.conftest import neon_writes

pytestmark = pytest.mark.django_db

Status = ApprovalRequest.Status


def actions() -> list[tuple[str, str]]:
    return list(AuditEvent.objects.order_by("id").values_list("action", "outcome"))


def test_protect_and_unprotect_are_audited_with_reasons(ada, bea):
    services.protection_create(actor=ada, project_id="p-1", project_name="one", reason="prod")
    assert selectors.protected_ids() == {"p-1"}
    assert selectors.protected_ids(project_ids=["p-1", "p-2"]) == {"p-1"}
    protection = selectors.protection_get(project_id="p-1")
    assert (protection.protected_by, protection.reason) == (ada.username, "prod")
    with pytest.raises(services.GovernanceError):
        services.protection_create(actor=bea, project_id="p-1", project_name="one", reason="x")
    services.protection_remove(actor=bea, project_id="p-1", reason="migrated")
    assert selectors.protection_get(project_id="p-1") is None
    assert actions() == [
        ("project.protect", "success"),
        ("project.protect", "failure"),
        ("project.unprotect", "success"),
    ]
    assert AuditEvent.objects.order_by("id").last().request_data == {"reason": "migrated"}


def test_a_reason_is_required(ada):
    with pytest.raises(services.GovernanceError, match="reason"):
        services.protection_create(actor=ada, project_id="p-1", project_name="one", reason=" ")
    assert not Protection.objects.exists()


def test_protected_project_delete_is_refused_before_neon(project, neon, ada):
    services.protection_create(
        actor=ada, project_id=project.id, project_name=project.name, reason="prod"
    )
    with pytest.raises(services.ProjectProtected, match="protected"):
        project_services.project_delete(actor=ada, project_id=project.id, project_name=project.name)
    assert neon_writes(neon) == 0
    refused = AuditEvent.objects.get(action="project.delete")
    assert refused.outcome == "failure" and "protected" in refused.neon_message


def test_registered_executor_runs_on_approval_and_close_on_reject(ada, bea):
    ran, closed = [], []
    registry.register_executor(
        "bulk",
        execute=lambda request, actor: ran.append((request.pk, actor.username)) or "done 3",
        close=closed.append,
    )
    first = services.approval_request_create(
        actor=ada, kind="bulk", change={"job": 7}, summary="Bulk: 3 projects", bulk_job_id=7
    )
    assert first.status == Status.PENDING and first.project_id == ""
    assert first.expires_at > timezone.now() + timedelta(hours=23)
    with pytest.raises(services.NotAllowed):
        services.approval_approve(actor=ada, approval_id=first.pk)
    done = services.approval_approve(actor=bea, approval_id=first.pk, note="ok")
    assert (done.status, done.result, done.decided_by) == (Status.APPROVED, "done 3", bea.username)
    assert ran == [(first.pk, bea.username)]
    with pytest.raises(services.GovernanceError, match="approved"):
        services.approval_approve(actor=bea, approval_id=first.pk)
    assert len(ran) == 1

    second = services.approval_request_create(
        actor=ada, kind="bulk", change={"job": 8}, summary="Bulk", bulk_job_id=8
    )
    services.approval_reject(actor=bea, approval_id=second.pk, note="no")
    assert [c.pk for c in closed] == [second.pk]
    second.refresh_from_db()
    assert second.status == Status.REJECTED and len(ran) == 1


def test_executor_exception_fails_the_request(ada, bea):
    def boom(request, actor):
        raise RuntimeError("Neon refused 2 of 3")

    registry.register_executor("bulk", execute=boom)
    request = services.approval_request_create(actor=ada, kind="bulk", change={}, summary="x")
    done = services.approval_approve(actor=bea, approval_id=request.pk)
    assert done.status == Status.FAILED and done.result == "Neon refused 2 of 3"
    record = AuditEvent.objects.get(action="approval.approve")
    assert record.outcome == "failure" and record.neon_message == "Neon refused 2 of 3"


def test_requester_withdraws_own_request(ada):
    request = services.approval_request_create(
        actor=ada, kind="unprotect", change={}, summary="x", project_id="p-1"
    )
    services.approval_reject(actor=ada, approval_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    assert actions()[-1] == ("approval.cancel", "success")


def test_expired_requests_never_execute(ada, bea):
    ran = []
    registry.register_executor("bulk", execute=lambda r, a: ran.append(r) or "x")
    request = services.approval_request_create(actor=ada, kind="bulk", change={}, summary="x")
    ApprovalRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now())
    with pytest.raises(services.GovernanceError, match="expired"):
        services.approval_approve(actor=bea, approval_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.EXPIRED and ran == []
    assert ("approval.expire", "success") in actions()


def test_delete_approval_executes_after_checking_the_project(project, neon, ada, bea):
    request = services.approval_request_create(
        actor=ada,
        kind="delete",
        change={"project_id": project.id, "project_name": project.name},
        summary=f"Delete project {project.name}",
        project_id=project.id,
        project_name=project.name,
        before=project_state(project),
    )
    assert neon_writes(neon) == 0
    done = services.approval_approve(actor=bea, approval_id=request.pk)
    assert done.status == Status.APPROVED, done.result
    assert neon.stats()["DELETE /api/v2/projects/{project_id}"] == 1
    with pytest.raises(NeonNotFound):
        get_client().get_project(project.id)


def test_a_project_changed_since_the_request_fails_it_and_sends_nothing(project, neon, ada, bea):
    request = services.approval_request_create(
        actor=ada,
        kind="delete",
        change={"project_id": project.id, "project_name": project.name},
        summary="Delete",
        project_id=project.id,
        project_name=project.name,
        before=project_state(project),
    )
    get_client().update_project(project.id, {"name": "renamed-meanwhile"})
    neon.clear_stats()
    done = services.approval_approve(actor=bea, approval_id=request.pk)
    assert done.status == Status.FAILED
    assert "Project name" in done.result and "renamed-meanwhile" in done.result
    assert neon_writes(neon) == 0
