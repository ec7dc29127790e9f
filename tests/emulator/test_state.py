"""``--state PATH``: the emulator keeps its account in a file, so a restart of ``make run`` shows
the same projects, changes and deletions, not a fresh seed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.test import Client

from neon_emulator.app import EmulatorApp
from neon_emulator.state import StateError

REPO_ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Bearer k"}


def api(app: EmulatorApp) -> Client:
    return Client(app)


def projects(client: Client, **params) -> dict[str, dict]:
    answer = client.get("/api/v2/projects", query_string={"limit": 400, **params}, headers=AUTH)
    return {p["id"]: p for p in answer.json["projects"]}


def test_a_restart_brings_back_every_change(tmp_path):
    path = tmp_path / "state" / "neon.state"
    first = api(EmulatorApp(seed_count=5, state_path=path, op_seconds=0))
    assert path.exists()  # seeded, then written
    created = first.post("/api/v2/projects", json={"project": {"name": "kept"}}, headers=AUTH)
    new_id = created.json["project"]["id"]
    gone = next(pid for pid in projects(first) if pid != new_id)
    renamed = next(pid for pid in projects(first) if pid not in (new_id, gone))
    first.delete(f"/api/v2/projects/{gone}", headers=AUTH)
    patched = first.patch(
        f"/api/v2/projects/{renamed}", json={"project": {"name": "b"}}, headers=AUTH
    )
    assert patched.status_code == 200
    before = projects(first)

    again = api(EmulatorApp(seed_count=5, state_path=path, op_seconds=0))  # --seed is ignored now

    after = projects(again)
    assert after.keys() == before.keys() and new_id in after and gone not in after
    assert after[renamed]["name"] == "b"
    assert gone in projects(again, recoverable="true")
    # Changes after the restart land on the kept account too.
    renamed_again = again.patch(
        f"/api/v2/projects/{new_id}", json={"project": {"name": "kept-2"}}, headers=AUTH
    )
    assert renamed_again.status_code == 200
    assert projects(api(EmulatorApp(state_path=path)))[new_id]["name"] == "kept-2"


def test_without_a_state_file_every_start_is_the_seed(tmp_path):
    first = api(EmulatorApp(seed_count=3))
    first.post("/api/v2/projects", json={"project": {"name": "lost"}}, headers=AUTH)
    assert "lost" not in {p["name"] for p in projects(api(EmulatorApp(seed_count=3))).values()}


def test_a_file_that_is_not_a_state_is_refused_not_half_read(tmp_path):
    path = tmp_path / "neon.state"
    path.write_bytes(b"not a state")
    with pytest.raises(StateError, match="could not be read"):
        EmulatorApp(seed_count=3, state_path=path)
    process = subprocess.run(
        [sys.executable, "-m", "neon_emulator", "--port", "0", "--state", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode != 0 and "could not be read" in process.stderr
