"""Regressions found by a review of governance and bulk changes: each test failed before its fix
(resume bypassing approval, a protected project deleted by a bulk job, a 502 after an applied
write sent again, stuck states, self-approval under a new email, unaudited no-op steps)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Actor
from bulk.models import BulkItem, BulkJob
from governance import registry
from governance import services as governance
from governance.models import ApprovalRequest, Protection
from projects.neon import NeonNotFound, get_client
from tests.bulk.jobs import DELETE, PATCH, PROJECT, SUSPEND, WINDOW, new_job, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def _personal(fleet, n):
    return list(fleet.filter(org_id="", shared=False).order_by("name")[:n])


# --- 1. Resume starts apply from any state: approval, typed count and stop are bypassed -------


def test_resume_of_a_planned_job_does_not_apply_it_without_approval(
    operator_client, fleet, neon, settings
):
    settings.APPROVAL_REQUIRED_FOR = ["bulk"]
    job = new_job(operator_client, WINDOW)
    assert job.status == BulkJob.Status.PLANNED
    neon.clear_stats()
    operator_client.post(reverse("bulk:resume", args=[job.pk]))
    run_worker()
    job.refresh_from_db()
    assert neon.stats().get(PATCH, 0) == 0, "resume applied a job nobody approved"
    assert job.status == BulkJob.Status.PLANNED


def test_resume_of_a_job_awaiting_approval_does_not_apply_it(admin_client_, fleet, neon, settings):
    settings.APPROVAL_REQUIRED_FOR = ["bulk"]
    job = new_job(admin_client_, WINDOW)
    admin_client_.post(reverse("bulk:apply", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == BulkJob.Status.AWAITING_APPROVAL
    neon.clear_stats()
    admin_client_.post(reverse("bulk:resume", args=[job.pk]))  # the requester, alone
    run_worker()
    assert neon.stats().get(PATCH, 0) == 0, "the requester applied their own job unapproved"


def test_resume_of_a_planned_bulk_delete_needs_the_typed_count(admin_client_, fleet, neon):
    rows = _personal(fleet, 2)
    job = new_job(admin_client_, {"kind": "delete"}, {"project": [r.project_id for r in rows]})
    assert job.status == BulkJob.Status.PLANNED
    neon.clear_stats()
    admin_client_.post(reverse("bulk:resume", args=[job.pk]))  # no confirm_count at all
    run_worker()
    assert neon.stats().get(DELETE, 0) == 0, "projects deleted without the typed count"


def test_resume_of_a_stopped_job_does_not_report_it_finished(operator_client, fleet, neon):
    job = new_job(operator_client, SUSPEND)
    operator_client.post(reverse("bulk:apply", args=[job.pk]))
    operator_client.post(reverse("bulk:stop", args=[job.pk]))
    run_worker()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.STOPPED
    operator_client.post(reverse("bulk:resume", args=[job.pk]))
    run_worker()
    job.refresh_from_db()
    not_run = job.items.filter(outcome=BulkItem.Outcome.NOT_RUN).count()
    assert not_run
    assert job.status == BulkJob.Status.STOPPED, f"{not_run} items not run, job says {job.status}"


def test_resume_is_refused_while_the_worker_is_alive(operator_client, fleet, neon):
    """A live worker is in the middle of one item (claimed: SENDING, heartbeat fresh). Resume
    must not start a second worker, which re-claims that SENDING item and sends it too."""
    job = new_job(operator_client, SUSPEND)
    item = job.items.filter(verdict=BulkItem.Verdict.CHANGE).first()
    now = timezone.now()
    BulkJob.objects.filter(pk=job.pk).update(
        status=BulkJob.Status.RUNNING, started_at=now, heartbeat_at=now, applied_by="x"
    )
    job.items.exclude(pk=item.pk).update(outcome=BulkItem.Outcome.UNCHANGED)
    BulkItem.objects.filter(pk=item.pk).update(outcome=BulkItem.Outcome.SENDING, attempts=1)
    neon.clear_stats()
    operator_client.post(reverse("bulk:resume", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == BulkJob.Status.RUNNING, "a live job was re-queued"
    run_worker()
    assert neon.stats().get(PATCH, 0) == 0, "a second worker sent the live worker's item"


# --- 2. Bulk delete deletes a project protected after the dry run ----------------------------


def test_bulk_delete_skips_a_project_protected_after_the_dry_run(admin_client_, fleet, neon):
    rows = _personal(fleet, 2)
    job = new_job(admin_client_, {"kind": "delete"}, {"project": [r.project_id for r in rows]})
    assert job.items.filter(verdict=BulkItem.Verdict.CHANGE).count() == 2
    governance.protection_create(
        actor=Actor(username="bea.admin@example.test"),
        project_id=rows[0].project_id,
        project_name=rows[0].name,
        reason="production, protected while the job waited",
    )
    admin_client_.post(reverse("bulk:apply", args=[job.pk]), {"confirm_count": 2})
    run_worker()
    try:
        get_client().get_project(rows[0].project_id)
    except NeonNotFound:
        pytest.fail("a protected project was deleted by the bulk job")


# --- 3. A 5xx after an applied write is sent again -------------------------------------------


def test_a_502_after_an_applied_patch_is_read_back_not_sent_again(
    operator_client, fleet, neon, settings
):
    settings.BULK_RETRY_SECONDS = 0.05
    job = new_job(operator_client, SUSPEND)
    planned = job.items.filter(verdict=BulkItem.Verdict.CHANGE).count()
    neon.set_faults(method="PATCH", path_prefix=PROJECT, status=502, after_apply=True, count=1)
    neon.clear_stats()
    operator_client.post(reverse("bulk:apply", args=[job.pk]))
    run_worker()
    assert neon.faults() == []
    assert neon.stats()[PATCH] == planned, "one project's PATCH was applied, then sent again"


def test_a_502_after_an_applied_delete_reports_it_deleted(admin_client_, fleet, neon, settings):
    settings.BULK_RETRY_SECONDS = 0.05
    rows = _personal(fleet, 1)
    job = new_job(admin_client_, {"kind": "delete"}, {"project": [rows[0].project_id]})
    neon.set_faults(method="DELETE", path_prefix=PROJECT, status=502, after_apply=True, count=1)
    admin_client_.post(reverse("bulk:apply", args=[job.pk]), {"confirm_count": 1})
    run_worker()
    item = job.items.get()
    with pytest.raises(NeonNotFound):
        get_client().get_project(rows[0].project_id)
    assert item.outcome == BulkItem.Outcome.CHANGED, (item.outcome, item.outcome_message)


# --- 4. Stuck states ------------------------------------------------------------------------


def test_a_job_stopped_after_its_worker_died_can_end(operator_client, fleet, neon):
    job = new_job(operator_client, SUSPEND)
    long_ago = timezone.now() - timedelta(minutes=30)
    BulkJob.objects.filter(pk=job.pk).update(
        status=BulkJob.Status.RUNNING, started_at=long_ago, heartbeat_at=long_ago, applied_by="x"
    )
    operator_client.post(reverse("bulk:stop", args=[job.pk]))
    job.refresh_from_db()
    page = operator_client.get(reverse("bulk:job", args=[job.pk])).content.decode()
    ended = job.status == BulkJob.Status.STOPPED
    offers_a_way_out = reverse("bulk:resume", args=[job.pk]) in page
    assert ended or offers_a_way_out, f"job stuck in {job.status} with no worker and no button"


def test_a_job_whose_approval_expired_does_not_stay_awaiting_approval(
    admin_client_, fleet, neon, settings
):
    settings.APPROVAL_REQUIRED_FOR = ["bulk"]
    job = new_job(admin_client_, WINDOW)
    admin_client_.post(reverse("bulk:apply", args=[job.pk]))
    job.refresh_from_db()
    ApprovalRequest.objects.filter(pk=job.approval_id).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    page = admin_client_.get(reverse("bulk:job", args=[job.pk])).content.decode()
    job.refresh_from_db()
    assert job.status != BulkJob.Status.AWAITING_APPROVAL
    assert "Waiting for approval" not in page


# --- 5. Self-approval through a changed email ------------------------------------------------


def test_the_requester_cannot_approve_after_their_email_changed(
    admin_client_, admin_user, neon, settings
):
    """Actor.username is the person's *current* email (synced from the IdP at each sign-in);
    the request stores the one they had when asking."""
    settings.APPROVAL_REQUIRED_FOR = ["unprotect"]
    project = get_client().list_projects(limit=5).projects[2]
    ada = Actor(username="ada.admin@example.test")
    governance.protection_create(
        actor=ada, project_id=project.id, project_name=project.name, reason="prod"
    )
    url = reverse("governance:unprotect", args=[project.id])
    admin_client_.post(url, {"reason": "migrating"})
    request = ApprovalRequest.objects.get()
    assert request.requested_by == "ada.admin@example.test"
    admin_user.email = "ada@new-domain.example.test"  # the IdP's new address for her
    admin_user.save()
    admin_client_.post(reverse("governance:approve", args=[request.pk]))
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.PENDING, "she approved her own request"
    assert Protection.objects.filter(project_id=project.id).exists()


# --- 6. Steps that did nothing are audited as done -------------------------------------------


def test_discarding_a_running_job_is_not_audited_as_a_success(operator_client, fleet, neon):
    job = new_job(operator_client, SUSPEND)
    BulkJob.objects.filter(pk=job.pk).update(status=BulkJob.Status.RUNNING)
    operator_client.post(reverse("bulk:discard", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == BulkJob.Status.RUNNING
    record = AuditEvent.objects.get(action="bulk.discard", bulk_job_id=job.pk)
    assert record.outcome == "failure", "the audit log says a running job was discarded"


# --- 7. An approval whose execution was cut off is stuck ------------------------------------


def test_an_approval_cut_off_while_executing_is_not_stuck_pending(neon, monkeypatch):
    """A gunicorn worker timeout (SystemExit) during a slow executor escapes `except Exception`:
    the request keeps status pending with decided_by set, so nobody can approve, reject or
    withdraw it, and expiry later calls it "expired without a decision; nothing was done"."""
    ada, bea = Actor(username="ada.admin@example.test"), Actor(username="bea.admin@example.test")
    project = get_client().list_projects(limit=5).projects[2]
    governance.protection_create(
        actor=ada, project_id=project.id, project_name=project.name, reason="prod"
    )
    request = governance.approval_request_create(
        actor=ada, kind="unprotect", change={}, summary="Remove protection",
        project_id=project.id, project_name=project.name,
    )  # fmt: skip

    def cut_off(_approval, _actor):
        raise SystemExit(1)

    real = registry._EXECUTORS["unprotect"]
    monkeypatch.setitem(
        registry._EXECUTORS, "unprotect", registry.Executor(execute=cut_off, close=real.close)
    )
    with pytest.raises(SystemExit):
        governance.approval_approve(actor=bea, approval_id=request.pk)
    request.refresh_from_db()
    if request.status == ApprovalRequest.Status.PENDING:
        # It must at least still be decidable (withdrawn by the requester).
        governance.approval_reject(actor=ada, approval_id=request.pk)


# --- 8. htmx buttons on the job page drop their message -------------------------------------


def test_an_htmx_apply_refused_says_why_in_the_swapped_panel(operator_client, fleet, neon):
    job = new_job(operator_client, WINDOW)
    hx = {"HX-Request": "true"}
    operator_client.post(reverse("bulk:apply", args=[job.pk]), headers=hx)
    again = operator_client.post(reverse("bulk:apply", args=[job.pk]), headers=hx)  # double click
    assert again.status_code == 200
    assert "only a finished dry run can be applied" in again.content.decode(), (
        "the refusal is queued as a message the fragment never renders"
    )
