"""The rules a policy can set, each checked on its value with the rules the settings form asks
(projects.rules, projects.compute): a policy asking for what Neon would refuse cannot load."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q

from fleet.models import InventoryBackup, InventoryBranch, InventoryDetail
from governance.models import Protection
from projects import rules
from projects.compute import ComputeLimits
from projects.neon import BACKUP_FREQUENCIES

PG_VERSIONS = (14, 15, 16, 17, 18)  # the spec's PgVersion: 14 to 18
AUDIT_LOG_LEVELS = ("base", "extended", "full")  # the spec's ProjectAuditLogLevel
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
UPGRADE_GUIDE = "https://neon.com/docs/postgresql/postgres-upgrade"
# What suspend_timeout_seconds 0 means: Neon's default, five minutes (FACTS.md, compute).
SUSPEND_DEFAULT_SECONDS = 300


@dataclass(frozen=True)
class Kind:
    slug: str
    label: str
    why: str
    fix: str  # what fixes the drift, or why no change can
    check: Callable[[Any], list[str]]  # the value's problems
    drifting: Callable[[Any], Q]  # the inventory rows out of the rule, given its value
    needs_value: bool = True
    default: Any = None
    value_help: str = ""
    fixable: bool = True  # a settings change (a bulk job) can fix it
    branch: bool = False  # judged on the default branch, read project by project
    normal: Callable[[Any], Any] = lambda value: value


def _int_between(low: int, high: int, what: str) -> Callable[[Any], list[str]]:
    def check(value: Any) -> list[str]:
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{what} must be a whole number"]
        return [] if low <= value <= high else [f"{what} must be from {low:,} to {high:,}"]

    return check


def _messages(found: list[rules.Violation]) -> list[str]:
    return [violation.message for violation in found]


def _retention(value: Any) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return ["seconds of history, a whole number"]
    desired = {
        "history_retention_seconds": value,
        "default_endpoint_settings": {"suspend_timeout_seconds": 0},
        "settings": {"quota": {}},
    }
    return _messages(rules.ranges(desired))


def _suspend(value: Any) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return ["seconds before an idle compute suspends, a whole number"]
    desired = {"default_endpoint_settings": {"suspend_timeout_seconds": value}, "settings": {}}
    desired["settings"]["quota"] = {}
    return _messages(rules.ranges(desired))


def _autoscaling(value: Any) -> list[str]:
    if not isinstance(value, dict) or set(value) != {"min_cu", "max_cu"}:
        return ["the bounds, as {min_cu: …, max_cu: …}"]
    low, high = value["min_cu"], value["max_cu"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
        return ["min_cu and max_cu are numbers of compute units"]
    found = ComputeLimits().errors(low, high, suspend=None, provisioner="k8s-neonvm")
    return [message for _, message in found]


def _window(value: Any) -> list[str]:
    if not isinstance(value, dict) or set(value) != {"weekdays", "start_time", "end_time"}:
        return ["the window, as {weekdays: [1, …], start_time: 'HH:MM', end_time: 'HH:MM'}"]
    days = value["weekdays"]
    if not isinstance(days, list) or not days or not all(d in range(1, 8) for d in days):
        return ["weekdays are 1 (Monday) to 7 (Sunday)"]
    times = (value["start_time"], value["end_time"])
    if not all(isinstance(t, str) and TIME.match(t) for t in times):
        return ["times are HH:MM, in UTC"]
    return _messages(rules.maintenance_window(value, current=None))


def _quota(value: Any) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return ["seconds of compute time a month, a whole number"]
    if value <= 0:
        return ["a quota above 0 (0 is unlimited in Neon, which is no quota)"]
    desired = {"default_endpoint_settings": {"suspend_timeout_seconds": 0}}
    desired["settings"] = {"quota": {"compute_time_seconds": value}}
    return _messages(rules.ranges(desired))


def _one_of(*allowed: Any) -> Callable[[Any], list[str]]:
    def check(value: Any) -> list[str]:
        return [] if value in allowed else [f"must be one of {', '.join(map(str, allowed))}"]

    return check


def _window_normal(value: dict) -> dict:
    return {**value, "weekdays": sorted(set(value["weekdays"]))}


# -- Out of the rule, as a condition on the fleet inventory (one query for the whole fleet) --


def _public(value: str) -> Q:
    blocked = Q(block_public_connections=True)
    return ~blocked if value == "blocked" else ~blocked & Q(allowed_ips_count=0)


def _suspend_over(value: int) -> Q:
    """Never suspending is out; Neon's default (0) is its 5 minutes."""
    never = Q(suspend_timeout_seconds=-1)
    over = Q(suspend_timeout_seconds__gt=value) | never
    return over | Q(suspend_timeout_seconds=0) if value < SUSPEND_DEFAULT_SECONDS else over


def _outside(value: dict) -> Q:
    return Q(cu_max__gt=value["max_cu"]) | Q(cu_min__lt=value["min_cu"])


def _audit_below(value: str) -> Q:
    enough = AUDIT_LOG_LEVELS[AUDIT_LOG_LEVELS.index(value) :]
    kept = InventoryDetail.objects.filter(
        project_id=OuterRef("project_id"), state__settings__audit_log_level__in=enough
    )
    return ~Q(Exists(kept))  # an anti-join: NOT IN over a million details is quadratic


def _branch_read(**conditions) -> Q:
    """The default branch was read (fleet.branches) and meets `conditions`: a project whose
    default branch was never read is not judged (the rule's page counts it as not checked)."""
    return Q(
        Exists(InventoryBranch.objects.filter(project_id=OuterRef("project_id"), **conditions))
    )


def _branch_unprotected(value: Any) -> Q:
    return _branch_read(protected=False)


def _backup_short(value: dict) -> Q:
    """No item of the schedule is as frequent as asked and kept as long (None: kept until
    deleted); a schedule Neon would not give is not judged."""
    enough = InventoryBackup.objects.filter(
        project_id=OuterRef("project_id"), rank__lte=BACKUP_FREQUENCIES.index(value["frequency"])
    )
    if value.get("retention_seconds"):
        enough = enough.filter(
            Q(retention_seconds__isnull=True) | Q(retention_seconds__gte=value["retention_seconds"])
        )
    return _branch_read(backup_schedule__isnull=False) & ~Q(Exists(enough))


def _backup(value: Any) -> list[str]:
    if not isinstance(value, dict) or "frequency" not in value:
        return ["a mapping with a frequency (and retention_seconds, optional)"]
    problems = [f"{key}: unknown (expected frequency, retention_seconds)"
                for key in sorted(set(value) - {"frequency", "retention_seconds"})]  # fmt: skip
    item = {"frequency": value["frequency"], "retention_seconds": value.get("retention_seconds")}
    retention = item["retention_seconds"]
    if retention is not None and (isinstance(retention, bool) or not isinstance(retention, int)):
        return [*problems, "retention_seconds must be a whole number of seconds"]
    return problems + _messages(rules.backup_schedule([item]))


def _unprotected(value: Any) -> Q:
    return ~Q(Exists(Protection.objects.filter(project_id=OuterRef("project_id"))))


KINDS: dict[str, Kind] = {
    kind.slug: kind
    for kind in (
        Kind(
            "postgres_version_min",
            "Postgres version at least",
            "Old major versions stop getting security fixes; Neon requires upgrading them.",
            f"A major version upgrade needs a new project and a migration: {UPGRADE_GUIDE}",
            _int_between(PG_VERSIONS[0], PG_VERSIONS[-1], "a Postgres major version"),
            lambda v: Q(pg_version__lt=v),
            value_help="a major version, 14 to 18",
            fixable=False,
        ),
        Kind(
            "public_connections",
            "Connections from the internet",
            "Without an IP allowlist anyone with the password can connect from anywhere.",
            "Set an IP allowlist, or block public connections, in each project's network "
            "settings (which addresses to allow is not the policy's to say).",
            _one_of("allowlist", "blocked"),
            _public,
            value_help="allowlist (an IP allowlist is set) or blocked (public connections off)",
            fixable=False,
        ),
        Kind(
            "history_retention_min",
            "History retention at least",
            "History is what point-in-time restore and branching from the past can reach.",
            "Raise the history retention.",
            _retention,
            lambda v: (
                Q(history_retention_seconds__lt=v) | Q(history_retention_seconds__isnull=True)
            ),
            value_help="seconds, up to 2,592,000 (30 days)",
        ),
        Kind(
            "maintenance_window",
            "A maintenance window",
            "Without one, Neon restarts computes for updates whenever it needs to.",
            "Set the maintenance window.",
            _window,
            lambda v: Q(has_maintenance_window=False),
            value_help="{weekdays: [6, 7], start_time: '01:00', end_time: '03:00'} (UTC)",
            normal=_window_normal,
        ),
        Kind(
            "suspend_timeout_max",
            "Suspend idle computes within",
            "A compute that never suspends is billed every hour it runs, used or not.",
            "Lower the suspend timeout.",
            _suspend,
            _suspend_over,
            value_help="seconds, 60 to 604,800",
        ),
        Kind(
            "autoscaling",
            "Autoscaling within",
            "Bounds keep a busy project from scaling into a bill nobody planned.",
            "Set the autoscaling range inside the bounds.",
            _autoscaling,
            _outside,
            value_help="{min_cu: 0.25, max_cu: 4}",
        ),
        Kind(
            "compute_quota_max",
            "Compute-time quota at most",
            "A quota stops a runaway project: Neon suspends its computes when it is used up.",
            "Set a compute-time quota.",
            _quota,
            lambda v: (
                Q(compute_time_quota_seconds__isnull=True) | Q(compute_time_quota_seconds__gt=v)
            ),
            value_help="seconds of compute time a month",
        ),
        Kind(
            "deletion_protection",
            "Deletion protection",
            "A protected project cannot be deleted through the dashboard by one person.",
            "Protect each project from its page (Protect…).",
            _one_of(True),
            _unprotected,
            needs_value=False,
            default=True,
            fixable=False,
        ),
        Kind(
            "default_branch_protected",
            "Default branch protected in Neon",
            "A protected branch cannot be deleted, archived or reset, and blocks deleting its "
            "project: the production data's last line of defence.",
            "Protect the default branch (a bulk job, or from the project's Branches).",
            _one_of(True),
            _branch_unprotected,
            needs_value=False,
            default=True,
            branch=True,
        ),
        Kind(
            "backup_schedule",
            "Backup schedule on the default branch",
            "Scheduled snapshots are what a restore can go back to once history retention has "
            "moved past the moment that matters.",
            "Set the backup schedule's line of that frequency (a bulk job, or from the "
            "project's Branches).",
            _backup,
            _backup_short,
            value_help="frequency (daily, weekly or monthly) and, optional, retention_seconds "
            "(3,600 to 3,024,000)",
            branch=True,
        ),
        Kind(
            "logical_replication_off",
            "Logical replication off",
            "Logical replication keeps write-ahead log for subscribers and cannot be undone.",
            "Once on, Neon cannot turn it off: the project must be recreated without it.",
            _one_of(True),
            lambda v: Q(logical_replication=True),
            needs_value=False,
            default=True,
            fixable=False,
        ),
        Kind(
            "audit_log_level",
            "Audit log level",
            "What Neon records of the database's activity, for an auditor.",
            "Set the audit log level.",
            _one_of(*AUDIT_LOG_LEVELS),
            _audit_below,
            value_help="base, extended or full",
        ),
    )
}


# -- Out of the rule, as a check of one project state (projects.project_state's shape): what a
# settings change would lead to, judged before it is sent (policy.guard). Rules about what a
# settings change cannot touch (the Postgres version, the dashboard's protection) are absent.


def _state_suspend(state: dict) -> float:
    seconds = state["default_endpoint_settings"]["suspend_timeout_seconds"]
    return {0: SUSPEND_DEFAULT_SECONDS, -1: float("inf")}.get(seconds, seconds)


def _state_public(value: str, state: dict) -> bool:
    settings = state["settings"]
    if settings.get("block_public_connections"):
        return False
    return value == "blocked" or not settings["allowed_ips"]["ips"]


def _state_autoscaling(value: dict, state: dict) -> bool:
    e = state["default_endpoint_settings"]
    low, high = e["autoscaling_limit_min_cu"], e["autoscaling_limit_max_cu"]
    return (high is not None and high > value["max_cu"]) or (
        low is not None and low < value["min_cu"]
    )


def _state_quota(value: int, state: dict) -> bool:
    quota = state["settings"]["quota"].get("compute_time_seconds") or 0
    return not quota or quota > value


def _state_audit(value: str, state: dict) -> bool:
    level = state["settings"].get("audit_log_level") or AUDIT_LOG_LEVELS[0]
    return AUDIT_LOG_LEVELS.index(level) < AUDIT_LOG_LEVELS.index(value)


STATE_OUT: dict[str, Callable[[Any, dict], bool]] = {
    "public_connections": _state_public,
    "history_retention_min": lambda v, state: (state["history_retention_seconds"] or 0) < v,
    "maintenance_window": lambda v, state: not state["settings"]["maintenance_window"],
    "suspend_timeout_max": lambda v, state: _state_suspend(state) > v,
    "autoscaling": _state_autoscaling,
    "compute_quota_max": _state_quota,
    "logical_replication_off": lambda v, state: bool(
        state["settings"].get("enable_logical_replication")
    ),
    "audit_log_level": _state_audit,
}
