"""A project's editable state in the shape of Neon's update request: the one description of that
shape. The settings form starts from it and returns it, the services diff two of them to build the
request body, and the review page and the audit log show the same diff.

The state holds every value Neon can hold, exactly: CU between the form's steps, retention in
seconds, quotas in seconds and bytes. Absent values are written as what Neon does with them
(no quota is 0, i.e. unlimited; no suspend timeout is 0, Neon's default; no preload settings is
"Neon's default libraries and nothing else"), so a form that leaves a field alone compares equal.
`None` stays only where Neon has no way back to "not set" (a compute size, the audit log level, a
maintenance window): a desired `None` there means "leave it as it is".
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from projects.neon import Project, Quota

QUOTA_KEYS = tuple(f.name for f in fields(Quota))

SUSPEND_NEVER = -1
SUSPEND_DEFAULT = 0
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Exact units, largest first: a quantity is shown in the largest unit that divides it.
TIME_UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))
BYTE_UNITS = (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10), ("bytes", 1))


def exact_unit(value: int, units: tuple[tuple[str, int], ...]) -> tuple[int, str]:
    """`value` as (count, unit name) in the largest unit that holds it without a remainder."""
    for name, size in units:
        if value % size == 0:
            return value // size, name
    return value, units[-1][0]  # pragma: no cover - the last unit is always 1


def project_state(project: Project) -> dict[str, Any]:
    s, e = project.settings, project.endpoint_defaults
    window = s.maintenance_window
    return {
        "name": project.name,
        "history_retention_seconds": project.history_retention_seconds,
        "settings": {
            "quota": {key: getattr(s.quota, key) or 0 for key in QUOTA_KEYS},
            "allowed_ips": {
                "ips": list(s.allowed_ips),
                "protected_branches_only": s.protected_branches_only,
            },
            "enable_logical_replication": s.enable_logical_replication,
            "maintenance_window": (
                {
                    "weekdays": sorted(window.weekdays),
                    "start_time": window.start_time,
                    "end_time": window.end_time,
                }
                if window
                else None
            ),
            "block_public_connections": s.block_public_connections,
            "block_vpc_connections": s.block_vpc_connections,
            "audit_log_level": s.audit_log_level,
            "hipaa": s.hipaa,
            "preload_libraries": {
                # Unset means Neon's defaults are loaded: shown ticked, sent as true.
                "use_defaults": s.preload_use_defaults is not False,
                "enabled_libraries": sorted(s.preload_libraries),
            },
        },
        "default_endpoint_settings": {
            "autoscaling_limit_min_cu": e.autoscaling_limit_min_cu,
            "autoscaling_limit_max_cu": e.autoscaling_limit_max_cu,
            "suspend_timeout_seconds": e.suspend_timeout_seconds or SUSPEND_DEFAULT,
            "pg_settings": dict(e.pg_settings),
        },
    }


# --- How each value reads to an operator ---------------------------------------------------------


def _cu(value: Any) -> str:
    return "not set (Neon's default)" if value is None else f"{value:g} CU"


def _count(count: int, unit: str) -> str:
    return f"{count:,} {unit[:-1] if count == 1 and unit.endswith('s') else unit}"


def _retention(value: Any) -> str:
    if value is None:
        return "not set"
    if value == 0:
        return "0 (no history kept)"
    return _count(*exact_unit(value, TIME_UNITS))


def _quota_time(value: Any) -> str:
    return "unlimited" if not value else _count(*exact_unit(value, TIME_UNITS))


def _quota_bytes(value: Any) -> str:
    return "unlimited" if not value else _count(*exact_unit(value, BYTE_UNITS))


def _suspend(value: Any) -> str:
    if value == SUSPEND_NEVER:
        return "never"
    if not value:
        return "Neon's default (5 minutes)"
    return "after " + _count(*exact_unit(value, TIME_UNITS))


def _flag(value: Any) -> str:
    return "on" if value else "off"


def _ips(value: Any) -> str:
    return ", ".join(value) if value else "none (every address allowed)"


def _window(value: Any) -> str:
    if not value:
        return "none"
    days = ", ".join(WEEKDAY_NAMES[d - 1] for d in value["weekdays"])
    return f"{days}, {value['start_time']} to {value['end_time']} UTC"


def _pairs(value: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in value.items()) if value else "none"


def _libraries(value: Any) -> str:
    return ", ".join(value) if value else "none"


def _text(value: Any) -> str:
    return "not set" if value is None or value == "" else str(value)


def _same_set(a: Any, b: Any) -> bool:
    return sorted(a or []) == sorted(b or [])


@dataclass(frozen=True)
class Setting:
    """One value an operator can change: where it sits in the request, how it reads, and which
    values Neon must receive together with it (`group`, dotted paths)."""

    path: str
    label: str
    show: Callable[[Any], str] = _text
    group: tuple[str, ...] = ()
    irreversible: bool = False
    same: Callable[[Any, Any], bool] = lambda a, b: a == b

    @property
    def sent_with(self) -> tuple[str, ...]:
        return self.group or (self.path,)


_Q = "settings.quota."
_QUOTA_GROUP = tuple(_Q + key for key in QUOTA_KEYS)
_IPS = ("settings.allowed_ips.ips", "settings.allowed_ips.protected_branches_only")
_PRELOAD = (
    "settings.preload_libraries.use_defaults",
    "settings.preload_libraries.enabled_libraries",
)
_CU = (
    "default_endpoint_settings.autoscaling_limit_min_cu",
    "default_endpoint_settings.autoscaling_limit_max_cu",
)

# Sent whole, because Neon replaces these objects as one piece: half a `quota` would leave the
# other half to Neon's reading (unchanged, or unlimited?). The two CU limits are one range that
# Neon checks as a pair.
SETTINGS: tuple[Setting, ...] = (
    Setting("name", "Project name"),
    Setting(_CU[0], "Minimum compute size", _cu, group=_CU),
    Setting(_CU[1], "Maximum compute size", _cu, group=_CU),
    Setting("default_endpoint_settings.suspend_timeout_seconds", "Suspend computes", _suspend),
    Setting("default_endpoint_settings.pg_settings", "Postgres settings", _pairs),
    Setting("history_retention_seconds", "History retention", _retention),
    Setting(_Q + "active_time_seconds", "Active time quota", _quota_time, _QUOTA_GROUP),
    Setting(_Q + "compute_time_seconds", "Compute time quota", _quota_time, _QUOTA_GROUP),
    Setting(_Q + "written_data_bytes", "Written data quota", _quota_bytes, _QUOTA_GROUP),
    Setting(_Q + "data_transfer_bytes", "Data transfer quota", _quota_bytes, _QUOTA_GROUP),
    Setting(_Q + "logical_size_bytes", "Logical size quota", _quota_bytes, _QUOTA_GROUP),
    Setting(_IPS[0], "Allowed IP addresses", _ips, group=_IPS),
    Setting(_IPS[1], "Allowlist for protected branches only", _flag, group=_IPS),
    Setting("settings.block_public_connections", "Block public connections", _flag),
    Setting("settings.block_vpc_connections", "Block VPC connections", _flag),
    Setting("settings.maintenance_window", "Maintenance window", _window),
    Setting(_PRELOAD[0], "Preload Neon's default libraries", _flag, group=_PRELOAD),
    Setting(_PRELOAD[1], "Preloaded libraries", _libraries, _PRELOAD, same=_same_set),
    Setting("settings.audit_log_level", "Audit log level", _text),
    Setting("settings.enable_logical_replication", "Logical replication", _flag, irreversible=True),
    Setting("settings.hipaa", "HIPAA compliance", _flag, irreversible=True),
)
SETTINGS_BY_PATH = {s.path: s for s in SETTINGS}


def get(state: dict[str, Any], path: str) -> Any:
    value: Any = state
    for key in path.split("."):
        value = (value or {}).get(key)
    return value


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        body = body.setdefault(key, {})
    body[leaf] = copy.deepcopy(value)


@dataclass(frozen=True)
class Change:
    setting: Setting
    before: Any
    after: Any

    @property
    def label(self) -> str:
        return self.setting.label

    @property
    def before_text(self) -> str:
        return self.setting.show(self.before)

    @property
    def after_text(self) -> str:
        return self.setting.show(self.after)

    @property
    def irreversible(self) -> bool:
        return self.setting.irreversible


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], list[Change]]:
    """What it takes to go from `before` to `after`: the update request's `project` object
    (only what changed, with the values Neon needs alongside), and one Change per setting.
    A `None` in `after` leaves that value alone."""
    body: dict[str, Any] = {}
    changes: list[Change] = []
    for setting in SETTINGS:
        old, new = get(before, setting.path), get(after, setting.path)
        if new is None or setting.same(old, new):
            continue
        changes.append(Change(setting, old, new))
        for path in setting.sent_with:
            if (value := get(after, path)) is not None:
                _put(body, path, value)
    return body, changes


def changes_record(changes: list[Change]) -> dict[str, dict[str, Any]]:
    """The audit log's {setting path: {before, after}}, exact values in Neon's units."""
    return {c.setting.path: {"before": c.before, "after": c.after} for c in changes}


def rebase(
    base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]
) -> tuple[dict[str, Any], list[Change], list[Change]]:
    """The operator's edits (`base` → `mine`) replayed on a project someone else changed since
    (`base` → `theirs`). Returns the merged desired state, what the other side changed, and the
    settings both changed differently (the operator's value wins there, and is flagged)."""
    merged = copy.deepcopy(theirs)
    _, mine_changes = diff(base, mine)
    _, their_changes = diff(base, theirs)
    theirs_paths = {c.setting.path for c in their_changes}
    conflicts = []
    for change in mine_changes:
        path = change.setting.path
        if path in theirs_paths and not change.setting.same(get(theirs, path), change.after):
            conflicts.append(Change(change.setting, get(theirs, path), change.after))
        _put(merged, path, change.after)
    return merged, their_changes, conflicts
