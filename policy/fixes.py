"""Fixing drift: one rule's drifting projects become one bulk job, with the existing machinery
after that (its dry run, approval when the team asks for it, apply). A rule whose drift no
settings change can fix (a Postgres major version, logical replication once on), or that needs
values the policy does not hold (which IP addresses to allow), says so instead."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from audit.services import Actor
from bulk import services as bulk_services
from bulk.models import BulkJob
from fleet.models import InventoryProject
from policy.document import Rule
from policy.models import Drift

MSG_TOO_MANY = (
    "%(count)s projects are out of this rule, more than a bulk job may change "
    "(BULK_MAX_PROJECTS, %(max)s): raise it, or fix them a class or an organization at a time."
)
MSG_NONE = "No project is out of this rule: there is nothing to fix."


def _window(value: dict) -> dict[str, Any]:
    return {
        "maintenance_weekdays": [str(day) for day in value["weekdays"]],
        "maintenance_start_time": value["start_time"],
        "maintenance_end_time": value["end_time"],
    }


# A rule's kind → the bulk change that brings a project within it, given the rule's value.
FIXES = {
    "history_retention_min": lambda v: ("history_retention", {"history_retention": v}),
    "maintenance_window": lambda v: ("maintenance_window", _window(v)),
    "suspend_timeout_max": lambda v: (
        "suspend",
        {"suspend_mode": "custom", "suspend_timeout_seconds": v},
    ),
    "autoscaling": lambda v: (
        "autoscaling",
        {"autoscaling_limit_min_cu": v["min_cu"], "autoscaling_limit_max_cu": v["max_cu"]},
    ),
    "compute_quota_max": lambda v: ("quota", {"quota_compute_time": v}),
    "audit_log_level": lambda v: ("audit_log_level", {"audit_log_level": v}),
    "default_branch_protected": lambda v: ("protect_default_branch", {}),
    "backup_schedule": lambda v: (
        "backup_schedule",
        {
            "backup_frequency": v["frequency"],
            "backup_hour": None,
            "backup_day": 1 if v["frequency"] in ("weekly", "monthly") else None,
            # Whole hours, rounded up: never kept less than the rule asks.
            "backup_retention_hours": -(-v["retention_seconds"] // 3600)
            if v.get("retention_seconds")
            else None,
        },
    ),
}


def fixable(rule: Rule) -> bool:
    return rule.kind in FIXES


class NothingToFix(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def fix_job(*, actor: Actor, rule: Rule, project_ids: list[str] | None = None) -> BulkJob:
    """A bulk job over every project out of `rule` (those of `project_ids` only, if given), its
    dry run queued."""
    drifting = Drift.objects.filter(rule_id=rule.id)
    if project_ids is not None:
        drifting = drifting.filter(project_id__in=project_ids)
    ids = list(drifting.values_list("project_id", flat=True))
    if not ids:
        raise NothingToFix(MSG_NONE)
    if len(ids) > settings.BULK_MAX_PROJECTS:
        raise NothingToFix(MSG_TOO_MANY % {"count": len(ids), "max": settings.BULK_MAX_PROJECTS})
    rows = InventoryProject.objects.filter(project_id__in=ids).order_by("name", "project_id")
    projects = list(rows.values_list("project_id", "name", "org_name"))
    kind, params = FIXES[rule.kind](rule.value)
    return bulk_services.job_create(
        actor=actor,
        kind=kind,
        params=params,
        selection={"policy_rule": rule.id},
        projects=projects,
    )


def fix_class(*, actor: Actor, policy, klass: str) -> tuple[list[BulkJob], list[str]]:
    """One fix job per fixable rule of the class with drift; and why any could not be made."""
    jobs, refused = [], []
    for rule in policy.rules_of(klass):
        if not fixable(rule) or not Drift.objects.filter(rule_id=rule.id).exists():
            continue
        try:
            jobs.append(fix_job(actor=actor, rule=rule))
        except NothingToFix as exc:
            refused.append(f"{rule.id}: {exc.message}")
    return jobs, refused
