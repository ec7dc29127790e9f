"""The fleet's counts, kept instead of counted on every view.

The fleet page shows a total, a count on every facet's choices, a count per finding and the
filters' choices. Counted from the inventory, each is a scan of every row: at a million rows,
seconds a view. Instead the inventory is tallied once per refresh into groups of rows that share
every value the page counts or filters by (`DIMS`: a few thousand groups, whatever the fleet's
size), and every write the dashboard makes moves its project from one group to another. A view's
counts are then sums over the groups (`view_counts`), kept per view until the tally changes.

Two views cannot be answered from the groups: a search and "idle for more than N days" (a name
and a day count are not among the values tallied). Those group the rows they match instead, in
one GROUP BY over what the search index finds, and then sum the same way.

`generation()` names the tally's current state: every rebuild and every move gives it a new
value, so whatever was computed from the old one (a view's counts, the choices) is retired at
once, in every process, through the shared cache.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from fleet.findings import BY_SLUG, PG_END_OF_LIFE
from fleet.models import InventoryGroup, InventoryProject, InventoryTally

GENERATION_KEY = "fleet:generation"
PERSONAL = "Personal account"
SHARED = "Shared with you"
FACETS = (
    "org", "region", "pg", "exposure", "hipaa", "logical_replication", "class", "drift", "cost",
)  # fmt: skip
# This month's estimated cost (fleet's cost_cents, the cost app's) in bands: the facet's values,
# each with the lowest cents it takes ("" not priced yet).
COST_BANDS = (("0", 0), ("lt10", 1), ("lt100", 1000), ("100+", 10000))
COST_LABELS = {
    "": "Not priced", "0": "$0", "lt10": "Under $10", "lt100": "$10 to $100",
    "100+": "$100 or more",
}  # fmt: skip
EXPOSURE_ORDER = ("public", "allowlist", "private")
EXPOSURE_LABELS = {
    "public": "Open to the internet",
    "allowlist": "IP allowlist",
    "private": "Public connections blocked",
}


@dataclass(frozen=True, slots=True)
class Group:
    """The values one group of rows shares (the tally's dimensions)."""

    org_id: str
    org_name: str
    shared: bool
    region_id: str
    pg_version: int
    exposure: str  # public, allowlist, private
    hipaa: bool
    logical_replication: bool
    gone: bool
    maintenance: bool  # has a maintenance window
    large_no_quota: bool  # finding large-autoscaling-without-quota
    no_history: bool
    idle: bool  # finding idle-with-storage, as of when it was tallied
    at_quota: bool  # finding held-by-quota
    idle_costing: bool  # finding idle-but-costing, as of when it was tallied
    cost_band: str  # this month's cost (COST_BANDS), "" not priced
    project_class: str  # fleet.marks: the class a policy put it in ("" none)
    drifting: bool  # out of at least one rule of its class

    def key(self) -> str:
        return json.dumps([getattr(self, name) for name in DIMS], separators=(",", ":"))

    @classmethod
    def from_key(cls, key: str) -> Group:
        return cls(*json.loads(key))

    def facet(self, name: str) -> str:
        """This group's choice in a facet of the page (the filter's value)."""
        if name == "org":
            return "shared" if self.shared else (self.org_id or "personal")
        if name == "pg":
            return str(self.pg_version)
        if name == "hipaa":
            return "yes" if self.hipaa else "no"
        if name == "logical_replication":
            return "yes" if self.logical_replication else "no"
        if name == "class":
            return self.project_class
        if name == "drift":
            return "yes" if self.drifting else "no"
        if name == "cost":
            return self.cost_band
        return getattr(self, {"region": "region_id"}.get(name, name))


DIMS = tuple(Group.__dataclass_fields__)


# -- The same values, read two ways: from a row (a write moves it) and in SQL (a rebuild). --


def group_of(row: InventoryProject, *, now: datetime | None = None) -> Group:
    """The group a row belongs to, as `grouped` would put it there."""
    return Group(
        org_id=row.org_id,
        org_name=row.org_name,
        shared=row.shared,
        region_id=row.region_id,
        pg_version=row.pg_version,
        exposure=row.exposure,
        hipaa=row.hipaa,
        logical_replication=row.logical_replication,
        gone=row.gone_at is not None,
        maintenance=row.has_maintenance_window,
        large_no_quota=BY_SLUG["large-autoscaling-without-quota"].matches(row, now=now),
        no_history=row.history_retention_seconds == 0,
        idle=BY_SLUG["idle-with-storage"].matches(row, now=now),
        at_quota=BY_SLUG["held-by-quota"].matches(row, now=now),
        idle_costing=BY_SLUG["idle-but-costing"].matches(row, now=now),
        cost_band=cost_band(row.cost_cents),
        project_class=row.project_class,
        drifting=row.drift > 0,
    )


def cost_band(cents: int | None) -> str:
    """The band of this month's cost, as the tally's SQL puts a row in it."""
    if cents is None:
        return ""
    return next(band for band, low in reversed(COST_BANDS) if cents >= low)


def cost_condition(band: str) -> Q:
    """The rows of a band (the fleet's cost filter)."""
    if band == "":
        return Q(cost_cents__isnull=True)
    lows = dict(COST_BANDS)
    following = [low for b, low in COST_BANDS if low > lows[band]]
    q = Q(cost_cents__gte=lows[band])
    return q & Q(cost_cents__lt=following[0]) if following else q


def _flag(q: Q) -> ExpressionWrapper:
    # NULL (a comparison with an empty column) counts as false, as in Python.
    return Coalesce(ExpressionWrapper(q, output_field=BooleanField()), Value(False))


COLUMNS = {  # each dimension's column in `grouped`'s query
    "org_id": "org_id",
    "org_name": "org_name",
    "shared": "shared",
    "region_id": "region_id",
    "pg_version": "pg_version",
    "exposure": "t_exposure",
    "hipaa": "hipaa",
    "logical_replication": "logical_replication",
    "gone": "t_gone",
    "maintenance": "has_maintenance_window",
    "large_no_quota": "t_large",
    "no_history": "t_no_history",
    "idle": "t_idle",
    "at_quota": "t_at_quota",
    "idle_costing": "t_idle_costing",
    "cost_band": "t_cost_band",
    "project_class": "project_class",
    "drifting": "t_drifting",
}


def grouped(
    rows: QuerySet[InventoryProject], *, sample_percent: float | None = None
) -> list[tuple[Group, int]]:
    """The rows, grouped by the tally's dimensions, in one GROUP BY. With `sample_percent`
    (PostgreSQL), over that share of the table's pages only, each count scaled up to the whole:
    an estimate (see `rounded`), for views that match too many rows to count on every view."""
    annotated = rows.annotate(
        t_exposure=Case(
            When(block_public_connections=True, then=Value("private")),
            When(allowed_ips_count__gt=0, then=Value("allowlist")),
            default=Value("public"),
        ),
        t_gone=_flag(Q(gone_at__isnull=False)),
        t_large=_flag(BY_SLUG["large-autoscaling-without-quota"].query()),
        t_no_history=_flag(Q(history_retention_seconds=0)),
        t_idle=_flag(BY_SLUG["idle-with-storage"].query()),
        t_at_quota=_flag(BY_SLUG["held-by-quota"].query()),
        t_idle_costing=_flag(BY_SLUG["idle-but-costing"].query()),
        t_cost_band=Case(
            *[When(cost_cents__gte=low, then=Value(band)) for band, low in reversed(COST_BANDS)],
            default=Value(""),
            output_field=CharField(),
        ),
        t_drifting=_flag(Q(drift__gt=0)),
    )
    values = annotated.values(*COLUMNS.values()).annotate(n=Count("pk")).order_by()
    if sample_percent is None:
        return [(_group(v), v["n"]) for v in values]
    sql, params = values.query.sql_with_params()
    table = connection.ops.quote_name(InventoryProject._meta.db_table)
    # Only numbers of ours go into the SQL; REPEATABLE keeps the estimate steady between views.
    sampled = f"FROM {table} TABLESAMPLE SYSTEM ({float(sample_percent):.6f}) REPEATABLE (20)"
    sql = sql.replace(f"FROM {table}", sampled, 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    scale = 100 / sample_percent
    return [(_group(v), v["n"] * scale) for v in found]


def _group(values: dict) -> Group:
    return Group(*(_plain(name, values[column]) for name, column in COLUMNS.items()))


def _plain(name: str, value):
    fields = Group.__dataclass_fields__
    return bool(value) if fields[name].type == "bool" else value


# -- Keeping the tally --


def rebuild() -> InventoryTally:
    """Count the whole inventory into groups (after a refresh, or when there is no tally)."""
    counted = grouped(InventoryProject.objects.all())
    with transaction.atomic():
        tally, _ = InventoryTally.objects.select_for_update().get_or_create(
            pk=1, defaults={"counted_at": timezone.now()}
        )
        InventoryGroup.objects.all().delete()
        InventoryGroup.objects.bulk_create(
            [InventoryGroup(key=group.key(), n=n) for group, n in counted], batch_size=2000
        )
        tally.counted_at, tally.rows = timezone.now(), sum(n for _, n in counted)
        tally.save()
    bump()
    return tally


def move(before: Group | None, after: Group | None) -> None:
    """One row changed group (None: it was not in the inventory, or is no longer): the tally
    follows, so its counts stay true between refreshes. Nothing to do before the first count."""
    if before == after or not InventoryTally.objects.exists():
        return
    with transaction.atomic():
        if before is not None:
            InventoryGroup.objects.filter(key=before.key()).update(n=F("n") - 1)
        if after is not None:
            key = after.key()
            if not InventoryGroup.objects.filter(key=key).update(n=F("n") + 1):
                InventoryGroup.objects.get_or_create(key=key, defaults={"n": 0})
                InventoryGroup.objects.filter(key=key).update(n=F("n") + 1)
        InventoryGroup.objects.filter(n__lte=0).delete()
    bump()


def bump() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


def generation() -> str:
    """The tally's current state, as a name (see the module's docstring)."""
    current = cache.get(GENERATION_KEY)
    if current is None:
        current = uuid.uuid4().hex
        cache.add(GENERATION_KEY, current, None)
        current = cache.get(GENERATION_KEY) or current
    return current


@dataclass(frozen=True)
class Tally:
    groups: list[tuple[Group, int]]
    counted_at: datetime | None
    rows: int  # the inventory's rows when counted, gone ones included


_loaded: dict[str, Tally] = {}  # this process's copy, by generation


def current() -> Tally:
    """The tally as it is now: this process's copy if the generation has not moved, else read
    again (a few thousand rows), after counting the inventory if it never was."""
    name = generation()
    if name in _loaded:
        return _loaded[name]
    tally = InventoryTally.objects.filter(pk=1).first() or rebuild()
    loaded = Tally(
        groups=[(Group.from_key(k), n) for k, n in InventoryGroup.objects.values_list("key", "n")],
        counted_at=tally.counted_at,
        rows=tally.rows,
    )
    _loaded.clear()
    _loaded[name] = loaded
    return loaded


# -- Counting a view from groups --


def _eol_versions() -> frozenset[int]:
    today = timezone.now().date()
    return frozenset(v for v, end in PG_END_OF_LIFE.items() if end <= today)


def _finding_test(slug: str) -> Callable[[Group], bool]:
    if slug == "eol-postgres":
        versions = _eol_versions()
        return lambda g: g.pg_version in versions
    return {
        "idle-with-storage": lambda g: g.idle,
        "open-to-the-internet": lambda g: g.exposure == "public",
        "no-maintenance-window": lambda g: not g.maintenance,
        "large-autoscaling-without-quota": lambda g: g.large_no_quota,
        "no-history": lambda g: g.no_history,
        "held-by-quota": lambda g: g.at_quota,
        "idle-but-costing": lambda g: g.idle_costing,
    }[slug]


def _tests(filters: dict) -> list[tuple[str, Callable[[Group], bool]]]:
    """The view's filters that the groups can answer, each named by its facet ("" for those
    that are not a facet). A search and idle days are answered by the rows (see `for_view`)."""
    tests: list[tuple[str, Callable[[Group], bool]]] = []
    if not filters["include_gone"]:
        tests.append(("", lambda g: not g.gone))
    for facet in FACETS:
        wanted = filters[facet]
        if wanted not in ("", None):
            tests.append((facet, lambda g, f=facet, w=str(wanted): g.facet(f) == w))
    if filters["finding"] in BY_SLUG:
        tests.append(("", _finding_test(filters["finding"])))
    return tests


@dataclass(frozen=True)
class ViewCounts:
    total: int
    facets: dict[str, list[tuple[str, str, int]]]  # facet → (value, label, count)
    counted_at: datetime | None  # when the counts were tallied; None: counted just now
    approximate: bool = False  # estimated from a sample (the page says "about")


def count(groups: Iterable[tuple[Group, int]], filters: dict) -> tuple[int, dict[str, Counter]]:
    """The view's total, and for each facet how many rows each of its choices would give with
    the other filters applied, in one pass: a group that fails no filter counts everywhere,
    one that fails only a facet's own filter counts in that facet alone."""
    tests = _tests(filters)
    total = 0
    per_facet = [Counter() for _ in FACETS]
    slot = {facet: i for i, facet in enumerate(FACETS)}
    for group, n in groups:
        failed = ""
        fails = 0
        for facet, test in tests:
            if not test(group):
                fails += 1
                failed = facet
                if fails > 1:
                    break
        if fails == 0:
            total += n
            for counter, value in zip(per_facet, _facets_of(group), strict=True):
                counter[value] += n
        elif fails == 1 and failed:
            i = slot[failed]
            per_facet[i][_facets_of(group)[i]] += n
    return total, dict(zip(FACETS, per_facet, strict=True))


@lru_cache(maxsize=65536)
def _facets_of(group: Group) -> tuple[str, ...]:
    return tuple(group.facet(facet) for facet in FACETS)


def about(estimate: float) -> int:
    """An estimate as the page says it: to two significant figures, which is what a sample of
    tens of thousands of rows can tell."""
    if estimate <= 0:
        return 0
    digits = len(str(int(estimate))) - 2
    return max(1, int(round(estimate, -digits)) if digits > 0 else round(estimate))


def rounded(total: float, per_facet: dict[str, Counter]) -> tuple[int, dict[str, Counter]]:
    return about(total), {
        facet: Counter({value: about(n) for value, n in counts.items()})
        for facet, counts in per_facet.items()
    }


def labelled(per_facet: dict[str, Counter], names: dict[str, str]) -> dict[str, list]:
    """The facets' counts with each choice's label, in the page's order."""
    facets: dict[str, list[tuple[str, str, int]]] = {}
    for facet, counts in per_facet.items():
        present = [(value, n) for value, n in counts.items() if n]
        if facet == "exposure":
            present.sort(key=lambda item: EXPOSURE_ORDER.index(item[0]))
        elif facet == "cost":
            present.sort(key=lambda item: list(COST_LABELS).index(item[0]))
        elif facet == "pg":
            present.sort(key=lambda item: int(item[0]))
        else:
            present.sort()
        facets[facet] = [(value, _label(facet, value, names), n) for value, n in present]
    return facets


def _label(facet: str, value: str, names: dict[str, str]) -> str:
    if facet == "org":
        if value == "personal":
            return PERSONAL
        return SHARED if value == "shared" else names.get(value) or value
    if facet == "exposure":
        return EXPOSURE_LABELS[value]
    if facet in ("hipaa", "logical_replication"):
        return "Yes" if value == "yes" else "No"
    if facet == "drift":
        return "Out of policy" if value == "yes" else "Within policy"
    if facet == "cost":
        return COST_LABELS[value]
    return value


def organization_names(groups: Iterable[tuple[Group, int]]) -> dict[str, str]:
    return {g.org_id: g.org_name for g, _ in groups if g.org_id and g.org_name}
