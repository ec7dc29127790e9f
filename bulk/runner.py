"""The two halves of a bulk job as the worker runs them: the dry run, then the apply.

Both call Neon at background priority, so operators' pages go first within the account budget
(projects.neon.budget) and a job waits for room rather than failing. Apply is written so that a
project is changed at most once whatever happens: an item is claimed with a conditional UPDATE
before anything is sent; a write Neon refused for a reason that means "not applied" (423, 429,
503) is sent again; a write whose answer was lost is never sent again before the project has
been read back and found not yet changed.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from audit.services import Actor, audited
from bulk.changes import DELETE, desired_state
from bulk.checks import refusals
from bulk.models import BulkItem, BulkJob
from fleet.inventory import record_gone, record_project
from governance.selectors import protected_ids
from governance.services import ProjectProtected, ensure_unprotected
from projects import permissions
from projects.neon import (
    NeonAuthError,
    NeonBadResponse,
    NeonError,
    NeonLocked,
    NeonNotFound,
    NeonRateLimited,
    NeonRejected,
    NeonTimeout,
    NeonUnavailable,
    Project,
    begin_request,
    end_request,
    get_client,
)
from projects.project_state import SETTINGS_BY_PATH, changes_record, diff, project_state
from projects.selectors import compute_limits

logger = logging.getLogger(__name__)
Outcome, Verdict = BulkItem.Outcome, BulkItem.Verdict

READ_AT_ONCE = 8  # dry-run reads in flight together, all inside the account budget
# A job whose worker has said nothing for this long died with it (see bulk.selectors).
HEARTBEAT_TIMEOUT = timedelta(minutes=2)
# A job queued this long that no worker has started points at a missing worker.
WORKER_WAIT = timedelta(seconds=30)

MSG_MISSING = "Neon has no such project: it was deleted after the inventory was read."
MSG_UNREAD = "Neon could not be read for this project during the dry run: %(error)s"
MSG_PROTECTED = "Deletion protection is on: this project is skipped."
MSG_NO_CHANGE = "Already as asked: nothing to send."
MSG_MOVED = (
    "Changed in Neon since the dry run (%(what)s), so what was reviewed is no longer what "
    "would be sent. Nothing was sent; run a new dry run."
)
MSG_GONE = "The project is gone from Neon since the dry run; nothing was sent."
MSG_FOUND_APPLIED = "Found already applied when the job resumed after its worker stopped."
MSG_STOPPED = "Not done: the job was stopped first."
MSG_NOT_REVIEWED = "Skipped: the dry run could not read it, so no change was reviewed."
MSG_STOPPED_WAITING = "Stopped while waiting for Neon; nothing was applied."
MSG_UNKNOWN = (
    "The job stopped while this change was being sent, and Neon could not be read to tell "
    "whether it landed: %(error)s Check the project."
)
MSG_STILL_LOCKED = (
    "Neon kept this project locked by running operations for %(seconds)s s; nothing was applied."
)


class Stopped(Exception):
    """The operator stopped the job while this item was still waiting for Neon."""


# --- Dry run -----------------------------------------------------------------------------------


def plan(job: BulkJob) -> BulkJob:
    """Read every selected project and judge what the change would do to it (those not read
    yet: a resumed dry run goes on where its worker stopped)."""
    if job.status != BulkJob.Status.PLANNING:
        return job
    token = begin_request(priority="background", allow_stale=False)[1]
    _beat(job)
    try:
        client = get_client()
        limits = compute_limits()
        pending = list(job.items.filter(verdict=BulkItem.Verdict.PENDING))
        protected = protected_ids(project_ids=[item.project_id for item in pending])
        for chunk in itertools.batched(pending, READ_AT_ONCE):
            reads = client.together(*[partial(_read, item.project_id) for item in chunk])
            for item, project in zip(chunk, reads, strict=True):
                _judge(job, item, project, limits=limits, protected=protected)
                item.save()
            _beat(job)
        job.status, job.planned_at = BulkJob.Status.PLANNED, timezone.now()
    except Exception as exc:
        logger.exception("bulk job %s: the dry run failed", job.pk)
        job.status, job.error = BulkJob.Status.FAILED, f"The dry run failed: {exc}"
    finally:
        end_request(token)
        job.save()
    return job


def _read(project_id: str) -> Project | NeonError:
    try:
        return get_client().get_project(project_id)
    except NeonError as exc:
        return exc


def _judge(job: BulkJob, item: BulkItem, project: Project | NeonError, **context: Any) -> None:
    if isinstance(project, NeonNotFound):
        item.verdict, item.messages = Verdict.MISSING, [MSG_MISSING]
        return
    if isinstance(project, NeonError):
        item.verdict, item.messages = Verdict.UNREAD, [MSG_UNREAD % {"error": project.message}]
        return
    item.project_name = project.name
    state = project_state(project)
    item.before = state
    if job.kind == DELETE:
        refusal = permissions.refusal(project.permission, "delete")
        if project.id in context["protected"]:
            item.verdict, item.messages = Verdict.PROTECTED, [MSG_PROTECTED]
        elif refusal:
            item.verdict, item.messages = Verdict.REFUSED, [refusal]
        else:
            item.verdict, item.changes = Verdict.CHANGE, [_deleted_row()]
        return
    desired = desired_state(job.kind, job.params, state)
    body, changes = diff(state, desired)
    item.body = body
    item.changes = [_row(c) for c in changes]
    if not body:
        item.verdict, item.messages = Verdict.UNCHANGED, [MSG_NO_CHANGE]
        return
    found = refusals(project=project, desired=desired, limits=context["limits"])
    item.verdict, item.messages = (Verdict.REFUSED, found) if found else (Verdict.CHANGE, [])


def _row(change) -> dict[str, Any]:
    return {
        "path": change.setting.path,
        "label": change.label,
        "before": change.before,
        "after": change.after,
        "before_text": change.before_text,
        "after_text": change.after_text,
    }


def _deleted_row() -> dict[str, Any]:
    return {
        "path": "project",
        "label": "Project",
        "before": "exists",
        "after": "deleted",
        "before_text": "exists",
        "after_text": "deleted (recoverable for 7 days)",
    }


def _beat(job: BulkJob) -> None:
    job.heartbeat_at = timezone.now()
    BulkJob.objects.filter(pk=job.pk).update(heartbeat_at=job.heartbeat_at)


# --- Apply -------------------------------------------------------------------------------------

# What apply reports for the items the dry run already decided.
SETTLED = {
    BulkItem.Verdict.UNCHANGED: (BulkItem.Outcome.UNCHANGED, MSG_NO_CHANGE),
    BulkItem.Verdict.REFUSED: (BulkItem.Outcome.REFUSED, ""),
    BulkItem.Verdict.PROTECTED: (BulkItem.Outcome.SKIPPED, MSG_PROTECTED),
    BulkItem.Verdict.MISSING: (BulkItem.Outcome.FAILED, MSG_MISSING),
    BulkItem.Verdict.UNREAD: (BulkItem.Outcome.SKIPPED, MSG_NOT_REVIEWED),
}


def apply(job: BulkJob) -> BulkJob:
    """Send each planned change once, in name order, until done or stopped."""
    token = begin_request(priority="background", allow_stale=False)[1]
    now = timezone.now()
    BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.QUEUED).update(
        status=BulkJob.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    job.refresh_from_db()
    if job.status not in (BulkJob.Status.RUNNING, BulkJob.Status.STOPPING):
        end_request(token)  # applied only after Apply (and approval): never from another state
        logger.warning("bulk job %s is %s: not applying", job.pk, job.status)
        return job
    try:
        _settle(job)
        # Those a dead worker left in flight first: they may already be in Neon.
        for outcome in (Outcome.SENDING, Outcome.PENDING):
            for item in job.items.filter(verdict=Verdict.CHANGE, outcome=outcome):
                stopping = _stop_asked(job)
                if stopping and outcome == Outcome.PENDING:
                    break
                _apply_item(job, item, stopping=stopping)
                _beat(job)
        stopped = _stop_asked(job)
        if stopped:
            job.items.filter(outcome=BulkItem.Outcome.PENDING).update(
                outcome=BulkItem.Outcome.NOT_RUN, outcome_message=MSG_STOPPED, done_at=now
            )
        job.status = BulkJob.Status.STOPPED if stopped else BulkJob.Status.FINISHED
    except Exception as exc:
        logger.exception("bulk job %s: apply failed", job.pk)
        job.status, job.error = BulkJob.Status.FAILED, f"Apply stopped on an error: {exc}"
    finally:
        end_request(token)
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
    return job


def _settle(job: BulkJob) -> None:
    for verdict, (outcome, message) in SETTLED.items():
        for item in job.items.filter(verdict=verdict, outcome=BulkItem.Outcome.PENDING):
            item.outcome = outcome
            item.outcome_message = message or "; ".join(item.messages)
            item.done_at = timezone.now()
            item.save(update_fields=["outcome", "outcome_message", "done_at"])


def _stop_asked(job: BulkJob) -> bool:
    status = BulkJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    return status == BulkJob.Status.STOPPING


def _apply_item(job: BulkJob, item: BulkItem, *, stopping: bool = False) -> None:
    """Claim the item (a conditional UPDATE: of two workers only one wins), then change it.
    `stopping`: only find out what became of an item a dead worker left in flight."""
    resumed = item.outcome == Outcome.SENDING  # a worker stopped while this one was in flight
    claimed = BulkItem.objects.filter(
        pk=item.pk, outcome=item.outcome, attempts=item.attempts
    ).update(outcome=Outcome.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return  # another worker has it
    if stopping:
        outcome, message, request_id = _settle_in_flight(job, item)
    else:
        outcome, message, request_id = _change(job, item, resumed=resumed)
    item.outcome, item.outcome_message, item.done_at = outcome, message, timezone.now()
    item.request_id = request_id
    item.save(update_fields=["outcome", "outcome_message", "done_at", "request_id"])


def _change(job: BulkJob, item: BulkItem, *, resumed: bool) -> tuple[str, str, str]:
    """Re-read the project, then send what the dry run reviewed if it still applies."""
    try:
        project = _patiently(job, lambda: get_client().get_project(item.project_id))
    except NeonNotFound:
        if resumed and job.kind == DELETE:
            return Outcome.CHANGED, MSG_FOUND_APPLIED, ""
        return Outcome.FAILED, MSG_GONE, ""
    except Stopped:
        return Outcome.NOT_RUN, MSG_STOPPED, ""
    except NeonError as exc:
        return Outcome.FAILED, exc.message, ""
    if job.kind == DELETE:
        try:  # protected since the dry run: skipped, and the refusal audited
            ensure_unprotected(
                actor=_actor(job),
                action="project.delete",
                project_id=project.id,
                project_name=project.name,
                request_data={"project_id": project.id},
                bulk_job_id=job.pk,
            )
        except ProjectProtected as exc:
            return Outcome.SKIPPED, exc.message, ""
        return _send(job, item, project, body=None)
    state = project_state(project)
    body, changes = diff(state, desired_state(job.kind, job.params, state))
    if not body:
        return (
            (Outcome.CHANGED, MSG_FOUND_APPLIED, "")
            if resumed
            else (Outcome.UNCHANGED, MSG_NO_CHANGE, "")
        )
    # What was reviewed must still hold: the same request, from the same values.
    _, moved = diff(item.before or {}, state)
    touched = {path for change in item.changes for path in _group(change["path"])}
    moved = [c for c in moved if c.setting.path in touched]
    if body != item.body or moved:
        what = ", ".join(c.label for c in moved) or "its settings"
        return Outcome.SKIPPED, MSG_MOVED % {"what": what}, ""
    return _send(job, item, project, body=body, changes=changes)


def _settle_in_flight(job: BulkJob, item: BulkItem) -> tuple[str, str, str]:
    """A stopped job's item that a dead worker was sending: changed if Neon has it, else not
    done. Nothing is sent."""
    try:
        landed = _gone(item.project_id) if job.kind == DELETE else _landed(job, item.project_id)
    except NeonError as exc:
        return Outcome.FAILED, MSG_UNKNOWN % {"error": exc.message}, ""
    return (
        (Outcome.CHANGED, MSG_FOUND_APPLIED, "") if landed else (Outcome.NOT_RUN, MSG_STOPPED, "")
    )


def _group(path: str) -> tuple[str, ...]:
    """A setting and those Neon takes with it (the whole quota, the CU pair…)."""
    setting = SETTINGS_BY_PATH.get(path)
    return setting.sent_with if setting else (path,)


def _send(
    job: BulkJob, item: BulkItem, project: Project, *, body: dict | None, changes=()
) -> tuple[str, str, str]:
    """One audit record for the project, however many tries Neon's answers take."""
    client = get_client()
    deleting = body is None
    try:
        with audited(
            actor=_actor(job),
            action="project.delete" if deleting else "project.update",
            project_id=project.id,
            project_name=project.name,
            request_data={"project_id": project.id} if deleting else body,
            bulk_job_id=job.pk,
        ) as entry:
            entry.changes = changes_record(list(changes))
            if deleting:
                _patiently(
                    job,
                    lambda: client.delete_project(project.id, request_id=entry.request_id),
                    landed=lambda: _gone(project.id),
                    project_id=project.id,
                )
                record_gone(project.id)
            else:
                updated = _patiently(
                    job,
                    lambda: client.update_project(project.id, body, request_id=entry.request_id),
                    landed=lambda: _landed(job, project.id),
                    project_id=project.id,
                )
                if updated is not None:
                    record_project(updated.project)
            entry.status = 200
    except Stopped:
        return Outcome.NOT_RUN, MSG_STOPPED_WAITING, entry.request_id
    except (NeonRejected, NeonAuthError) as exc:
        return Outcome.REFUSED, exc.message, exc.request_id or entry.request_id
    except NeonError as exc:
        return Outcome.FAILED, exc.message, exc.request_id or entry.request_id
    return Outcome.CHANGED, "", entry.request_id


def _actor(job: BulkJob) -> Actor:
    """Who each project's record names: the person who pressed Apply."""
    return Actor(username=job.applied_by or job.created_by)


def _gone(project_id: str) -> bool:
    try:
        get_client().get_project(project_id)
    except NeonNotFound:
        return True
    return False


def _landed(job: BulkJob, project_id: str) -> bool:
    """After a write whose answer was lost: is the change already in Neon?"""
    state = project_state(get_client().get_project(project_id))
    body, _ = diff(state, desired_state(job.kind, job.params, state))
    return not body


def _patiently[T](
    job: BulkJob,
    call: Callable[[], T],
    *,
    landed: Callable[[], bool] | None = None,
    project_id: str = "",
) -> T | None:
    """`call`, again while Neon says it did nothing and may say yes later. The transport has
    already retried a few times within its own budget; this waits longer:

    - 423, the project locked by running operations: follow the project's operations until they
      finish (up to BULK_LOCKED_WAIT_SECONDS), then send again;
    - 429: wait for Retry-After (every instance waits too: the budget is paused), then again;
    - 503 and other unavailability: back off, up to BULK_ITEM_ATTEMPTS tries in all;
    - but an answer that was lost (a timeout, a broken connection, an unreadable body, a 5xx
      other than 503) may follow an applied write: `landed` reads Neon to find out before
      anything is sent again, and None is returned when it had.
    """
    tries = settings.BULK_ITEM_ATTEMPTS
    attempt = 0
    locked_until = None
    while True:
        attempt += 1
        try:
            return call()
        except (NeonRejected, NeonAuthError, NeonNotFound):
            raise
        except NeonLocked:
            if not project_id:
                if attempt >= tries:
                    raise
                _sleep(job, settings.BULK_RETRY_SECONDS * attempt)
                continue
            now = time.monotonic()
            locked_until = locked_until or now + settings.BULK_LOCKED_WAIT_SECONDS
            if now >= locked_until:
                raise NeonLocked(
                    MSG_STILL_LOCKED % {"seconds": round(settings.BULK_LOCKED_WAIT_SECONDS)}
                ) from None
            _operations_finish(job, project_id, until=locked_until)
            attempt -= 1  # waiting on Neon's own work is not a failed try
            continue
        except (NeonTimeout, NeonBadResponse, NeonUnavailable) as exc:
            if attempt >= tries:
                raise
            if landed is not None and _answer_lost(exc) and _checked(landed):
                return None  # the write had landed: never send it twice
            wait = settings.BULK_RETRY_SECONDS * attempt
        except NeonRateLimited as exc:
            if attempt >= tries:
                raise
            wait = max(exc.retry_after or 0, settings.BULK_RETRY_SECONDS)
        _sleep(job, wait)


def _answer_lost(exc: NeonError) -> bool:
    """Whether a write's failure may follow the write having been applied: a timeout, a broken
    connection, an unreadable body, or a 5xx other than 503 (Neon documents 503 alone as safe
    to retry). 503 and a connection never made mean nothing reached Neon's data."""
    if isinstance(exc, NeonTimeout | NeonBadResponse):
        return True
    return exc.status is not None and exc.status != 503


def _operations_finish(job: BulkJob, project_id: str, *, until: float) -> None:
    """Wait until none of the project's operations is still running (or `until`)."""
    while time.monotonic() < until:
        try:
            page = get_client().list_operations(project_id, limit=10)
        except NeonError:
            page = None
        if page is not None and all(op.done for op in page.operations):
            return
        _sleep(job, min(settings.BULK_RETRY_SECONDS, max(0.0, until - time.monotonic())))


def _checked(landed: Callable[[], bool]) -> bool:
    try:
        return landed()
    except NeonError:
        return False


def _sleep(job: BulkJob, seconds: float) -> None:
    """Wait, but give up at once when the operator stops the job."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if _stop_asked(job):
            raise Stopped(MSG_STOPPED_WAITING)
        _beat(job)  # alive while waiting, so nobody resumes a job still at work
        time.sleep(min(left, 0.5))
