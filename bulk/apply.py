"""Apply: send each project's reviewed change once, whatever happens.

An item is claimed with a conditional UPDATE before anything is sent, so of two workers only one
sends it; the project is read again first, and one that changed since the dry run is skipped; a
write Neon refused for a reason that means "not applied" (423, 429, 503) is sent again, and one
whose answer was lost only after Neon has been read and found without it (bulk.patience).
Neon's answer to a write is the project as it now is: it is checked to hold what was sent and
recorded in the fleet inventory, never read back. So a change costs two calls (the read, the
write) when all goes well, and nothing else on the way calls Neon for its project.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Iterator

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import Actor
from bulk import branches
from bulk.changes import DEFAULT_BRANCH, DELETE, KINDS, desired_state
from bulk.dry_run import MSG_MISSING, MSG_NO_CHANGE, MSG_PROTECTED
from bulk.models import BulkItem, BulkJob
from bulk.patience import MSG_LANDED_UNKNOWN, LandedUnknown, patiently
from bulk.worker import MSG_STOPPED_WAITING, Stopped, beat, pace_start, stop_asked
from projects.extensions import Refused, check_guards
from projects.neon import (
    NeonAuthError,
    NeonError,
    NeonNotFound,
    NeonRejected,
    Project,
    begin_request,
    end_request,
    get_client,
)
from projects.project_state import SETTINGS, SETTINGS_BY_PATH, diff, get, project_state
from projects.services import delete_attempt, project_delete_sent, project_update_sent

logger = logging.getLogger(__name__)
Outcome, Verdict = BulkItem.Outcome, BulkItem.Verdict

MSG_MOVED = (
    "Changed in Neon since the dry run (%(what)s), so what was reviewed is no longer what "
    "would be sent. Nothing was sent; run a new dry run."
)
MSG_GONE = "The project is gone from Neon since the dry run; nothing was sent."
MSG_FOUND_APPLIED = "Found already applied when the job resumed after its worker stopped."
MSG_STOPPED = "Not done: the job was stopped first."
MSG_NOT_REVIEWED = "Skipped: the dry run could not read it, so no change was reviewed."
MSG_NOT_AS_SENT = (
    "Neon accepted the change, but its answer does not hold %(what)s as sent: check the project."
)
MSG_UNKNOWN = (
    "The job stopped while this change was being sent, and Neon could not be read to tell "
    "whether it landed: %(error)s Check the project."
)

# What apply reports for the items the dry run already decided.
SETTLED = {
    BulkItem.Verdict.UNCHANGED: (BulkItem.Outcome.UNCHANGED, MSG_NO_CHANGE),
    BulkItem.Verdict.REFUSED: (BulkItem.Outcome.REFUSED, ""),
    BulkItem.Verdict.PROTECTED: (BulkItem.Outcome.SKIPPED, MSG_PROTECTED),
    BulkItem.Verdict.MISSING: (BulkItem.Outcome.FAILED, MSG_MISSING),
    BulkItem.Verdict.UNREAD: (BulkItem.Outcome.SKIPPED, MSG_NOT_REVIEWED),
}
APPLIED_AT_ONCE = 100  # items loaded from the database together, sent one by one


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
        waiting = job.items.filter(outcome__in=[Outcome.PENDING, Outcome.SENDING]).count()
        pace_start(job, done=job.items.count() - waiting)
        # Those a dead worker left in flight, and those whose landing is unknown, first: they
        # may already be in Neon, so each is read before anything is sent.
        for outcome in (Outcome.SENDING, Outcome.UNKNOWN, Outcome.PENDING):
            for item in _changes(job, outcome):
                stopping = stop_asked(job)
                if stopping and outcome == Outcome.PENDING:
                    break
                _apply_item(job, item, stopping=stopping)
                beat(job)
        stopped = stop_asked(job)
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


def stopped_before_start(job: BulkJob) -> None:
    """A job stopped before any worker took it: every item reported, nothing was sent."""
    _settle(job)
    job.items.filter(outcome=BulkItem.Outcome.PENDING).update(
        outcome=BulkItem.Outcome.NOT_RUN, outcome_message=MSG_STOPPED, done_at=timezone.now()
    )


def _settle(job: BulkJob) -> None:
    now = timezone.now()
    for verdict, (outcome, message) in SETTLED.items():
        items = job.items.filter(verdict=verdict, outcome=Outcome.PENDING)
        if message:
            items.update(outcome=outcome, outcome_message=message, done_at=now)
            continue
        with transaction.atomic():  # each with its own reasons
            for item in items.only("pk", "messages"):
                item.outcome, item.outcome_message = outcome, "; ".join(item.messages)
                item.done_at = now
                item.save(update_fields=["outcome", "outcome_message", "done_at"])


def _changes(job: BulkJob, outcome: str) -> Iterator[BulkItem]:
    """The job's changes with `outcome`, in name order, loaded a hundred at a time: a job of
    10,000 projects is never held whole. Each is claimed before it is sent (`_apply_item`), so
    one another worker took meanwhile is passed over."""
    pks = job.items.filter(verdict=Verdict.CHANGE, outcome=outcome).values_list("pk", flat=True)
    for chunk in itertools.batched(list(pks), APPLIED_AT_ONCE):
        loaded = job.items.in_bulk(chunk)
        yield from (loaded[pk] for pk in chunk if pk in loaded)


def _apply_item(job: BulkJob, item: BulkItem, *, stopping: bool = False) -> None:
    """Claim the item (a conditional UPDATE: of two workers only one wins), then change it.
    `stopping`: only find out what became of an item a dead worker left in flight."""
    # Sent before, by a worker that stopped in flight or with its answer lost: read it first.
    resumed = item.outcome in (Outcome.SENDING, Outcome.UNKNOWN)
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
    if KINDS[job.kind].target == DEFAULT_BRANCH:
        return branches.change(job, item, resumed=resumed)
    try:
        project = patiently(job, lambda: get_client().get_project(item.project_id))
    except NeonNotFound:
        if resumed and job.kind == DELETE:
            return Outcome.CHANGED, MSG_FOUND_APPLIED, ""
        return Outcome.FAILED, MSG_GONE, ""
    except Stopped:
        return Outcome.NOT_RUN, MSG_STOPPED, ""
    except NeonError as exc:
        if resumed:  # sent before: unread, whether it landed is still unknown
            return Outcome.UNKNOWN, MSG_LANDED_UNKNOWN % {"error": exc.message}, ""
        return Outcome.FAILED, exc.message, ""
    if job.kind == DELETE:
        attempt = delete_attempt(
            actor=_actor(job), project_id=project.id, project_name=project.name, bulk_job_id=job.pk
        )
        try:  # protected since the dry run: skipped, and the refusal audited
            check_guards(attempt)
        except Refused as exc:
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
    if KINDS[job.kind].target == DEFAULT_BRANCH:
        return branches.settle(item, found=MSG_FOUND_APPLIED, not_done=MSG_STOPPED)
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
    """Through the project services' own audited send, wrapped in the job's patience: one
    audit record for the project, however many tries Neon's answers take."""
    request_id = str(uuid.uuid4())
    common = {"actor": _actor(job), "bulk_job_id": job.pk, "request_id": request_id}
    try:
        if body is None:
            project_delete_sent(
                project_id=project.id,
                project_name=project.name,
                send=lambda call: patiently(
                    job, call, landed=lambda: _gone(project.id), project_id=project.id
                ),
                **common,
            )
        else:
            updated = project_update_sent(
                project=project,
                body=body,
                changes=list(changes),
                send=lambda call: patiently(
                    job, call, landed=lambda: _landed(job, project.id), project_id=project.id
                ),
                **common,
            )
            # Neon's answer is the project as it now is (the inventory records it): no read
            # back, but what was sent must be there.
            differs = _not_as_sent(body, updated.project) if updated is not None else []
            if differs:
                return Outcome.FAILED, MSG_NOT_AS_SENT % {"what": ", ".join(differs)}, request_id
    except Stopped:
        return Outcome.NOT_RUN, MSG_STOPPED_WAITING, request_id
    except LandedUnknown as exc:
        return Outcome.UNKNOWN, exc.message, request_id
    except (NeonRejected, NeonAuthError) as exc:
        return Outcome.REFUSED, exc.message, exc.request_id or request_id
    except NeonError as exc:
        return Outcome.FAILED, exc.message, exc.request_id or request_id
    return Outcome.CHANGED, "", request_id


def _not_as_sent(body: dict, project: Project) -> list[str]:
    """The labels of the settings in `body` (the update request's `project` object) that
    `project`, Neon's answer to it, does not hold as sent."""
    state = project_state(project)
    return [
        setting.label
        for setting in SETTINGS
        if (sent := get(body, setting.path)) is not None
        and not setting.same(get(state, setting.path), sent)
    ]


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
