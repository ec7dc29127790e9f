"""The compliance report an auditor asks for: per class, every project against every rule of
its class, whether it is within the rule, since when it is not, and the last fix made through
the dashboard with who approved it. Streamed a chunk of projects at a time, each chunk's drift,
fixes and approvals read in one query apiece, so a class of a million projects costs memory of
a chunk, not of the class."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from bulk.models import BulkItem
from fleet.models import InventoryProject
from governance.models import ApprovalRequest
from policy import drift
from policy.document import Policy
from policy.models import Drift

COLUMNS = (
    "project_id", "project_name", "organization", "class", "rule", "severity", "state",
    "out_since", "last_fix_at", "last_fix_job", "approved_by",
)  # fmt: skip
CHUNK = 2000


def rows(policy: Policy, klass: str) -> Iterator[dict[str, Any]]:
    """One record per project of `klass` and rule of the class, in project name order."""
    rules = policy.rules_of(klass)
    if not rules:
        return
    condition = drift.class_conditions(policy)[klass]
    projects = (
        InventoryProject.objects.filter(gone_at__isnull=True)
        .filter(condition)
        .order_by("name", "project_id")
        .values_list("project_id", "name", "org_name")
    )
    rule_ids = [rule.id for rule in rules]
    for chunk in itertools.batched(projects.iterator(chunk_size=CHUNK), CHUNK):
        ids = [pid for pid, _, _ in chunk]
        since = {
            (pid, rid): at
            for pid, rid, at in Drift.objects.filter(
                project_id__in=ids, rule_id__in=rule_ids
            ).values_list("project_id", "rule_id", "since")
        }
        fixes = _last_fixes(ids, rule_ids)
        for pid, name, org in chunk:
            for rule in rules:
                fixed = fixes.get((pid, rule.id))
                out = since.get((pid, rule.id))
                yield {
                    "project_id": pid,
                    "project_name": name,
                    "organization": org or "Personal account",
                    "class": klass,
                    "rule": rule.id,
                    "severity": rule.severity,
                    "state": "out" if out else "within",
                    "out_since": out.isoformat() if out else "",
                    "last_fix_at": fixed[0].isoformat() if fixed else "",
                    "last_fix_job": fixed[1] if fixed else "",
                    "approved_by": fixed[2] if fixed else "",
                }


def _last_fixes(ids: list[str], rule_ids: list[str]) -> dict[tuple[str, str], tuple]:
    """(project, rule) → (when, bulk job, approving admin) of the last change a fix job made."""
    changed = (
        BulkItem.objects.filter(
            project_id__in=ids,
            outcome=BulkItem.Outcome.CHANGED,
            job__selection__policy_rule__in=rule_ids,
        )
        .order_by("done_at")
        .values_list("project_id", "job__selection__policy_rule", "done_at", "job_id")
    )
    found = {(pid, rid): (at, job) for pid, rid, at, job in changed}
    jobs = {job for _, job in found.values()}
    approved = dict(
        ApprovalRequest.objects.filter(
            bulk_job_id__in=jobs, status=ApprovalRequest.Status.APPROVED
        ).values_list("bulk_job_id", "decided_by")
    )
    return {key: (at, job, approved.get(job, "")) for key, (at, job) in found.items()}
