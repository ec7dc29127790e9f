"""Readable units for Neon's numbers: bytes in KiB..TiB, seconds in d/h/min, relative times."""

import json
from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

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
def cents(value) -> str:
    """An amount in cents as dollars with thousands separators: 123456 -> 1,234.56."""
    if value is None:
        return "—"
    return f"{int(value) / 100:,.2f}"


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
    return time_element(value, timezone.now())


def time_element(value: datetime | None, now: datetime) -> str:
    """`reltime` as seen at `now`: a page of many times passes one `now`, so they all agree.

    The project list formats 800 of these per 400 rows, so this one is built for speed: an
    f-string, not format_html, since every part of it is digits, separators and our own words.
    """
    if not value:
        return "—"
    seconds = (now - value).total_seconds()
    if -60 < seconds < 60:
        text = "just now"
    elif seconds > 0:
        text = f"{largest_unit_between(value, now)} ago"
    else:
        text = f"in {largest_unit_between(now, value)}"
    exact = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "seconds")
    return SafeString(f'<time datetime="{value.isoformat()}" title="{exact} UTC">{text}</time>')


_ONE_SECOND = timedelta(seconds=1)
_SHORT_UNITS = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60))


def largest_unit_between(earlier: datetime, later: datetime) -> str:
    """What Django's `timesince(earlier, later, depth=1)` says ('3\xa0hours', '1\xa0year'),
    with its calendar months and years, in English, at under half the cost: Django's spends most
    of its time on translatable lazy strings, which this English-only site does not use
    (USE_I18N is off). tests/projects/test_format.py checks the two agree."""
    if earlier.tzinfo is not None and later.tzinfo is not None:
        later = later.astimezone(earlier.tzinfo)
    if later - earlier < _ONE_SECOND:
        return "0\xa0minutes"
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if earlier.day > later.day or (earlier.day == later.day and earlier.time() > later.time()):
        months -= 1
    if months >= 12:
        count, unit = months // 12, "year"
    elif months > 0:
        count, unit = months, "month"
    else:
        seconds = (later - earlier).total_seconds()
        for unit, size in _SHORT_UNITS:  # noqa: B007 - the unit found is used after the loop
            count = int(seconds // size)
            if count:
                break
    return f"{count}\xa0{unit}" if count == 1 else f"{count}\xa0{unit}s"


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
