"""Bulk changes to each project's default branch (protect it; set a line of its backup
schedule): judged on the branch's state, {"protected": bool, "schedule": [items]}, as the fleet
last read it (fleet.branches, when fresh) or read now (two calls); applied through the core's
branch services (guards, one audit record each), after reading the branch again: a branch that
changed since the dry run is skipped, not overwritten."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Actor
from bulk.changes import desired_state, schedule_text
from bulk.models import BulkItem, BulkJob
from bulk.worker import beat
from fleet import branches as fleet_branches
from fleet.models import InventoryBranch
from projects.extensions import Refused
from projects.neon import BackupScheduleItem, Branch, NeonAuthError, NeonError, NeonRejected
from projects.services import backup_schedule_set, branch_protect

Verdict, Outcome = BulkItem.Verdict, BulkItem.Outcome
MSG_NO_BRANCH = "Neon could not be read for this project's default branch: %(error)s"
MSG_NO_SCHEDULE = "Neon gives no backup schedule for this project (a plan without snapshots?)."
MSG_NO_CHANGE = "Already as asked: nothing to send."
MSG_MOVED = (
    "The default branch changed in Neon since the dry run, so what was reviewed is no longer "
    "what would be sent. Nothing was sent; run a new dry run."
)


def branch_state(row: InventoryBranch) -> dict[str, Any]:
    return {"protected": row.protected, "schedule": row.backup_schedule}


def plan(job: BulkJob) -> None:
    """Judge every pending item: from the fleet's copy of its default branch when fresh, else
    read now (and recorded there)."""
    fresh = timezone.now() - timedelta(seconds=settings.BULK_INVENTORY_FRESH_SECONDS)
    pending = list(job.items.filter(verdict=Verdict.PENDING).values_list("project_id", flat=True))
    known = InventoryBranch.objects.filter(project_id__in=pending, read_at__gte=fresh)
    if job.kind == "backup_schedule":
        known = known.filter(backup_schedule__isnull=False)
    found = {row.project_id: row for row in known}
    stale = [pid for pid in pending if pid not in found]
    if stale:
        fleet_branches.sweep(stale)
        found |= InventoryBranch.objects.in_bulk(stale)
    items = list(job.items.filter(verdict=Verdict.PENDING))
    for item in items:
        _judge(job, item, found.get(item.project_id))
    with transaction.atomic():
        for item in items:
            item.save(update_fields=["verdict", "before", "body", "changes", "messages",
                                     "read_at"])  # fmt: skip
    beat(job)


def _judge(job: BulkJob, item: BulkItem, row: InventoryBranch | None) -> None:
    if row is None:
        item.verdict = Verdict.UNREAD
        item.messages = [MSG_NO_BRANCH % {"error": "no answer"}]
        return
    state = branch_state(row)
    item.before, item.read_at = state, row.read_at
    if job.kind == "backup_schedule" and state["schedule"] is None:
        item.verdict, item.messages = Verdict.UNREAD, [MSG_NO_SCHEDULE]
        return
    desired = desired_state(job.kind, job.params, state)
    item.body = desired
    item.changes = rows(state, desired)
    item.verdict = Verdict.CHANGE if item.changes else Verdict.UNCHANGED
    item.messages = [] if item.changes else [MSG_NO_CHANGE]


def rows(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The before → after the job's page shows, one row per part of the branch that moves."""
    found = []
    if before["protected"] != after["protected"]:
        found.append({
            "path": "default_branch.protected", "label": "Default branch protected",
            "before": before["protected"], "after": after["protected"],
            "before_text": "yes" if before["protected"] else "no",
            "after_text": "yes" if after["protected"] else "no",
        })  # fmt: skip
    if before["schedule"] != after["schedule"]:
        found.append({
            "path": "default_branch.backup_schedule", "label": "Backup schedule",
            "before": before["schedule"], "after": after["schedule"],
            "before_text": schedule_text(before["schedule"]),
            "after_text": schedule_text(after["schedule"]),
        })  # fmt: skip
    return found


def read(project_id: str) -> tuple[Branch, list[BackupScheduleItem] | None]:
    """The default branch and its schedule, from Neon now (recorded in the fleet)."""
    found = fleet_branches.read_default(project_id, fresh=True)
    if found is None:
        raise NoDefaultBranch
    fleet_branches.record(project_id, *found)
    return found


class NoDefaultBranch(Exception):
    message = "Neon lists no default branch for this project."


def _as_state(branch: Branch, schedule: list[BackupScheduleItem] | None) -> dict[str, Any]:
    return {
        "protected": branch.protected,
        "schedule": [i.as_api() for i in schedule] if schedule is not None else None,
    }


def settle(item: BulkItem, *, found: str, not_done: str) -> tuple[str, str, str]:
    """A stopped job's item a dead worker was sending: changed if the branch holds it."""
    try:
        now = _as_state(*read(item.project_id))
    except (NeonError, NoDefaultBranch) as exc:
        return Outcome.FAILED, MSG_NO_BRANCH % {"error": exc.message}, ""
    return (Outcome.CHANGED, found, "") if now == item.body else (Outcome.NOT_RUN, not_done, "")


def change(job: BulkJob, item: BulkItem, *, resumed: bool) -> tuple[str, str, str]:
    """Read the default branch again, then send what the dry run reviewed if it still holds."""
    try:
        branch, schedule = read(item.project_id)
    except (NeonError, NoDefaultBranch) as exc:
        return Outcome.FAILED, MSG_NO_BRANCH % {"error": exc.message}, ""
    now = _as_state(branch, schedule)
    if now == item.body:
        return (Outcome.CHANGED, "", "") if resumed else (Outcome.UNCHANGED, MSG_NO_CHANGE, "")
    if now != item.before:
        return Outcome.SKIPPED, MSG_MOVED, ""
    actor = Actor(username=job.applied_by or job.created_by)
    try:
        if job.kind == "protect_default_branch":
            branch_protect(actor=actor, branch=branch, project_name=item.project_name,
                           protected=True, bulk_job_id=job.pk)  # fmt: skip
        else:
            backup_schedule_set(
                actor=actor,
                branch=branch,
                project_name=item.project_name,
                before=schedule or [],
                schedule=[BackupScheduleItem.from_api(i) for i in item.body["schedule"]],
                bulk_job_id=job.pk,
            )
    except Refused as exc:
        return Outcome.SKIPPED, exc.message, ""
    except (NeonRejected, NeonAuthError) as exc:
        return Outcome.REFUSED, exc.message, exc.request_id or ""
    except NeonError as exc:
        return Outcome.FAILED, exc.message, exc.request_id or ""
    return Outcome.CHANGED, "", ""
