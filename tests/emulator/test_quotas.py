"""Per-project quotas, enforced as Neon documents them (neon_emulator/quotas.py): a project whose
billing-period usage reached a non-zero quota is held, its computes suspended until the quota
resets with the period (``quota_reset_at``) or is raised or removed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neon_emulator.store import iso, now_us
from tests.emulator.conftest import wait_for_operations

USAGE = {
    "active_time_seconds": "active_time_seconds",
    "compute_time_seconds": "compute_time_seconds",
    "written_data_bytes": "written_data_bytes",
    "data_transfer_bytes": "data_transfer_bytes",
}


def next_month_start() -> str:
    now = datetime.now(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def endpoints(api, conforms, project_id: str) -> list[dict]:
    return conforms(api.get(f"/projects/{project_id}/endpoints"))["endpoints"]


def set_quota(api, conforms, project_id: str, **quota) -> dict:
    wait_for_operations(api, project_id)
    body = {"project": {"settings": {"quota": quota}}}
    return conforms(api.patch(f"/projects/{project_id}", json=body))["project"]


def unheld_project_with_compute(api, emu) -> dict:
    held = {hold["project_id"] for hold in emu.quota_holds()}
    for item in api.get("/projects", params={"limit": 400}).json()["projects"]:
        if item["id"] not in held and item["cpu_used_sec"] > 0:
            return api.get(f"/projects/{item['id']}").json()["project"]
    pytest.fail("the seed has no project with compute time that no quota holds")


def test_seeded_projects_held_by_a_quota_they_reached(api, emu, conforms):
    holds = emu.quota_holds()
    assert len(holds) >= 2
    assert any(r["quota"] == "compute_time_seconds" for hold in holds for r in hold["reached"]), (
        "some seeded project is held by its compute time quota"
    )
    for hold in holds:
        project = conforms(api.get(f"/projects/{hold['project_id']}"))["project"]
        quota = project["settings"]["quota"]
        assert hold["reached"]
        for reached in hold["reached"]:
            assert quota[reached["quota"]] == reached["limit"] > 0
            assert project[USAGE[reached["quota"]]] == reached["usage"] >= reached["limit"]
        assert project["quota_reset_at"] == project["consumption_period_end"]
        assert project["quota_reset_at"] == next_month_start()
        # Seeded counters stop at the last activity: that is when the quota was reached.
        assert hold["held_since"] == project["compute_last_active_at"]
        for endpoint in endpoints(api, conforms, project["id"]):
            assert endpoint["current_state"] == "idle"
            assert "started_at" not in endpoint
            assert parse(endpoint["suspended_at"]) <= parse(hold["held_since"])


def test_a_project_without_quota_has_no_reset_time(api, conforms):
    created = conforms(api.post("/projects", json={"project": {"name": "no-quota"}}))
    assert "quota_reset_at" not in created["project"]
    project_id = created["project"]["id"]
    got = conforms(api.get(f"/projects/{project_id}"))["project"]
    assert "quota_reset_at" not in got
    # logical_size_bytes does not reset with the period, so it has no reset time either.
    got = set_quota(api, conforms, project_id, logical_size_bytes=2**30)
    assert "quota_reset_at" not in got
    got = set_quota(api, conforms, project_id, compute_time_seconds=3600)
    assert got["quota_reset_at"] == next_month_start()


def test_a_quota_patched_below_the_usage_holds_and_raising_it_lifts(api, emu, conforms):
    project = unheld_project_with_compute(api, emu)
    project_id, usage = project["id"], project["compute_time_seconds"]
    before = now_us()
    patched = set_quota(api, conforms, project_id, compute_time_seconds=usage)  # reached
    assert patched["quota_reset_at"] == next_month_start()
    [hold] = emu.quota_holds(project_id)
    assert hold["reached"] == [{"quota": "compute_time_seconds", "limit": usage, "usage": usage}]
    held_since = parse(hold["held_since"])
    # Already over when set: held from the PATCH.
    assert iso(before // 1_000_000 * 1_000_000) <= hold["held_since"] <= iso(now_us())
    for endpoint in endpoints(api, conforms, project_id):
        assert endpoint["current_state"] == "idle"
        assert parse(endpoint["suspended_at"]) <= held_since

    # Lowered further: still the same hold.
    set_quota(api, conforms, project_id, compute_time_seconds=max(1, usage // 2))
    assert emu.quota_holds(project_id)[0]["held_since"] == hold["held_since"]

    # Raised above the usage: lifted.
    set_quota(api, conforms, project_id, compute_time_seconds=usage + 1)
    assert emu.quota_holds(project_id) == []
    # Removed (0 is unlimited): still not held.
    set_quota(api, conforms, project_id, compute_time_seconds=0)
    assert emu.quota_holds(project_id) == []


def test_a_hold_suspends_running_computes_and_a_lift_leaves_them_idle(api, emu, conforms):
    created = conforms(api.post("/projects", json={"project": {"name": "busy"}}))
    project_id = created["project"]["id"]
    [endpoint] = endpoints(api, conforms, project_id)
    assert endpoint["current_state"] == "active"
    # The emulator's usage counters do not grow by themselves: give the project the active
    # time a working month would have.
    with emu.app.store.lock:
        emu.app.store.projects[project_id].active_time = 100 * 3600
    got = conforms(api.get(f"/projects/{project_id}"))["project"]
    assert got["active_time_seconds"] == 100 * 3600

    set_quota(api, conforms, project_id, active_time_seconds=50 * 3600)
    [hold] = emu.quota_holds(project_id)
    assert [r["quota"] for r in hold["reached"]] == ["active_time_seconds"]
    [endpoint] = endpoints(api, conforms, project_id)
    assert endpoint["current_state"] == "idle"
    assert endpoint["suspended_at"] == hold["held_since"]
    assert "started_at" not in endpoint

    # Lifted: the compute may start again, but nothing starts it; it stays suspended as it was.
    set_quota(api, conforms, project_id, active_time_seconds=0)
    assert emu.quota_holds(project_id) == []
    [endpoint] = endpoints(api, conforms, project_id)
    assert endpoint["current_state"] == "idle"
    assert endpoint["suspended_at"] == hold["held_since"]


def test_consumption_history_stops_when_the_quota_held(api, emu):
    """The counters and consumption history agree: no compute after the hold began, though a
    project active within the seed's last days is otherwise taken to be still in use."""
    emu.set_consumption_clock("2026-12-07T18:20:00Z")
    holds = emu.quota_holds()
    assert holds
    for hold in holds:
        usage = emu.consumption(
            hold["project_id"], from_="2026-11-01T00:00:00Z", to="2026-12-08T00:00:00Z"
        )
        assert usage["model"]["activity"] in (
            "held by a quota since held_since",
            "idle since compute_last_active_at",
        )
        held_day = parse(hold["held_since"]).replace(hour=0, minute=0, second=0)
        after = [b for b in usage["buckets"] if parse(b["start"]) > held_day]
        assert after
        assert all(b["compute_unit_seconds"] == 0 for b in after), hold
        assert all(b["public_network_transfer_bytes"] == 0 for b in after), hold
