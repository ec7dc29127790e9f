"""Operations move scheduling -> running -> finished; while one runs, the project is locked."""

from __future__ import annotations

import time

from neon_emulator.testing import run_emulator
from tests.emulator.conftest import Api, wait_for_operations

LOCKED = "project already has running operations, scheduling of new ones is prohibited"


def _statuses(api: Api, project_id: str) -> set[str]:
    ops = api.get(f"/projects/{project_id}/operations").json()["operations"]
    return {op["status"] for op in ops}


def test_operations_progress_to_finished():
    with run_emulator(op_seconds=0.6) as emu:
        api = Api(emu.base_url)
        created = api.post("/projects", json={"project": {}}).json()
        pid = created["project"]["id"]
        assert {op["status"] for op in created["operations"]} == {"scheduling"}
        assert created["branch"]["current_state"] == "init"
        time.sleep(0.3)
        assert _statuses(api, pid) == {"running"}
        time.sleep(0.4)
        assert _statuses(api, pid) == {"finished"}
        ops = api.get(f"/projects/{pid}/operations").json()["operations"]
        assert all(op["total_duration_ms"] == 600 for op in ops)
        branch = api.get(f"/projects/{pid}/branches/{created['branch']['id']}").json()
        assert branch["branch"]["current_state"] == "ready"


def test_patch_and_delete_are_locked_while_operations_run(conforms):
    with run_emulator(op_seconds=30) as emu:
        api = Api(emu.base_url)
        pid = api.post("/projects", json={"project": {}}).json()["project"]["id"]
        for response in (
            api.patch(f"/projects/{pid}", json={"project": {"name": "x"}}),
            api.delete(f"/projects/{pid}"),
        ):
            assert response.status_code == 423
            body = response.json()
            assert body["code"] == "LOCKED"
            assert body["message"] == LOCKED
        # Reads still work, and the locked writes changed nothing.
        project = api.get(f"/projects/{pid}").json()["project"]
        assert project["name"] == pid


def test_writes_work_again_once_operations_finish(api):
    pid = api.post("/projects", json={"project": {}}).json()["project"]["id"]
    wait_for_operations(api, pid)
    assert api.patch(f"/projects/{pid}", json={"project": {"name": "later"}}).status_code == 200
    assert api.delete(f"/projects/{pid}").status_code == 200


def test_seeded_projects_are_not_locked(api):
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    assert _statuses(api, pid) == {"finished"}
    assert api.patch(f"/projects/{pid}", json={"project": {"name": "n"}}).status_code == 200


def test_zero_op_seconds_finishes_at_once():
    with run_emulator(op_seconds=0) as emu:
        api = Api(emu.base_url)
        created = api.post("/projects", json={"project": {}}).json()
        assert {op["status"] for op in created["operations"]} == {"finished"}
        pid = created["project"]["id"]
        assert api.delete(f"/projects/{pid}").status_code == 200
