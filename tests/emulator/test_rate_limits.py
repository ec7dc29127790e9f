"""Neon's rate limits, when asked: an account budget per API key and a burst limit per route."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from neon_emulator.__main__ import parse_args
from neon_emulator.app import EmulatorApp
from neon_emulator.errors import ApiError
from neon_emulator.rate_limits import Rate, RateLimiter, parse_rate
from neon_emulator.testing import run_emulator
from tests.emulator.conftest import Api

REPO_ROOT = Path(__file__).resolve().parents[2]


def _control(emu, method: str, path: str, json=None) -> requests.Response:
    return requests.request(method, emu.root_url + path, json=json, timeout=10)


def _first_project(api: Api) -> str:
    return api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]


def _assert_rate_limited(response: requests.Response, max_wait: int) -> int:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["code"] == "TOO_MANY_REQUESTS"
    assert "rate limit" in body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= max_wait
    return retry_after


# ---- the algorithm, on a clock the test moves ------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_retry_after_and_refusals_that_do_not_count():
    clock = Clock()
    limiter = RateLimiter(Rate(2, "min"), None, clock=clock)
    assert limiter.check("k", "GET /a") is None
    clock.now += 10
    assert limiter.check("k", "GET /b") is None
    clock.now += 10
    assert limiter.check("k", "GET /a") == 40  # the first leaves the window 60 s after it came
    for _ in range(50):  # refused ones count against nothing
        clock.now += 0.7
        assert limiter.check("k", "GET /a") is not None
    clock.now = 1059.5
    assert limiter.check("k", "GET /a") == 1  # half a second is rounded up, never 0
    clock.now = 1060.0
    assert limiter.check("k", "GET /a") is None  # the first has left
    assert limiter.check("k", "GET /a") == 10  # the second leaves at 1070
    clock.now = 1070.0
    assert limiter.check("k", "GET /a") is None
    assert limiter.check("other", "GET /a") is None  # another key, another budget


def test_burst_per_route_and_both_limits_at_once():
    clock = Clock()
    limiter = RateLimiter(Rate(3, "h"), Rate(2, "s"), clock=clock)
    assert limiter.check("k", "GET /a") is None
    assert limiter.check("k", "GET /a") is None
    assert limiter.check("k", "GET /a") == 1  # the route's burst
    assert limiter.check("k", "GET /b") is None  # another route; the account had room for one
    clock.now += 5
    assert limiter.check("k", "GET /c") == 3595  # the account's hour, counted from the first
    limiter.configure(None, Rate(1, "s"))  # new limits start with empty windows
    assert limiter.check("k", "GET /a") is None
    assert limiter.check("k", "GET /a") == 1
    limiter.configure(None, None)
    assert all(limiter.check("k", "GET /a") is None for _ in range(100))


@pytest.mark.parametrize(
    ("text", "rate"),
    [("700/min", Rate(700, "min")), ("40/s", Rate(40, "s")), ("1/h", Rate(1, "h"))],
)
def test_rates_that_parse(text, rate):
    assert parse_rate(text, "burst") == rate
    assert str(rate) == text


@pytest.mark.parametrize(
    "text", ["0/s", "-1/s", "10", "10/m", "10/sec", "10/min/x", " 10/s", "1.5/s", "ten/s", "", 7]
)
def test_rates_that_do_not_parse(text):
    with pytest.raises(ApiError) as caught:
        parse_rate(text, "burst")
    assert caught.value.status == 400
    assert caught.value.message.startswith("burst: expected N/s, N/min or N/h")


# ---- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def limited(emu):
    """The session's emulator with limits the test sets; off again afterwards."""
    yield emu
    emu.set_rate_limits(rate_limit=None, burst=None)


def test_off_by_default(emu, api):
    assert emu.rate_limits() == {"rate_limit": None, "burst": None}
    assert all(api.get("/regions").status_code == 200 for _ in range(60))
    assert emu.stats() == {"GET /api/v2/regions": 60}
    assert emu.rate_limited() == 0


def test_a_burst_beyond_the_route_limit_gets_429(limited, api, conforms):
    assert limited.set_rate_limits(burst="3/min") == {"rate_limit": None, "burst": "3/min"}
    assert [api.get("/regions").status_code for _ in range(3)] == [200] * 3
    refused = api.get("/regions", headers={"X-Request-ID": "r-1"})
    _assert_rate_limited(refused, 60)
    assert conforms(refused)["request_id"] == "r-1"  # GeneralError, as the spec says
    _assert_rate_limited(api.get("/regions"), 60)
    assert limited.stats() == {
        "GET /api/v2/regions": 5,  # every request received, as without limits
        "429 GET /api/v2/regions": 2,
    }
    assert limited.rate_limited() == 2


def test_a_route_is_its_template_and_other_routes_keep_their_budget(limited, api):
    first, second = (p["id"] for p in api.get("/projects").json()["projects"][:2])
    limited.set_rate_limits(burst="2/min")
    assert api.get(f"/projects/{first}").status_code == 200
    assert api.get(f"/projects/{second}").status_code == 200
    _assert_rate_limited(api.get(f"/projects/{first}"), 60)
    assert [api.get("/users/me").status_code for _ in range(2)] == [200, 200]
    assert api.patch(f"/projects/{first}", json={"project": {"name": "x"}}).status_code == 200
    assert limited.stats() == {
        "GET /api/v2/projects": 1,
        "GET /api/v2/projects/{project_id}": 3,
        "429 GET /api/v2/projects/{project_id}": 1,
        "GET /api/v2/users/me": 2,
        "PATCH /api/v2/projects/{project_id}": 1,
    }


def test_the_account_limit_applies_across_routes(limited, api):
    limited.set_rate_limits(rate_limit="4/min", burst="40/s")
    assert api.get("/regions").status_code == 200
    assert api.get("/users/me").status_code == 200
    assert api.get("/auth").status_code == 200
    assert api.post("/projects", json={"project": {}}).status_code == 201
    _assert_rate_limited(api.get("/users/me/organizations"), 60)
    _assert_rate_limited(api.post("/projects", json={"project": {}}), 60)
    stats = limited.stats()
    assert stats["429 GET /api/v2/users/me/organizations"] == 1
    assert stats["429 POST /api/v2/projects"] == 1
    assert limited.rate_limited() == 2


def test_a_refused_request_reaches_neither_faults_nor_the_api(limited, api):
    limited.set_rate_limits(burst="1/min")
    assert api.post("/projects", json={"project": {}}).status_code == 201
    count = len(api.get("/projects", params={"limit": 400}).json()["projects"])
    limited.set_faults({"status": 503, "count": 1})
    _assert_rate_limited(api.post("/projects", json={"project": {}}), 60)
    assert limited.faults() == [{"status": 503, "count": 1, "after_apply": False}]
    assert api.get("/users/me").status_code == 503  # the fault is still there for the next one
    limited.clear_faults()
    limited.set_rate_limits()
    assert len(api.get("/projects", params={"limit": 400}).json()["projects"]) == count


def test_injected_429_faults_are_not_counted_as_rate_limited(emu, api):
    emu.set_faults({"status": 429, "count": 1})
    assert api.get("/regions").status_code == 429
    assert emu.stats() == {"GET /api/v2/regions": 1}
    assert emu.rate_limited() == 0


def test_control_routes_are_never_limited_and_a_reset_keeps_the_limits(limited, api):
    limited.set_rate_limits(rate_limit="1/h", burst="1/h")
    assert api.get("/regions").status_code == 200
    for _ in range(20):
        limited.stats()
        limited.faults()
    _assert_rate_limited(api.get("/regions"), 3600)
    limited.reset()
    assert limited.rate_limits() == {"rate_limit": "1/h", "burst": "1/h"}
    assert limited.stats() == {}
    assert api.get("/regions").status_code == 200  # the windows started again, empty
    _assert_rate_limited(api.get("/auth"), 3600)


def test_the_control_route_refuses_bad_values_in_neon_error_shape(emu):
    for body in (
        {"rate_limit": "fast"},
        {"burst": "0/s"},
        {"burst": 40},
        {"rate_limit": "700/min", "per": "key"},
        ["700/min"],
    ):
        response = _control(emu, "PUT", "/_emulator/rate_limits", json=body)
        assert response.status_code == 400, body
        assert response.json()["code"] == "BAD_REQUEST"
        assert response.json()["message"]
        assert response.json()["request_id"]
    assert emu.rate_limits() == {"rate_limit": None, "burst": None}
    assert _control(emu, "POST", "/_emulator/rate_limits", json={}).status_code == 405
    answer = _control(emu, "PUT", "/_emulator/rate_limits", json={"rate_limit": "9/h"})
    assert answer.json() == {"rate_limit": "9/h", "burst": None}  # absent means off
    assert _control(emu, "PUT", "/_emulator/rate_limits").json() == {
        "rate_limit": None,
        "burst": None,
    }


def test_each_api_key_has_its_own_budget():
    with run_emulator(seed=2, api_keys=["one", "two"], rate_limit="3/min") as emu:
        one, two = Api(emu.base_url, "one"), Api(emu.base_url, "two")
        assert [one.get("/regions").status_code for _ in range(3)] == [200] * 3
        _assert_rate_limited(one.get("/users/me"), 60)
        assert [two.get("/regions").status_code for _ in range(3)] == [200] * 3
        _assert_rate_limited(two.get("/regions"), 60)
        assert emu.rate_limits() == {"rate_limit": "3/min", "burst": None}
        assert emu.rate_limited() == 2


def test_concurrent_requests_never_get_past_the_limit():
    with run_emulator(seed=1, burst="10/min") as emu:

        def status(_) -> int:
            headers = {"Authorization": "Bearer k"}  # a session per thread: none shared
            return requests.get(emu.base_url + "/regions", headers=headers, timeout=10).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(status, range(32)))
        assert sorted(statuses) == [200] * 10 + [429] * 22
        assert emu.stats() == {"GET /api/v2/regions": 32, "429 GET /api/v2/regions": 22}


def test_requests_are_accepted_again_once_the_window_has_passed():
    with run_emulator(burst="2/s") as emu:
        api = Api(emu.base_url, "k")
        # However slow this machine is, some request soon finds the window full.
        for _ in range(50):
            response = api.get("/regions")
            if response.status_code == 429:
                break
        assert _assert_rate_limited(response, 1) == 1
        time.sleep(1.05)  # every accepted request is now older than the 1 s window
        assert api.get("/regions").status_code == 200


def test_keyword_arguments_are_checked():
    with pytest.raises(ApiError, match="rate_limit: expected"):
        EmulatorApp(rate_limit="700 per minute")
    with pytest.raises(ApiError, match="burst: expected"):
        EmulatorApp(burst="40/m")


# ---- the command line -----------------------------------------------------------------------


def test_parser_accepts_rates():
    args = parse_args(["--rate-limit", "700/min", "--burst", "40/s"])
    assert (args.rate_limit, args.burst) == (Rate(700, "min"), Rate(40, "s"))
    assert parse_args(["--rate-limit", "5000/h"]).rate_limit == Rate(5000, "h")
    defaults = parse_args([])
    assert (defaults.rate_limit, defaults.burst) == (None, None)


@pytest.mark.parametrize(
    "arguments",
    [["--rate-limit", "700"], ["--rate-limit", "0/min"], ["--burst", "40/sec"], ["--burst", "x"]],
)
def test_parser_rejects_bad_rates(arguments, capsys):
    with pytest.raises(SystemExit) as caught:
        parse_args(arguments)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "usage" in err
    assert f"argument {arguments[0]}: expected N/s, N/min or N/h" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_module_enforces_the_limits_it_is_given():
    port = _free_port()
    command = [sys.executable, "-m", "neon_emulator", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--rate-limit", "700/min", "--burst", "2/min"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith("neon emulator listening")
        api = Api(f"http://127.0.0.1:{port}/api/v2", "k")
        assert [api.get("/regions").status_code for _ in range(2)] == [200, 200]
        _assert_rate_limited(api.get("/regions"), 60)
        limits = requests.get(f"http://127.0.0.1:{port}/_emulator/rate_limits", timeout=5)
        assert limits.json() == {"rate_limit": "700/min", "burst": "2/min"}
    finally:
        process.terminate()
        process.wait(timeout=10)
