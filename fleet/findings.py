"""Named checks over the inventory. Each is a filter of the fleet page (`?finding=slug`) with a
count, a short "why it matters" and the setting that fixes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThan
from django.utils import timezone

# PostgreSQL's end-of-life dates (five years per major version; FACTS.md, last section).
PG_END_OF_LIFE = {
    14: date(2026, 11, 12),
    15: date(2027, 11, 11),
    16: date(2028, 11, 9),
    17: date(2029, 11, 8),
}


@dataclass(frozen=True)
class Finding:
    slug: str
    title: str
    why: str
    fix: str  # the settings section that fixes it, or "" when the fix is not a setting
    fix_label: str
    costed: bool = False  # about money: the page says what the projects cost

    def query(self) -> Q:
        return QUERIES[self.slug]()

    def matches(self, row, *, now: datetime | None = None) -> bool:
        """Whether one inventory row has it: `query` read in Python (fleet.tally moves a row
        between groups with it; tests/fleet/test_tally.py holds the two to the same answer)."""
        return MATCHES[self.slug](row, now or timezone.now())


def _end_of_life() -> Q:
    today = timezone.now().date()
    return Q(pg_version__in=[v for v, end in PG_END_OF_LIFE.items() if end <= today])


def quiet_before(since: datetime) -> Q:
    """Not active since `since` (or, never active, created before it): one comparison of one
    expression, which the fleet's sort indexes carry (fleet migration 0005)."""
    return Q(LessThan(Coalesce("last_active_at", "created_at"), since))


def _idle() -> Q:
    since = timezone.now() - timedelta(days=settings.FLEET_IDLE_DAYS)
    return quiet_before(since) & Q(storage_bytes__gt=0)


QUERIES = {
    "eol-postgres": _end_of_life,
    "idle-with-storage": _idle,
    "open-to-the-internet": lambda: Q(allowed_ips_count=0, block_public_connections=False),
    "no-maintenance-window": lambda: Q(has_maintenance_window=False),
    "large-autoscaling-without-quota": lambda: (
        Q(cu_max__gt=settings.FLEET_LARGE_CU) & Q(compute_time_quota_seconds__isnull=True)
    ),
    "no-history": lambda: Q(history_retention_seconds=0),
    "held-by-quota": lambda: Q(
        compute_time_quota_seconds__gt=0,
        compute_time_seconds__gte=F("compute_time_quota_seconds"),
    ),
    "idle-but-costing": lambda: (
        quiet_before(timezone.now() - timedelta(days=settings.FLEET_IDLE_DAYS))
        & Q(cost_cents__gt=0)
    ),
}


def _quiet_row(row, now: datetime) -> bool:
    since = now - timedelta(days=settings.FLEET_IDLE_DAYS)
    last = row.last_active_at
    return (
        last < since
        if last is not None
        else (row.created_at is not None and row.created_at < since)
    )


def _idle_row(row, now: datetime) -> bool:
    return _quiet_row(row, now) and (row.storage_bytes or 0) > 0


MATCHES = {
    "eol-postgres": lambda row, now: PG_END_OF_LIFE.get(row.pg_version, date.max) <= now.date(),
    "idle-with-storage": _idle_row,
    "open-to-the-internet": lambda row, now: (
        row.allowed_ips_count == 0 and not row.block_public_connections
    ),
    "no-maintenance-window": lambda row, now: not row.has_maintenance_window,
    "large-autoscaling-without-quota": lambda row, now: (
        row.cu_max is not None
        and row.cu_max > settings.FLEET_LARGE_CU
        and row.compute_time_quota_seconds is None
    ),
    "no-history": lambda row, now: row.history_retention_seconds == 0,
    "held-by-quota": lambda row, now: (
        bool(row.compute_time_quota_seconds)
        and row.compute_time_seconds is not None
        and row.compute_time_seconds >= row.compute_time_quota_seconds
    ),
    "idle-but-costing": lambda row, now: (
        _quiet_row(row, now) and row.cost_cents is not None and row.cost_cents > 0
    ),
}

FINDINGS = [
    Finding(
        "eol-postgres",
        "Postgres at or past end of life",
        "No more security fixes from the PostgreSQL project; Neon will require an upgrade. "
        "A major version upgrade means a new project and a migration, so plan it early.",
        "",
        "Plan a migration to a supported version",
    ),
    Finding(
        "idle-with-storage",
        "Idle, but storage still billed",
        "No compute has run for a long time while the project's storage is billed every hour. "
        "Delete it, or confirm someone still needs it.",
        "",
        "Delete the project if nobody needs it",
    ),
    Finding(
        "open-to-the-internet",
        "Open to the whole internet",
        "No IP allowlist and public connections allowed: anyone with the password can connect "
        "from anywhere.",
        "section-network",
        "Set an IP allowlist",
    ),
    Finding(
        "no-maintenance-window",
        "No maintenance window",
        "Neon restarts computes for updates whenever it needs to; a window keeps restarts to "
        "hours you chose.",
        "section-maintenance",
        "Set a maintenance window",
    ),
    Finding(
        "large-autoscaling-without-quota",
        "Large autoscaling without a compute quota",
        "Computes may scale above the threshold with no compute-time quota to cap the bill.",
        "section-quotas",
        "Set a compute-time quota",
    ),
    Finding(
        "held-by-quota",
        "Suspended by its compute quota",
        "The project has used its compute-time quota for the billing period: Neon keeps its "
        "computes suspended until the quota resets or is raised (a budget doing its job, or a "
        "quota set too low).",
        "section-quotas",
        "Raise the compute-time quota",
    ),
    Finding(
        "idle-but-costing",
        "Idle, but costing this month",
        "No compute has run for a long time, yet the project costs money this month (storage, "
        "history, snapshots), by the consumption sync's estimate: the fleet's Cost column and "
        "the cost page say how much.",
        "",
        "Delete the project if nobody needs it",
        costed=True,
    ),
    Finding(
        "no-history",
        "No history retention",
        "Without history there is no point-in-time restore and no branching from the past.",
        "section-history",
        "Set history retention",
    ),
]
BY_SLUG = {finding.slug: finding for finding in FINDINGS}
