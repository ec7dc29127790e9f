"""What Neon would refuse, as functions of a desired project state and the current one.

A rule takes values in the update request's shape (`projects.project_state`) and returns
`Violation`s: the settings form's field it belongs to, and the message. The create and settings
forms ask the rules their fields feed (`clean()`); the bulk dry run asks `judge` of the whole
state a change leads to; nothing fills in a form to find out (STYLE.md idiom 19). The ranges a
form field can carry (retention, suspend, quotas) stay field arguments, for the browser; `ranges`
checks the same constants on a state that no field produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projects.compute import ComputeLimits
from projects.neon import Project
from projects.permissions import refusal
from projects.project_state import SUSPEND_DEFAULT, SUSPEND_NEVER, project_state

# --- Documented limits (Neon API v2 spec) -------------------------------------------------------

MAX_HISTORY_RETENTION_SECONDS = 2_592_000  # 30 days
SUSPEND_MIN_SECONDS = 60
SUSPEND_MAX_SECONDS = 604_800  # 1 week
INT64_MAX = 2**63 - 1
# Turned on, these cannot be turned off: (the settings key, the form's field).
IRREVERSIBLE_SETTINGS = (
    ("enable_logical_replication", "enable_logical_replication"),
    ("hipaa", "hipaa"),
)

BACKUP_RETENTION_MIN_SECONDS = 3600  # BackupScheduleItem.retention_seconds minimum
BACKUP_RETENTION_MAX_SECONDS = 35 * 86400  # Neon keeps scheduled snapshots up to 35 days
# The spec's text names hourly to yearly; Neon's documentation accepts these (FACTS.md 12).
BACKUP_ACCEPTED = ("daily", "weekly", "monthly")
MSG_BACKUP_FREQUENCY = "Neon takes scheduled snapshots daily, weekly or monthly."
MSG_BACKUP_RETENTION = (
    "Scheduled snapshots are kept from an hour (3,600 seconds) to 35 days (3,024,000 seconds)."
)
MSG_BACKUP_TWICE = "Give each frequency once."
BACKUP_RANGES = {"hour": (0, 23), "day": (1, 31), "month": (1, 12)}
MSG_RETENTION_TOO_LONG = "History retention can be at most 30 days (2,592,000 seconds)."
MSG_RETENTION_NEGATIVE = "History retention cannot be negative."
MSG_SUSPEND_RANGE = (
    "A custom suspend timeout is from 60 seconds to 604,800 seconds (one week); -1 never "
    "suspends and 0 is Neon's default."
)
MSG_QUOTA_RANGE = f"A quota is from 0 (unlimited) to {INT64_MAX:,}."
MSG_WINDOW_INCOMPLETE = "A maintenance window needs weekdays, a start and an end time, or none."
MSG_WINDOW_REMOVE = "Neon cannot remove a maintenance window; choose its days and times instead."
MSG_WINDOW_EMPTY = "The start and end time must differ."
MSG_LOGICAL_REPLICATION_OFF = "Logical replication cannot be turned off once it is on."
MSG_HIPAA_OFF = "HIPAA compliance cannot be turned off once it is on."
MSG_TURNED_OFF = {
    "enable_logical_replication": MSG_LOGICAL_REPLICATION_OFF,
    "hipaa": MSG_HIPAA_OFF,
}
QUOTA_FIELDS = {
    "active_time_seconds": "quota_active_time",
    "compute_time_seconds": "quota_compute_time",
    "written_data_bytes": "quota_written_data",
    "data_transfer_bytes": "quota_data_transfer",
    "logical_size_bytes": "quota_logical_size",
}


@dataclass(frozen=True)
class Violation:
    """A rule broken: `field` is the settings form's field it is about (None: the project)."""

    field: str | None
    message: str


# --- The rules --------------------------------------------------------------------------------


def compute(
    low: float | None,
    high: float | None,
    *,
    suspend: int | None,
    provisioner: str,
    limits: ComputeLimits,
) -> list[Violation]:
    """Neon's compute size rules (projects.compute) for an autoscaling range and suspend."""
    found = limits.errors(low, high, suspend=suspend, provisioner=provisioner)
    return [Violation(field, message) for field, message in found]


def compute_touched(current: dict[str, Any], low: Any, high: Any, suspend: Any) -> bool:
    """Neon's compute rules are checked when the compute settings change: values Neon already
    holds (perhaps from before a rule) never block another change."""
    e = current["default_endpoint_settings"]
    now = (e["autoscaling_limit_min_cu"], e["autoscaling_limit_max_cu"])
    return (low, high) != now or suspend != e["suspend_timeout_seconds"]


def maintenance_window(
    given: dict[str, Any] | None, *, current: dict[str, Any] | None
) -> list[Violation]:
    """`given`: the window asked for (weekdays, start_time, end_time, any of them empty while
    an operator is typing), None if none; `current`, the project's."""
    if not given:
        return [Violation("maintenance_weekdays", MSG_WINDOW_REMOVE)] if current else []
    parts = [given.get("weekdays"), given.get("start_time"), given.get("end_time")]
    if not all(parts):
        return [Violation("maintenance_weekdays", MSG_WINDOW_INCOMPLETE)]
    if parts[1] == parts[2]:
        return [Violation("maintenance_end_time", MSG_WINDOW_EMPTY)]
    return []


def permission(level: str | None, *, changed: bool) -> list[Violation]:
    """Neon's per-project permission: a key that may only view a project changes nothing."""
    reason = refusal(level, "update") if changed else None
    return [Violation(None, reason)] if reason else []


def irreversible_kept(current: dict[str, Any], desired: dict[str, Any]) -> list[Violation]:
    """What is on for good stays on."""
    now, then = current["settings"], desired["settings"]
    return [
        Violation(field, MSG_TURNED_OFF[key])
        for key, field in IRREVERSIBLE_SETTINGS
        if now.get(key) and not then.get(key)
    ]


def ranges(desired: dict[str, Any]) -> list[Violation]:
    """The documented ranges, on a state no form field produced."""
    found = []
    retention = desired.get("history_retention_seconds")
    if retention is not None and retention > MAX_HISTORY_RETENTION_SECONDS:
        found.append(Violation("history_retention", MSG_RETENTION_TOO_LONG))
    elif retention is not None and retention < 0:
        found.append(Violation("history_retention", MSG_RETENTION_NEGATIVE))
    suspend = desired["default_endpoint_settings"]["suspend_timeout_seconds"]
    custom = suspend not in (SUSPEND_NEVER, SUSPEND_DEFAULT)
    if custom and not SUSPEND_MIN_SECONDS <= suspend <= SUSPEND_MAX_SECONDS:
        found.append(Violation("suspend_timeout_seconds", MSG_SUSPEND_RANGE))
    for key, value in desired["settings"]["quota"].items():
        if value is not None and not 0 <= value <= INT64_MAX:
            found.append(Violation(QUOTA_FIELDS.get(key), MSG_QUOTA_RANGE))
    return found


# --- A whole change ------------------------------------------------------------------------------


def judge(*, project: Project, desired: dict[str, Any], limits: ComputeLimits) -> list[Violation]:
    """Every rule going from `project` to `desired` (a project state) breaks; none when
    `desired` is the project as it is."""
    return judge_state(
        current=project_state(project),
        desired=desired,
        permission_level=project.permission,
        provisioner=project.provisioner,
        limits=limits,
    )


def judge_state(
    *,
    current: dict[str, Any],
    desired: dict[str, Any],
    permission_level: str | None,
    provisioner: str,
    limits: ComputeLimits,
) -> list[Violation]:
    """`judge` from what a project's rules read (its state, the key's permission on it, its
    provisioner), kept without the project itself: the bulk dry run judges from the fleet
    inventory's copy, with no call to Neon."""
    if desired == current:
        return []
    refused = permission(permission_level, changed=True)
    if refused:
        return refused  # Neon refuses every change, whatever it is
    e = desired["default_endpoint_settings"]
    low, high = e["autoscaling_limit_min_cu"], e["autoscaling_limit_max_cu"]
    suspend = e["suspend_timeout_seconds"]
    found = ranges(desired)
    if compute_touched(current, low, high, suspend):
        found += compute(low, high, suspend=suspend, provisioner=provisioner, limits=limits)
    window = desired["settings"]["maintenance_window"]
    found += maintenance_window(window, current=current["settings"]["maintenance_window"])
    return found + irreversible_kept(current, desired)


def backup_schedule(items: list[dict[str, Any]]) -> list[Violation]:
    """A branch's backup schedule (BackupScheduleItem, as sent) as Neon's spec allows it."""
    found: list[Violation] = []
    seen: set[str] = set()
    for item in items:
        frequency = item.get("frequency")
        if frequency not in BACKUP_ACCEPTED:
            found.append(Violation(None, MSG_BACKUP_FREQUENCY))
            continue
        if frequency in seen:
            found.append(Violation(frequency, MSG_BACKUP_TWICE))
        seen.add(frequency)
        kept = item.get("retention_seconds")
        if kept is not None and not (
            BACKUP_RETENTION_MIN_SECONDS <= kept <= BACKUP_RETENTION_MAX_SECONDS
        ):
            found.append(Violation(f"{frequency}_retention_hours", MSG_BACKUP_RETENTION))
        for name, (low, high) in BACKUP_RANGES.items():
            value = item.get(name)
            if value is not None and not low <= value <= high:
                found.append(
                    Violation(f"{frequency}_{name}", f"The {name} is from {low} to {high}.")
                )
    return found
