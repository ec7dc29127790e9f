"""The consumption sync: every organization's projects, a day at a time, for the current and
the previous billing period, in the background and inside Neon's own limit for these calls.

- One call covers up to 100 projects over every day not yet final (from the first day the
  organization has no final numbers for, at most 60 days back, never before the previous
  month): about N / 100 calls a sync for N projects, and a day once final is not read again.
- The most recently active projects go first, across organizations, so the days that change
  the most are the freshest when the budget is short.
- A sync interrupted (a worker stopped, a deploy) resumes where it stopped: the projects this
  run has already stored are not read again.
- The calls draw from the consumption budget (`NEON_CONSUMPTION_RATE_LIMIT`, the transport's
  route budget) at background priority: pages and the fleet's refresh are never held up.
- An organization whose plan has no consumption history (Neon's 403) is marked so and skipped;
  the page says so instead of failing.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cost import budgets, prices
from cost.models import METRIC_FIELDS, ConsumptionDay, OrgSync, ProjectMonth, SyncRun
from fleet import tally
from fleet.models import InventoryProject
from projects.neon import (
    NeonAuthError,
    NeonError,
    NeonRejected,
    ProjectConsumption,
    begin_request,
    end_request,
    get_client,
)

logger = logging.getLogger(__name__)
BATCH = 100  # project IDs a call may name (the spec's maxItems)
DAILY_DAYS = 59  # daily history reaches 60 days back; a day's margin for the clock
# Neon refreshes consumption about every 15 minutes, an hour at a time: a day is final once its
# last hour has been reported (its end, plus the hour, plus the refresh).
FINAL_AFTER = timedelta(minutes=75)


def month_start(day: date) -> date:
    return day.replace(day=1)


def window(today: date, final_through: date | None) -> tuple[date, date]:
    """The days a sync reads for an organization: from the first not yet final (never before
    the previous month, nor past the daily window) to today, inclusive."""
    previous = month_start(month_start(today) - timedelta(days=1))
    start = max(previous, today - timedelta(days=DAILY_DAYS))
    if final_through is not None:
        start = max(start, final_through + timedelta(days=1))
    return start, today


def start_run(*, requested_by: str = "") -> SyncRun:
    """The run queued or running, else an interrupted one (resumed), else a new one."""
    running = SyncRun.objects.filter(status__in=["queued", "running"]).first()
    return running or SyncRun.objects.create(requested_by=requested_by)


def run(sync: SyncRun, *, now: datetime | None = None) -> SyncRun:
    now = now or timezone.now()
    SyncRun.objects.filter(pk=sync.pk).update(status="running", started_at=now)
    token = begin_request(priority="background", allow_stale=False)[1]
    try:
        orgs = _organizations()
        batches = list(_batches(sync, orgs))
        SyncRun.objects.filter(pk=sync.pk).update(batches_total=F("batches_done") + len(batches))
        for org_id, ids in batches:
            state = orgs[org_id]
            if not state.access:
                continue
            _sync_batch(sync, state, ids, now=now)
        # The fleet's counts include a finding by cost (idle but costing): count again once.
        tally.rebuild()
        _close(orgs.values(), now=now)
        _spending_limits(orgs.values())
        budgets.check(month=month_start(now.date()))
        SyncRun.objects.filter(pk=sync.pk).update(status="finished", finished_at=timezone.now())
    except Exception as exc:
        logger.exception("consumption sync %s failed", sync.pk)
        SyncRun.objects.filter(pk=sync.pk).update(
            status="failed", error=str(exc)[:2000], finished_at=timezone.now()
        )
    finally:
        end_request(token)
    sync.refresh_from_db()
    return sync


def _organizations() -> dict[str, OrgSync]:
    """Every organization the key sees, with its sync state (a new one starts with access)."""
    found = {}
    for org in get_client().list_organizations():
        state, _ = OrgSync.objects.get_or_create(org_id=org.id, defaults={"org_name": org.name})
        if state.org_name != org.name:
            state.org_name = org.name
            state.save(update_fields=["org_name"])
        found[org.id] = state
    return found


def _batches(sync: SyncRun, orgs: dict[str, OrgSync]) -> Iterable[tuple[str, list[str]]]:
    """Batches of up to 100 live projects of one organization, the most recently active first
    across organizations; a resumed run leaves out the projects it has stored."""
    rows = (
        InventoryProject.objects.filter(gone_at__isnull=True, shared=False, org_id__in=orgs)
        .exclude(
            project_id__in=ProjectMonth.objects.filter(synced_run=sync.pk).values("project_id")
        )
        .order_by(F("last_active_at").desc(nulls_last=True), "project_id")
        .values_list("org_id", "project_id", "last_active_at")
    )
    pending: dict[str, list[str]] = defaultdict(list)
    firsts: dict[str, list] = defaultdict(list)
    ordered: list[tuple[datetime | None, int, str, list[str]]] = []
    for org_id, project_id, active in rows.iterator(chunk_size=5000):
        if not pending[org_id]:
            firsts[org_id] = [active]
        pending[org_id].append(project_id)
        if len(pending[org_id]) == BATCH:
            ordered.append((firsts[org_id][0], len(ordered), org_id, pending.pop(org_id)))
    for org_id, ids in pending.items():
        if ids:
            ordered.append((firsts[org_id][0], len(ordered), org_id, ids))
    # The most recently active batch first; never-active ones last, each in its found order.
    ordered.sort(key=lambda b: (b[0] is None, -b[0].timestamp() if b[0] else 0, b[1]))
    for _, _, org_id, ids in ordered:
        yield org_id, ids


def _sync_batch(sync: SyncRun, state: OrgSync, ids: list[str], *, now: datetime) -> None:
    start, last = window(now.date(), state.final_through)
    try:
        page = get_client().consumption_projects(
            org_id=state.org_id,
            start=datetime.combine(start, time(), UTC),
            end=datetime.combine(last + timedelta(days=1), time(), UTC),
            granularity="daily",
            project_ids=ids,
            limit=BATCH,
        )
    except (NeonAuthError, NeonRejected) as exc:
        if exc.status == 403:  # the plan has no consumption history: say so, skip it
            state.access, state.message = False, exc.message
            state.save(update_fields=["access", "message"])
            return
        raise
    finally:
        SyncRun.objects.filter(pk=sync.pk).update(calls=F("calls") + 1)
    with transaction.atomic():
        store(state.org_id, page.projects, now=now)
        months = reprice(ids, org_id=state.org_id, sync_id=sync.pk, now=now)
        SyncRun.objects.filter(pk=sync.pk).update(
            batches_done=F("batches_done") + 1, projects=F("projects") + len(ids)
        )
    mark_fleet(months)


def store(org_id: str, projects: list[ProjectConsumption], *, now: datetime) -> None:
    """Neon's days as rows (a day read again replaces what was stored)."""
    rows = []
    for project in projects:
        for period in project.periods:
            for frame in period.timeframes:
                rows.append(
                    ConsumptionDay(
                        project_id=project.project_id,
                        org_id=org_id,
                        day=frame.start.date(),
                        plan=period.plan,
                        final=frame.end + FINAL_AFTER <= now,
                        **{name: frame.metrics.get(name, 0) for name in METRIC_FIELDS},
                    )
                )
    ConsumptionDay.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["project_id", "day"],
        update_fields=["org_id", "plan", "final", *METRIC_FIELDS],
        batch_size=2000,
    )


def reprice(
    project_ids: list[str], *, org_id: str, sync_id: int | None, now: datetime
) -> dict[str, int]:
    """Each project's cost for the current and previous month from its stored days, at the
    prices in force; returns this month's total cents by project."""
    price = prices.current()
    this_month = month_start(now.date())
    previous = month_start(this_month - timedelta(days=1))
    sums: dict[tuple[str, date, str, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(METRIC_FIELDS, 0)
    )
    days = ConsumptionDay.objects.filter(project_id__in=project_ids, day__gte=previous)
    for row in days.values("project_id", "org_id", "day", "plan", *METRIC_FIELDS):
        key = (row["project_id"], month_start(row["day"]), row["plan"], row["org_id"])
        for name in METRIC_FIELDS:
            sums[key][name] += row[name]
    months: dict[tuple[str, date], ProjectMonth] = {}
    exact: dict[tuple[str, date], dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(prices.LINES, Decimal(0))
    )
    for (project_id, month, plan, org_id), metrics in sums.items():
        months.setdefault(
            (project_id, month),
            ProjectMonth(project_id=project_id, org_id=org_id, month=month, plan=plan),
        ).public_transfer_bytes += metrics["public_network_transfer_bytes"]
        for line, usd in prices.line_items(metrics, plan, price).items():
            exact[(project_id, month)][line] += usd
    reported = reported_until(now)
    for key, found in months.items():
        # Each line and the total rounded once, from the month's exact sum.
        for line, usd in exact[key].items():
            setattr(found, f"{line}_cents", prices.cents(usd))
        found.total_cents = prices.cents(sum(exact[key].values()))
        month = key[1]
        end = min(reported, datetime.combine(_next_month(month), time(), UTC))
        found.hours = max(
            0, int((end - datetime.combine(month, time(), UTC)).total_seconds() // 3600)
        )
        found.synced_run = sync_id
    ProjectMonth.objects.bulk_create(
        list(months.values()),
        update_conflicts=True,
        unique_fields=["project_id", "month"],
        update_fields=[
            "org_id", "plan", *(f"{line}_cents" for line in prices.LINES), "total_cents",
            "public_transfer_bytes", "hours", "synced_run",
        ],
    )  # fmt: skip
    # A project Neon reported nothing for this month is priced at nothing (and counts as read).
    this_key = {pid: (pid, this_month) for pid in project_ids}
    quiet = [
        ProjectMonth(project_id=pid, org_id=org_id, month=this_month, plan="", synced_run=sync_id)
        for pid in project_ids
        if this_key[pid] not in months
    ]
    ProjectMonth.objects.bulk_create(
        quiet,
        update_conflicts=True,
        unique_fields=["project_id", "month"],
        update_fields=["synced_run"],
    )
    current = {pid: 0 for pid in project_ids}
    for (project_id, month), found in months.items():
        if month == this_month:
            current[project_id] = found.total_cents
    return current


def reported_until(now: datetime) -> datetime:
    """The end of the last hour Neon has reported (an hour's end plus its refresh)."""
    last = now - timedelta(minutes=15)
    return last.replace(minute=0, second=0, microsecond=0)


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def mark_fleet(current: dict[str, int]) -> None:
    """This month's cost on each project's inventory row (the fleet's cost column)."""
    by_cents: dict[int, list[str]] = defaultdict(list)
    for project_id, total in current.items():
        by_cents[total].append(project_id)
    for total, ids in by_cents.items():
        for chunk in itertools.batched(ids, 500):
            InventoryProject.objects.filter(project_id__in=chunk).exclude(cost_cents=total).update(
                cost_cents=total
            )


def _close(orgs: Iterable[OrgSync], *, now: datetime) -> None:
    """Every day that ended before Neon's last report is final for the organizations read."""
    final_through = (now - FINAL_AFTER).date() - timedelta(days=1)
    for state in orgs:
        if state.access:
            state.final_through, state.synced_at = final_through, now
            state.save(update_fields=["final_through", "synced_at"])


def _spending_limits(orgs: Iterable[OrgSync]) -> None:
    client = get_client()
    for state in orgs:
        try:
            state.spending_limit_cents = client.get_spending_limit(state.org_id)
            state.spending_limit_known = True
        except NeonError as exc:  # a plan without a spending limit (403), or Neon's trouble
            logger.info("spending limit of %s not read: %s", state.org_id, exc)
            state.spending_limit_known = False
        state.save(update_fields=["spending_limit_cents", "spending_limit_known"])
