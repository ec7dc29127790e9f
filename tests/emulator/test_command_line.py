"""``python -m neon_emulator`` as the demo launcher and other engineers start it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.emulator.conftest import Api, all_projects

REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_module_serves_with_keys_seed_and_options():
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "neon_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--seed",
            "7",
            "--api-key",
            "one",
            "--api-key",
            "two",
            "--op-seconds",
            "0.1",
            "--latency-ms",
            "1",
            "--max-autoscaling-limit",
            "2",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line == f"neon emulator listening on http://127.0.0.1:{port}/api/v2"
        base = f"http://127.0.0.1:{port}/api/v2"
        for key in ("one", "two"):
            assert len(all_projects(Api(base, key))) == 7
        wrong = requests.get(base + "/projects", headers={"Authorization": "Bearer x"}, timeout=5)
        assert wrong.status_code == 401
        me = requests.get(base + "/users/me", headers={"Authorization": "Bearer one"}, timeout=5)
        assert me.json()["max_autoscaling_limit"] == 2
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--seed", "-1"],
        ["--max-autoscaling-limit", "-1"],
        ["--max-autoscaling-limit", "0.1"],
        ["--max-autoscaling-limit", "nan"],
        ["--max-autoscaling-limit", "two"],
    ],
)
def test_bad_arguments_exit_with_usage(arguments):
    result = subprocess.run(
        [sys.executable, "-m", "neon_emulator", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "usage" in result.stderr
