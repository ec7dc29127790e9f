"""A rule's value as the pages say it."""

from typing import Any

from projects.templatetags.neon_format import duration

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def show_value(kind: str, value: Any) -> str:
    """A rule's value as the page says it."""
    if kind == "maintenance_window":
        days = ", ".join(WEEKDAYS[d - 1] for d in value["weekdays"])
        return f"{days} {value['start_time']} to {value['end_time']} UTC"
    if kind == "autoscaling":
        return f"{value['min_cu']:g} to {value['max_cu']:g} CU"
    if kind in ("history_retention_min", "suspend_timeout_max", "compute_quota_max"):
        return duration(value)
    if kind == "backup_schedule":
        kept = value.get("retention_seconds")
        return f"{value['frequency']} or more often" + (f", kept {duration(kept)}" if kept else "")
    if value is True:
        return "required"
    return str(value)
