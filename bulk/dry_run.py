"""The dry run: read each selected project from Neon and judge what the change would do to it.

It reads at background priority, so operators' pages go first within the account budget
(projects.neon.budget). Whether Neon would refuse is asked of the rules the settings form asks
too (projects.rules). Nothing is written.
"""

from __future__ import annotations

import itertools
import logging
from functools import partial
from typing import Any

from django.utils import timezone

from bulk.changes import DELETE, desired_state
from bulk.models import BulkItem, BulkJob
from bulk.worker import beat
from governance.selectors import protected_ids
from projects import permissions
from projects.forms.project import ProjectSettingsForm
from projects.neon import NeonError, NeonNotFound, Project, begin_request, end_request, get_client
from projects.project_state import diff, project_state
from projects.rules import judge
from projects.selectors import compute_limits

logger = logging.getLogger(__name__)
Verdict = BulkItem.Verdict

READ_AT_ONCE = 8  # reads in flight together, all inside the account budget
MSG_MISSING = "Neon has no such project: it was deleted after the inventory was read."
MSG_UNREAD = "Neon could not be read for this project during the dry run: %(error)s"
MSG_PROTECTED = "Deletion protection is on: this project is skipped."
MSG_NO_CHANGE = "Already as asked: nothing to send."


def plan(job: BulkJob) -> BulkJob:
    """Read every selected project and judge what the change would do to it (those not read
    yet: a resumed dry run goes on where its worker stopped)."""
    if job.status != BulkJob.Status.PLANNING:
        return job
    token = begin_request(priority="background", allow_stale=False)[1]
    beat(job)
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
            beat(job)
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


def refusals(*, project: Project, desired: dict[str, Any], limits) -> list[str]:
    """What Neon would refuse in going from `project` to `desired`, each message named by the
    settings form's label for it, as the settings page shows it."""
    fields = ProjectSettingsForm.base_fields
    return [
        f"{fields[v.field].label}: {v.message}" if v.field in fields else v.message
        for v in judge(project=project, desired=desired, limits=limits)
    ]


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
