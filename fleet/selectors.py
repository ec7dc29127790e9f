"""Reads of the inventory: one indexed query for a page of rows; the counts from the tally."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from fleet import cursors, inventory, marks, tally
from fleet.findings import BY_SLUG, FINDINGS, Finding, quiet_before
from fleet.forms import PAGE_SIZE, SORTS
from fleet.models import InventoryProject, InventoryRun

PERSONAL, SHARED = tally.PERSONAL, tally.SHARED
# The organization filter's two choices that are not organizations.
ORG_SCOPES = {"personal": Q(org_id="", shared=False), "shared": Q(shared=True)}
# A view's counts are kept until the tally changes, and at most this long.
COUNTS_SECONDS = 300
# A search or an idle filter matching more rows than this is counted from a sample of about
# SAMPLE_ROWS rows of the table, and the page says "about".
EXACT_UP_TO = 20_000
SAMPLE_ROWS = 60_000
EXPOSURES = {
    "public": Q(block_public_connections=False, allowed_ips_count=0),
    "allowlist": Q(block_public_connections=False, allowed_ips_count__gt=0),
    "private": Q(block_public_connections=True),
}
# A view with no filter set (the finding counts are the whole live inventory's).
NO_FILTERS = {
    "q": "", "org": "", "region": "", "pg": None, "idle_days": None, "exposure": "",
    "hipaa": "", "logical_replication": "", "finding": "", "include_gone": False,
    "class": "", "drift": "", "rule": "", "cost_over": None, "cost": "",
}  # fmt: skip


def _base(include_gone: bool = False) -> QuerySet[InventoryProject]:
    rows = InventoryProject.objects.all()
    return rows if include_gone else rows.filter(gone_at__isnull=True)


def _row_conditions(filters: dict) -> Q:
    """The filters only the rows can answer (the tally holds neither names, days nor rules)."""
    q = Q()
    if filters["rule"]:
        q &= marks.rule_rows(filters["rule"])
    if filters["cost_over"] is not None:
        q &= Q(cost_cents__gt=int(filters["cost_over"] * 100))
    if filters["q"]:
        q &= Q(name__icontains=filters["q"]) | Q(project_id__icontains=filters["q"])
    if filters["idle_days"]:
        q &= quiet_before(timezone.now() - timedelta(days=filters["idle_days"]))
    return q


def _conditions(filters: dict) -> Q:
    """Every filter as one Q."""
    q = _row_conditions(filters)
    if filters["org"]:
        q &= ORG_SCOPES.get(filters["org"]) or Q(org_id=filters["org"], shared=False)
    if filters["region"]:
        q &= Q(region_id=filters["region"])
    if filters["pg"]:
        q &= Q(pg_version=filters["pg"])
    if filters["exposure"]:
        q &= EXPOSURES[filters["exposure"]]
    for name in ("hipaa", "logical_replication"):
        if filters[name]:
            q &= Q(**{name: filters[name] == "yes"})
    if filters["class"]:
        q &= Q(project_class=filters["class"])
    if filters["drift"]:
        q &= Q(drift__gt=0) if filters["drift"] == "yes" else Q(drift=0)
    if filters["cost"]:
        q &= tally.cost_condition(filters["cost"])
    if filters["finding"] in BY_SLUG:
        q &= BY_SLUG[filters["finding"]].query()
    return q


def _sort(filters: dict) -> tuple[str, bool]:
    """The column the view sorts by, and whether largest first."""
    key = filters["sort"]
    return SORTS.get(key.lstrip("-"), "name"), key.startswith("-")


def inventory_rows(filters: dict) -> QuerySet[InventoryProject]:
    """The filtered inventory in the asked order (empty values last), then by name and ID."""
    field, descending = _sort(filters)
    column = F(field)
    order = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    rows = _base(filters["include_gone"]).filter(_conditions(filters))
    return rows.order_by(order, "name", "project_id")


@dataclass(frozen=True)
class FleetPage:
    rows: list[InventoryProject]
    total: int | None  # None: not counted (a "Load more", which shows no counts)
    next_cursor: str | None  # where "Load more" goes on (fleet.cursors), None at the end
    facets: dict[str, list[tuple[str, str, int]]]  # facet → (value, label, count)
    counted_at: datetime | None = None  # when the counts were tallied (None: counted now)
    approximate: bool = False  # the counts are estimates ("about")


def fleet_page(filters: dict, *, counted: bool = True) -> FleetPage:
    """A page of the view, and where the next one starts: keyset ("seek") paging, so a later
    page costs what the first does instead of counting past every row before it. The counts
    (`counted`) are the view's total and facets, from the tally (fleet.tally)."""
    field, descending = _sort(filters)
    rows = inventory_rows(filters)
    after = cursors.read(filters["cursor"], field=field, descending=descending)
    window = list(rows.filter(cursors.after(after, field=field, descending=descending))[
        : PAGE_SIZE + 1
    ]) if after else list(rows[: PAGE_SIZE + 1])  # fmt: skip
    more = len(window) > PAGE_SIZE
    shown = window[:PAGE_SIZE]
    counts = view_counts(filters) if counted else None
    return FleetPage(
        rows=shown,
        total=counts.total if counts else None,
        next_cursor=cursors.make(shown[-1], field=field, descending=descending) if more else None,
        facets=counts.facets if counts else {},
        counted_at=counts.counted_at if counts else None,
        approximate=counts.approximate if counts else False,
    )


def view_counts(filters: dict) -> tally.ViewCounts:
    """The view's total and facet counts: sums over the tally's groups, or, for a search or
    an idle-days filter, over the groups of the rows those match. Kept for this view (the sort
    and the page do not change them) until the tally changes."""
    view = sorted((k, str(v)) for k, v in filters.items() if k not in ("sort", "cursor"))
    digest = hashlib.sha256(repr(view).encode()).hexdigest()[:32]
    key = f"fleet:counts:{tally.generation()}:{digest}"
    counts = cache.get(key)
    if counts is None:
        counts = _view_counts(filters)
        cache.set(key, counts, COUNTS_SECONDS)
    return counts


def _view_counts(filters: dict) -> tally.ViewCounts:
    kept = tally.current()
    names = tally.organization_names(kept.groups)
    if not (
        filters["q"] or filters["idle_days"] or filters["rule"] or filters["cost_over"] is not None
    ):
        total, per_facet = tally.count(kept.groups, filters)
        return tally.ViewCounts(total, tally.labelled(per_facet, names), kept.counted_at)
    # Not among the tallied values: group the rows they match, as they are now; when they
    # are many, from a sample of the table (PostgreSQL), said to be an estimate.
    matched = _base(filters["include_gone"]).filter(_row_conditions(filters))
    sample = None
    many = kept.rows > SAMPLE_ROWS and connection.vendor == "postgresql"
    if many and matched.order_by()[EXACT_UP_TO : EXACT_UP_TO + 1].exists():
        sample = 100 * SAMPLE_ROWS / kept.rows
    groups = tally.grouped(matched, sample_percent=sample)
    total, per_facet = tally.count(groups, filters)
    if sample is not None:
        total, per_facet = tally.rounded(total, per_facet)
    return tally.ViewCounts(
        total, tally.labelled(per_facet, names), None, approximate=sample is not None
    )


def filter_choices() -> dict:
    """The choices the filters offer: what the inventory holds, from the tally."""
    key = f"fleet:choices:{tally.generation()}"
    choices = cache.get(key)
    if choices is None:
        choices = _filter_choices([g for g, n in tally.current().groups if n and not g.gone])
        cache.set(key, choices, COUNTS_SECONDS)
    # Not kept with the rest: the rules follow the policy file, not the tally.
    return {**choices, "rule": [(r.id, r.label) for r in marks.rules()]}


def _filter_choices(live: list[tally.Group]) -> dict:
    orgs = sorted({(g.org_name or g.org_id, g.org_id) for g in live if g.org_id and not g.shared})
    return {
        "org": (
            [("personal", PERSONAL)] if any(not g.org_id and not g.shared for g in live) else []
        )
        + [(org_id, name) for name, org_id in orgs]
        + ([("shared", SHARED)] if any(g.shared for g in live) else []),
        "region": [(r, r) for r in sorted({g.region_id for g in live})],
        "pg": [(v, str(v)) for v in sorted({g.pg_version for g in live})],
        # Marks (fleet.marks): offered once a policy has classed the fleet.
        "class": [(c, c) for c in sorted({g.project_class for g in live} - {""})],
    }


@dataclass(frozen=True)
class FindingCount:
    finding: Finding
    count: int


def view_cents(filters: dict) -> int:
    """What the view's projects cost this month, by the cost sync's estimate (a finding about
    money says how much)."""
    total = inventory_rows({**filters, "cursor": ""}).order_by().aggregate(n=Sum("cost_cents"))
    return total["n"] or 0


@dataclass(frozen=True)
class RuleCount:
    rule: marks.Rule
    count: int


def rule_counts() -> list[RuleCount]:
    """Each registered rule (fleet.marks) with the live projects out of it."""
    counts = marks.rule_counts()
    return [RuleCount(rule, counts.get(rule.id, 0)) for rule in marks.rules()]


def finding_counts() -> list[FindingCount]:
    """Every finding's count over the live inventory, from the tally."""
    key = f"fleet:findings:{tally.generation()}"
    counts = cache.get(key)
    if counts is None:
        live = [(g, n) for g, n in tally.current().groups if not g.gone]
        counts = {f.slug: tally.count(live, {**NO_FILTERS, "finding": f.slug})[0] for f in FINDINGS}
        cache.set(key, counts, COUNTS_SECONDS)
    return [FindingCount(f, counts[f.slug]) for f in FINDINGS]


@dataclass(frozen=True)
class InventoryStatus:
    last: InventoryRun | None  # the last finished refresh: what the rows are as of
    active: InventoryRun | None  # one queued or running now
    failed: InventoryRun | None  # the latest run, if it failed after the last finished one


def inventory_status() -> InventoryStatus:
    last = inventory.run_last_finished()
    latest = InventoryRun.objects.exclude(status="queued").order_by("-created_at").first()
    failed = latest if latest and latest.status == "failed" else None
    return InventoryStatus(last=last, active=inventory.run_active(), failed=failed)


def run_get(run_id: int) -> InventoryRun:
    return InventoryRun.objects.get(pk=run_id)
