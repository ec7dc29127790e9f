"""The seed as a fleet: every owner has projects, with the spread of traits a fleet inventory
reports as findings; projects shared with the user; and a user who belongs only to
organizations (``org_only``)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from neon_emulator import render, seed
from neon_emulator.errors import ORG_ID_REQUIRED
from neon_emulator.store import Store
from neon_emulator.testing import run_emulator
from tests.emulator.conftest import API_KEY, SEED, Api, listed_projects

REPO_ROOT = Path(__file__).resolve().parents[2]
FLEET = 300
DAY_US = 24 * 3600 * 1_000_000
GIB, TIB = 2**30, 2**40
PG18_RELEASE_US = int(datetime(2025, 9, 25, tzinfo=UTC).timestamp()) * 1_000_000
PG14_EOL_US = int(datetime(2026, 11, 12, tzinfo=UTC).timestamp()) * 1_000_000


def seeded(count: int, *, org_only: bool = False) -> Store:
    store = Store(rng_seed=1, org_only=org_only)
    seed.seed_store(store, count)
    return store


@pytest.fixture(scope="module")
def fleet() -> Store:
    return seeded(FLEET)


def own(store: Store) -> list:
    return [p for p in store.projects.values() if not p.shared]


def idle_for(project, days: int) -> bool:
    last = project.compute_last_active_us
    return last is None or last < seed.ANCHOR_US - days * DAY_US


def _traits(store: Store) -> Counter:
    counts: Counter = Counter()
    for p in own(store):
        settings, compute = p.settings, p.default_endpoint_settings
        ips = (settings.get("allowed_ips") or {}).get("ips")
        compute_quota = (settings.get("quota") or {}).get("compute_time_seconds")
        counts[p.pg_version] += 1
        counts["idle 90 days, still storing"] += idle_for(p, 90) and p.synthetic_storage_size > 0
        counts["allowlist"] += bool(ips)
        counts["open to the internet"] += not ips and not settings["block_public_connections"]
        counts["public connections blocked"] += settings["block_public_connections"]
        counts["no maintenance window"] += "maintenance_window" not in settings
        counts["max > 4 CU, no compute quota"] += (
            compute["autoscaling_limit_max_cu"] > 4 and not compute_quota
        )
        counts["no history"] += p.history_retention_seconds == 0
        counts["hipaa"] += settings["hipaa"]
        counts["logical replication"] += settings["enable_logical_replication"]
        counts["storage >= 512 GiB"] += p.synthetic_storage_size >= 512 * GIB
        counts["transfer >= 1 TiB"] += p.data_transfer_bytes >= TIB
        counts["written >= 1 TiB"] += p.written_data_bytes >= TIB
    return counts


# ---- the spread ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trait", "low", "high"),
    [
        (14, 20, 60),  # end of life since 12 Nov 2026: a fair number still run it
        (15, 20, 80),
        (16, 30, 120),
        (17, 40, 140),
        (18, 20, 100),
        ("idle 90 days, still storing", 25, 120),
        ("allowlist", 25, 100),
        ("open to the internet", 120, 280),
        ("public connections blocked", 5, 40),
        ("no maintenance window", 15, 80),
        ("max > 4 CU, no compute quota", 30, 200),
        ("no history", 20, 90),
        ("hipaa", 10, 60),
        ("logical replication", 10, 60),
        ("storage >= 512 GiB", 1, 15),
        ("transfer >= 1 TiB", 1, 15),
        ("written >= 1 TiB", 1, 20),
    ],
)
def test_a_fleet_of_300_has_each_finding_in_sensible_numbers(fleet, trait, low, high):
    assert low <= _traits(fleet)[trait] <= high


def test_postgres_versions_follow_their_release_and_end_of_life(fleet):
    projects = own(fleet)
    assert all(p.pg_version != 18 for p in projects if p.created_us < PG18_RELEASE_US)
    assert all(p.pg_version != 14 for p in projects if p.created_us >= PG14_EOL_US)


def test_idle_projects_used_nothing_this_billing_period(fleet):
    idle = [p for p in own(fleet) if idle_for(p, 30)]
    assert idle
    for p in idle:
        assert p.synthetic_storage_size > 0, "idle, but still storing data"
        assert (p.active_time, p.compute_time_seconds) == (0, 0)
        assert (p.written_data_bytes, p.data_transfer_bytes) == (0, 0)


def test_always_on_computes_are_active_now_and_ran_all_period(fleet):
    always_on = [
        p for p in own(fleet) if p.default_endpoint_settings["suspend_timeout_seconds"] < 0
    ]
    assert always_on
    for p in always_on:
        assert p.compute_last_active_us > seed.ANCHOR_US - 3600 * 1_000_000
        assert p.active_time > 29 * 24 * 3600
        assert p.compute_time_seconds >= int(p.active_time * 0.25)  # 0.25 CU at least


def test_blocked_public_connections_only_in_organizations(fleet):
    blocked = [p for p in own(fleet) if p.settings["block_public_connections"]]
    assert blocked and all(p.org_id is not None for p in blocked)


def test_hipaa_only_where_the_organization_allows_it(fleet):
    allowed = {o.id for o in fleet.organizations.values() if o.allow_hipaa_projects}
    hipaa = [p for p in own(fleet) if p.settings["hipaa"]]
    assert {p.org_id for p in hipaa} == {*allowed, None}
    assert all(p.hipaa_enabled_us == p.created_us for p in hipaa)


def test_the_newest_stay_plain(fleet):
    # Nine, as in test_limits.py: of the seed's ten newest ranks, one may not have been made.
    newest = sorted(own(fleet), key=lambda p: p.created_us)[-9:]
    for p in newest:
        assert "maintenance_window" in p.settings
        assert not p.settings["block_public_connections"]
        assert p.provisioner == "k8s-neonvm"
        assert p.default_endpoint_settings["autoscaling_limit_min_cu"] <= 1
        assert not any(b.protected for b in p.branches.values())


# ---- owners ----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [20, 25, FLEET])
def test_every_organization_and_the_personal_account_have_projects(count):
    owners = Counter(p.org_id for p in own(seeded(count)))
    assert set(owners) == {None, *(o[0] for o in seed.ORGS)}
    assert len(seed.ORGS) == 3


def test_the_main_stream_still_gives_the_dashboard_its_projects():
    # tests/projects/test_list.py pages through exactly 422 personal projects of a seed of 700.
    assert sum(p.org_id is None for p in own(seeded(700))) == 422


def test_same_count_same_projects():
    def snapshot(store: Store) -> list:
        return [
            (
                render.project_list_item(store, p),
                [(b.id, b.name, b.protected, sorted(b.roles)) for b in p.branches.values()],
                [(e.id, e.min_cu, e.max_cu) for e in p.endpoints.values()],
            )
            for p in store.projects.values()
        ]

    assert snapshot(seeded(120)) == snapshot(seeded(120))


def test_an_org_only_seed_has_the_same_projects_in_organizations_only():
    usual, org_only = seeded(FLEET), seeded(FLEET, org_only=True)
    assert all(p.org_id is not None for p in own(org_only))
    assert {(p.id, p.name, p.pg_version) for p in own(org_only)} == {
        (p.id, p.name, p.pg_version) for p in own(usual)
    }
    moved = Counter(p.org_id for p in own(org_only)) - Counter(p.org_id for p in own(usual))
    assert set(moved) == {o[0] for o in seed.ORGS}, "the personal share goes round every org"


@pytest.mark.parametrize("count", [1, 2, 25, 199, 2000])
def test_a_few_projects_are_shared_with_the_user(count):
    store = seeded(count)
    shared = [p for p in store.projects.values() if p.shared]
    assert len(own(store)) == count
    assert len(shared) == seed.shared_count(count) >= 2
    assert all(p.org_id is None and p.deleted_us is None for p in shared)
    assert {p.owner for p in shared} <= set(seed.SHARED_OWNERS)


# ---- shared projects over HTTP ---------------------------------------------------------------


def test_shared_projects_are_listed_apart_and_open_but_not_deletable(api, conforms):
    shared = listed_projects_shared(api)
    assert len(shared) == seed.shared_count(SEED)
    personal = {p["id"] for p in listed_projects(api)}
    assert not personal & {p["id"] for p in shared}
    target = shared[0]
    full = conforms(api.get(f"/projects/{target['id']}"))["project"]
    assert full["owner_id"] == target["owner_id"] != "1232111"
    assert full["owner"]["email"] in {o.email for o in seed.SHARED_OWNERS}
    assert conforms(api.get(f"/projects/{target['id']}/branches"))["branches"]
    refused = api.delete(f"/projects/{target['id']}")
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    assert "only its owner" in refused.json()["message"]
    renamed = api.patch(f"/projects/{target['id']}", json={"project": {"name": "ours-now"}})
    assert renamed.status_code == 200, "sharing allows everything but deleting"


def test_shared_list_searches_and_pages(api):
    shared = listed_projects_shared(api)
    first = api.get("/projects/shared", params={"limit": 1}).json()
    assert [p["id"] for p in first["projects"]] == [shared[0]["id"]]
    rest = api.get(
        "/projects/shared", params={"limit": 400, "cursor": first["pagination"]["cursor"]}
    ).json()["projects"]
    assert [p["id"] for p in rest] == [p["id"] for p in shared[1:]]
    found = api.get("/projects/shared", params={"search": shared[-1]["id"]}).json()["projects"]
    assert [p["id"] for p in found] == [shared[-1]["id"]]


def listed_projects_shared(api: Api) -> list[dict]:
    response = api.get("/projects/shared", params={"limit": 400})
    assert response.status_code == 200, response.text
    return response.json()["projects"]


# ---- org-only --------------------------------------------------------------------------------


def test_org_only_needs_org_id_to_list_or_create(emu, api, conforms):
    answer = emu.reset(seed=SEED, org_only=True)
    assert answer["org_only"] is True
    for response in (
        api.get("/projects"),
        api.get("/projects", params={"recoverable": "true", "limit": 400}),
        api.post("/projects", json={"project": {"name": "nowhere"}}),
    ):
        assert response.status_code == 400
        body = conforms(response)
        assert body["code"] == "BAD_REQUEST"
        assert body["message"] == ORG_ID_REQUIRED
    orgs = [o["id"] for o in api.get("/users/me/organizations").json()["organizations"]]
    listed = [p for org in orgs for p in listed_projects(api, org_id=org)]
    assert len(listed) == len({p["id"] for p in listed}) == SEED
    created = api.post("/projects", json={"project": {"name": "in-org", "org_id": orgs[2]}})
    assert created.status_code == 201
    assert api.get("/projects/shared").status_code == 200


def test_a_plain_reset_goes_back_to_the_startup_kind(emu, api):
    emu.reset(seed=SEED, org_only=True)
    assert emu.reset(seed=SEED)["org_only"] is False
    assert api.get("/projects").status_code == 200


def test_reset_refuses_an_org_only_that_is_not_a_boolean(emu):
    response = requests.post(emu.root_url + "/_emulator/reset", json={"org_only": 1}, timeout=10)
    assert response.status_code == 400
    assert "org_only" in response.json()["message"]


def test_run_emulator_can_start_org_only():
    with run_emulator(seed=5, api_keys=[API_KEY], org_only=True) as emu:
        api = Api(emu.base_url)
        assert api.get("/projects").json()["message"] == ORG_ID_REQUIRED
        assert emu.reset(seed=5)["org_only"] is True, "a plain reset keeps the startup kind"


def test_command_line_org_only():
    process = subprocess.Popen(
        [sys.executable, "-m", "neon_emulator", "--port", "0", "--seed", "5", "--org-only"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        response = requests.get(
            base + "/projects", headers={"Authorization": "Bearer k"}, timeout=5
        )
        assert response.status_code == 400
        assert response.json()["message"] == ORG_ID_REQUIRED
    finally:
        process.terminate()
        process.wait(timeout=10)
