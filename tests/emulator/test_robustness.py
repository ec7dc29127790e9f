"""Bad input never gets a traceback or an HTML page: always Neon's JSON error shape."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from neon_emulator.testing import run_emulator
from tests.emulator.conftest import API_KEY, Api, all_projects


def _is_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "request_id"}
    assert body["message"]
    return body


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"{'project': {}}",
        b"\xff\xfe",
        b'{"project": {"name": "x",}}',
        b"nul",
        b'{"project": {"pg_version": NaN}}',
        b'{"project": {"default_endpoint_settings": {"autoscaling_limit_max_cu": Infinity}}}',
        b"[" * 200_000 + b"]" * 200_000,
    ],
    ids=[
        "open-brace",
        "single-quotes",
        "not-utf8",
        "trailing-comma",
        "bare-word",
        "nan",
        "infinity",
        "deeply-nested",
    ],
)
def test_malformed_json_is_400(api, conforms, raw):
    response = api.post("/projects", data=raw, headers={"Content-Type": "application/json"})
    _is_error(response, 400)
    conforms(response)


def test_huge_body_is_413(api):
    blob = b'{"project": {"name": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    response = api.post("/projects", data=blob, headers={"Content-Type": "application/json"})
    _is_error(response, 413)


def test_body_just_under_the_cap_is_read(api):
    # 1 MiB of JSON is read and then refused for its content, not its size.
    name = "x" * (1024 * 1024 - 40)
    response = api.post("/projects", json={"project": {"name": name}})
    assert _is_error(response, 400)["message"].startswith("project.name")


def test_unknown_route_is_json_404(api):
    _is_error(api.get("/no/such/route"), 404)
    _is_error(api.get("/projects/x/y/z/w"), 404)


def test_outside_the_api_is_json_404(emu):
    _is_error(requests.get(emu.root_url + "/", timeout=5), 404)
    _is_error(requests.get(emu.root_url + "/favicon.ico", timeout=5), 404)


def test_unknown_method_is_json_405(api):
    body = _is_error(api.request("PUT", "/projects"), 405)
    assert "PUT" in body["message"]
    response = api.request("DELETE", "/regions")
    _is_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_bad_path_id_is_400(api):
    _is_error(api.get("/projects/UPPER_CASE"), 400)


class TestAuth:
    def test_no_authorization_is_401(self, emu):
        _is_error(Api(emu.base_url, key=None).get("/projects"), 401)

    def test_wrong_key_is_401(self, emu):
        _is_error(Api(emu.base_url, key="wrong").get("/projects"), 401)

    def test_non_bearer_is_401(self, emu):
        response = requests.get(
            emu.base_url + "/projects", headers={"Authorization": f"Basic {API_KEY}"}, timeout=5
        )
        _is_error(response, 401)

    def test_empty_bearer_is_401(self, emu):
        response = requests.get(
            emu.base_url + "/projects", headers={"Authorization": "Bearer "}, timeout=5
        )
        _is_error(response, 401)

    def test_any_key_without_configured_keys(self):
        with run_emulator() as emu:
            assert Api(emu.base_url, key="anything").get("/projects").status_code == 200
            _is_error(Api(emu.base_url, key=None).get("/projects"), 401)


def test_half_sent_request_does_not_break_the_server(emu, api):
    host, port = emu.root_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /api/v2/projects HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    assert api.get("/projects").status_code == 200


def test_fifty_concurrent_clients(api):
    def one_client(n: int) -> tuple[int, int, int]:
        client = Api(api.base_url)
        created = client.post("/projects", json={"project": {"name": f"c{n}"}})
        listed = client.get("/projects", params={"limit": 50})
        fetched = client.get(f"/projects/{created.json()['project']['id']}")
        return created.status_code, listed.status_code, fetched.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one_client, range(50)))
    assert results == [(201, 200, 200)] * 50
    names = {p["name"] for p in api.get("/projects", params={"limit": 400}).json()["projects"]}
    assert {f"c{n}" for n in range(50)} <= names


def test_instances_do_not_share_state():
    with run_emulator(seed=3) as one, run_emulator(seed=0) as two:
        Api(one.base_url).post("/projects", json={"project": {"name": "only-in-one"}})
        assert len(all_projects(Api(one.base_url))) == 4
        assert all_projects(Api(two.base_url)) == []
        assert one.stats() != two.stats()


def test_seed_is_deterministic():
    with run_emulator(seed=15) as one, run_emulator(seed=15) as two:
        a = all_projects(Api(one.base_url))
        b = all_projects(Api(two.base_url))
        assert a == b
        assert len(a) == 15
        assert len({p["pg_version"] for p in a}) >= 3
        assert len({p["region_id"] for p in a}) >= 3
