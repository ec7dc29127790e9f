"""Reads for the cost pages: the month's estimate by day, line item, project, organization and
class, where the sync stands, and one project's last 60 days."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from cost import budgets, prices
from cost.models import (
    METRIC_FIELDS,
    Budget,
    ConsumptionDay,
    OrgSync,
    ProjectMonth,
    SyncRun,
)
from cost.sync import month_start
from fleet.models import InventoryProject
from projects.neon import get_client

TOP = 20
IDLE_DAYS = 30


@dataclass(frozen=True)
class DayCost:
    day: date
    lines: dict[str, int]  # cents per line item

    @property
    def total(self) -> int:
        return sum(self.lines.values())

    @property
    def storage_cents(self) -> int:
        return self.lines["storage"] + self.lines["history"] + self.lines["snapshot"]

    @property
    def other_cents(self) -> int:
        return self.lines["transfer"] + self.lines["branches"]


@dataclass(frozen=True)
class OrgCost:
    state: OrgSync
    cents: int
    allowance_cents: int  # the included public transfer, off the organization's total
    projects: int

    @property
    def net(self) -> int:
        return self.cents - self.allowance_cents

    @property
    def limit_percent(self) -> int | None:
        limit = self.state.spending_limit_cents
        return round(100 * self.net / limit) if limit else None


@dataclass(frozen=True)
class Overview:
    month: date
    prices: prices.Prices
    days: list[DayCost]
    lines: dict[str, int]
    total: int  # before the allowances
    allowance: int
    projected: int
    hours: int  # of the month covered by the numbers
    top: list[dict]
    orgs: list[OrgCost]
    classes: list[tuple[str, int, int]]  # class, cents, projects
    idle: tuple[int, int]  # projects idle > IDLE_DAYS days that cost this month, their cents
    run: SyncRun | None
    last: SyncRun | None
    missing: int  # live projects of organizations with access, not priced this month
    personal: int  # live projects of the personal account: Neon gives them no history
    denied: list[OrgSync] = field(default_factory=list)

    @property
    def net(self) -> int:
        return self.total - self.allowance


def month_hours(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1] * 24


def priced_days(rows, price: prices.Prices) -> list[DayCost]:
    """Rows of summed metrics by (day, plan) as each day's cents per line item."""
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(prices.LINES, 0))
    for row in rows:
        metrics = {name: row[name] or 0 for name in METRIC_FIELDS}
        for line, usd in prices.line_items(metrics, row["plan"], price).items():
            by_day[row["day"]][line] += prices.cents(usd)
    return [DayCost(day, lines) for day, lines in sorted(by_day.items())]


def _day_sums(days) -> list[dict]:
    return list(
        days.values("day", "plan").annotate(**{n: Sum(n) for n in METRIC_FIELDS}).order_by("day")
    )


def overview(*, now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    month = month_start(now.date())
    price = prices.current()
    months = ProjectMonth.objects.filter(month=month)
    sums = months.aggregate(
        **{line: Sum(f"{line}_cents") for line in prices.LINES},
        total=Sum("total_cents"),
        hours=Max("hours"),
    )
    lines = {line: sums[line] or 0 for line in prices.LINES}
    total, hours = sums["total"] or 0, sums["hours"] or 0
    orgs = _orgs(months, price)
    allowance = sum(o.allowance_cents for o in orgs)
    projected = round((total - allowance) * month_hours(month) / hours) if hours else 0
    live = InventoryProject.objects.filter(gone_at__isnull=True, shared=False)
    open_orgs = [o.state.org_id for o in orgs if o.state.access]
    return Overview(
        month=month,
        prices=price,
        days=priced_days(_day_sums(ConsumptionDay.objects.filter(day__gte=month)), price),
        lines=lines,
        total=total,
        allowance=allowance,
        projected=projected,
        hours=hours,
        top=_top(months),
        orgs=orgs,
        classes=[
            (row["project_class"] or "not classed", row["cents"] or 0, row["n"])
            for row in live.filter(cost_cents__isnull=False)
            .values("project_class")
            .annotate(cents=Sum("cost_cents"), n=Count("pk"))
            .order_by("-cents")
        ],
        idle=_idle(live, now),
        run=SyncRun.objects.filter(status__in=["queued", "running"]).first(),
        last=SyncRun.objects.filter(status__in=["finished", "failed"]).first(),
        missing=live.filter(org_id__in=open_orgs)
        .exclude(project_id__in=months.values("project_id"))
        .count(),
        personal=live.filter(org_id="").count(),
        denied=[o.state for o in orgs if not o.state.access],
    )


def _orgs(months, price: prices.Prices) -> list[OrgCost]:
    found = {
        row["org_id"]: row
        for row in months.values("org_id").annotate(
            cents=Sum("total_cents"), public=Sum("public_transfer_bytes"), n=Count("pk")
        )
    }
    orgs = []
    for state in OrgSync.objects.order_by("org_name"):
        row = found.get(state.org_id, {})
        orgs.append(
            OrgCost(
                state,
                row.get("cents") or 0,
                prices.cents(prices.allowance(row.get("public") or 0, price)),
                row.get("n") or 0,
            )
        )
    return orgs


def _top(months) -> list[dict]:
    top = list(months.order_by("-total_cents", "project_id")[:TOP])
    rows = InventoryProject.objects.in_bulk([m.project_id for m in top])
    return [
        {
            "month": m,
            "name": rows[m.project_id].name if m.project_id in rows else m.project_id,
            "org": rows[m.project_id].org_name if m.project_id in rows else m.org_id,
            "klass": rows[m.project_id].project_class if m.project_id in rows else "",
            "projected": round(m.total_cents * month_hours(m.month) / m.hours) if m.hours else 0,
        }
        for m in top
    ]


def _idle(live, now: datetime) -> tuple[int, int]:
    quiet = now - timedelta(days=IDLE_DAYS)
    idle = live.filter(cost_cents__gt=0).filter(
        Q(last_active_at__lt=quiet) | Q(last_active_at__isnull=True, created_at__lt=quiet)
    )
    found = idle.aggregate(n=Count("pk"), cents=Sum("cost_cents"))
    return found["n"] or 0, found["cents"] or 0


def project_days(*, project_id: str, now: datetime | None = None) -> list[DayCost]:
    """The project's last 60 days, priced (what the project page's chart draws)."""
    since = (now or timezone.now()).date() - timedelta(days=60)
    days = ConsumptionDay.objects.filter(project_id=project_id, day__gte=since)
    return priced_days(_day_sums(days), prices.current())


def report_rows(*, month: date):
    """Per project, per day, per line item (dollars to a millionth), for finance: streamed in
    day order."""
    price = prices.current()
    days = ConsumptionDay.objects.filter(day__gte=month, day__lt=_next(month)).order_by(
        "day", "project_id"
    )
    for row in days.values("project_id", "org_id", "day", "plan", *METRIC_FIELDS).iterator(
        chunk_size=2000
    ):
        lines = prices.line_items(row, row["plan"], price)
        yield {
            "day": row["day"].isoformat(),
            "project_id": row["project_id"],
            "org_id": row["org_id"],
            "plan": row["plan"],
            **{f"{line}_usd": _usd(usd) for line, usd in lines.items()},
            "total_usd": _usd(sum(lines.values())),
            **{name: row[name] for name in METRIC_FIELDS},
        }


def _usd(amount: Decimal) -> str:
    """A day's dollars to a millionth: a month's days then add up to its total to the cent
    (the month is priced from its summed consumption and rounded once)."""
    return str(amount.quantize(Decimal("0.000001")))


def _next(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


REPORT_COLUMNS = (
    "day", "project_id", "org_id", "plan",
    *(f"{line}_usd" for line in prices.LINES), "total_usd", *METRIC_FIELDS,
)  # fmt: skip


@dataclass(frozen=True)
class BudgetState:
    budget: Budget
    projects: int
    over_80: int
    over_100: int
    quotas: dict[str, int]

    @property
    def warn_dollars(self) -> str:
        """80 % of the budget in dollars, the fleet's "costing more than" filter's value."""
        return f"{self.budget.monthly_cents * 80 // 100 / 100:.2f}"


def budget_states() -> list[BudgetState]:
    """Each budget with where its class's projects stand this month, and the quotas it sets."""
    price = prices.current()
    states = []
    for budget in Budget.objects.order_by("klass", "project_id"):
        rows = budgets.budget_projects(budget)
        found = rows.aggregate(
            n=Count("pk"),
            over_80=Count("pk", filter=Q(cost_cents__gte=budget.monthly_cents * 80 // 100)),
            over_100=Count("pk", filter=Q(cost_cents__gte=budget.monthly_cents)),
        )
        rate = budgets.compute_rate(rows, price)
        states.append(
            BudgetState(
                budget,
                found["n"],
                found["over_80"],
                found["over_100"],
                budgets.quotas(budget.monthly_cents, compute_rate=rate, price=price),
            )
        )
    return states


def class_choices() -> list[str]:
    """The classes the fleet holds (a policy's, fleet.marks), for a budget."""
    return sorted(
        set(
            InventoryProject.objects.exclude(project_class="")
            .values_list("project_class", flat=True)
            .distinct()
        )
    )


@dataclass(frozen=True)
class HourCost:
    start: datetime
    lines: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.lines.values())


def project_hours(*, project_id: str, now: datetime | None = None) -> list[HourCost] | None:
    """The project's last 24 hours, hour by hour, read from Neon now (one call from the
    consumption budget, an operator's page's priority); None for a project outside any
    organization (Neon's consumption history needs one)."""
    row = InventoryProject.objects.filter(project_id=project_id).first()
    if row is None or not row.org_id:
        return None
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    page = get_client().consumption_projects(
        org_id=row.org_id,
        start=end - timedelta(hours=25),
        end=end,
        granularity="hourly",
        project_ids=[project_id],
        limit=1,
    )
    price = prices.current()
    hours = []
    for project in page.projects:
        for period in project.periods:
            for frame in period.timeframes:
                lines = prices.line_items(dict(frame.metrics), period.plan, price)
                hours.append(HourCost(frame.start, {k: prices.cents(v) for k, v in lines.items()}))
    return sorted(hours, key=lambda h: h.start)[-24:]
