"""The fleet table's cells, computed in one pass (as projects.presenters does for the list)."""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from fleet.models import InventoryProject
from projects.presenters import escaped, url_with_project_id
from projects.templatetags.neon_format import bytes_iec, cents, duration, time_element

PERSONAL = "Personal account"
SHARED = "Shared with you"


def _cu(row: InventoryProject) -> str:
    if row.cu_max is None:
        return "—"
    return f"{row.cu_min or 0:g}\N{EN DASH}{row.cu_max:g}"


def suspend_text(seconds: int | None) -> str:
    """Neon's suspend timeout as an operator reads it: -1 never suspends, 0 is Neon's default."""
    if seconds == -1:
        return "never"
    if seconds == 0:
        return "Neon default (5 min)"
    return duration(seconds)


def dollars(amount: int | None) -> str:
    """This month's estimate as the table shows it; "—" when not synced."""
    return "—" if amount is None else f"${cents(amount)}"


# How the key's per-project permission reads in a row; no level (most projects) shows nothing.
PERMISSIONS = {"CAN_VIEW": "view only", "CAN_EDIT": "edit, no delete"}


def fleet_rows(
    rows: Iterable[InventoryProject],
    *,
    now: datetime | None = None,
    fix: str = "",
    protected: frozenset[str] | set[str] = frozenset(),
) -> list[dict]:
    """`fix`: the settings section that fixes the finding shown, linked from every row;
    `protected`: the IDs among `rows` that have deletion protection."""
    now = now or timezone.now()
    detail_url = url_with_project_id("projects:detail")
    settings_url = url_with_project_id("projects:settings")
    return [
        {
            "fix_url": escaped(f"{settings_url(r.project_id)}#{fix}") if fix else "",
            "id": escaped(r.project_id),
            "url": escaped(detail_url(r.project_id)),
            "name": escaped(r.name),
            "gone": r.gone_at is not None,
            "protected": r.project_id in protected,
            "permission": PERMISSIONS.get(r.permission, ""),
            "org": escaped(r.org_name or (SHARED if r.shared else PERSONAL)),
            "region": escaped(r.region_id),
            "pg": r.pg_version,
            "created": time_element(r.created_at, now),
            "active": time_element(r.last_active_at, now),
            "storage": escaped(bytes_iec(r.storage_bytes)),
            "compute": escaped(duration(r.compute_time_seconds)),
            "written": escaped(bytes_iec(r.written_data_bytes)),
            "transfer": escaped(bytes_iec(r.data_transfer_bytes)),
            "cu": escaped(_cu(r)),
            "suspend": escaped(suspend_text(r.suspend_timeout_seconds)),
            "cost": escaped(dollars(r.cost_cents)),
            "klass": escaped(r.project_class),
            "drift": r.drift,
        }
        for r in rows
    ]
