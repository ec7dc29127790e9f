"""The control routes: injected faults, reset and request statistics."""

from __future__ import annotations

import time

import pytest
import requests

from tests.emulator.conftest import Api, all_projects


def _control(emu, method: str, path: str, json=None) -> requests.Response:
    return requests.request(method, emu.root_url + path, json=json, timeout=10)


def _project_count(api: Api) -> int:
    return len(all_projects(api))


def test_status_fault_with_count_applies_before_the_write(emu, api, conforms):
    active = emu.set_faults(
        {"method": "POST", "path_prefix": "/api/v2/projects", "status": 503, "count": 2}
    )
    assert active == [
        {
            "method": "POST",
            "path_prefix": "/api/v2/projects",
            "status": 503,
            "count": 2,
            "after_apply": False,
        }
    ]
    before = _project_count(api)
    for _ in range(2):
        response = api.post("/projects", json={"project": {}})
        assert response.status_code == 503
        assert conforms(response)["code"] == "SERVICE_UNAVAILABLE"
    assert _project_count(api) == before, "an injected 503 must not have created a project"
    assert api.post("/projects", json={"project": {}}).status_code == 201
    assert emu.faults() == []
    assert emu.stats()["POST /api/v2/projects"] == 3


def test_locked_fault_with_retry_after(emu, api, conforms):
    emu.set_faults({"method": "PATCH", "status": 423, "count": 1, "retry_after": 2})
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    response = api.patch(f"/projects/{pid}", json={"project": {"name": "after-423"}})
    assert response.status_code == 423
    assert response.headers["Retry-After"] == "2"
    conforms(response)
    assert api.get(f"/projects/{pid}").json()["project"]["name"] != "after-423"
    assert api.patch(f"/projects/{pid}", json={"project": {"name": "after-423"}}).ok


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 423])
def test_every_status_fault(emu, api, conforms, status):
    emu.set_faults({"status": status, "count": 1})
    response = api.get("/regions")
    assert response.status_code == status
    conforms(response)
    assert api.get("/regions").status_code == 200


def test_fraction_is_seeded_and_roughly_right(emu, api):
    emu.set_faults({"path_prefix": "/api/v2/regions", "status": 500, "fraction": 0.5}, seed=7)
    first = [api.get("/regions").status_code for _ in range(60)]
    emu.set_faults({"path_prefix": "/api/v2/regions", "status": 500, "fraction": 0.5}, seed=7)
    second = [api.get("/regions").status_code for _ in range(60)]
    assert first == second
    assert 15 <= first.count(500) <= 45
    emu.set_faults({"status": 500, "fraction": 0})
    assert api.get("/regions").status_code == 200


def test_matching_by_method_and_prefix(emu, api):
    emu.set_faults({"method": "DELETE", "path_prefix": "/api/v2/projects/", "status": 500})
    assert api.get("/projects").status_code == 200
    assert api.post("/projects", json={"project": {}}).status_code == 201
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][-1]["id"]
    assert api.delete(f"/projects/{pid}").status_code == 500


def test_latency(emu, api):
    emu.set_faults({"path_prefix": "/api/v2/regions", "latency_ms": 300})
    started = time.monotonic()
    assert api.get("/regions").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api.get("/auth")
    assert time.monotonic() - started < 0.3


def test_hang_closes_without_an_answer(emu, api):
    emu.set_faults({"path_prefix": "/api/v2/regions", "hang": True, "hang_seconds": 0.5})
    with pytest.raises(requests.ConnectionError):
        api.get("/regions", timeout=5)
    emu.set_faults({"path_prefix": "/api/v2/regions", "hang": True, "count": 1})
    with pytest.raises(requests.Timeout):
        api.get("/regions", timeout=0.3)
    assert emu.stats()["GET /api/v2/regions"] == 2


def test_hang_before_apply_writes_nothing(emu, api):
    before = _project_count(api)
    emu.set_faults({"method": "POST", "hang": True, "count": 1, "hang_seconds": 1})
    with pytest.raises(requests.Timeout):
        api.post("/projects", json={"project": {"name": "lost"}}, timeout=0.3)
    time.sleep(0.8)
    assert _project_count(api) == before


def test_hang_after_apply_writes_then_times_out(emu, api):
    """The case a client must not retry blindly: the POST landed but the answer never came."""
    before = _project_count(api)
    emu.set_faults(
        {"method": "POST", "hang": True, "count": 1, "hang_seconds": 1, "after_apply": True}
    )
    with pytest.raises(requests.Timeout):
        api.post("/projects", json={"project": {"name": "landed"}}, timeout=0.3)
    assert _project_count(api) == before + 1
    assert emu.stats()["POST /api/v2/projects"] == 1


def test_status_after_apply(emu, api):
    emu.set_faults({"method": "POST", "status": 502, "count": 1, "after_apply": True})
    before = _project_count(api)
    assert api.post("/projects", json={"project": {}}).status_code == 502
    assert _project_count(api) == before + 1


def test_malformed_non_json(emu, api):
    emu.set_faults({"malformed": "non_json", "count": 1})
    response = api.get("/regions")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_malformed_truncated_json_after_apply(emu, api):
    emu.set_faults({"method": "GET", "malformed": "truncated_json", "after_apply": True})
    response = api.get("/regions")
    assert response.status_code == 200
    assert response.text.startswith('{"regions":[')
    with pytest.raises(requests.JSONDecodeError):
        response.json()


@pytest.mark.parametrize("status", [None, 200, 503])
def test_malformed_html(emu, api, status):
    fault = {"malformed": "html", "count": 1}
    if status:
        fault["status"] = status
    emu.set_faults(fault)
    response = api.get("/regions")
    assert response.status_code == (status or 502)
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_faults_do_not_touch_control_routes(emu):
    emu.set_faults({"status": 500})
    assert _control(emu, "GET", "/_emulator/stats").status_code == 200
    emu.clear_faults()
    assert emu.faults() == []


def test_first_matching_fault_wins_and_latency_adds_up(emu, api):
    emu.set_faults(
        {"latency_ms": 100},
        {"latency_ms": 100},
        {"status": 503, "count": 1},
        {"status": 500, "count": 1},
    )
    started = time.monotonic()
    assert api.get("/regions").status_code == 503
    assert time.monotonic() - started >= 0.2
    assert api.get("/regions").status_code == 500
    assert api.get("/regions").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"faults": {}},
        {"faults": [{}]},
        {"faults": [{"status": 418}]},
        {"faults": [{"status": "503"}]},
        {"faults": [{"status": 503, "latency_ms": 5}]},
        {"faults": [{"status": 503, "count": 0}]},
        {"faults": [{"status": 503, "count": 1, "fraction": 0.5}]},
        {"faults": [{"status": 503, "fraction": 1.5}]},
        {"faults": [{"malformed": "xml"}]},
        {"faults": [{"hang": True, "retry_after": 3}]},
        {"faults": [{"latency_ms": 5, "after_apply": True}]},
        {"faults": [{"status": 503, "color": "red"}]},
        {"faults": [{"status": 503, "path_prefix": "api"}]},
        {"faults": [], "extra": 1},
    ],
)
def test_bad_fault_definitions_are_400(emu, body):
    response = _control(emu, "POST", "/_emulator/faults", json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "request_id"}


def test_delete_faults_route(emu, api):
    emu.set_faults({"status": 500})
    response = _control(emu, "DELETE", "/_emulator/faults")
    assert response.json() == {"faults": []}
    assert api.get("/regions").status_code == 200


def test_stats_count_routes_by_template(emu, api):
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    api.get(f"/projects/{pid}")
    api.get(f"/projects/{pid}")
    api.get("/no/such/route")
    api.request("PUT", "/projects")
    stats = emu.stats()
    assert stats["GET /api/v2/projects"] == 1
    assert stats["GET /api/v2/projects/{project_id}"] == 2
    assert stats["PUT /api/v2/projects"] == 1
    assert stats["GET /api/v2/no/such/route"] == 1
    emu.clear_stats()
    assert emu.stats() == {}


def test_reset_reseeds_and_clears(emu, api):
    api.post("/projects", json={"project": {"name": "temporary"}})
    emu.set_faults({"latency_ms": 1})
    response = _control(emu, "POST", "/_emulator/reset", json={"seed": 3})
    assert response.status_code == 200
    assert _project_count(api) == 3
    assert emu.faults() == []
    assert _control(emu, "POST", "/_emulator/reset").status_code == 200
    assert _project_count(api) == 3
    assert _control(emu, "POST", "/_emulator/reset", json={"seed": -1}).status_code == 400


def test_unknown_control_route(emu):
    assert _control(emu, "GET", "/_emulator/nothing").status_code == 404
    assert _control(emu, "PATCH", "/_emulator/faults").status_code == 405


def test_helper_accepts_every_way_of_giving_faults(emu):
    one = {"status": 503, "count": 1}
    expected = [{"status": 503, "count": 1, "after_apply": False}]
    assert emu.set_faults(one) == expected
    assert emu.set_faults([one]) == expected
    assert emu.set_faults({"faults": [one]}) == expected
    assert emu.set_faults(status=503, count=1) == expected
    assert emu.set_faults() == []
    with pytest.raises(RuntimeError, match="400"):
        emu.set_faults(status=418)
