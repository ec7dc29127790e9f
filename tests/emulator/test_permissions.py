"""Per-project permissions: Borealis Labs sends ``effective_project_permission`` and the
emulator enforces it (CAN_VIEW reads only; CAN_EDIT changes but cannot delete; CAN_MANAGE does
everything). Everyone else's projects omit it, as the spec says."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import requests

from neon_emulator import app as emulator_app
from neon_emulator import permissions, render, seed
from neon_emulator.store import Store
from tests.emulator.conftest import all_projects, listed_projects

FIELD = "effective_project_permission"
LEVELS = ("CAN_VIEW", "CAN_EDIT", "CAN_MANAGE")
# Every write under /projects/{project_id}, read from the routing table: a write route added
# later is checked here without anyone remembering to.
WRITES = [
    (method, template)
    for method, template, _ in emulator_app.ROUTES
    if method != "GET" and template.startswith("/projects/{project_id}")
]


def seeded(count: int, *, org_only: bool = False) -> Store:
    store = Store(rng_seed=1, org_only=org_only)
    seed.seed_store(store, count)
    return store


def everything(store: Store) -> list:
    return [*store.projects.values(), *store.deleted.values()]


def borealis(api) -> list[dict]:
    return listed_projects(api, org_id=seed.BOREALIS)


def first_with(api, level: str) -> dict:
    return next(p for p in borealis(api) if p.get(FIELD) == level)


def path_of(api, template: str, project: dict) -> str:
    pid = project["id"]
    path = template.replace("{project_id}", pid)
    if "{branch_id}" in path:
        branch = api.get(f"/projects/{pid}/branches").json()["branches"][0]
        path = path.replace("{branch_id}", branch["id"])
    if "{snapshot_id}" in path:
        snapshots = api.get(f"/projects/{pid}/snapshots").json()["snapshots"]
        # The check comes before the lookup: an id that matches the pattern is enough.
        path = path.replace("{snapshot_id}", snapshots[0]["id"] if snapshots else "snap-none-1")
    assert not re.search(r"{\w+}", path), f"fill in the other parameters of {template}"
    return path


def inside(api, pid: str) -> list:
    """What the writes under a project may change besides the project itself."""
    branches = api.get(f"/projects/{pid}/branches").json().get("branches", [])
    schedules = [
        api.get(f"/projects/{pid}/branches/{b['id']}/backup_schedule").json() for b in branches
    ]
    return [branches, schedules, api.get(f"/projects/{pid}/snapshots").json().get("snapshots")]


def denied(response: requests.Response, conforms, level: str, needs: str) -> None:
    assert response.status_code == 403, response.text
    body = conforms(response)
    assert body["code"] == "FORBIDDEN"
    assert level in body["message"] and needs in body["message"]


# ---- the seed ---------------------------------------------------------------------------------


def test_the_seed_spreads_levels_over_borealis_labs_only():
    store = seeded(1000)
    levels = Counter(p.permission for p in everything(store) if p.org_id == seed.BOREALIS)
    total = sum(levels.values())
    assert total > 100 and None not in levels
    assert 0.12 < levels["CAN_VIEW"] / total < 0.28, levels
    assert 0.22 < levels["CAN_EDIT"] / total < 0.38, levels
    assert 0.40 < levels["CAN_MANAGE"] / total < 0.65, levels
    others = [p for p in everything(store) if p.org_id != seed.BOREALIS]
    assert others and all(p.permission is None for p in others)
    assert any(p.shared for p in others) and any(p.org_id is None for p in others)


def test_an_org_only_account_has_levels_in_borealis_labs_only():
    store = seeded(120, org_only=True)
    assert {p.permission is not None for p in everything(store) if p.org_id == seed.BOREALIS} == {
        True
    }
    assert all(p.permission is None for p in everything(store) if p.org_id != seed.BOREALIS)


def test_the_level_comes_from_the_id_alone():
    # Pinned: the same id gets the same level in every process and every version.
    assert permissions.seeded_level("cold-snowflake-35720314") == "CAN_VIEW"
    first, second = seeded(300), seeded(300)
    assert {p.id: p.permission for p in everything(first)} == {
        p.id: p.permission for p in everything(second)
    }
    for project in everything(first):
        if project.permission is not None:
            assert project.permission == permissions.seeded_level(project.id)


def test_turning_levels_on_moved_no_other_seeded_value(monkeypatch):
    with_levels = seeded(200)
    monkeypatch.setattr(seed, "PROJECT_PERMISSION_ORGS", frozenset())
    without = seeded(200)
    assert any(p.permission for p in everything(with_levels))
    assert not any(p.permission for p in everything(without))

    def shapes(store: Store) -> dict:
        out = {}
        for p in everything(store):
            body = render.project_list_item(store, p)
            body.pop(FIELD, None)
            out[p.id] = (body, sorted(p.branches), sorted(p.endpoints))
        return out

    assert shapes(with_levels) == shapes(without)


# ---- rendering --------------------------------------------------------------------------------


def test_borealis_labs_projects_carry_the_level_in_lists_and_reads(api, conforms):
    listed = api.get("/projects", params={"org_id": seed.BOREALIS, "limit": 400})
    items = conforms(listed)["projects"]
    assert items and all(item[FIELD] in LEVELS for item in items)
    for item in items:
        read = conforms(api.get(f"/projects/{item['id']}"))["project"]
        assert read[FIELD] == item[FIELD]


def test_everyone_elses_projects_omit_it(api, conforms):
    others = [p for p in all_projects(api) if p.get("org_id") != seed.BOREALIS]
    shared = conforms(api.get("/projects/shared", params={"limit": 400}))["projects"]
    assert others and shared
    assert all(FIELD not in p for p in others + shared)
    assert FIELD not in conforms(api.get(f"/projects/{others[0]['id']}"))["project"]


def test_created_projects_are_managed_by_their_creator(api, conforms):
    created = api.post("/projects", json={"project": {"org_id": seed.BOREALIS, "name": "mine"}})
    assert created.status_code == 201, created.text
    assert conforms(created)["project"][FIELD] == "CAN_MANAGE"
    personal = conforms(api.post("/projects", json={"project": {"name": "personal"}}))
    assert FIELD not in personal["project"]
    acme = conforms(api.post("/projects", json={"project": {"org_id": seed.ACME}}))
    assert FIELD not in acme["project"]


# ---- enforcement ------------------------------------------------------------------------------


def test_there_are_writes_to_check():
    assert ("PATCH", "/projects/{project_id}") in WRITES
    assert ("DELETE", "/projects/{project_id}") in WRITES


@pytest.mark.parametrize(("method", "template"), WRITES)
def test_view_only_refuses_every_write_and_changes_nothing(emu, api, conforms, method, template):
    project = first_with(api, "CAN_VIEW")
    pid = project["id"]
    if template.endswith("/recover"):
        # Recovering needs a deleted project: delete it while it may be, then make it view-only.
        emu.set_permission(pid, "CAN_MANAGE")
        assert api.delete(f"/projects/{pid}").status_code == 200
        emu.set_permission(pid, "CAN_VIEW")
    before = [all_projects(api), all_projects(api, recoverable="true"), inside(api, pid)]
    path = path_of(api, template, project)
    response = api.request(method, path, json={"project": {"name": "x"}})
    denied(response, conforms, "CAN_VIEW", permissions.needed(method, template))
    assert pid in response.json()["message"]
    assert [all_projects(api), all_projects(api, recoverable="true"), inside(api, pid)] == before


def test_view_only_refuses_before_validation_and_the_lock(emu, api, conforms):
    pid = first_with(api, "CAN_VIEW")["id"]
    bad = api.patch(f"/projects/{pid}", json={"project": {"pg_version": 99, "nonsense": 1}})
    denied(bad, conforms, "CAN_VIEW", "CAN_EDIT")
    unknown = api.patch("/projects/no-such-project-1", json={"project": {"name": "x"}})
    assert unknown.status_code == 404
    # Locked by running operations: a view-only key still hears 403, not a 423 to retry.
    emu.set_permission(pid, "CAN_MANAGE")
    des = api.get(f"/projects/{pid}").json()["project"]["default_endpoint_settings"]
    assert api.patch(f"/projects/{pid}", json={"project": {"default_endpoint_settings": des}}).ok
    assert api.patch(f"/projects/{pid}", json={"project": {"name": "x"}}).status_code == 423
    emu.set_permission(pid, "CAN_VIEW")
    denied(api.patch(f"/projects/{pid}", json={"project": {"name": "x"}}), conforms, "CAN_VIEW", "")


def test_a_deleted_view_only_project_is_404_to_a_patch(emu, api):
    project = first_with(api, "CAN_VIEW")
    emu.set_permission(project["id"], "CAN_MANAGE")
    assert api.delete(f"/projects/{project['id']}").status_code == 200
    emu.set_permission(project["id"], "CAN_VIEW")
    assert api.patch(f"/projects/{project['id']}", json={"project": {"name": "x"}}).status_code == (
        404
    )


def test_edit_changes_but_does_not_delete(api, conforms):
    project = first_with(api, "CAN_EDIT")
    pid = project["id"]
    renamed = api.patch(f"/projects/{pid}", json={"project": {"name": "edited"}})
    assert renamed.status_code == 200, renamed.text
    assert conforms(renamed)["project"][FIELD] == "CAN_EDIT"
    denied(api.delete(f"/projects/{pid}"), conforms, "CAN_EDIT", "CAN_MANAGE")
    assert api.get(f"/projects/{pid}").json()["project"]["name"] == "edited"


def test_manage_deletes_and_recovers(emu, api, conforms):
    project = first_with(api, "CAN_MANAGE")
    pid = project["id"]
    assert api.patch(f"/projects/{pid}", json={"project": {"name": "managed"}}).status_code == 200
    assert conforms(api.delete(f"/projects/{pid}"))["project"][FIELD] == "CAN_MANAGE"
    recovered = api.post(f"/projects/{pid}/recover")
    assert recovered.status_code == 200, recovered.text
    assert conforms(recovered)["project"][FIELD] == "CAN_MANAGE"


def test_reads_stay_open_to_view_only(api, conforms):
    project = first_with(api, "CAN_VIEW")
    pid = project["id"]
    conforms(api.get(f"/projects/{pid}"))
    branches = conforms(api.get(f"/projects/{pid}/branches"))["branches"]
    conforms(api.get(f"/projects/{pid}/branches/{branches[0]['id']}/roles"))
    conforms(api.get(f"/projects/{pid}/operations"))
    conforms(api.get(f"/projects/{pid}/endpoints"))


# ---- the control ------------------------------------------------------------------------------


def test_the_control_sets_and_removes_a_level(emu, api, conforms):
    personal = listed_projects(api)[0]
    pid = personal["id"]
    assert FIELD not in personal
    assert emu.set_permission(pid, "CAN_VIEW") == {"project_id": pid, "permission": "CAN_VIEW"}
    assert conforms(api.get(f"/projects/{pid}"))["project"][FIELD] == "CAN_VIEW"
    denied(api.patch(f"/projects/{pid}", json={"project": {"name": "x"}}), conforms, "CAN_VIEW", "")
    emu.set_permission(pid, None)
    assert FIELD not in api.get(f"/projects/{pid}").json()["project"]
    assert api.patch(f"/projects/{pid}", json={"project": {"name": "x"}}).status_code == 200


def test_a_reset_seeds_the_levels_again(emu, api):
    project = first_with(api, "CAN_VIEW")
    emu.set_permission(project["id"], "CAN_MANAGE")
    emu.reset()
    assert api.get(f"/projects/{project['id']}").json()["project"][FIELD] == "CAN_VIEW"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"project_id": "no-such-project-1", "permission": "CAN_VIEW"}, 404),
        ({"project_id": "x", "permission": "CAN_OWN"}, 400),
        ({"project_id": "x", "permission": "can_view"}, 400),
        ({"permission": "CAN_VIEW"}, 400),
        ({"project_id": "x", "permission": "CAN_VIEW", "extra": 1}, 400),
        ([], 400),
    ],
)
def test_the_control_refuses_what_it_cannot_do(emu, body, status):
    response = requests.post(emu.root_url + "/_emulator/permissions", json=body, timeout=10)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"code", "message", "request_id"}
    assert requests.get(emu.root_url + "/_emulator/permissions", timeout=10).status_code == 405
