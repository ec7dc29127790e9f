"""Consumption history v2 (per project and per branch): shapes the spec allows, numbers that add
up across granularities and branches and agree with the projects, Neon's 403/404/406, paging,
and the rate limit of its own."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

import pytest
import requests

from neon_emulator import consumption, seed
from neon_emulator.__main__ import parse_args
from neon_emulator.rate_limits import Rate
from neon_emulator.store import Store, parse_iso_us
from neon_emulator.testing import run_emulator
from tests.emulator.conftest import Api, listed_projects

ACME, BOREALIS, CEDAR = seed.ACME, seed.BOREALIS, seed.CEDAR
# The clock consumption history reads in these tests: data until 18:00, 15 minutes before.
NOW = "2026-12-07T18:20:00Z"
METRICS = list(consumption.METRICS)
BRANCH_METRICS = list(consumption.BRANCH_METRICS)
MIB = 1024 * 1024


@pytest.fixture
def usage(emu):
    """300 seeded projects, no consumption rate limit, the consumption clock at NOW."""
    emu.reset(seed=300, consumption_rate_limit="off")
    emu.set_consumption_clock(NOW)
    return emu


def _get(api: Api, which: str = "projects", **params) -> requests.Response:
    query = {"org_id": ACME, "granularity": "daily", "metrics": ",".join(METRICS), **params}
    query.setdefault("from", "2026-12-01T00:00:00Z")
    query.setdefault("to", "2026-12-08T00:00:00Z")
    return api.get(f"/consumption_history/v2/{which}", params=query)


def _series(item: dict) -> dict[str, dict[str, int]]:
    """timeframe_start -> metric -> value, across periods."""
    return {
        frame["timeframe_start"]: {m["metric_name"]: m["value"] for m in frame["metrics"]}
        for period in item["periods"]
        for frame in period["consumption"]
    }


def _by_project(body: dict) -> dict[str, dict[str, dict[str, int]]]:
    return {item["project_id"]: _series(item) for item in body["projects"]}


def _sum(frames) -> dict[str, int]:
    total: dict[str, int] = {}
    for frame in frames:
        for name, value in frame.items():
            total[name] = total.get(name, 0) + value
    return total


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---- shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granularity", "start", "end", "frames"),
    [
        ("hourly", "2026-12-07T10:00:00Z", "2026-12-07T20:00:00Z", 8),  # no data from 18:00
        ("daily", "2026-11-28T00:00:00Z", "2026-12-08T00:00:00Z", 10),
        ("monthly", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z", 7),
    ],
)
def test_project_consumption_conforms(usage, api, conforms, granularity, start, end, frames):
    asked = ["public_network_transfer_bytes", "compute_unit_seconds", "root_branch_bytes_month"]
    params = {"granularity": granularity, "from": start, "to": end, "metrics": ",".join(asked)}
    body = conforms(_get(api, limit=100, **params))
    org_projects = [p["id"] for p in listed_projects(api, org_id=ACME)]
    assert [item["project_id"] for item in body["projects"]] == org_projects[:100]
    assert body["pagination"]["cursor"]
    full = [item for item in body["projects"] if item["periods"]]
    assert full, "the organization's projects have history"
    for item in full:
        starts = [f["timeframe_start"] for p in item["periods"] for f in p["consumption"]]
        assert starts == sorted(starts) and len(starts) <= frames
        for period in item["periods"]:
            assert period["period_plan"] == "scale"
            assert period["period_start"].endswith("-01T00:00:00Z")
            # Only a period that is over has an end; the current one (December) has none.
            assert ("period_end" in period) == (period["period_start"] < "2026-12-01")
            for frame in period["consumption"]:
                assert frame["timeframe_start"] >= period["period_start"]
                assert [m["metric_name"] for m in frame["metrics"]] == asked
    longest = max(full, key=lambda item: len(_series(item)))
    assert len(_series(longest)) == frames


def test_branch_consumption_conforms_and_adds_up_to_the_projects(usage, api, conforms):
    projects = [p["id"] for p in listed_projects(api, org_id=ACME)][:40]
    params = {"project_ids": ",".join(projects), "limit": 1000}
    by_branch = conforms(_get(api, "branches", metrics=",".join(BRANCH_METRICS), **params))
    keys = [(b["project_id"], b["branch_id"]) for b in by_branch["branches"]]
    assert keys == sorted(keys), "ordered by project ID, then branch ID"
    assert {pid for pid, _ in keys} == set(projects)
    assert any(bid != keys[0][1] for pid, bid in keys if pid == keys[0][0]) or len(keys) > 40
    by_project = _by_project(conforms(_get(api, project_ids=",".join(projects), limit=100)))
    for pid in projects:
        frames = [_series(b) for b in by_branch["branches"] if b["project_id"] == pid]
        for start, values in by_project[pid].items():
            summed = _sum(frame[start] for frame in frames if start in frame)
            assert summed == {m: values[m] for m in BRANCH_METRICS}, (pid, start)


# ---- the numbers add up ----------------------------------------------------------------------


def test_hours_sum_to_days_and_days_to_months(usage, api, conforms):
    hourly = _by_project(
        conforms(_get(api, granularity="hourly", limit=100, **{"from": "2026-12-06T00:00:00Z"}))
    )
    daily = _by_project(conforms(_get(api, limit=100, **{"from": "2026-11-01T00:00:00Z"})))
    monthly = _by_project(
        conforms(
            _get(
                api,
                granularity="monthly",
                limit=100,
                **{"from": "2026-11-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"},
            )
        )
    )
    busy = 0
    for pid, days in daily.items():
        for day in ("2026-12-06T00:00:00Z", "2026-12-07T00:00:00Z"):  # a whole day, a partial one
            hours = [v for start, v in hourly[pid].items() if start[:10] == day[:10]]
            if day in days:
                assert _sum(hours) == days[day], (pid, day)
        for month in ("2026-11", "2026-12"):
            in_month = [v for start, v in days.items() if start.startswith(month)]
            if in_month:
                assert _sum(in_month) == monthly[pid][f"{month}-01T00:00:00Z"], (pid, month)
        busy += any(v["compute_unit_seconds"] for v in days.values())
    assert busy >= 5, "several projects computed"


def _columns(rows: list[list[int]]) -> list[int]:
    return [sum(column) for column in zip(*rows, strict=True)]


def test_any_split_of_a_range_adds_up_for_every_seeded_project():
    store = Store(rng_seed=1)
    seed.seed_store(store, 300)
    now = parse_iso_us(NOW)
    start = consumption.data_cutoff_hour(now) - 40 * 24
    rng = random.Random(7)
    for project in [*store.projects.values(), *store.deleted.values()]:
        usage = consumption.ProjectUsage(project, now_us=now, extra_branch_allowance=1)
        whole = usage.totals(start, start + 40 * 24)
        cuts = sorted(
            {start, start + 40 * 24, *(rng.randrange(start, start + 960) for _ in range(9))}
        )
        assert _columns(usage.series(cuts)) == whole, project.id
        branches = usage.branch_series([start, start + 40 * 24]).values()
        assert _columns([rows[0] for rows in branches]) == whole[:6]
        # An allowance of one branch: every other branch counts, hour for hour.
        assert whole[consumption.EXTRA] == sum(
            max(0, min(start + 960, usage.end_hour) - max(start, b.first_hour))
            for b in sorted(usage.branches, key=lambda b: b.first_hour)[1:]
        )
    assert not any(project.built for project in store.projects.values())


def test_the_raw_numbers_are_the_apis(usage, api):
    body = _get(api, limit=5, granularity="hourly", **{"from": "2026-12-07T00:00:00Z"}).json()
    for item in body["projects"]:
        raw = usage.consumption(
            item["project_id"],
            from_="2026-12-07T00:00:00Z",
            to="2026-12-08T00:00:00Z",
            granularity="hourly",
        )
        assert raw["data_until"] == "2026-12-07T18:00:00Z"
        buckets = {b["start"]: {m: b[m] for m in METRICS} for b in raw["buckets"]}
        for start, values in _series(item).items():
            assert buckets[start] == values
        assert raw["totals"] == _sum(buckets.values())
        assert _sum(raw["branches"].values()) == {m: raw["totals"][m] for m in BRANCH_METRICS}


# ---- the numbers agree with the projects -----------------------------------------------------


def _org_projects(api: Api) -> list[dict]:
    out = []
    for org in (ACME, BOREALIS, CEDAR):
        out.extend(listed_projects(api, org_id=org))
    return out


def test_consumption_follows_each_project(usage, api):
    projects = _org_projects(api)
    kinds = {"idle": 0, "never": 0, "new": 0}
    for org in (ACME, BOREALIS, CEDAR):
        ids = [p["id"] for p in projects if p["org_id"] == org]
        daily: dict = {}
        for chunk in range(0, len(ids), 100):
            params = {"org_id": org, "project_ids": ",".join(ids[chunk : chunk + 100])}
            response = _get(api, limit=100, **params, **{"from": "2026-10-09T00:00:00Z"})
            daily |= _by_project(response.json())
        for project in (p for p in projects if p["org_id"] == org):
            days = daily[project["id"]]
            created = _at(project["created_at"])
            first = created.replace(hour=0, minute=0, second=0)
            assert all(_at(start) >= first for start in days), "nothing before creation"
            if created > _at("2026-10-09T00:00:00Z"):
                kinds["new"] += 1
                assert min(days) == first.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert all(v["root_branch_bytes_month"] > 0 for v in days.values()), "storage stays"
            assert all(v["snapshot_storage_bytes_month"] == 0 for v in days.values())
            last = project.get("compute_last_active_at")
            if last is None:
                kinds["never"] += 1
                assert not any(v["compute_unit_seconds"] for v in days.values())
            elif _at(last) < _at("2026-11-24T12:00:00Z"):  # idle before the seed's last 3 days
                kinds["idle"] += 1
                after = [v for s, v in days.items() if _at(s) > _at(last)]
                assert not any(v["compute_unit_seconds"] for v in after)
                assert not any(v["public_network_transfer_bytes"] for v in after)
                assert not any(v["private_network_transfer_bytes"] for v in after)
    assert all(kinds.values()), kinds


def test_data_stops_fifteen_minutes_before_now(usage, api):
    body = _get(api, granularity="hourly", limit=100, **{"from": "2026-12-07T00:00:00Z"}).json()
    starts = {start for item in body["projects"] for start in _series(item)}
    assert max(starts) == "2026-12-07T17:00:00Z"  # the clock is 18:20: 18:00-19:00 is not in yet
    usage.set_consumption_clock("2026-12-07T18:14:59Z")
    body = _get(api, granularity="hourly", limit=100, **{"from": "2026-12-07T00:00:00Z"}).json()
    assert max(start for item in body["projects"] for start in _series(item)) < "2026-12-07T17"


def test_a_project_made_through_the_api_accrues_from_its_creation(emu, api):
    emu.reset(seed=20, consumption_rate_limit="off")
    created = api.post("/projects", json={"project": {"name": "new", "org_id": ACME}}).json()
    pid, at = created["project"]["id"], _at(created["project"]["created_at"])
    later = at.replace(minute=20, second=0) + timedelta(hours=5)  # data until 5 hours on
    emu.set_consumption_clock(later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    params = {"project_ids": pid, "granularity": "hourly"}
    start = at - timedelta(hours=3)
    # Up to an hour past the data, whatever the hour the test runs at (past 19:00 UTC the five
    # hours run into the next day, beyond _get's default end).
    span = {"from": start.strftime("%Y-%m-%dT%H:00:00Z"),
            "to": (later + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00:00Z")}  # fmt: skip
    body = _get(api, **params, **span).json()
    hours = _series(body["projects"][0])
    assert min(hours) == at.strftime("%Y-%m-%dT%H:00:00Z")
    assert len(hours) == 5  # the hour it was made in, and four more whole ones
    # Its 30 MiB default branch, held every hour; a little compute at its minimum size.
    assert {v["root_branch_bytes_month"] for v in hours.values()} == {30 * MIB}
    assert sum(v["compute_unit_seconds"] for v in hours.values()) <= 5 * 3600 * 0.25


def test_a_deleted_project_is_answered_by_id_until_its_deletion(emu, api):
    emu.reset(seed=300, consumption_rate_limit="off")
    for project in listed_projects(api, org_id=ACME):  # the first without protected branches
        response = api.delete(f"/projects/{project['id']}")
        if response.status_code == 200:
            break
    pid = project["id"]
    recoverable = listed_projects(api, org_id=ACME, recoverable="true")
    deleted_at = _at(next(p for p in recoverable if p["id"] == pid)["deleted_at"])
    emu.set_consumption_clock((deleted_at + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    start = (deleted_at - timedelta(hours=48)).strftime("%Y-%m-%dT%H:00:00Z")
    params = {"granularity": "hourly", "from": start, "to": "2099-01-01T00:00:00Z"}
    listed = _by_project(_get(api, limit=100, **params).json())
    assert pid not in listed, "the organization's listing has live projects only"
    by_id = _by_project(_get(api, project_ids=pid, **params).json())
    # Every hour up to the one it was deleted in, none after.
    assert max(by_id[pid]) == deleted_at.strftime("%Y-%m-%dT%H:00:00Z")
    assert len(by_id[pid]) == 49


# ---- paging and filters ----------------------------------------------------------------------


@pytest.mark.parametrize("org", [ACME, BOREALIS])
def test_paging_walks_every_project_of_the_organization_once(usage, api, conforms, org):
    seen, query = [], {"org_id": org, "limit": 7, "metrics": "compute_unit_seconds"}
    while True:
        body = conforms(_get(api, **query))
        seen.extend(item["project_id"] for item in body["projects"])
        if len(body["projects"]) < 7:
            break
        query["cursor"] = body["pagination"]["cursor"]
    assert seen == [p["id"] for p in listed_projects(api, org_id=org)]


def test_project_ids_filter_repeated_or_comma_separated(usage, api, conforms):
    mine = [p["id"] for p in listed_projects(api, org_id=ACME)][:5]
    theirs = listed_projects(api, org_id=CEDAR)[0]["id"]
    query = {
        "org_id": ACME,
        "granularity": "daily",
        "from": "2026-12-01T00:00:00Z",
        "to": "2026-12-02T00:00:00Z",
        "metrics": ["compute_unit_seconds", "root_branch_bytes_month"],
        "project_ids": [mine[3], f"{mine[0]},{mine[4]}", theirs, "no-such-project", mine[3]],
    }
    body = conforms(api.get("/consumption_history/v2/projects", params=query))
    # Other organizations' projects and unknown ones are filtered out; newest first.
    assert [item["project_id"] for item in body["projects"]] == [mine[0], mine[3], mine[4]]
    page = conforms(api.get("/consumption_history/v2/projects", params={**query, "limit": 2}))
    assert [item["project_id"] for item in page["projects"]] == [mine[0], mine[3]]
    rest = {**query, "limit": 2, "cursor": page["pagination"]["cursor"]}
    assert [
        i["project_id"]
        for i in conforms(api.get("/consumption_history/v2/projects", params=rest))["projects"]
    ] == [mine[4]]


def test_branch_paging_and_branch_ids(usage, api, conforms):
    projects = [p["id"] for p in listed_projects(api, org_id=CEDAR)][:30]
    query = {"org_id": CEDAR, "project_ids": ",".join(projects), "metrics": "compute_unit_seconds"}
    everything = conforms(_get(api, "branches", **query))["branches"]
    walked, page_query = [], {**query, "limit": 3}
    while True:
        body = conforms(_get(api, "branches", **page_query))
        walked.extend(body["branches"])
        if len(body["branches"]) < 3:
            break
        page_query["cursor"] = body["pagination"]["cursor"]
    assert walked == everything
    some = [b["branch_id"] for b in everything[1:4]]
    chosen = conforms(_get(api, "branches", branch_ids=",".join(some), **query))["branches"]
    assert [b["branch_id"] for b in chosen] == some


# ---- what Neon refuses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "change", "status", "words"),
    [
        ("projects", {"org_id": None}, 400, "org_id is required"),
        ("projects", {"from": None}, 400, "from is required"),
        ("projects", {"to": None}, 400, "to is required"),
        ("projects", {"granularity": None}, 400, "granularity is required"),
        ("projects", {"metrics": None}, 400, "metrics is required"),
        ("projects", {"granularity": "weekly"}, 400, "granularity"),
        ("projects", {"metrics": "compute_unit_seconds,cpu_seconds"}, 400, "cpu_seconds"),
        ("projects", {"from": "yesterday"}, 400, "RFC 3339"),
        ("projects", {"from": "2026-12-01T00:00:00"}, 400, "time zone"),
        ("projects", {"from": "2026-12-01"}, 400, "RFC 3339"),
        ("projects", {"limit": "0"}, 400, "limit"),
        ("projects", {"limit": "101"}, 400, "limit"),
        ("projects", {"project_ids": ",".join(f"p-{n}" for n in range(101))}, 400, "at most 100"),
        ("projects", {"project_ids": "Not_An_Id"}, 400, "project_ids"),
        ("projects", {"cursor": "not-a-cursor"}, 400, "cursor"),
        ("projects", {"org_id": "org-nobody-12345678"}, 404, "not a member"),
        ("projects", {"to": "2026-12-01T00:00:00Z"}, 406, "before to"),
        ("projects", {"to": "2026-12-01T23:59:59Z"}, 406, "rounded"),  # rounds to from
        ("projects", {"from": "2026-12-05T00:00:00Z", "to": "2026-12-02T00:00:00Z"}, 406, "before"),
        ("projects", {"granularity": "hourly", "from": "2026-11-30T17:00:00Z"}, 406, "168 hours"),
        ("projects", {"from": "2026-10-07T00:00:00Z"}, 406, "60 days"),
        ("projects", {"granularity": "monthly", "from": "2025-11-01T00:00:00Z"}, 406, "last year"),
        ("projects", {"from": "2026-12-09T00:00:00Z", "to": "2026-12-10T00:00:00Z"}, 406, "future"),
        (
            "projects",
            {"granularity": "monthly", "from": "0001-01-01T00:00:00+01:00"},
            406,
            "last year",
        ),
        ("branches", {"project_ids": None}, 400, "project_ids is required"),
        ("branches", {"metrics": "extra_branches_month"}, 400, "not supported by this endpoint"),
        ("branches", {"metrics": "snapshot_storage_bytes_month"}, 400, "not supported"),
        ("branches", {"limit": "1001"}, 400, "limit"),
        ("branches", {"cursor": "%%%"}, 400, "cursor"),
        ("branches", {"org_id": BOREALIS}, 403, "Business plan"),
    ],
)
def test_refusals_conform(usage, api, conforms, which, change, status, words):
    pid = listed_projects(api, org_id=ACME)[0]["id"]
    query = {
        "org_id": ACME,
        "granularity": "daily",
        "from": "2026-12-01T00:00:00Z",
        "to": "2026-12-03T00:00:00Z",
        "metrics": "compute_unit_seconds",
        "project_ids": pid if which == "branches" else None,
    }
    query.update(change)
    response = api.get(f"/consumption_history/v2/{which}", params=query)
    assert response.status_code == status, response.text
    body = conforms(response)
    assert words in body["message"]
    assert body["code"] == {400: "BAD_REQUEST", 403: "FORBIDDEN", 404: "NOT_FOUND"}.get(
        status, "NOT_ACCEPTABLE"
    )


def test_to_may_be_far_ahead(usage, api, conforms):
    far = {"to": "9999-12-31T23:59:59-14:00", "granularity": "monthly"}
    body = conforms(_get(api, **far, **{"from": "2026-11-01T00:00:00Z"}))
    months = {start for item in body["projects"] for start in _series(item)}
    assert months == {"2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"}, "none after the data"


@pytest.mark.parametrize("plan", ["free", "free_v3"])
def test_a_free_organization_gets_403(usage, api, conforms, plan):
    usage.set_plan(ACME, plan)
    for which in ("projects", "branches"):
        pid = listed_projects(api, org_id=ACME)[0]["id"]
        response = _get(api, which, project_ids=pid, metrics="compute_unit_seconds")
        assert response.status_code == 403
        assert "Free plan" in conforms(response)["message"]
    assert api.get(f"/organizations/{ACME}").json()["plan"] == plan
    usage.reset(seed=20)
    assert api.get(f"/organizations/{ACME}").json()["plan"] == "scale"


def test_business_has_project_history_but_not_branch_history(usage, api, conforms):
    assert conforms(_get(api, org_id=BOREALIS))["projects"]
    usage.set_plan(BOREALIS, "launch")
    pid = listed_projects(api, org_id=BOREALIS)[0]["id"]
    metrics = ",".join(BRANCH_METRICS)
    body = conforms(_get(api, "branches", org_id=BOREALIS, project_ids=pid, metrics=metrics))
    assert body["branches"]


def test_the_plan_knob_refuses_nonsense(usage):
    for body in ({"org_id": ACME}, {"org_id": ACME, "plan": "Free plan"}, [], {"x": 1}):
        answer = requests.post(usage.root_url + "/_emulator/plans", json=body, timeout=10)
        assert answer.status_code == 400
    unknown = {"org_id": "org-nobody-1", "plan": "free"}
    assert (
        requests.post(usage.root_url + "/_emulator/plans", json=unknown, timeout=10).status_code
        == 404
    )


def test_the_consumption_clock_knob(usage):
    url = usage.root_url + "/_emulator/consumption_clock"
    assert requests.get(url, timeout=10).json() == {"now": NOW}
    assert requests.put(url, json={"now": "soon"}, timeout=10).status_code == 400
    assert requests.put(url, json={}, timeout=10).status_code == 400
    assert requests.post(url, json={}, timeout=10).status_code == 405
    assert usage.set_consumption_clock(None) == {"now": None}
    usage.set_consumption_clock(NOW)
    usage.reset(seed=20)
    assert requests.get(url, timeout=10).json() == {"now": None}


def test_the_raw_numbers_route_refuses_what_it_cannot_answer(usage):
    url = usage.root_url + "/_emulator/consumption"
    assert requests.get(url, timeout=10).status_code == 400
    assert requests.get(url, params={"project_id": "no-such-1"}, timeout=10).status_code == 404
    pid = listed_projects(Api(usage.base_url), org_id=ACME)[0]["id"]
    weekly = {"project_id": pid, "granularity": "weekly"}
    assert requests.get(url, params=weekly, timeout=10).status_code == 400
    backwards = {"project_id": pid, "from": "2026-12-05T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    assert requests.get(url, params=backwards, timeout=10).status_code == 400
    # Any range and granularity otherwise: the raw numbers know no window.
    old = {"project_id": pid, "from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z"}
    assert requests.get(url, params=old, timeout=10).status_code == 200


# ---- the rate limit of its own ---------------------------------------------------------------


def test_consumption_has_neons_30_a_minute_of_its_own(emu, api, conforms):
    # The emu fixture's reset brings back the startup limit: Neon's 30 a minute.
    for _ in range(30):
        assert _get(api, limit=1, metrics="compute_unit_seconds").status_code == 200
    refused = _get(api, limit=1)
    assert refused.status_code == 429
    body = conforms(refused)
    assert "consumption history rate limit" in body["message"] and "30/min" in body["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    pid = listed_projects(api, org_id=ACME)[0]["id"]
    assert _get(api, "branches", project_ids=pid).status_code == 429, "one bucket for both"
    assert api.get("/regions").status_code == 200, "the other routes are not in that bucket"
    assert emu.rate_limited("consumption") == 2
    assert emu.rate_limited("api") == 0
    assert emu.rate_limited() == 2


def test_the_general_limits_leave_consumption_alone(emu, api):
    emu.set_rate_limits(rate_limit="2/min")
    for _ in range(5):
        assert _get(api, limit=1, metrics="compute_unit_seconds").status_code == 200
    assert [api.get("/regions").status_code for _ in range(3)] == [200, 200, 429]
    assert emu.rate_limited("api") == 1
    assert emu.rate_limited("consumption") == 0


def test_a_reset_sets_the_consumption_limit_until_the_next(emu, api):
    emu.reset(seed=20, consumption_rate_limit="2/min")
    assert [_get(api, limit=1).status_code for _ in range(3)] == [200, 200, 429]
    emu.reset(seed=20, consumption_rate_limit="off")
    assert {_get(api, limit=1).status_code for _ in range(40)} == {200}
    emu.reset(seed=20)  # the startup value again
    assert {_get(api, limit=1).status_code for _ in range(30)} == {200}
    assert _get(api, limit=1).status_code == 429
    bad = requests.post(
        emu.root_url + "/_emulator/reset", json={"consumption_rate_limit": "lots"}, timeout=10
    )
    assert bad.status_code == 400


def test_the_command_line_sets_the_consumption_limit():
    assert parse_args([]).consumption_rate_limit == Rate(30, "min")
    assert parse_args(["--consumption-rate-limit", "5/s"]).consumption_rate_limit == Rate(5, "s")
    assert parse_args(["--consumption-rate-limit", "off"]).consumption_rate_limit is None
    with pytest.raises(SystemExit):
        parse_args(["--consumption-rate-limit", "fast"])


# ---- cost -------------------------------------------------------------------------------------


def test_a_hundred_projects_over_sixty_days_is_quick_and_builds_nothing():
    with run_emulator(seed=2000, api_keys=["k"], consumption_rate_limit="off") as emu:
        api = Api(emu.base_url, "k")
        emu.set_consumption_clock(NOW)
        for granularity, start in (
            ("daily", "2026-10-09T00:00:00Z"),
            ("hourly", "2026-11-30T19:00:00Z"),
            ("monthly", "2025-12-01T00:00:00Z"),
        ):
            began = time.perf_counter()
            response = _get(api, limit=100, granularity=granularity, **{"from": start})
            elapsed = time.perf_counter() - began
            assert response.status_code == 200, response.text
            assert len(response.json()["projects"]) == 100
            assert elapsed < 3, f"{granularity}: {elapsed:.2f} s"
        store = emu.app.store
        assert not any(p.built for p in store.projects.values()), "consumption built projects"
