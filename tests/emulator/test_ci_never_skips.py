"""In CI a missing spec or a missing neonctl fails the done-means tests; locally they skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator.conftest import REPO_ROOT

# A test module run in a child pytest: it takes the real fixtures, with the spec and neonctl
# made to look missing.
PROBE = """
from pathlib import Path

from tests.emulator import conftest as emulator_conftest
from tests.emulator import test_official_clients
from tests.emulator.conftest import api, emu, server, spec_dict
from tests.emulator.test_official_clients import neonctl

emulator_conftest.SPEC_JSON = Path("/nonexistent/openapi.json")
emulator_conftest.SPEC_YAML = Path("/nonexistent/public-v2-for-users.gen.yaml")
test_official_clients.NEONCTL = None


def test_needs_the_spec(spec_dict):
    pass


def test_needs_neonctl(neonctl):
    pass
"""


def _run_probe(tmp_path: Path, *, ci: bool) -> str:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    if ci:
        env["CI"] = "true"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfs", "-p", "no:cacheprovider", probe.name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize("ci", [True, False], ids=["ci", "local"])
def test_missing_spec_and_neonctl(tmp_path, ci):
    output = _run_probe(tmp_path, ci=ci)
    if ci:
        assert "2 errors" in output, output  # pytest.fail in a fixture is an error
        assert "CI must run this test, but the Neon OpenAPI spec is not found" in output
        assert "CI must run this test, but neonctl is not installed" in output
    else:
        assert "2 skipped" in output, output
        assert "the Neon OpenAPI spec is not found" in output
        assert "neonctl is not installed" in output
