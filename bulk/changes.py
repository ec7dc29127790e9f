"""The changes a bulk job can make, each a function from a project's state to the state wanted.

A change works on the project state of `projects.project_state` (the update request's shape), so
the request body, the before → after of the dry run and the audit record come from the same
`diff` the settings page uses, and every result is judged by the rules the settings form asks
(projects.rules).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from projects.forms.project import QUOTAS
from projects.project_state import (
    SETTINGS_BY_PATH,
    SUSPEND_DEFAULT,
    SUSPEND_NEVER,
)

DELETE = "delete"
DEFAULT_BRANCH = "default_branch"


@dataclass(frozen=True)
class Kind:
    slug: str
    label: str
    fields: tuple[str, ...]  # the change form's fields this kind reads
    apply: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None
    summary: Callable[[dict[str, Any]], str]
    admin_only: bool = False  # operators may run every change that can be undone
    # What it changes: the project's settings (its state, projects.project_state), or its
    # default branch (bulk.branches: {"protected": bool, "schedule": [BackupScheduleItem]}).
    target: str = "project"


def _set(path: str) -> Callable[[dict[str, Any], Any], None]:
    *parents, leaf = path.split(".")

    def put(state: dict[str, Any], value: Any) -> None:
        for key in parents:
            state = state[key]
        state[leaf] = copy.deepcopy(value)

    return put


def _show(path: str, value: Any) -> str:
    return SETTINGS_BY_PATH[path].show(value)


def _suspend_seconds(params: dict[str, Any]) -> int:
    mode = params.get("suspend_mode")
    if mode == "never":
        return SUSPEND_NEVER
    if mode == "custom":
        return int(params["suspend_timeout_seconds"])
    return SUSPEND_DEFAULT


_SUSPEND = "default_endpoint_settings.suspend_timeout_seconds"
_MIN_CU = "default_endpoint_settings.autoscaling_limit_min_cu"
_MAX_CU = "default_endpoint_settings.autoscaling_limit_max_cu"
_WINDOW = "settings.maintenance_window"
_IPS = "settings.allowed_ips.ips"
_RETENTION = "history_retention_seconds"
_AUDIT = "settings.audit_log_level"
_QUOTA = "settings.quota."


def _window(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "weekdays": sorted(int(d) for d in params["maintenance_weekdays"]),
        "start_time": params["maintenance_start_time"],
        "end_time": params["maintenance_end_time"],
    }


def _with(state: dict[str, Any], *puts: tuple[str, Any]) -> dict[str, Any]:
    desired = copy.deepcopy(state)
    for path, value in puts:
        _set(path)(desired, value)
    return desired


def _added(state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    ips = list(state["settings"]["allowed_ips"]["ips"])
    ips += [entry for entry in params["ip_entries"] if entry not in ips]
    return _with(state, (_IPS, ips))


def _removed(state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    gone = set(params["ip_entries"])
    ips = [entry for entry in state["settings"]["allowed_ips"]["ips"] if entry not in gone]
    return _with(state, (_IPS, ips))


def _quotas(state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Only the quotas given change; 0 is unlimited, as in the settings form."""
    given = [(name, params[name]) for name in QUOTAS if params.get(name) is not None]
    return _with(state, *[(_QUOTA + QUOTAS[name], value) for name, value in given])


def _quotas_summary(params: dict[str, Any]) -> str:
    paths = [(_QUOTA + QUOTAS[n], params[n]) for n in QUOTAS if params.get(n) is not None]
    return "; ".join(f"{SETTINGS_BY_PATH[p].label}: {_show(p, v)}" for p, v in paths)


def schedule_item(params: dict[str, Any]) -> dict[str, Any]:
    """The schedule line a backup_schedule change asks for (BackupScheduleItem, as sent)."""
    item: dict[str, Any] = {"frequency": params["backup_frequency"]}
    if params.get("backup_hour") is not None and params["backup_frequency"] != "hourly":
        item["hour"] = params["backup_hour"]
    if params.get("backup_day") is not None and params["backup_frequency"] in ("weekly", "monthly"):
        item["day"] = params["backup_day"]
    if params.get("backup_retention_hours"):
        item["retention_seconds"] = params["backup_retention_hours"] * 3600
    return item


def _scheduled(state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The line of that frequency set as asked; the schedule's other lines kept."""
    wanted = schedule_item(params)
    kept = [i for i in state["schedule"] or [] if i.get("frequency") != wanted["frequency"]]
    return {**state, "schedule": sorted([*kept, wanted], key=lambda i: i["frequency"])}


def schedule_text(schedule: list[dict[str, Any]] | None) -> str:
    if schedule is None:
        return "not known"
    if not schedule:
        return "no snapshots scheduled"
    parts = []
    for item in schedule:
        kept = item.get("retention_seconds")
        parts.append(item["frequency"] + (f", kept {kept // 3600} h" if kept else ""))
    return "; ".join(parts)


def _schedule_summary(params: dict[str, Any]) -> str:
    return f"Backup schedule of the default branch: {schedule_text([schedule_item(params)])}"


def _entries(params: dict[str, Any]) -> str:
    return ", ".join(params["ip_entries"])


KINDS: dict[str, Kind] = {
    kind.slug: kind
    for kind in (
        Kind(
            "maintenance_window",
            "Maintenance window",
            ("maintenance_weekdays", "maintenance_start_time", "maintenance_end_time"),
            lambda state, p: _with(state, (_WINDOW, _window(p))),
            lambda p: f"Maintenance window: {_show(_WINDOW, _window(p))}",
        ),
        Kind(
            "suspend",
            "Suspend timeout",
            ("suspend_mode", "suspend_timeout_seconds"),
            lambda state, p: _with(state, (_SUSPEND, _suspend_seconds(p))),
            lambda p: f"Suspend computes: {_show(_SUSPEND, _suspend_seconds(p))}",
        ),
        Kind(
            "autoscaling",
            "Autoscaling range",
            ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"),
            lambda state, p: _with(
                state,
                (_MIN_CU, p["autoscaling_limit_min_cu"]),
                (_MAX_CU, p["autoscaling_limit_max_cu"]),
            ),
            lambda p: (
                f"Autoscaling: {p['autoscaling_limit_min_cu']:g} to "
                f"{p['autoscaling_limit_max_cu']:g} CU"
            ),
        ),
        Kind("quota", "Quotas", tuple(QUOTAS), _quotas, _quotas_summary),
        Kind(
            "allowlist_add",
            "Add to the IP allowlist",
            ("ip_entries",),
            _added,
            lambda p: f"Allow IP addresses: add {_entries(p)}",
        ),
        Kind(
            "allowlist_remove",
            "Remove from the IP allowlist",
            ("ip_entries",),
            _removed,
            lambda p: f"Allow IP addresses: remove {_entries(p)}",
        ),
        Kind(
            "history_retention",
            "History retention",
            ("history_retention",),
            lambda state, p: _with(state, (_RETENTION, p["history_retention"])),
            lambda p: f"History retention: {_show(_RETENTION, p['history_retention'])}",
        ),
        Kind(
            "audit_log_level",
            "Audit log level",
            ("audit_log_level",),
            lambda state, p: _with(state, (_AUDIT, p["audit_log_level"])),
            lambda p: f"Audit log level: {p['audit_log_level']}",
        ),
        Kind(
            "protect_default_branch",
            "Protect the default branch",
            (),
            lambda state, p: {**state, "protected": True},
            lambda p: "Protect the default branch in Neon",
            target=DEFAULT_BRANCH,
        ),
        Kind(
            "backup_schedule",
            "Backup schedule of the default branch",
            ("backup_frequency", "backup_hour", "backup_day", "backup_retention_hours"),
            _scheduled,
            _schedule_summary,
            target=DEFAULT_BRANCH,
        ),
        Kind(DELETE, "Delete projects", (), None, lambda p: "Delete projects", admin_only=True),
    )
}


def desired_state(kind: str, params: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """The state `state` would have after the change (a new dict; `state` is left alone)."""
    apply = KINDS[kind].apply
    if apply is None:
        raise ValueError(f"{kind} changes no setting")
    return apply(state, params)
