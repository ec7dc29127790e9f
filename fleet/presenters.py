"""The fleet table's cells, computed in one pass (as projects.presenters does for the list)."""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from fleet.models import InventoryProject
from projects.presenters import _html, url_with_project_id
from projects.templatetags.neon_format import bytes_iec, duration, time_element

PERSONAL = "Personal account"
SHARED = "Shared with you"


def _cu(row: InventoryProject) -> str:
    if row.cu_max is None:
        return "—"
    return f"{row.cu_min or 0:g}\N{EN DASH}{row.cu_max:g}"


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
            "fix_url": _html(f"{settings_url(r.project_id)}#{fix}") if fix else "",
            "id": _html(r.project_id),
            "url": _html(detail_url(r.project_id)),
            "name": _html(r.name),
            "gone": r.gone_at is not None,
            "protected": r.project_id in protected,
            "permission": PERMISSIONS.get(r.permission, ""),
            "org": _html(r.org_name or (SHARED if r.shared else PERSONAL)),
            "region": _html(r.region_id),
            "pg": r.pg_version,
            "created": time_element(r.created_at, now),
            "active": time_element(r.last_active_at, now),
            "storage": _html(bytes_iec(r.storage_bytes)),
            "compute": _html(duration(r.compute_time_seconds)),
            "written": _html(bytes_iec(r.written_data_bytes)),
            "transfer": _html(bytes_iec(r.data_transfer_bytes)),
            "cu": _html(_cu(r)),
            "suspend": _html(duration(r.suspend_timeout_seconds)),
        }
        for r in rows
    ]
