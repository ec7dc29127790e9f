"""Readable units for Neon's numbers: bytes in KiB..TiB, seconds in d/h/min, relative times."""

import json
from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from projects.project_state import SETTINGS_BY_PATH

register = template.Library()

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


@register.filter
def bytes_iec(value) -> str:
    if value is None or value == "":
        return "—"
    size = float(value)
    for unit in _BYTE_UNITS:
        if abs(size) < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"  # pragma: no cover - the loop always returns


@register.filter
def duration(value) -> str:
    """Seconds as the two largest units: '3 d 4 h', '1 h 30 min', '45 s'."""
    if value is None or value == "":
        return "—"
    seconds = int(value)
    if seconds == 0:
        return "0 s"
    parts = []
    for label, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {label}")
    return " ".join(parts[:2])


@register.filter
def reltime(value: datetime | None) -> str:
    """'3 hours ago' in a <time> element whose tooltip is the exact UTC time."""
    if not value:
        return "—"
    now = timezone.now()
    exact = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if abs((now - value).total_seconds()) < 60:
        text = "just now"
    elif value <= now:
        text = f"{timesince(value, now, depth=1)} ago"
    else:
        text = f"in {timesince(now, value, depth=1)}"
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact, text)


@register.filter
def setting_label(path: str) -> str:
    """A changed setting's name as the review page shows it; an older record's path as it is."""
    setting = SETTINGS_BY_PATH.get(path)
    return setting.label if setting else path


@register.simple_tag
def setting_shown(path: str, value) -> str:
    """A recorded value in an operator's units (512 MiB, after 2 minutes), as the review showed
    it; a path this version no longer knows shows its value as recorded."""
    setting = SETTINGS_BY_PATH.get(path)
    if setting is None:
        return "—" if value is None else json.dumps(value, sort_keys=True)
    return setting.show(value)
