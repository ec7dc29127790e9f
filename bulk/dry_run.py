"""The dry run: judge what the change would do to each selected project.

A project is judged from the fleet inventory's copy when the inventory read it within
BULK_INVENTORY_FRESH_SECONDS: no call to Neon. The others are read from Neon at background
priority (operators' pages go first within the account budget, projects.neon.budget): an
account that holds more of them than listing it takes calls is listed, 400 projects a call, and
the rest are read one by one. What is read is recorded in the inventory. Whether Neon would
refuse is asked of the rules the settings form asks too (projects.rules). Nothing is written to
Neon, and apply reads each project again before it sends anything (bulk.apply).
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bulk import branches
from bulk.changes import DEFAULT_BRANCH, DELETE, KINDS, desired_state
from bulk.models import BulkItem, BulkJob
from bulk.worker import beat, pace_start
from fleet.details import accounts_of, details_fresh, list_calls
from fleet.inventory import account_pages, record_projects
from fleet.models import InventoryDetail
from governance.selectors import protected_ids
from projects import permissions
from projects.compute import ComputeLimits
from projects.forms.project import ProjectSettingsForm
from projects.neon import NeonError, NeonNotFound, Project, begin_request, end_request, get_client
from projects.project_state import diff
from projects.rules import judge_state
from projects.selectors import compute_limits

logger = logging.getLogger(__name__)
Verdict = BulkItem.Verdict

READ_AT_ONCE = 8  # reads in flight together, all inside the account budget
JUDGED_AT_ONCE = 400  # items judged from the inventory and saved together
JUDGED_FIELDS = ["project_name", "verdict", "before", "body", "changes", "messages", "read_at"]
MSG_MISSING = "Neon has no such project: it was deleted after the inventory was read."
MSG_UNREAD = "Neon could not be read for this project during the dry run: %(error)s"
MSG_PROTECTED = "Deletion protection is on: this project is skipped."
MSG_NO_CHANGE = "Already as asked: nothing to send."


def plan(job: BulkJob) -> BulkJob:
    """Judge every selected project not judged yet (a resumed dry run goes on where its worker
    stopped): from the inventory where it is fresh, else from Neon."""
    if job.status != BulkJob.Status.PLANNING:
        return job
    token = begin_request(priority="background", allow_stale=False)[1]
    pace_start(job, done=job.items.exclude(verdict=Verdict.PENDING).count())
    try:
        if KINDS[job.kind].target == DEFAULT_BRANCH:
            branches.plan(job)
        else:
            judge = partial(_judge_and_save, job, limits=compute_limits())
            stale = _judge_known(job, judge=judge)
            stale = _judge_listed(job, stale, judge=judge)
            _judge_read(stale, judge=judge)
        job.status, job.planned_at = BulkJob.Status.PLANNED, timezone.now()
    except Exception as exc:
        logger.exception("bulk job %s: the dry run failed", job.pk)
        job.status, job.error = BulkJob.Status.FAILED, f"The dry run failed: {exc}"
    finally:
        end_request(token)
        job.save()
    return job


Judge = Callable[[dict[str, InventoryDetail | NeonError]], None]


def _judge_known(job: BulkJob, *, judge: Judge) -> list[str]:
    """Judge the items whose project the inventory read recently enough; returns the others'
    project IDs, in the job's order."""
    fresh_since = timezone.now() - timedelta(seconds=settings.BULK_INVENTORY_FRESH_SECONDS)
    pending = job.items.filter(verdict=Verdict.PENDING).values_list("project_id", flat=True)
    stale = []
    for chunk in itertools.batched(list(pending), JUDGED_AT_ONCE):
        known = details_fresh(project_ids=chunk, since=fresh_since)
        judge(known)
        stale += [pid for pid in chunk if pid not in known]
    return stale


def _judge_listed(job: BulkJob, stale: list[str], *, judge: Judge) -> list[str]:
    """List each account that holds more stale projects than listing it takes calls, judging
    them as their pages come; returns those still to read one by one (in accounts not worth
    listing, missing from their account's list, or in one whose listing failed)."""
    by_account: dict[str, set[str]] = defaultdict(set)
    for pid, account in accounts_of(project_ids=stale).items():
        by_account[account].add(pid)
    calls = list_calls(accounts=by_account) if by_account else {}
    listed: set[str] = set()
    for account, wanted in by_account.items():
        if calls[account] >= len(wanted):
            continue  # reading them one by one costs no more
        try:
            for page in account_pages(account):
                recorded = record_projects(page.projects, full=False)
                found = {d.project_id: d for d in recorded if d.project_id in wanted}
                judge(found)
                listed |= found.keys()
                wanted -= found.keys()
                if not wanted:
                    break  # the rest of the account is not in this job
        except NeonError as exc:
            logger.warning("bulk job %s: listing %s failed (%s)", job.pk, account, exc)
    return [pid for pid in stale if pid not in listed]


def _judge_read(project_ids: list[str], *, judge: Judge) -> None:
    """Read each project from Neon, a few at once, record it in the inventory and judge it."""
    for chunk in itertools.batched(project_ids, READ_AT_ONCE):
        reads = get_client().together(*[partial(_read, pid) for pid in chunk])
        read = [project for project in reads if isinstance(project, Project)]
        judge({detail.project_id: detail for detail in record_projects(read, full=True)})
        judge({pid: error for pid, error in zip(chunk, reads, strict=True)
               if isinstance(error, NeonError)})  # fmt: skip


def _read(project_id: str) -> Project | NeonError:
    try:
        return get_client().get_project(project_id)
    except NeonError as exc:
        return exc


def _judge_and_save(
    job: BulkJob, known: dict[str, InventoryDetail | NeonError], *, limits: ComputeLimits
) -> None:
    """Judge the items of the projects in `known` (a project's detail, or Neon's error on
    reading it) and save them together."""
    if not known:
        return
    items = list(job.items.filter(project_id__in=list(known), verdict=Verdict.PENDING))
    protected = protected_ids(project_ids=known) if job.kind == DELETE else set()
    for item in items:
        _judge(job, item, known[item.project_id], limits=limits, protected=protected)
    # One UPDATE each, in one transaction: bulk_update's CASE per field and row costs several
    # times more to build than these cost to run (benchmarks/bulk_bench.py).
    with transaction.atomic():
        for item in items:
            item.save(update_fields=JUDGED_FIELDS)
    beat(job)


def _judge(
    job: BulkJob, item: BulkItem, known: InventoryDetail | NeonError, **context: Any
) -> None:
    if isinstance(known, NeonNotFound):
        item.verdict, item.messages = Verdict.MISSING, [MSG_MISSING]
        return
    if isinstance(known, NeonError):
        item.verdict, item.messages = Verdict.UNREAD, [MSG_UNREAD % {"error": known.message}]
        return
    item.project_name, item.read_at = known.name, known.read_at
    state = known.state
    item.before = state
    if job.kind == DELETE:
        refusal = permissions.refusal(known.permission or None, "delete")
        if known.project_id in context["protected"]:
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
    found = refusals(known=known, desired=desired, limits=context["limits"])
    item.verdict, item.messages = (Verdict.REFUSED, found) if found else (Verdict.CHANGE, [])


def refusals(
    *, known: InventoryDetail, desired: dict[str, Any], limits: ComputeLimits
) -> list[str]:
    """What Neon would refuse in going from the project `known` to `desired`, each message
    named by the settings form's label for it, as the settings page shows it."""
    fields = ProjectSettingsForm.base_fields
    found = judge_state(
        current=known.state,
        desired=desired,
        permission_level=known.permission or None,
        provisioner=known.provisioner,
        limits=limits,
    )
    return [f"{fields[v.field].label}: {v.message}" if v.field in fields else v.message
            for v in found]  # fmt: skip


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
