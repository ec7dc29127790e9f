"""updateProjectBranch (PATCH /projects/{project_id}/branches/{branch_id}): name, ``protected``
and ``expires_at``, answered with the branch and its operations as the spec's BranchOperations.

Protected branches "cannot be deleted, archived, or reset, and block deletion of the project"
(Neon's docs); the emulator reads that as: a protected branch cannot expire either.
"""

from __future__ import annotations

import pytest

from neon_emulator.api import IN_THE_FUTURE, PROTECTED_CANNOT_EXPIRE
from tests.emulator.conftest import wait_for_operations


def _project_and_main(api) -> tuple[str, dict]:
    """The newest project, which the seed keeps plain, and its default branch."""
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    branches = api.get(f"/projects/{pid}/branches").json()["branches"]
    return pid, next(b for b in branches if b["default"])


def _patch(api, pid: str, bid: str, branch):
    return api.patch(f"/projects/{pid}/branches/{bid}", json={"branch": branch})


def test_rename_conforms_and_starts_nothing(api, conforms):
    pid, main = _project_and_main(api)
    body = conforms(_patch(api, pid, main["id"], {"name": "production"}))
    assert body["branch"]["name"] == "production"
    assert body["branch"]["id"] == main["id"] and body["branch"]["default"]
    assert body["operations"] == []
    read = conforms(api.get(f"/projects/{pid}/branches/{main['id']}"))["branch"]
    assert read["name"] == "production"
    assert read["updated_at"] >= main["updated_at"]


def test_protecting_starts_an_operation_and_blocks_the_projects_deletion(api, conforms):
    pid, main = _project_and_main(api)
    body = conforms(_patch(api, pid, main["id"], {"protected": True}))
    assert body["branch"]["protected"] is True
    assert [op["action"] for op in body["operations"]] == ["timeline_update_protected_config"]
    assert body["operations"][0]["branch_id"] == main["id"]
    assert body["operations"][0]["status"] in ("scheduling", "running")
    listed = api.get(f"/projects/{pid}/operations").json()["operations"]
    assert listed[0]["id"] == body["operations"][0]["id"]
    wait_for_operations(api, pid)

    refused = api.delete(f"/projects/{pid}")
    assert refused.status_code == 409
    assert main["id"] in conforms(refused)["message"]

    unprotected = conforms(_patch(api, pid, main["id"], {"protected": False}))
    assert unprotected["branch"]["protected"] is False
    wait_for_operations(api, pid)
    assert api.delete(f"/projects/{pid}").status_code == 200


def test_setting_protected_to_what_it_is_starts_nothing(api, conforms):
    pid, main = _project_and_main(api)
    body = conforms(_patch(api, pid, main["id"], {"protected": False}))
    assert body["operations"] == []


def test_expiration_is_whole_seconds_in_utc_and_null_removes_it(api, conforms):
    pid, main = _project_and_main(api)
    # Fractions and offsets are RFC 3339 too (neonctl sends "...:00.000Z").
    body = conforms(_patch(api, pid, main["id"], {"expires_at": "2099-01-01T00:00:00.5+01:00"}))
    assert body["branch"]["expires_at"] == "2098-12-31T23:00:00Z"
    assert body["branch"]["ttl_interval_seconds"] > 70 * 365 * 86400
    assert body["operations"] == []
    listed = api.get(f"/projects/{pid}/branches").json()["branches"]
    assert next(b for b in listed if b["id"] == main["id"])["expires_at"] == "2098-12-31T23:00:00Z"

    cleared = conforms(_patch(api, pid, main["id"], {"expires_at": None}))["branch"]
    assert "expires_at" not in cleared and "ttl_interval_seconds" not in cleared


def test_an_expiration_in_the_past_is_400(api, conforms):
    pid, main = _project_and_main(api)
    response = _patch(api, pid, main["id"], {"expires_at": "2020-01-01T00:00:00Z"})
    assert response.status_code == 400
    assert IN_THE_FUTURE in conforms(response)["message"]


def test_a_protected_branch_cannot_expire(api, conforms):
    pid, main = _project_and_main(api)
    both = _patch(api, pid, main["id"], {"protected": True, "expires_at": "2099-01-01T00:00:00Z"})
    assert both.status_code == 400
    assert PROTECTED_CANNOT_EXPIRE in conforms(both)["message"]

    assert _patch(api, pid, main["id"], {"protected": True}).ok
    wait_for_operations(api, pid)
    expiring = _patch(api, pid, main["id"], {"expires_at": "2099-01-01T00:00:00Z"})
    assert expiring.status_code == 409
    assert "unprotect it first" in conforms(expiring)["message"]

    assert _patch(api, pid, main["id"], {"protected": False}).ok
    wait_for_operations(api, pid)
    assert _patch(api, pid, main["id"], {"expires_at": "2099-01-01T00:00:00Z"}).ok
    protecting = _patch(api, pid, main["id"], {"protected": True})
    assert protecting.status_code == 409
    assert "expires_at" in conforms(protecting)["message"]
    # Both at once: protect and drop the expiration.
    assert conforms(_patch(api, pid, main["id"], {"protected": True, "expires_at": None}))


def test_branch_names_are_unique_in_a_project(emu, api, conforms):
    emu.reset(seed=40)
    pid, branches = next(
        (p["id"], bs)
        for p in api.get("/projects", params={"limit": 400}).json()["projects"]
        if len(bs := api.get(f"/projects/{p['id']}/branches").json()["branches"]) > 1
    )
    first, second = branches[0], branches[1]
    taken = _patch(api, pid, first["id"], {"name": second["name"]})
    assert taken.status_code == 409
    assert second["id"] in conforms(taken)["message"]
    assert conforms(_patch(api, pid, first["id"], {"name": first["name"]}))  # its own name


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"branch": []},
        {"branch": {"name": ""}},
        {"branch": {"name": "x" * 257}},
        {"branch": {"name": 7}},
        {"branch": {"protected": "true"}},
        {"branch": {"protected": None}},
        {"branch": {"expires_at": "tomorrow"}},
        {"branch": {"expires_at": "2099-01-01"}},
        {"branch": {"expires_at": "2099-01-01T00:00:00"}},  # no offset
        {"branch": {"default": True}},
        {"branch": {"name": "x"}, "extra": 1},
    ],
)
def test_invalid_updates_are_400_and_change_nothing(api, conforms, body):
    pid, main = _project_and_main(api)
    response = api.patch(f"/projects/{pid}/branches/{main['id']}", json=body)
    assert response.status_code == 400, response.text
    assert conforms(response)["code"] == "BAD_REQUEST"
    assert api.get(f"/projects/{pid}/branches/{main['id']}").json()["branch"] == main


def test_unknown_branch_or_project_is_404(api, conforms):
    pid, _ = _project_and_main(api)
    for path in (f"/projects/{pid}/branches/br-nope-00000000", "/projects/nope-1/branches/br-x"):
        response = api.patch(path, json={"branch": {"name": "x"}})
        assert response.status_code == 404
        conforms(response)


def test_updates_wait_for_running_operations(api, conforms):
    pid, main = _project_and_main(api)
    assert _patch(api, pid, main["id"], {"protected": True}).ok
    locked = _patch(api, pid, main["id"], {"name": "again"})
    assert locked.status_code == 423
    assert conforms(locked)["code"] == "LOCKED"
    wait_for_operations(api, pid)
    assert _patch(api, pid, main["id"], {"name": "again"}).ok
