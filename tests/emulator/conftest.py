"""Fixtures for the emulator's own tests: a running emulator, a client, and the published spec."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from neon_emulator.testing import run_emulator

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_JSON = REPO_ROOT.parent / "shared" / "neon-api" / "openapi.json"
NPM_DIR = Path(__file__).resolve().parent / "npm"
SPEC_YAML = NPM_DIR / "node_modules/@neondatabase/api-client/public-v2-for-users.gen.yaml"
API_KEY = "emulator-test-key"
SEED = 20


def load_spec() -> dict | None:
    """The published Neon OpenAPI spec: shared/ copy first, else the npm api-client's YAML."""
    if SPEC_JSON.is_file():
        return json.loads(SPEC_JSON.read_text())
    if SPEC_YAML.is_file():
        import yaml

        # A JSON round trip turns YAML's integer keys (200:) and dates back into strings.
        return json.loads(json.dumps(yaml.safe_load(SPEC_YAML.read_text()), default=str))
    return None


class Api:
    """A thin requests wrapper that knows the base URL and the key."""

    def __init__(self, base_url: str, key: str | None = API_KEY) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if key is not None:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="session")
def server():
    with run_emulator(seed=SEED, api_keys=[API_KEY], op_seconds=0.3) as emu:
        yield emu


@pytest.fixture
def emu(server):
    """The session's emulator, freshly seeded, without faults or rate limits, with zeroed stats."""
    server.reset(seed=SEED)
    server.set_rate_limits(rate_limit=None, burst=None)  # a reset keeps them
    return server


@pytest.fixture
def api(emu) -> Api:
    return Api(emu.base_url)


def skip_or_fail_in_ci(reason: str) -> None:
    """Skip locally; in CI (``CI`` set) fail, so that a done-means test never skips silently."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spec_dict() -> dict:
    spec = load_spec()
    if spec is None:
        skip_or_fail_in_ci(
            f"the Neon OpenAPI spec is not found at {SPEC_JSON} nor in the npm package "
            f"@neondatabase/api-client (run `npm ci --prefix {NPM_DIR.relative_to(REPO_ROOT)}`)"
        )
    return spec


@pytest.fixture(scope="session")
def openapi(spec_dict, server):
    from openapi_core import OpenAPI

    spec = dict(spec_dict)
    spec["servers"] = [{"url": server.base_url}]
    return OpenAPI.from_dict(spec)


@pytest.fixture
def conforms(openapi):
    """Assert that a requests response (status, headers, body) is what the spec allows."""
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    def check(response: requests.Response) -> dict:
        openapi.validate_response(
            RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
        )
        return response.json()

    return check


def listed_projects(api: Api, **params) -> list[dict]:
    """``GET /projects`` with these query parameters, every page, newest first.

    Without ``org_id`` that is the personal account's projects only, as in real Neon.
    """
    query = {"limit": 400, **params}
    out: list[dict] = []
    while True:
        response = api.get("/projects", params=query)
        assert response.status_code == 200, response.text
        page = response.json()["projects"]
        out.extend(page)
        if len(page) < query["limit"]:
            return out
        query["cursor"] = response.json()["pagination"]["cursor"]


def all_projects(api: Api, **params) -> list[dict]:
    """Every project the key can see: the personal account's, then each organization's."""
    orgs = api.get("/users/me/organizations").json()["organizations"]
    out = listed_projects(api, **params)
    for org in orgs:
        out.extend(listed_projects(api, org_id=org["id"], **params))
    return out


def wait_for_operations(api: Api, project_id: str, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ops = api.get(f"/projects/{project_id}/operations", params={"limit": 1000}).json()
        if all(op["status"] == "finished" for op in ops["operations"]):
            return
        time.sleep(0.05)
    raise AssertionError(f"operations of {project_id} did not finish in {timeout}s")
