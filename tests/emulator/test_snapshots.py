"""Snapshots: createSnapshot, listSnapshots, updateSnapshot, deleteSnapshot, restoreSnapshot
(with and without ``finalize_restore``) and finalizeRestoreBranch, as the spec shapes them.

createSnapshot answers 200 with ``snapshot`` and ``operations``; deleteSnapshot 202 with
``operations``; restoreSnapshot the restored branch, its ``endpoints`` and ``operations``;
finalizeRestoreBranch ``operations``. The spec's OperationAction has no snapshot action, so
taking, renaming and deleting one start none; a restore creates a timeline, and a finalized one
restarts the computes it moves (one apply_config each).
"""

from __future__ import annotations

import pytest

from neon_emulator.api import IN_THE_FUTURE, NOT_A_RESTORE
from tests.emulator.conftest import wait_for_operations


def _project_and_main(api) -> tuple[str, dict]:
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    branches = api.get(f"/projects/{pid}/branches").json()["branches"]
    return pid, next(b for b in branches if b["default"])


def _snapshot(api, pid: str, bid: str, **params) -> dict:
    response = api.post(f"/projects/{pid}/branches/{bid}/snapshot", params=params)
    assert response.status_code == 200, response.text
    return response.json()["snapshot"]


def _branches(api, pid: str) -> dict[str, dict]:
    return {b["id"]: b for b in api.get(f"/projects/{pid}/branches").json()["branches"]}


# ---- create, list, rename, delete -------------------------------------------------------------


def test_create_conforms_and_lists_newest_first(api, conforms):
    pid, main = _project_and_main(api)
    before = api.get(f"/projects/{pid}/snapshots").json()["snapshots"]
    response = api.post(
        f"/projects/{pid}/branches/{main['id']}/snapshot",
        params={"name": "pre-migration", "expires_at": "2099-06-09T18:02:16Z"},
    )
    assert response.status_code == 200, response.text
    body = conforms(response)
    snapshot = body["snapshot"]
    assert body["operations"] == []
    assert snapshot["id"].startswith("snap-")
    assert snapshot["name"] == "pre-migration"
    assert snapshot["source_branch_id"] == main["id"]
    assert snapshot["manual"] is True
    assert snapshot["expires_at"] == "2099-06-09T18:02:16Z"
    assert snapshot["timestamp"] == snapshot["created_at"]
    assert snapshot["full_size"] == main["logical_size"]

    second = _snapshot(api, pid, main["id"])
    assert main["name"] in second["name"], "an unnamed snapshot is named after its branch"
    assert "expires_at" not in second
    listed = conforms(api.get(f"/projects/{pid}/snapshots"))["snapshots"]
    assert [s["id"] for s in listed] == [second["id"], snapshot["id"]] + [s["id"] for s in before]


def test_create_at_a_point_in_the_restore_window_or_an_lsn(api, conforms):
    pid, main = _project_and_main(api)
    retention = api.get(f"/projects/{pid}").json()["project"]["history_retention_seconds"]
    assert retention >= 3600, "the newest seeded project keeps some history"
    created = api.get(f"/projects/{pid}/snapshots").json()["snapshots"]
    at = _snapshot(api, pid, main["id"])["created_at"]
    earlier = _snapshot(api, pid, main["id"], timestamp=at)
    assert earlier["timestamp"] == at
    by_lsn = _snapshot(api, pid, main["id"], lsn="0/1f6d2b8")
    assert by_lsn["lsn"] == "0/1F6D2B8"
    assert len(conforms(api.get(f"/projects/{pid}/snapshots"))["snapshots"]) == len(created) + 3


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"lsn": "0/1F6D2B8", "timestamp": "2026-01-01T00:00:00Z"}, "not both"),
        ({"lsn": "1F6D2B8"}, "lsn"),
        ({"timestamp": "yesterday"}, "RFC 3339"),
        ({"timestamp": "2000-01-01T00:00:00Z"}, "restore window"),
        ({"timestamp": "2099-01-01T00:00:00Z"}, "restore window"),
        ({"expires_at": "2000-01-01T00:00:00Z"}, IN_THE_FUTURE),
        ({"expires_at": "2099-13-01T00:00:00Z"}, "RFC 3339"),
        ({"name": ""}, "name"),
    ],
)
def test_create_refuses_with_400_and_takes_nothing(api, conforms, params, says):
    pid, main = _project_and_main(api)
    before = api.get(f"/projects/{pid}/snapshots").json()
    response = api.post(f"/projects/{pid}/branches/{main['id']}/snapshot", params=params)
    assert response.status_code == 400, response.text
    assert says in conforms(response)["message"]
    assert api.get(f"/projects/{pid}/snapshots").json() == before


def test_create_takes_its_parameters_in_the_query_not_a_body(api, conforms):
    pid, main = _project_and_main(api)
    path = f"/projects/{pid}/branches/{main['id']}/snapshot"
    response = api.post(path, json={"name": "x"})
    assert response.status_code == 400
    assert "query parameters" in conforms(response)["message"]
    assert api.post(path, json={}).status_code == 200


def test_rename_conforms_and_keeps_the_rest(api, conforms):
    pid, main = _project_and_main(api)
    snapshot = _snapshot(api, pid, main["id"], expires_at="2099-01-01T00:00:00Z")
    path = f"/projects/{pid}/snapshots/{snapshot['id']}"
    renamed = conforms(api.patch(path, json={"snapshot": {"name": "kept"}}))["snapshot"]
    assert renamed == {**snapshot, "name": "kept"}
    assert conforms(api.patch(path, json={"snapshot": {}}))["snapshot"] == renamed


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"snapshot": "x"},
        {"snapshot": {"name": ""}},
        {"snapshot": {"name": 1}},
        # Neon's newer SDKs send expires_at here; the spec this emulator follows has name only.
        {"snapshot": {"expires_at": "2099-01-01T00:00:00Z"}},
        {"snapshot": {"name": "x"}, "extra": 1},
    ],
)
def test_rename_refuses_with_400(api, conforms, body):
    pid, main = _project_and_main(api)
    snapshot = _snapshot(api, pid, main["id"])
    response = api.patch(f"/projects/{pid}/snapshots/{snapshot['id']}", json=body)
    assert response.status_code == 400, response.text
    conforms(response)
    listed = api.get(f"/projects/{pid}/snapshots").json()["snapshots"]
    assert next(s for s in listed if s["id"] == snapshot["id"]) == snapshot


def test_delete_is_202_with_operations(api, conforms):
    pid, main = _project_and_main(api)
    snapshot = _snapshot(api, pid, main["id"])
    response = api.delete(f"/projects/{pid}/snapshots/{snapshot['id']}")
    assert response.status_code == 202
    assert conforms(response) == {"operations": []}
    listed = api.get(f"/projects/{pid}/snapshots").json()["snapshots"]
    assert snapshot["id"] not in {s["id"] for s in listed}
    again = api.delete(f"/projects/{pid}/snapshots/{snapshot['id']}")
    assert again.status_code == 404
    conforms(again)


def test_unknown_things_are_404(api, conforms):
    pid, _ = _project_and_main(api)
    for method, path in (
        ("GET", "/projects/nope-1/snapshots"),
        ("POST", f"/projects/{pid}/branches/br-nope-00000000/snapshot"),
        ("PATCH", f"/projects/{pid}/snapshots/snap-nope-00000000"),
        ("DELETE", f"/projects/{pid}/snapshots/snap-nope-00000000"),
        ("POST", f"/projects/{pid}/snapshots/snap-nope-00000000/restore"),
        ("POST", f"/projects/{pid}/branches/br-nope-00000000/finalize_restore"),
    ):
        json = {"snapshot": {"name": "x"}} if method == "PATCH" else None
        response = api.request(method, path, json=json)
        assert response.status_code == 404, (method, path, response.text)
        conforms(response)
    bad_id = api.delete(f"/projects/{pid}/snapshots/SNAP_1")
    assert bad_id.status_code == 400
    conforms(bad_id)


# ---- restore and finalize ---------------------------------------------------------------------


def test_restore_then_finalize(api, conforms):
    pid, main = _project_and_main(api)
    endpoints = [
        e["id"]
        for e in api.get(f"/projects/{pid}/endpoints").json()["endpoints"]
        if e["branch_id"] == main["id"]
    ]
    assert endpoints
    snapshot = _snapshot(api, pid, main["id"], name="before")

    response = api.post(f"/projects/{pid}/snapshots/{snapshot['id']}/restore", json={})
    assert response.status_code == 200, response.text
    body = conforms(response)
    restored = body["branch"]
    assert restored["restore_status"] == "restored"
    assert restored["restored_from"] == snapshot["id"]
    assert restored["restored_as"] == main["id"]
    assert restored["name"] != main["name"] and not restored["default"]
    assert body["endpoints"] == []
    assert [(op["action"], op["branch_id"]) for op in body["operations"]] == [
        ("create_timeline", restored["id"])
    ]
    branches = _branches(api, pid)
    assert branches[main["id"]]["default"] and branches[main["id"]]["name"] == main["name"]
    assert {
        r["name"]
        for r in api.get(f"/projects/{pid}/branches/{restored['id']}/roles").json()["roles"]
    } >= {"neondb_owner"}
    wait_for_operations(api, pid)

    finalized = api.post(f"/projects/{pid}/branches/{restored['id']}/finalize_restore")
    assert finalized.status_code == 200, finalized.text
    operations = conforms(finalized)["operations"]
    assert sorted(op["endpoint_id"] for op in operations) == sorted(endpoints)
    assert {op["action"] for op in operations} == {"apply_config"}
    branches = _branches(api, pid)
    now_main, old = branches[restored["id"]], branches[main["id"]]
    assert now_main["name"] == main["name"] and now_main["default"]
    assert now_main["restore_status"] == "finalized"
    assert not old["default"] and old["name"].startswith(f"{main['name']}_old_")
    moved = api.get(f"/projects/{pid}/branches/{restored['id']}/endpoints").json()["endpoints"]
    assert sorted(e["id"] for e in moved) == sorted(endpoints)
    wait_for_operations(api, pid)

    again = api.post(f"/projects/{pid}/branches/{restored['id']}/finalize_restore")
    assert again.status_code == 400
    assert NOT_A_RESTORE in conforms(again)["message"]


def test_restore_with_finalize_in_one_step(api, conforms):
    pid, main = _project_and_main(api)
    path = f"/projects/{pid}/branches/{main['id']}/backup_schedule"
    schedule = {"schedule": [{"frequency": "daily", "hour": 1}]}
    assert api.request("PUT", path, json=schedule).ok
    assert api.patch(
        f"/projects/{pid}/branches/{main['id']}", json={"branch": {"protected": True}}
    ).ok
    wait_for_operations(api, pid)
    snapshot = _snapshot(api, pid, main["id"])

    body = conforms(
        api.post(
            f"/projects/{pid}/snapshots/{snapshot['id']}/restore",
            json={"finalize_restore": True, "target_branch_id": main["id"]},
        )
    )
    restored = body["branch"]
    assert restored["restore_status"] == "finalized"
    assert restored["name"] == main["name"] and restored["default"]
    # It stands in for the branch it replaced: protected, with its backup schedule.
    assert restored["protected"]
    assert {e["branch_id"] for e in body["endpoints"]} == {restored["id"]} and body["endpoints"]
    assert [op["action"] for op in body["operations"]] == ["create_timeline"] + [
        "apply_config"
    ] * len(body["endpoints"])
    path = f"/projects/{pid}/branches/{restored['id']}/backup_schedule"
    assert api.get(path).json() == schedule
    old = _branches(api, pid)[main["id"]]
    assert not old["protected"] and not old["default"]
    assert api.get(f"/projects/{pid}/branches/{main['id']}/backup_schedule").json() == {
        "schedule": []
    }
    wait_for_operations(api, pid)
    assert api.delete(f"/projects/{pid}").status_code == 409, "still has a protected branch"


def test_restore_names_and_finalize_names(api, conforms):
    pid, main = _project_and_main(api)
    snapshot = _snapshot(api, pid, main["id"])
    path = f"/projects/{pid}/snapshots/{snapshot['id']}/restore"
    taken = api.post(path, json={"name": main["name"]})
    assert taken.status_code == 409
    conforms(taken)
    restored = conforms(api.post(path, json={"name": "preview"}))["branch"]
    assert restored["name"] == "preview"
    wait_for_operations(api, pid)
    assert api.post(path, json={"name": "other"}).ok
    wait_for_operations(api, pid)
    finalize = f"/projects/{pid}/branches/{restored['id']}/finalize_restore"
    # The name it takes over, or another branch's (its own provisional one it gives up).
    for name in (main["name"], "other"):
        refused = api.post(finalize, json={"name": name})
        assert refused.status_code == 409, name
        conforms(refused)
    assert conforms(api.post(finalize, json={"name": "main-before-restore"}))
    branches = _branches(api, pid)
    assert branches[main["id"]]["name"] == "main-before-restore"
    assert branches[restored["id"]]["name"] == main["name"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([], 400),
        ({"finalize_restore": "yes"}, 400),
        ({"name": ""}, 400),
        ({"target_branch_id": "BR_1"}, 400),
        ({"unknown": 1}, 400),
        ({"target_branch_id": "br-nope-00000000"}, 404),
    ],
)
def test_restore_refuses_and_changes_nothing(api, conforms, body, status):
    pid, main = _project_and_main(api)
    snapshot = _snapshot(api, pid, main["id"])
    before = _branches(api, pid)
    response = api.post(f"/projects/{pid}/snapshots/{snapshot['id']}/restore", json=body)
    assert response.status_code == status, response.text
    conforms(response)
    assert _branches(api, pid) == before


def test_only_a_restored_branch_can_be_finalized(api, conforms):
    pid, main = _project_and_main(api)
    response = api.post(f"/projects/{pid}/branches/{main['id']}/finalize_restore")
    assert response.status_code == 400
    assert NOT_A_RESTORE in conforms(response)["message"]


def test_a_restore_locks_the_project_until_its_operations_finish(api, conforms):
    pid, main = _project_and_main(api)
    snapshot = _snapshot(api, pid, main["id"])
    assert api.post(f"/projects/{pid}/snapshots/{snapshot['id']}/restore").ok
    for response in (
        api.post(f"/projects/{pid}/branches/{main['id']}/snapshot"),
        api.delete(f"/projects/{pid}/snapshots/{snapshot['id']}"),
        api.request(
            "PUT", f"/projects/{pid}/branches/{main['id']}/backup_schedule", json={"schedule": []}
        ),
    ):
        assert response.status_code == 423
        conforms(response)
    wait_for_operations(api, pid)
    assert api.delete(f"/projects/{pid}/snapshots/{snapshot['id']}").status_code == 202


# ---- the seed ---------------------------------------------------------------------------------


def test_seeded_snapshots_conform(emu, api, conforms):
    emu.reset(seed=120)
    manual = scheduled = 0
    for project in api.get("/projects", params={"limit": 400}).json()["projects"]:
        snapshots = conforms(api.get(f"/projects/{project['id']}/snapshots"))["snapshots"]
        branches = _branches(api, project["id"])
        for snapshot in snapshots:
            assert branches[snapshot["source_branch_id"]]["default"]
            assert snapshot["created_at"] >= project["created_at"]
            manual += snapshot["manual"]
            scheduled += not snapshot["manual"]
    assert manual and scheduled
