"""Writes of bulk jobs: create (and start the dry run), apply (or ask for approval), stop,
discard, resume. Each step is audited; each project's own change is audited by bulk.apply."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from audit.services import Actor, audited
from bulk import tasks
from bulk.apply import stopped_before_start
from bulk.changes import DELETE, KINDS
from bulk.models import BulkItem, BulkJob
from bulk.worker import HEARTBEAT_TIMEOUT
from governance.models import ApprovalRequest
from governance.presenters import ChangeRow
from governance.services import act, approval_needed, approval_reject
from projects.extensions import Action, Requested

DESCRIBED_AT_MOST = 500  # projects named on the approval page; the job's page has every one
MSG_NOT_PLANNED = "Bulk job #%(pk)s is %(status)s: only a finished dry run can be applied."
MSG_NOT_APPLYING = "Bulk job #%(pk)s is %(status)s: only a job applying can be stopped."
MSG_NOT_DISCARDABLE = "Bulk job #%(pk)s is %(status)s: only a dry run not applied can be discarded."
MSG_NOT_YOURS = (
    "Only the person who asked for approval can withdraw this job; an admin can reject the "
    "request instead."
)
MSG_NOT_STALLED = (
    "Bulk job #%(pk)s is %(status)s and no worker of it has gone silent: there is nothing to "
    "resume."
)
MSG_NOT_AWAITING = "Bulk job #%(pk)s is %(status)s, so there is nothing to approve."
MSG_NOTHING_UNKNOWN = (
    "Bulk job #%(pk)s is %(status)s with no project whose change is unknown: nothing to check."
)


class JobStateError(Exception):
    """The job is not in a state that allows this step (someone else moved it first)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _step(
    *,
    actor: Actor,
    action: str,
    job: BulkJob,
    data: dict[str, Any] | None = None,
    refused: str = "",
) -> None:
    """The job-level audit record of a step; `refused`: why it did nothing (raised, and
    recorded as a failure, as JobStateError)."""
    with audited(
        actor=actor,
        action=action,
        request_data={"bulk_job": job.pk, "change": job.summary, **(data or {})},
        bulk_job_id=job.pk,
    ) as entry:
        if refused:
            raise JobStateError(refused)
        entry.status = 200


def _state_error(message: str, job: BulkJob) -> str:
    return message % {"pk": job.pk, "status": job.get_status_display().lower()}


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


def _approval_kinds(job: BulkJob) -> tuple[str, ...]:
    """A bulk job waits for a second admin when the team asks one for bulk changes, and a bulk
    delete also when it asks one for deletes."""
    Kind = ApprovalRequest.Kind
    return (Kind.BULK, Kind.DELETE) if job.kind == DELETE else (Kind.BULK,)


def needs_approval(job: BulkJob) -> bool:
    """What the job page says before Apply: whether applying it will wait for a second admin."""
    return approval_needed(*_approval_kinds(job))


def job_apply(*, actor: Actor, job: BulkJob) -> BulkJob:
    """Apply the reviewed dry run now, or ask a second admin first (governance decides)."""
    to_change = job.items.filter(verdict=BulkItem.Verdict.CHANGE).count()
    moved = False
    with transaction.atomic():  # nobody sees it queued before it is known whether it waits
        moved = BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PLANNED).update(
            status=BulkJob.Status.QUEUED, applied_by=actor.username
        )
        job.refresh_from_db()
        if moved:
            _decide_apply(actor=actor, job=job, to_change=to_change)
    if not moved:  # recorded outside the transaction, so the refusal's record stays
        _step(actor=actor, action="bulk.apply", job=job,
              refused=_state_error(MSG_NOT_PLANNED, job))  # fmt: skip
    job.refresh_from_db()
    return job


def _decide_apply(*, actor: Actor, job: BulkJob, to_change: int) -> None:
    """Governance decides: the job starts now, or waits for a second admin."""
    outcome = act(
        Action(
            kind=ApprovalRequest.Kind.BULK,
            approval_kinds=_approval_kinds(job),
            actor=actor,
            summary=f"Bulk job #{job.pk}: {job.summary}, on {to_change} "
            f"project{pluralize(to_change)}",
            change={
                "bulk_job": job.pk,
                "kind": job.kind,
                "params": job.params,
                "projects": to_change,
            },
            run=lambda: _start(actor=actor, job=job, data={"projects": to_change}),
            bulk_job_id=job.pk,
        )
    )
    if isinstance(outcome, Requested):
        BulkJob.objects.filter(pk=job.pk).update(
            status=BulkJob.Status.AWAITING_APPROVAL, approval_id=outcome.request_id
        )


def _start(*, actor: Actor, job: BulkJob, data: dict[str, Any]) -> None:
    """The audited step that starts a queued job's apply."""
    _step(actor=actor, action="bulk.apply", job=job, data=data)
    _enqueue_apply(job)


def _enqueue_apply(job: BulkJob) -> None:
    result = tasks.apply_job.enqueue(job.pk)
    BulkJob.objects.filter(pk=job.pk).update(task_id=str(result.id))


def job_approved(request: ApprovalRequest, actor: Actor) -> str:
    """Governance's executor for bulk approvals: the approved job starts. Each project is
    re-read and checked against the dry run before its change is sent (bulk.apply)."""
    job = BulkJob.objects.get(pk=request.bulk_job_id)
    moved = BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.AWAITING_APPROVAL).update(
        status=BulkJob.Status.QUEUED
    )
    if not moved:
        raise JobStateError(_state_error(MSG_NOT_AWAITING, job))
    _start(actor=actor, job=job, data={"approved_by": actor.username})
    return f"Bulk job #{job.pk} is applying: {job.summary}."


def job_described(request: ApprovalRequest) -> list[ChangeRow]:
    """The approval page's rows: each project the job would change, as its dry run found it
    (the first DESCRIBED_AT_MOST; the job's own page pages through all of them)."""
    items = BulkItem.objects.filter(job_id=request.bulk_job_id, verdict=BulkItem.Verdict.CHANGE)
    rows = [
        ChangeRow(
            label=item.project_name,
            before_text="; ".join(f"{c['label']}: {c['before_text']}" for c in item.changes),
            after_text="; ".join(f"{c['label']}: {c['after_text']}" for c in item.changes),
            irreversible=item.job.kind == DELETE,
        )
        for item in items.select_related("job")[:DESCRIBED_AT_MOST]
    ]
    more = items.count() - len(rows) if len(rows) == DESCRIBED_AT_MOST else 0
    if more:
        rows.append(
            ChangeRow(
                label=f"and {more:,} more project{pluralize(more)}",
                before_text="",
                after_text=f"each on bulk job #{request.bulk_job_id}'s page",
            )
        )
    return rows


def job_confirmation(request: ApprovalRequest) -> str:
    """What approving a bulk delete asks the admin to type: how many projects it deletes."""
    change = request.change or {}
    return str(change.get("projects", "")) if change.get("kind") == DELETE else ""


def job_not_approved(request: ApprovalRequest) -> None:
    BulkJob.objects.filter(pk=request.bulk_job_id, status=BulkJob.Status.AWAITING_APPROVAL).update(
        status=BulkJob.Status.REJECTED, finished_at=timezone.now()
    )


def job_stop(*, actor: Actor, job: BulkJob) -> BulkJob:
    """Ask the worker to stop after the project it is on; what is not done is reported so. A
    job no worker has started yet stops at once: nothing was sent, so there is nothing to wait
    for, and the page says so straight away."""
    S = BulkJob.Status
    now = timezone.now()
    unstarted = BulkJob.objects.filter(pk=job.pk, status=S.QUEUED, started_at__isnull=True)
    moved = unstarted.update(status=S.STOPPED, stop_requested_by=actor.username, finished_at=now)
    if moved:
        stopped_before_start(job)
    else:
        moved = BulkJob.objects.filter(pk=job.pk, status__in=[S.QUEUED, S.RUNNING]).update(
            status=S.STOPPING, stop_requested_by=actor.username
        )
    job.refresh_from_db()
    _step(actor=actor, action="bulk.stop", job=job,
          refused="" if moved else _state_error(MSG_NOT_APPLYING, job))  # fmt: skip
    return job


def job_discard(*, actor: Actor, job: BulkJob) -> BulkJob:
    """Drop a dry run that will not be applied (nothing was sent to Neon). One waiting for
    approval can be withdrawn by the person who asked: its request is cancelled too."""
    if job.status == BulkJob.Status.AWAITING_APPROVAL and job.approval_id:
        approval = ApprovalRequest.objects.get(pk=job.approval_id)
        if not approval.asked_by(actor):
            _step(actor=actor, action="bulk.discard", job=job, refused=MSG_NOT_YOURS)
        approval_reject(actor=actor, approval_id=approval.pk, note="Withdrawn with the job")
        job.refresh_from_db()  # the request's close hook marked it not approved
        _step(actor=actor, action="bulk.discard", job=job)
        return job
    moved = (
        BulkJob.objects.filter(
            pk=job.pk, status__in=[BulkJob.Status.PLANNED, BulkJob.Status.FAILED]
        )
        .exclude(started_at__isnull=False)
        .update(status=BulkJob.Status.DISCARDED, finished_at=timezone.now())
    )
    job.refresh_from_db()
    _step(actor=actor, action="bulk.discard", job=job,
          refused="" if moved else _state_error(MSG_NOT_DISCARDABLE, job))  # fmt: skip
    return job


def job_resume(*, actor: Actor, job: BulkJob) -> BulkJob:
    """Start a job again whose worker went away: every item is claimed before it is sent and
    re-read before it is sent again, so nothing is applied twice. Only a job whose worker has
    been silent past HEARTBEAT_TIMEOUT, in its dry run or its apply, can be resumed."""
    S = BulkJob.Status
    silent = BulkJob.objects.filter(
        pk=job.pk,
        status__in=[S.PLANNING, S.RUNNING, S.STOPPING],
        heartbeat_at__lt=timezone.now() - HEARTBEAT_TIMEOUT,
    )
    # Marking it alive now keeps a second click (or a colleague's) from starting a third worker.
    resumed = silent.update(heartbeat_at=timezone.now())
    job.refresh_from_db()
    _step(actor=actor, action="bulk.resume", job=job,
          refused="" if resumed else _state_error(MSG_NOT_STALLED, job))  # fmt: skip
    if job.status == S.PLANNING:  # the dry run reads only the projects it has not read yet
        result = tasks.plan_job.enqueue(job.pk)
        BulkJob.objects.filter(pk=job.pk).update(task_id=str(result.id))
        return job
    # A stopping job stays stopping: the new worker only settles what was in flight.
    BulkJob.objects.filter(pk=job.pk, status=S.RUNNING).update(status=S.QUEUED)
    _enqueue_apply(job)
    return job


def job_recheck(*, actor: Actor, job: BulkJob) -> BulkJob:
    """Read again each project whose change is unknown (its answer was lost and Neon could not
    be read then): found applied, it is changed; found without it, and still as the dry run saw
    it, the change is sent; changed otherwise, it is skipped. Never sent blindly."""
    S, unknown = BulkJob.Status, BulkItem.Outcome.UNKNOWN
    ended = BulkJob.objects.filter(pk=job.pk, status__in=[S.FINISHED, S.STOPPED])
    moved = ended.filter(items__outcome=unknown).distinct().exists() and bool(
        ended.update(status=S.QUEUED)
    )
    job.refresh_from_db()
    _step(actor=actor, action="bulk.recheck", job=job,
          refused="" if moved else _state_error(MSG_NOTHING_UNKNOWN, job))  # fmt: skip
    _enqueue_apply(job)
    return job
