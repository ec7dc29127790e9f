"""Writes of bulk jobs: create (and start the dry run), apply (or ask for approval), stop,
discard, resume. Each step is audited; each project's own change is audited by the runner."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audited
from bulk import tasks
from bulk.changes import DELETE, KINDS
from bulk.models import BulkItem, BulkJob
from bulk.runner import HEARTBEAT_TIMEOUT
from governance.models import ApprovalRequest
from governance.selectors import approval_required
from governance.services import approval_request_create

MSG_NOT_PLANNED = "Bulk job #%(pk)s is %(status)s: only a finished dry run can be applied."
MSG_NOT_STALLED = (
    "Bulk job #%(pk)s is %(status)s and its worker is alive (or it is not applying): there is "
    "nothing to resume."
)
MSG_NOT_AWAITING = "Bulk job #%(pk)s is %(status)s, so there is nothing to approve."


class JobStateError(Exception):
    """The job is not in a state that allows this step (someone else moved it first)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _step(*, actor: Actor, action: str, job: BulkJob, data: dict[str, Any] | None = None) -> None:
    with audited(
        actor=actor,
        action=action,
        request_data={"bulk_job": job.pk, "change": job.summary, **(data or {})},
        bulk_job_id=job.pk,
    ) as entry:
        entry.status = 200


def job_create(
    *,
    actor: Actor,
    kind: str,
    params: dict[str, Any],
    selection: dict[str, Any],
    projects: list[tuple[str, str, str]],
) -> BulkJob:
    """A job over `projects` ((id, name, organization)), its dry run queued at once."""
    with transaction.atomic():
        job = BulkJob.objects.create(
            kind=kind,
            params=params,
            summary=KINDS[kind].summary(params)[:300],
            selection=selection,
            created_by=actor.username,
        )
        BulkItem.objects.bulk_create(
            BulkItem(job=job, project_id=pid, project_name=name, org_name=org)
            for pid, name, org in projects
        )
    _step(actor=actor, action="bulk.create", job=job, data={"projects": len(projects)})
    result = tasks.plan_job.enqueue(job.pk)
    BulkJob.objects.filter(pk=job.pk).update(task_id=str(result.id))
    return job


def approval_kind(job: BulkJob) -> str | None:
    """The kind of approval applying this job needs, if any: a bulk delete needs the approval
    of bulk changes or of deletes, whichever the team asked for."""
    if approval_required(ApprovalRequest.Kind.BULK):
        return ApprovalRequest.Kind.BULK
    if job.kind == DELETE and approval_required(ApprovalRequest.Kind.DELETE):
        return ApprovalRequest.Kind.BULK
    return None


def job_apply(*, actor: Actor, job: BulkJob) -> BulkJob:
    """Apply the reviewed dry run now, or ask a second admin first when the team requires it."""
    to_change = job.items.filter(verdict=BulkItem.Verdict.CHANGE).count()
    needs_approval = approval_kind(job) is not None
    target = BulkJob.Status.AWAITING_APPROVAL if needs_approval else BulkJob.Status.QUEUED
    moved = BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PLANNED).update(
        status=target, applied_by=actor.username
    )
    job.refresh_from_db()
    if not moved:
        raise JobStateError(MSG_NOT_PLANNED % {"pk": job.pk, "status": job.get_status_display()})
    if needs_approval:
        request = approval_request_create(
            actor=actor,
            kind=ApprovalRequest.Kind.BULK,
            change={
                "bulk_job": job.pk,
                "kind": job.kind,
                "params": job.params,
                "projects": to_change,
            },
            summary=f"Bulk job #{job.pk}: {job.summary}, on {to_change} projects",
            bulk_job_id=job.pk,
        )
        BulkJob.objects.filter(pk=job.pk).update(approval_id=request.pk)
        job.approval_id = request.pk
        return job
    _step(actor=actor, action="bulk.apply", job=job, data={"projects": to_change})
    _enqueue_apply(job)
    return job


def _enqueue_apply(job: BulkJob) -> None:
    result = tasks.apply_job.enqueue(job.pk)
    BulkJob.objects.filter(pk=job.pk).update(task_id=str(result.id))


def job_approved(request: ApprovalRequest, actor: Actor) -> str:
    """Governance's executor for bulk approvals: the approved job starts. Each project is
    re-read and checked against the dry run before its change is sent (bulk.runner)."""
    job = BulkJob.objects.get(pk=request.bulk_job_id)
    moved = BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.AWAITING_APPROVAL).update(
        status=BulkJob.Status.QUEUED
    )
    if not moved:
        raise JobStateError(MSG_NOT_AWAITING % {"pk": job.pk, "status": job.get_status_display()})
    _step(actor=actor, action="bulk.apply", job=job, data={"approved_by": actor.username})
    _enqueue_apply(job)
    return f"Bulk job #{job.pk} is applying: {job.summary}."


def job_not_approved(request: ApprovalRequest) -> None:
    BulkJob.objects.filter(pk=request.bulk_job_id, status=BulkJob.Status.AWAITING_APPROVAL).update(
        status=BulkJob.Status.REJECTED, finished_at=timezone.now()
    )


def job_stop(*, actor: Actor, job: BulkJob) -> BulkJob:
    """Ask the worker to stop after the project it is on; what is not done is reported so."""
    BulkJob.objects.filter(
        pk=job.pk, status__in=[BulkJob.Status.QUEUED, BulkJob.Status.RUNNING]
    ).update(status=BulkJob.Status.STOPPING, stop_requested_by=actor.username)
    job.refresh_from_db()
    _step(actor=actor, action="bulk.stop", job=job)
    return job


def job_discard(*, actor: Actor, job: BulkJob) -> BulkJob:
    """Drop a dry run that will not be applied (nothing was sent to Neon)."""
    BulkJob.objects.filter(
        pk=job.pk, status__in=[BulkJob.Status.PLANNED, BulkJob.Status.FAILED]
    ).exclude(started_at__isnull=False).update(
        status=BulkJob.Status.DISCARDED, finished_at=timezone.now()
    )
    job.refresh_from_db()
    _step(actor=actor, action="bulk.discard", job=job)
    return job


def job_resume(*, actor: Actor, job: BulkJob) -> BulkJob:
    """Start a job again whose worker went away: every item is claimed before it is sent and
    re-read before it is sent again, so nothing is applied twice. Only a job applying whose
    worker has been silent past HEARTBEAT_TIMEOUT can be resumed."""
    silent_since = timezone.now() - HEARTBEAT_TIMEOUT
    applying = BulkJob.objects.filter(
        pk=job.pk,
        status__in=[BulkJob.Status.RUNNING, BulkJob.Status.STOPPING],
        heartbeat_at__lt=silent_since,
    )
    # Marking it alive now keeps a second click (or a colleague's) from starting a third worker.
    resumed = applying.update(heartbeat_at=timezone.now())
    job.refresh_from_db()
    if not resumed:
        raise JobStateError(MSG_NOT_STALLED % {"pk": job.pk, "status": job.get_status_display()})
    BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.RUNNING).update(
        status=BulkJob.Status.QUEUED
    )  # a stopping job stays stopping: the new worker only settles what was in flight
    _step(actor=actor, action="bulk.resume", job=job)
    _enqueue_apply(job)
    return job
