"""Consumption history (v2, per project and per branch) and an organization's spending limit:
the routes' checks, paging and answers. The numbers come from ``consumption``.

Checks come in this order: the query parameters (400), the organization (404: the user is not
a member), its plan (403), then the range for the granularity (406), as the spec's responses
list them. Which plans may ask, from the spec's descriptions:

- ``/consumption_history/v2/projects``: Launch, Scale, Agent, Business, Enterprise;
- ``/consumption_history/v2/branches`` (beta): the usage-based Launch, Scale, Agent, Enterprise;
- ``/organizations/{org_id}/billing/spending_limit`` (beta): Launch and Scale.

A plan name is read without its generation suffix (``scale_v3`` is Scale).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from neon_emulator import consumption
from neon_emulator import validation as v
from neon_emulator.api import Ctx
from neon_emulator.consumption import BRANCH_METRICS, HOUR_US, METRICS, ProjectUsage
from neon_emulator.errors import ApiError
from neon_emulator.store import Organization, Project, Store, iso, iso_us, now_us, parse_iso_us

PROJECT_PLANS = frozenset({"launch", "scale", "agent", "business", "enterprise"})
BRANCH_PLANS = frozenset({"launch", "scale", "agent", "enterprise"})
SPENDING_LIMIT_PLANS = frozenset({"launch", "scale"})
PLAN_NAMES = {"business": "Business", "direct_sales": "Enterprise", "free": "Free"}
# Branches per project a plan includes; extra_branches_month counts the ones beyond.
EXTRA_BRANCH_ALLOWANCE = {"launch": 10}
DEFAULT_EXTRA_BRANCH_ALLOWANCE = 25
MAX_IDS = 100
# The spec: "The earliest allowed from value is March 1, 2024, at 00:00:00 UTC".
EARLIEST_HOUR = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp()) // 3600
LAST_HOUR = int(datetime(9999, 1, 1, tzinfo=UTC).timestamp()) // 3600
GRANULARITIES = ("hourly", "daily", "monthly")
# How far back each granularity goes: 168 hours, 60 days, a year (12 months before this one).
WINDOWS = {"hourly": 168, "daily": 60, "monthly": 12}
WINDOW_TEXT = {
    "hourly": "the last 168 hours",
    "daily": "the last 60 days",
    "monthly": "the last year",
}


def plan_family(plan: str) -> str:
    family = plan.removesuffix("_v2").removesuffix("_v3")
    return "enterprise" if family == "direct_sales" else family


def _plan_name(plan: str) -> str:
    family = plan_family(plan)
    return PLAN_NAMES.get(family, family.capitalize())


def extra_branch_allowance(store: Store, project: Project) -> int:
    org = store.organizations.get(project.org_id) if project.org_id else None
    plan = org.plan if org is not None else project.owner.subscription_type
    return EXTRA_BRANCH_ALLOWANCE.get(plan_family(plan), DEFAULT_EXTRA_BRANCH_ALLOWANCE)


def _require_plan(org: Organization, plans: frozenset[str], what: str) -> None:
    if plan_family(org.plan) not in plans:
        raise ApiError(403, f"{what}; organization {org.id} is on the {_plan_name(org.plan)} plan")


# ---- time -------------------------------------------------------------------------------------


def _at(hour: int) -> str:
    return iso(hour * HOUR_US)


def _month_index(hour: int) -> int:
    dt = datetime.fromtimestamp(hour * 3600, UTC)
    return dt.year * 12 + dt.month - 1


def _month_hour(index: int) -> int:
    year, month = divmod(index, 12)
    return int(datetime(year, month + 1, 1, tzinfo=UTC).timestamp()) // 3600


def _floor(hour: int, granularity: str) -> int:
    """The start of the bucket that holds ``hour``."""
    if granularity == "hourly":
        return hour
    if granularity == "daily":
        return hour // 24 * 24
    return _month_hour(_month_index(hour))


def _step(hour: int, granularity: str, n: int = 1) -> int:
    """The start of the bucket ``n`` buckets after the one starting at ``hour``."""
    if granularity == "hourly":
        return hour + n
    if granularity == "daily":
        return hour + 24 * n
    return _month_hour(_month_index(hour) + n)


def _edges(start: int, end: int, granularity: str) -> list[int]:
    edges = [start]
    while edges[-1] < end:
        edges.append(_step(edges[-1], granularity))
    return edges


def _timestamp(args, key: str) -> int:
    """An RFC 3339 date-time query parameter, as a whole hour (rounded down)."""
    raw = args.get(key)
    if raw is None:
        raise v.bad(f"query parameter {key} is required")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in raw.upper():
        raise v.bad(
            f"query parameter {key}: expected an RFC 3339 date-time with a time zone, such as "
            f"2026-12-01T00:00:00Z, got {raw!r}"
        )
    # Clamped to what calendar arithmetic can take: far before is refused as too far back
    # anyway, far after means "until now".
    return min(max(0, int(moment.timestamp()) // 3600), LAST_HOUR)


# ---- the query ----------------------------------------------------------------------------------


@dataclass
class Query:
    org: Organization
    granularity: str
    metrics: list[int]  # indexes into METRICS, in the order asked
    edges: list[int]  # bucket boundaries in hours; empty when no data is due yet
    project_ids: list[str] | None
    limit: int
    now_us: int


def _list_param(args, key: str) -> list[str]:
    """Repeated and comma-separated values, in order, each once."""
    out: list[str] = []
    for item in args.getlist(key):
        for value in item.split(",") if item else ():
            if value not in out:
                out.append(value)
    return out


def _ids(args, key: str, *, required: bool) -> list[str] | None:
    ids = _list_param(args, key)
    if not ids:
        if required:
            raise v.bad(f"query parameter {key} is required: 1 to {MAX_IDS} IDs")
        return None
    if len(ids) > MAX_IDS:
        raise v.bad(f"query parameter {key}: at most {MAX_IDS} IDs, got {len(ids)}")
    for value in ids:
        if not v.ID_PATTERN.match(value):
            raise v.bad(f"query parameter {key}: {value!r} must match ^[a-z0-9-]{{1,60}}$")
    return ids


def _metrics(args, supported: tuple[str, ...]) -> list[int]:
    names = _list_param(args, "metrics")
    if not names:
        raise v.bad(f"query parameter metrics is required; supported: {', '.join(supported)}")
    for name in names:
        if name in METRICS and name not in supported:
            raise v.bad(
                f"query parameter metrics: {name} is not supported by this endpoint; use "
                "GET /consumption_history/v2/projects"
            )
        if name not in supported:
            raise v.bad(
                f"query parameter metrics: unknown metric {name!r}; supported: "
                f"{', '.join(supported)}"
            )
    return [METRICS.index(name) for name in names]


def _query(ctx: Ctx, *, branches: bool) -> Query:
    args = ctx.args
    org_id = v.query_id(args, "org_id")
    if org_id is None:
        raise v.bad("query parameter org_id is required")
    project_ids = _ids(args, "project_ids", required=branches)
    if branches:
        limit = v.query_int(args, "limit", 1, 1000, default=100)
    else:
        limit = v.query_int(args, "limit", 1, 100, default=10)
    start, end = _timestamp(args, "from"), _timestamp(args, "to")
    granularity = args.get("granularity")
    if granularity is None:
        raise v.bad("query parameter granularity is required: hourly, daily or monthly")
    if granularity not in GRANULARITIES:
        raise v.bad("query parameter granularity: must be one of hourly, daily, monthly")
    metrics = _metrics(args, BRANCH_METRICS if branches else METRICS)

    org = ctx.store.organizations.get(org_id)
    if org is None:
        raise ApiError(404, f"organization {org_id} not found, or the user is not a member")
    if branches:
        what = "branch consumption history requires a paid usage-based Launch, Scale, Agent or "
        _require_plan(org, BRANCH_PLANS, what + "Enterprise plan")
    else:
        what = "project consumption history requires a Launch, Scale, Agent, Business or "
        _require_plan(org, PROJECT_PLANS, what + "Enterprise plan")

    now = ctx.consumption_now_us or now_us()
    edges = _range(start, end, granularity, now)
    return Query(org, granularity, metrics, edges, project_ids, limit, now)


def _range(start: int, end: int, granularity: str, now: int) -> list[int]:
    """The buckets' edges in hours, or 406 for a range the granularity does not allow. Buckets
    with no data yet (after the freshness cutoff) are left out."""
    start, end = _floor(start, granularity), _floor(end, granularity)
    current = _floor(now // HOUR_US, granularity)
    earliest = max(_step(current, granularity, -WINDOWS[granularity]), EARLIEST_HOUR)
    if start >= end:
        raise ApiError(
            406,
            f"from must be before to once both are rounded to the {granularity} granularity "
            f"(from {_at(start)}, to {_at(end)})",
        )
    if start < earliest:
        raise ApiError(
            406,
            f"{granularity} consumption is limited to {WINDOW_TEXT[granularity]}: from must not "
            f"be before {_at(earliest)}"
            + ("" if granularity == "monthly" else "; choose a coarser granularity"),
        )
    if start > current:
        raise ApiError(406, f"from is in the future: {_at(start)}")
    # The bucket of the last hour with data may be partial; none after it is sent.
    cutoff = consumption.data_cutoff_hour(now)
    end = min(end, _step(_floor(cutoff - 1, granularity), granularity))
    return _edges(start, end, granularity) if start < end else []


# ---- answers ----------------------------------------------------------------------------------


def _period_id(org_id: str, month: int) -> str:
    digest = hashlib.blake2b(f"{org_id}/period/{month}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def _periods(query: Query, edges: list[int], rows: list[list[int]], first: int, last: int):
    """Billing periods (calendar months) of the buckets the subject existed in."""
    periods: list[dict] = []
    now_hour = query.now_us // HOUR_US
    current = None
    for k, row in enumerate(rows):
        start, end = edges[k], edges[k + 1]
        if end <= first or start >= last:
            continue
        month = _month_index(start)
        if month != current:
            current = month
            period = {
                "period_id": _period_id(query.org.id, month),
                "period_plan": query.org.plan,
                "period_start": _at(_month_hour(month)),
            }
            if _month_hour(month + 1) <= now_hour:  # only past periods have an end
                period["period_end"] = _at(_month_hour(month + 1))
            period["consumption"] = []
            periods.append(period)
        periods[-1]["consumption"].append(
            {
                "timeframe_start": _at(start),
                "timeframe_end": _at(end),
                "metrics": [{"metric_name": METRICS[m], "value": row[m]} for m in query.metrics],
            }
        )
    return periods


def _member_projects(store: Store, org_id: str, ids: list[str]) -> list[Project]:
    """The organization's projects among ``ids``, live or deleted but recoverable; the others
    are filtered out, as a filter does."""
    out = []
    for project_id in ids:
        project = store.projects.get(project_id) or store.recoverable(project_id)
        if project is not None and project.org_id == org_id:
            out.append(project)
    return out


def _usage(query: Query, store: Store, project: Project) -> ProjectUsage:
    return ProjectUsage(
        project,
        now_us=query.now_us,
        extra_branch_allowance=extra_branch_allowance(store, project),
    )


def project_consumption(ctx: Ctx):
    query = _query(ctx, branches=False)
    store = ctx.store
    raw_cursor = ctx.args.get("cursor")
    before = None
    if raw_cursor:
        before = parse_iso_us(raw_cursor)
        if before is None:
            raise v.bad("query parameter cursor: not a cursor returned by this API")
    # Newest first, as GET /projects lists them.
    if query.project_ids is None:
        projects, _ = store.page(
            deleted=False, before_us=before, limit=query.limit, search=None, org_id=query.org.id
        )
    else:
        chosen = _member_projects(store, query.org.id, query.project_ids)
        chosen.sort(key=lambda p: p.created_us, reverse=True)
        projects = [p for p in chosen if before is None or p.created_us < before][: query.limit]
    items = []
    for project in projects:
        periods = []
        if query.edges:
            usage = _usage(query, store, project)
            rows = usage.series(query.edges)
            periods = _periods(query, query.edges, rows, usage.first_hour, usage.end_hour)
        items.append({"project_id": project.id, "periods": periods})
    body: dict = {"projects": items}
    if projects:
        body["pagination"] = {"cursor": iso_us(projects[-1].created_us)}
    elif raw_cursor:
        body["pagination"] = {"cursor": raw_cursor}
    return 200, body


def _encode_cursor(project_id: str, branch_id: str) -> str:
    raw = json.dumps([project_id, branch_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        project_id, branch_id = json.loads(raw)
    except (ValueError, TypeError):
        raise v.bad("query parameter cursor: not a cursor returned by this API") from None
    if not isinstance(project_id, str) or not isinstance(branch_id, str):
        raise v.bad("query parameter cursor: not a cursor returned by this API")
    return project_id, branch_id


def branch_consumption(ctx: Ctx):
    query = _query(ctx, branches=True)
    store = ctx.store
    branch_ids = _ids(ctx.args, "branch_ids", required=False)
    raw_cursor = ctx.args.get("cursor")
    after = _decode_cursor(raw_cursor) if raw_cursor else None
    # Ordered by project ID, then branch ID, as the spec says.
    projects = sorted(_member_projects(store, query.org.id, query.project_ids), key=lambda p: p.id)
    items: list[dict] = []
    last = None
    for project in projects:
        if after is not None and project.id < after[0]:
            continue
        usage = _usage(query, store, project)
        wanted = [
            b
            for b in usage.branches
            if (branch_ids is None or b.id in branch_ids)
            and (after is None or (project.id, b.id) > after)
        ][: query.limit - len(items)]
        if not wanted:
            continue
        series = usage.branch_series(query.edges) if query.edges else {}
        for branch in wanted:
            periods = []
            if query.edges:
                # Branch rows hold BRANCH_METRICS, the first six of METRICS: same indexes.
                rows = series[branch.id]
                periods = _periods(query, query.edges, rows, branch.first_hour, usage.end_hour)
            items.append({"project_id": project.id, "branch_id": branch.id, "periods": periods})
            last = (project.id, branch.id)
        if len(items) >= query.limit:
            break
    body: dict = {"branches": items}
    if last is not None:
        body["pagination"] = {"cursor": _encode_cursor(*last)}
    elif raw_cursor:
        body["pagination"] = {"cursor": raw_cursor}
    return 200, body


# ---- spending limit -----------------------------------------------------------------------


def _spending_org(ctx: Ctx, org_id: str) -> Organization:
    org = ctx.store.organizations.get(org_id)
    if org is None:
        raise ApiError(404, f"organization {org_id} not found, or the user is not a member")
    _require_plan(
        org, SPENDING_LIMIT_PLANS, "the spending limit is available on Launch and Scale plans only"
    )
    return org


def get_spending_limit(ctx: Ctx, org_id: str):
    org = _spending_org(ctx, org_id)
    return 200, {"spending_limit_cents": org.spending_limit_cents}


def set_spending_limit(ctx: Ctx, org_id: str):
    org = _spending_org(ctx, org_id)
    if ctx.body is None:
        raise v.bad('request body is required: {"spending_limit_cents": N}')
    body = v.want_object(ctx.body, "body")
    v.no_unknown(body, ("spending_limit_cents",), "body")
    if "spending_limit_cents" not in body:
        raise v.bad("spending_limit_cents is required")
    cents = body["spending_limit_cents"]
    if cents is None or cents == 0:
        raise v.bad(
            "spending_limit_cents: must be a positive number of cents; to remove the limit, "
            "send DELETE"
        )
    org.spending_limit_cents = v.want_int(cents, "spending_limit_cents", 1, v.INT64_MAX)
    return 200, {"spending_limit_cents": org.spending_limit_cents}


def delete_spending_limit(ctx: Ctx, org_id: str):
    org = _spending_org(ctx, org_id)
    org.spending_limit_cents = None  # idempotent, as the spec says
    return 200, {}


# ---- the raw numbers, for tests ------------------------------------------------------------


def raw_usage(store: Store, args, now: int) -> dict:
    """``GET /_emulator/consumption?project_id=...&from=...&to=...&granularity=...``: every
    metric of one project (live or deleted, in any account) per bucket, per branch and in
    total, with no plan, window or rate limit in the way. ``from`` defaults to the start of
    this month, ``to`` to now, ``granularity`` to daily."""
    project_id = v.query_id(args, "project_id")
    if project_id is None:
        raise v.bad("query parameter project_id is required")
    project = store.projects.get(project_id) or store.deleted.get(project_id)
    if project is None:
        raise ApiError(404, f"project {project_id} not found")
    granularity = args.get("granularity", "daily")
    if granularity not in GRANULARITIES:
        raise v.bad("query parameter granularity: must be one of hourly, daily, monthly")
    now_hour = now // HOUR_US
    start = _timestamp(args, "from") if "from" in args else _floor(now_hour, "monthly")
    start = _floor(start, granularity)
    if "to" in args:
        end = _floor(_timestamp(args, "to"), granularity)
    else:
        end = _step(_floor(now_hour, granularity), granularity)  # the current bucket's end
    if end <= start:
        raise v.bad("from must be before to once both are rounded to the granularity")
    usage = ProjectUsage(
        project, now_us=now, extra_branch_allowance=extra_branch_allowance(store, project)
    )
    edges = _edges(start, end, granularity)
    rows = usage.series(edges)
    branch_rows = usage.branch_series([edges[0], edges[-1]])
    totals = usage.totals(edges[0], edges[-1])
    return {
        "project_id": project.id,
        "org_id": project.org_id,
        "granularity": granularity,
        "from": _at(edges[0]),
        "to": _at(edges[-1]),
        "data_until": _at(consumption.data_cutoff_hour(now)),
        "extra_branch_allowance": usage.allowance,
        "model": usage.describe(),
        "buckets": [
            {
                "start": _at(edges[k]),
                "end": _at(edges[k + 1]),
                **dict(zip(METRICS, row, strict=True)),
            }
            for k, row in enumerate(rows)
        ],
        "totals": dict(zip(METRICS, totals, strict=True)),
        "branches": {
            branch_id: dict(zip(BRANCH_METRICS, rows_[0], strict=True))
            for branch_id, rows_ in branch_rows.items()
        },
    }
