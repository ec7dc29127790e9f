"""Reads of the inventory: one indexed query for the rows, one GROUP BY per facet."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from fleet import cursors, inventory
from fleet.findings import BY_SLUG, FINDINGS, Finding
from fleet.forms import PAGE_SIZE, SORTS
from fleet.models import InventoryProject, InventoryRun

PERSONAL = "Personal account"
SHARED = "Shared with you"
# The organization filter's two choices that are not organizations.
ORG_SCOPES = {"personal": Q(org_id="", shared=False), "shared": Q(shared=True)}
FACETS = ("org", "region", "pg", "exposure", "hipaa", "logical_replication")
CHOICES_KEY, NAMES_KEY, FINDINGS_KEY = inventory.CACHED_KEYS
CHOICES_SECONDS = 60


def _base(include_gone: bool = False) -> QuerySet[InventoryProject]:
    rows = InventoryProject.objects.all()
    return rows if include_gone else rows.filter(gone_at__isnull=True)


def _conditions(filters: dict, *, skip: str = "") -> Q:
    """Every filter as one Q, leaving out `skip` (a facet counts over the others)."""
    q = Q()
    if filters["q"]:
        q &= Q(name__icontains=filters["q"]) | Q(project_id__icontains=filters["q"])
    if filters["org"] and skip != "org":
        q &= ORG_SCOPES.get(filters["org"]) or Q(org_id=filters["org"], shared=False)
    if filters["region"] and skip != "region":
        q &= Q(region_id=filters["region"])
    if filters["pg"] and skip != "pg":
        q &= Q(pg_version=filters["pg"])
    if filters["idle_days"]:
        since = timezone.now() - timedelta(days=filters["idle_days"])
        q &= Q(last_active_at__lt=since) | Q(last_active_at__isnull=True, created_at__lt=since)
    if filters["exposure"] and skip != "exposure":
        q &= COUNTED["exposure"][filters["exposure"]]
    for name, field in (("hipaa", "hipaa"), ("logical_replication", "logical_replication")):
        if filters[name] and skip != name:
            q &= Q(**{field: filters[name] == "yes"})
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


def fleet_page(filters: dict, *, counted: bool = True) -> FleetPage:
    """A page of the view, and where the next one starts: keyset ("seek") paging, so a later
    page costs what the first does instead of counting past every row before it. The counts
    (`counted`) are the view's total and facets, kept per view until the inventory changes."""
    field, descending = _sort(filters)
    rows = inventory_rows(filters)
    after = cursors.read(filters["cursor"], field=field, descending=descending)
    window = list(rows.filter(cursors.after(after, field=field, descending=descending))[
        : PAGE_SIZE + 1
    ]) if after else list(rows[: PAGE_SIZE + 1])  # fmt: skip
    more = len(window) > PAGE_SIZE
    shown = window[:PAGE_SIZE]
    total, facets = view_counts(filters) if counted else (None, {})
    return FleetPage(
        rows=shown,
        total=total,
        next_cursor=cursors.make(shown[-1], field=field, descending=descending) if more else None,
        facets=facets,
    )


def view_counts(filters: dict) -> tuple[int, dict[str, list[tuple[str, str, int]]]]:
    """The view's total and facet counts. Each is a scan of the filtered inventory, so they are
    kept for this view (the sort and the page do not change them) until the inventory changes
    (inventory.changed) or for CHOICES_SECONDS, whichever comes first."""
    view = sorted((k, str(v)) for k, v in filters.items() if k not in ("sort", "cursor"))
    digest = hashlib.sha256(repr(view).encode()).hexdigest()[:32]
    key = f"fleet:counts:{inventory.generation()}:{digest}"
    counts = cache.get(key)
    if counts is None:
        counts = (inventory_rows(filters).count(), facet_counts(filters))
        cache.set(key, counts, CHOICES_SECONDS)
    return counts


GROUPED = {"org": "org_id", "region": "region_id", "pg": "pg_version"}
# Facets of few values, counted with one conditional aggregate rather than a GROUP BY each.
COUNTED = {
    "exposure": {
        "public": Q(block_public_connections=False, allowed_ips_count=0),
        "allowlist": Q(block_public_connections=False, allowed_ips_count__gt=0),
        "private": Q(block_public_connections=True),
    },
    "hipaa": {"yes": Q(hipaa=True), "no": Q(hipaa=False)},
    "logical_replication": {"yes": Q(logical_replication=True), "no": Q(logical_replication=False)},
}
LABELS = {
    "exposure": {
        "public": "Open to the internet",
        "allowlist": "IP allowlist",
        "private": "Public connections blocked",
    },
    "hipaa": {"yes": "Yes", "no": "No"},
    "logical_replication": {"yes": "Yes", "no": "No"},
}


def facet_counts(filters: dict) -> dict[str, list[tuple[str, str, int]]]:
    """For each facet, how many rows each value would give with the other filters applied:
    a GROUP BY per many-valued facet, and one aggregate for every few-valued facet whose own
    filter is not set (with it set, that facet gets an aggregate of its own)."""
    facets: dict[str, list[tuple[str, str, int]]] = {}
    names = organization_names()
    base = _base(filters["include_gone"])
    for facet, field in GROUPED.items():
        fields = [field, "shared"] if facet == "org" else [field]
        counts = (
            base.filter(_conditions(filters, skip=facet))
            .values(*fields)
            .annotate(n=Count("pk"))
            .order_by(*fields)
        )
        facets[facet] = [
            ("shared", SHARED, c["n"])
            if c.get("shared")
            else (*_facet_value(facet, c[field], names), c["n"])
            for c in counts
        ]
    shared = [facet for facet in COUNTED if not filters[facet]]
    groups = [shared] + [[facet] for facet in COUNTED if filters[facet]]
    for group in filter(None, groups):
        skip = group[0] if len(group) == 1 and filters[group[0]] else ""
        totals = base.filter(_conditions(filters, skip=skip)).aggregate(
            **{
                f"{facet}__{value}": Count("pk", filter=q)
                for facet in group
                for value, q in COUNTED[facet].items()
            }
        )
        for facet in group:
            facets[facet] = [
                (value, LABELS[facet][value], totals[f"{facet}__{value}"])
                for value in COUNTED[facet]
                if totals[f"{facet}__{value}"]
            ]
    return {facet: facets[facet] for facet in FACETS}


def organization_names() -> dict[str, str]:
    names = cache.get(NAMES_KEY)
    if names is None:
        names = dict(
            InventoryProject.objects.exclude(org_id="").values_list("org_id", "org_name").distinct()
        )
        cache.set(NAMES_KEY, names, CHOICES_SECONDS)
    return names


def _facet_value(facet: str, value, names: dict) -> tuple[str, str]:
    if facet == "org":
        return ("personal", PERSONAL) if value == "" else (value, names.get(value) or value)
    return str(value), str(value)


def filter_choices() -> dict:
    """The choices the filters offer: what the inventory holds (kept briefly; a refresh or a
    write through the dashboard forgets them)."""
    choices = cache.get(CHOICES_KEY)
    if choices is None:
        choices = _filter_choices()
        cache.set(CHOICES_KEY, choices, CHOICES_SECONDS)
    return choices


def _filter_choices() -> dict:
    live = InventoryProject.objects.filter(gone_at__isnull=True)
    orgs = (
        live.filter(shared=False).values_list("org_id", "org_name").distinct().order_by("org_name")
    )
    return {
        "org": [("personal" if o == "" else o, n or (PERSONAL if o == "" else o)) for o, n in orgs]
        + ([("shared", SHARED)] if live.filter(shared=True).exists() else []),
        "region": [
            (r, r)
            for r in live.values_list("region_id", flat=True).distinct().order_by("region_id")
        ],
        "pg": [
            (v, str(v))
            for v in live.values_list("pg_version", flat=True).distinct().order_by("pg_version")
        ],
    }


@dataclass(frozen=True)
class FindingCount:
    finding: Finding
    count: int


def finding_counts() -> list[FindingCount]:
    """Every finding's count in one query, kept as briefly as the filter choices."""
    totals = cache.get(FINDINGS_KEY)
    if totals is None:
        totals = _base().aggregate(**{f.slug: Count("pk", filter=f.query()) for f in FINDINGS})
        cache.set(FINDINGS_KEY, totals, CHOICES_SECONDS)
    return [FindingCount(f, totals[f.slug]) for f in FINDINGS]


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
