"""Neon's own clients read consumption history and set the spending limit against the emulator.

neonctl 5.0.1 has no consumption command, but ``neonctl api`` calls any route of the spec; the
TypeScript SDK (``@neondatabase/api-client``, pinned beside it) has a method for each of these
operations. The Python SDK (neon-api 0.3.0) has neither, so it is not used here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from neon_emulator import seed
from tests.emulator.conftest import API_KEY, NPM_DIR, listed_projects, skip_or_fail_in_ci
from tests.emulator.test_official_clients import NEONCTL, neonctl  # noqa: F401 - a fixture

ACME = seed.ACME
NOW = "2026-12-07T18:20:00Z"
WINDOW = {
    "org_id": ACME,
    "from": "2026-12-06T00:00:00Z",
    "to": "2026-12-08T00:00:00Z",
    "granularity": "daily",
}
API_CLIENT = NPM_DIR / "node_modules/@neondatabase/api-client"


def _query(**params) -> list[str]:
    return [arg for key, value in params.items() for arg in ("-Q", f"{key}={value}")]


def test_neonctl_api_reads_consumption_and_sets_the_spending_limit(emu, api, neonctl):  # noqa: F811
    emu.set_consumption_clock(NOW)
    pid = listed_projects(api, org_id=ACME)[0]["id"]
    metrics = "compute_unit_seconds,root_branch_bytes_month"
    body = neonctl(
        "api", "/consumption_history/v2/projects", *_query(**WINDOW, metrics=metrics, limit=2)
    )
    assert len(body["projects"]) == 2
    frames = body["projects"][0]["periods"][0]["consumption"]
    assert [m["metric_name"] for m in frames[0]["metrics"]] == metrics.split(",")
    direct = api.get("/consumption_history/v2/projects", params={**WINDOW, "metrics": metrics})
    assert body["projects"] == direct.json()["projects"][:2]

    branches = neonctl(
        "api",
        "/consumption_history/v2/branches",
        *_query(**WINDOW, metrics="compute_unit_seconds", project_ids=pid),
    )
    assert {b["project_id"] for b in branches["branches"]} == {pid}

    url = f"/organizations/{ACME}/billing/spending_limit"
    assert neonctl("api", url, "-X", "PUT", "-F", "spending_limit_cents=120000") == {
        "spending_limit_cents": 120000
    }
    assert neonctl("api", url) == {"spending_limit_cents": 120000}
    neonctl("api", url, "-X", "DELETE")
    assert api.get(url).json() == {"spending_limit_cents": None}


NODE_SCRIPT = """
const { createApiClient } = require(process.env.API_CLIENT);
const api = createApiClient({ apiKey: process.env.KEY, baseURL: process.env.BASE });
(async () => {
  const query = JSON.parse(process.env.QUERY);
  const out = {};
  out.projects = (await api.getConsumptionHistoryPerProjectV2({
    ...query, from: new Date(query.from), metrics: ["compute_unit_seconds", "extra_branches_month"],
    limit: 3,
  })).data;
  out.branches = (await api.getConsumptionHistoryPerBranchV2({
    ...query, project_ids: [process.env.PROJECT], metrics: ["child_branch_bytes_month"],
  })).data;
  out.set = (await api.setOrganizationSpendingLimit(query.org_id, { spending_limit_cents: 777 }))
    .data;
  out.get = (await api.getOrganizationSpendingLimit(query.org_id)).data;
  out.deleted = (await api.deleteOrganizationSpendingLimit(query.org_id)).data;
  try {
    await api.getConsumptionHistoryPerProjectV2({ ...query, granularity: "hourly" });
  } catch (error) {
    out.refused = { status: error.response.status, body: error.response.data };
  }
  console.log(JSON.stringify(out));
})().catch((error) => { console.error(error); process.exit(1); });
"""


def test_the_typescript_sdk_reads_consumption_and_sets_the_spending_limit(emu, api):
    node = shutil.which("node")
    if node is None or not API_CLIENT.is_dir():
        skip_or_fail_in_ci(
            "node or @neondatabase/api-client is missing: run `npm ci --prefix tests/emulator/npm`"
        )
    emu.set_consumption_clock(NOW)
    pid = listed_projects(api, org_id=ACME)[0]["id"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "API_CLIENT": str(API_CLIENT),
        "KEY": API_KEY,
        "BASE": emu.base_url,
        "PROJECT": pid,
        "QUERY": json.dumps({**WINDOW, "from": "2026-12-06T00:00:00.000Z"}),
    }
    result = subprocess.run(
        [node, "-e", NODE_SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert len(out["projects"]["projects"]) == min(3, len(listed_projects(api, org_id=ACME)))
    frame = out["projects"]["projects"][0]["periods"][0]["consumption"][0]
    assert [m["metric_name"] for m in frame["metrics"]] == [
        "compute_unit_seconds",
        "extra_branches_month",
    ]
    assert {b["project_id"] for b in out["branches"]["branches"]} == {pid}
    assert out["set"] == out["get"] == {"spending_limit_cents": 777}
    assert out["deleted"] == {}
    # Without metrics the SDK still sends the call; the emulator refuses it as Neon would.
    assert out["refused"]["status"] == 400
    assert "metrics is required" in out["refused"]["body"]["message"]


def test_neonctl_api_shows_neons_refusal(emu, tmp_path):
    emu.set_consumption_clock(NOW)
    if NEONCTL is None:
        skip_or_fail_in_ci("neonctl is not installed: run `npm ci --prefix tests/emulator/npm`")
    # The neonctl fixture asserts success; an error answer makes neonctl exit non-zero.
    command = [
        str(NEONCTL),
        "api",
        "/consumption_history/v2/projects",
        *_query(
            **{**WINDOW, "granularity": "hourly", "from": "2026-11-01T00:00:00Z"},
            metrics="compute_unit_seconds",
        ),
        "--api-key",
        API_KEY,
        "--api-host",
        emu.base_url,
        "--no-analytics",
        "--config-dir",
        str(tmp_path / "config"),
    ]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CI": "true"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "limited to the last 168 hours" in result.stderr + result.stdout
