"""Per-project quotas (``settings.quota``, the spec's ProjectQuota) as Neon enforces them: a
project whose billing-period usage has reached a non-zero quota of active time, compute time,
written data or data transfer is held, its computes suspended until the quota resets at the
next billing period or is raised or removed. ``logical_size_bytes`` holds nothing: it makes
a branch's writes fail, which the emulator has no writes to show.

Evaluated when asked, never by a background job: a project's usage counters only change when
the seed sets them, so whether it is held changes only when its quota does (PATCH). Reading
builds nothing: ``settings_view()`` and the counters are what listing reads already.

When the hold began (``held_since``): for a project whose quota was changed through the API,
the time of the PATCH that put it at or below the usage (``Project.quota_held_us``), since the
counters never move after that; for a seeded one, its last activity
(``compute_last_active_at``): the seed's counters stop there, so that is when it reached the
quota, and consumption history shows no compute after it (``consumption.ProjectUsage``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from neon_emulator.store import Endpoint, Project

# ProjectQuota's period quotas and the Project attribute holding the matching usage (the
# spec: "Quotas are enforced using per-project consumption metrics with the same names").
PERIOD_QUOTAS = (
    ("active_time_seconds", "active_time"),
    ("compute_time_seconds", "compute_time_seconds"),
    ("written_data_bytes", "written_data_bytes"),
    ("data_transfer_bytes", "data_transfer_bytes"),
)


class Reached(NamedTuple):
    quota: str  # the ProjectQuota field
    limit: int
    usage: int


def reached(project: Project, settings: dict | None = None) -> list[Reached]:
    """The period quotas the project's usage has reached; zero and absent mean unlimited."""
    if settings is None:
        settings = project.settings_view()
    quota = settings.get("quota") or {}
    out = []
    for name, attribute in PERIOD_QUOTAS:
        limit = quota.get(name) or 0
        usage = getattr(project, attribute)
        if limit and usage >= limit:
            out.append(Reached(name, limit, usage))
    return out


def has_period_quota(settings: dict) -> bool:
    quota = settings.get("quota") or {}
    return any(quota.get(name) for name, _ in PERIOD_QUOTAS)


def held_since(project: Project, settings: dict | None = None) -> int | None:
    """When the project's computes were suspended by a quota it has reached, or None.
    ``settings``: its ``settings_view()``, when the caller has it already."""
    if not reached(project, settings):
        return None
    if project.quota_held_us is not None:
        return project.quota_held_us
    if project.compute_last_active_us is not None:
        return project.compute_last_active_us
    return project.created_us


def update(project: Project, *, was_held: int | None, now_us: int) -> None:
    """After a PATCH: a quota put at or below the usage holds the project from now; one raised
    or removed above it lifts the hold. Lifted computes stay suspended, as they were (nothing
    starts them until a connection would): idle since the hold began."""
    now_held = bool(reached(project))
    if now_held and was_held is None:
        project.quota_held_us = now_us
    elif not now_held and was_held is not None:
        project.quota_held_us = None
        for endpoint in project.endpoints.values():
            if suspended_by_hold(endpoint, was_held):
                endpoint.idle = True
                endpoint.suspended_us = was_held


def suspended_by_hold(endpoint: Endpoint, since: int) -> bool:
    """Whether a hold since ``since`` suspended this compute: not one already suspended before."""
    own = endpoint.suspended_at_us()
    return not endpoint.idle or own is None or own > since


def reset_at(now_us: int) -> str:
    """``quota_reset_at``: the start of the next billing period, a calendar month in UTC."""
    now = datetime.fromtimestamp(now_us / 1e6, UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(project: Project) -> dict | None:
    """Why the project is held, for ``GET /_emulator/quota_holds``; None when it is not."""
    since = held_since(project)
    if since is None:
        return None
    return {
        "project_id": project.id,
        "held_since_us": since,
        "reached": [r._asdict() for r in reached(project)],
    }
