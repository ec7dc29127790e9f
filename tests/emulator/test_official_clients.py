"""Neon's own clients, unchanged except for the API host, work against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from neon_emulator.validation import SNAPSHOT_NAME_ONLY, WEEKDAY_RULE
from tests.emulator.conftest import (
    API_KEY,
    NPM_DIR,
    listed_projects,
    skip_or_fail_in_ci,
    wait_for_operations,
)

NEONCTL = next(
    (
        path
        for path in (NPM_DIR / "node_modules/.bin/neonctl", NPM_DIR / "node_modules/.bin/neon")
        if path.exists()
    ),
    None,
)


@pytest.fixture
def neonctl(emu, api, tmp_path: Path):
    if NEONCTL is None:
        skip_or_fail_in_ci(
            "neonctl is not installed: run `npm ci --prefix tests/emulator/npm` "
            "(pins neonctl in tests/emulator/npm/package.json)"
        )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "CI": "true",  # no interactive prompts
        "NEON_API_KEY": "",
        "NO_COLOR": "1",
    }

    def run(*args: str, output: str = "json", fails: bool = False):
        """neonctl's JSON (or text) output; with ``fails``, its error output, expecting one."""
        command = [
            str(NEONCTL),
            *args,
            "--api-key",
            API_KEY,
            "--api-host",
            emu.base_url,
            "--no-analytics",
            "--config-dir",
            str(tmp_path / "config"),
            "--context-file",
            str(tmp_path / "context"),
            "--output",
            output,
        ]
        result = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        if fails:
            assert result.returncode != 0, f"{args}: {result.stdout}"
            return result.stderr
        assert result.returncode == 0, f"{args}: {result.stderr}\n{result.stdout}"
        return json.loads(result.stdout) if output == "json" else result.stdout

    return run


def test_neonctl_project_lifecycle(neonctl, api):
    # Without --org-id neonctl lists the personal account's projects only.
    listed = neonctl("projects", "list")
    personal = api.get("/projects", params={"limit": 400}).json()["projects"]
    assert 0 < len(personal) < 20
    assert [p["id"] for p in listed["projects"]] == [p["id"] for p in personal]
    assert all("org_id" not in p for p in listed["projects"])
    shared = api.get("/projects/shared", params={"limit": 400}).json()["projects"]
    assert shared
    assert [p["id"] for p in listed["shared_with_you"]] == [p["id"] for p in shared]

    created = neonctl(
        "projects", "create", "--name", "from-neonctl", "--region-id", "aws-us-west-2"
    )
    project = created["project"]
    assert project["name"] == "from-neonctl"
    assert project["region_id"] == "aws-us-west-2"
    pid = project["id"]

    assert neonctl("projects", "get", pid)["id"] == pid

    uri = neonctl("connection-string", "--project-id", pid, output="table").strip()
    assert uri.startswith("postgresql://neondb_owner:npg_")
    assert ".us-west-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require" in uri
    pooled = neonctl("connection-string", "--project-id", pid, "--pooled", output="table")
    assert "-pooler.us-west-2.aws.neon.tech/" in pooled

    wait_for_operations(api, pid)
    assert neonctl("projects", "update", pid, "--name", "renamed")["name"] == "renamed"
    wait_for_operations(api, pid)
    assert neonctl("projects", "delete", pid)["id"] == pid
    assert api.get(f"/projects/{pid}").status_code == 404


def test_neonctl_lists_more_than_one_page(emu, neonctl, api):
    emu.reset(seed=250)
    for n in range(5):
        api.post("/projects", json={"project": {"name": f"extra-{n}"}})
    personal = [p["id"] for p in listed_projects(api)]
    # neonctl pages 100 at a time; every personal project must come back exactly once.
    assert len(personal) > 100
    ids = [p["id"] for p in neonctl("projects", "list")["projects"]]
    assert len(ids) == len(set(ids))
    assert ids == personal


def test_neonctl_lists_an_organization(neonctl, api):
    org = api.get("/users/me/organizations").json()["organizations"][0]["id"]
    # With --org-id neonctl prints only the owned list, as a bare array.
    listed = neonctl("projects", "list", "--org-id", org)
    assert listed
    assert {p["org_id"] for p in listed} == {org}


def test_python_sdk(emu, api):
    from neon_api import NeonAPI

    client = NeonAPI(api_key=API_KEY, base_url=emu.base_url + "/")
    assert client.me().email
    listed = client.projects(limit=5)
    assert len(listed.projects) == 5
    shared = api.get("/projects/shared", params={"limit": 400}).json()["projects"]
    assert [p.id for p in client.projects(shared=True).projects] == [p["id"] for p in shared]

    created = client.project_create(project={"name": "from-sdk", "pg_version": 16})
    pid = created.project.id
    assert created.project.pg_version == 16
    assert client.project(pid).project.name == "from-sdk"

    uri = client.connection_uri(pid, database_name="neondb", role_name="neondb_owner").uri
    assert uri.startswith("postgresql://neondb_owner:")
    pooled = client.connection_uri(
        pid, database_name="neondb", role_name="neondb_owner", pooled=True
    ).uri
    assert "-pooler." in pooled and "-pooler." not in uri

    wait_for_operations(api, pid)
    assert client.project_update(pid, project={"name": "sdk-renamed"}).project.name == (
        "sdk-renamed"
    )
    wait_for_operations(api, pid)
    assert client.project_delete(pid).project.id == pid


def test_python_sdk_sees_errors(emu):
    from neon_api import NeonAPI
    from neon_api.exceptions import NeonAPIError

    client = NeonAPI(api_key=API_KEY, base_url=emu.base_url + "/")
    with pytest.raises(NeonAPIError, match="not found"):
        client.project("no-such-project")
    with pytest.raises(NeonAPIError, match="pg_version"):
        client.project_create(project={"pg_version": 13})
    started = time.monotonic()
    emu.set_faults({"status": 503, "count": 1})
    with pytest.raises(NeonAPIError, match="SERVICE_UNAVAILABLE"):
        client.projects()
    assert time.monotonic() - started < 5


# ---- branch settings, backup schedules, snapshots -----------------------------------------


def test_neonctl_branches_rename_and_expire(neonctl, api):
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    main = api.get(f"/projects/{pid}/branches/{_default_branch(api, pid)}").json()["branch"]
    renamed = neonctl("branches", "rename", main["id"], "production", "--project-id", pid)
    assert renamed["name"] == "production"
    expiring = neonctl(
        "branches",
        "set-expiration",
        "production",
        "--expires-at",
        "2099-01-01T00:00:00Z",
        "--project-id",
        pid,
    )
    assert expiring["expires_at"] == "2099-01-01T00:00:00Z"
    cleared = neonctl("branches", "set-expiration", "production", "--project-id", pid)
    assert "expires_at" not in cleared
    assert api.get(f"/projects/{pid}/branches/{main['id']}").json()["branch"]["name"] == (
        "production"
    )


def test_neonctl_snapshots_and_their_schedule(neonctl, api):
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    main = api.get(f"/projects/{pid}/branches/{_default_branch(api, pid)}").json()["branch"]
    in_project = ("--project-id", pid)
    assert neonctl("snapshots", "schedule", "get", *in_project) == []
    schedule = neonctl(
        "snapshots", "schedule", "set", "--frequency", "daily", "--hour", "3",
        "--retention", "604800", *in_project,
    )  # fmt: skip
    assert schedule == [{"frequency": "daily", "hour": 3, "retention_seconds": 604800}]
    assert neonctl("snapshots", "schedule", "get", "--branch", main["name"], *in_project) == (
        schedule
    )
    weekly = '[{"frequency":"weekly","day":1,"hour":2},{"frequency":"monthly","day":1}]'
    neonctl("snapshots", "schedule", "set", "--schedule", weekly, *in_project)
    path = f"/projects/{pid}/branches/{main['id']}/backup_schedule"
    assert api.get(path).json()["schedule"][0] == {"frequency": "weekly", "day": 1, "hour": 2}

    created = neonctl("snapshots", "create", "--name", "pre-migration", *in_project)
    assert created["name"] == "pre-migration" and created["source_branch_id"] == main["id"]
    listed = neonctl("snapshots", "list", *in_project)
    assert [s["id"] for s in listed] == [
        s["id"] for s in api.get(f"/projects/{pid}/snapshots").json()["snapshots"]
    ]
    assert neonctl("snapshots", "get", "pre-migration", *in_project)["id"] == created["id"]
    renamed = neonctl("snapshots", "update", "pre-migration", "--name", "kept", *in_project)
    assert renamed["name"] == "kept"

    restored = neonctl("snapshots", "restore", "kept", "--name", "preview", *in_project)
    branch = restored["restored_branch"]
    assert branch["name"] == "preview" and branch["restored_from"] == created["id"]
    wait_for_operations(api, pid)
    neonctl("snapshots", "finalize", branch["id"], "--name", "main-before", *in_project)
    branches = {b["id"]: b for b in api.get(f"/projects/{pid}/branches").json()["branches"]}
    assert branches[branch["id"]]["name"] == main["name"] and branches[branch["id"]]["default"]
    assert branches[main["id"]]["name"] == "main-before"
    wait_for_operations(api, pid)

    assert neonctl("snapshots", "delete", "kept", *in_project)["id"] == created["id"]
    assert neonctl("snapshots", "list", *in_project) == [
        s for s in listed if s["id"] != created["id"]
    ]


def test_neonctl_refusals_reach_the_user(neonctl, api):
    """Neon's rules come back as neonctl's error. expires_at on a snapshot update is Neon's
    newer API (neonctl 5 sends it), which the spec this emulator follows does not have."""
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    snapshot = api.post(f"/projects/{pid}/branches/{_default_branch(api, pid)}/snapshot").json()
    in_project = ("--project-id", pid)
    bad_day = '[{"frequency":"weekly","day":9}]'
    assert WEEKDAY_RULE in neonctl(
        "snapshots", "schedule", "set", "--schedule", bad_day, *in_project, fails=True
    )
    assert SNAPSHOT_NAME_ONLY in neonctl(
        "snapshots", "update", snapshot["snapshot"]["id"],
        "--expires-at", "2099-01-01T00:00:00Z", *in_project, fails=True,
    )  # fmt: skip


def _default_branch(api, pid: str) -> str:
    return next(
        b["id"] for b in api.get(f"/projects/{pid}/branches").json()["branches"] if b["default"]
    )


def test_python_sdk_protects_a_branch(emu, api, monkeypatch):
    """neonctl 5.0.1 has no command to protect a branch; Neon's Python SDK sends the PATCH.

    neon-api 0.3.0's OperationAction predates timeline_update_protected_config, which the spec
    lists and the emulator answers a change of protection with: its models refuse the answer,
    its plain dicts take it."""
    import neon_api.client
    from neon_api import NeonAPI
    from pydantic import ValidationError

    client = NeonAPI(api_key=API_KEY, base_url=emu.base_url + "/")
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    bid = _default_branch(api, pid)
    with pytest.raises(ValidationError, match="timeline_update_protected_config"):
        client.branch_update(pid, bid, branch={"protected": True})
    assert api.get(f"/projects/{pid}/branches/{bid}").json()["branch"]["protected"] is True
    wait_for_operations(api, pid)

    monkeypatch.setattr(neon_api.client, "ENABLE_PYDANTIC", False)
    updated = client.branch_update(pid, bid, branch={"protected": False})
    assert updated["branch"]["protected"] is False
    assert [op["action"] for op in updated["operations"]] == ["timeline_update_protected_config"]
    assert client.branch(pid, bid)["branch"]["protected"] is False
