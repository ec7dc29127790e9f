"""How many attempts each failure gets, proven by the emulator's own request counts.

Neon's guidance: GETs may be repeated after connection errors and on 423/429/502/503/504;
POST/PATCH/DELETE only on 423 and 503 (the request was not applied) and when the connection was
never made; nothing is repeated after a read timeout.
"""

import logging
import time

import pytest

from projects.neon import (
    MSG_CONNECTION_LOST,
    MSG_RATE_LIMITED,
    MSG_TIMEOUT,
    MSG_TIMEOUT_READ,
    MSG_UNAVAILABLE,
    NeonLocked,
    NeonNotFound,
    NeonRateLimited,
    NeonTimeout,
    NeonUnavailable,
)
from tests.client.conftest import FAST, HANG_SECONDS

MAX = FAST["max_attempts"]
LIST = "GET /api/v2/projects"
GET = "GET /api/v2/projects/{project_id}"
POST = "POST /api/v2/projects"
PATCH = "PATCH /api/v2/projects/{project_id}"
DELETE = "DELETE /api/v2/projects/{project_id}"
PROBE_NAME = "retry-probe"

ERROR_FOR = {
    423: NeonLocked,
    429: NeonRateLimited,
    500: NeonUnavailable,
    502: NeonUnavailable,
    503: NeonUnavailable,
    504: NeonUnavailable,
}


@pytest.fixture
def target(neon_client, emu):
    """A seeded, unlocked project; stats are zeroed after finding it."""
    project = neon_client.list_projects(limit=1).projects[0]
    emu.clear_stats()
    return project


def write(client, method: str, project_id: str):
    if method == "POST":
        return client.create_project({"name": PROBE_NAME})
    if method == "PATCH":
        return client.update_project(project_id, {"name": PROBE_NAME})
    return client.delete_project(project_id)


ROUTE = {"POST": POST, "PATCH": PATCH, "DELETE": DELETE}


def applied_times(client, method: str, project_id: str) -> int:
    """How many times the write took effect, read back through the API."""
    if method == "POST":
        return len(client.list_projects(search=PROBE_NAME, limit=50).projects)
    if method == "PATCH":
        return int(client.get_project(project_id).name == PROBE_NAME)
    try:
        client.get_project(project_id)
    except NeonNotFound:
        return 1
    return 0


def attempts_logged(caplog, outcome: str) -> int:
    return sum(
        1
        for r in caplog.records
        if r.name == "projects.neon" and r.levelno == logging.INFO and outcome in r.getMessage()
    )


# --- GET -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [423, 429, 502, 503, 504])
def test_get_is_retried_up_to_max_attempts(neon_client, emu, target, status):
    emu.set_faults({"status": status, "method": "GET"})

    with pytest.raises(ERROR_FOR[status]) as caught:
        neon_client.get_project(target.id)

    assert caught.value.status == status
    assert emu.stats()[GET] == MAX


@pytest.mark.parametrize("status", [423, 429, 502, 503, 504])
def test_get_recovers_after_transient_failures(neon_client, emu, target, status):
    emu.set_faults({"status": status, "method": "GET", "count": 2})

    project = neon_client.get_project(target.id)

    assert project.id == target.id
    assert emu.stats()[GET] == 3


def test_get_is_not_retried_on_500(neon_client, emu, target):
    emu.set_faults({"status": 500, "method": "GET"})
    with pytest.raises(NeonUnavailable) as caught:
        neon_client.get_project(target.id)
    assert caught.value.status == 500
    assert emu.stats()[GET] == 1


def test_get_html_gateway_page_is_retried(neon_client, emu, target):
    emu.set_faults({"malformed": "html", "status": 502, "method": "GET", "count": 1})
    assert neon_client.get_project(target.id).id == target.id
    assert emu.stats()[GET] == 2


def test_get_is_not_retried_after_read_timeout(impatient_client, emu, target):
    emu.set_faults({"hang": True, "hang_seconds": HANG_SECONDS, "method": "GET"})

    with pytest.raises(NeonTimeout) as caught:
        impatient_client.get_project(target.id)

    assert caught.value.message == MSG_TIMEOUT_READ  # nothing to check before retrying a read
    assert emu.stats()[GET] == 1


def test_get_is_retried_when_the_connection_drops(neon_client, emu, target):
    # The emulator closes the socket without answering (before the read timeout).
    emu.set_faults({"hang": True, "hang_seconds": 0.05, "method": "GET", "count": 1})
    assert neon_client.get_project(target.id).id == target.id
    assert emu.stats()[GET] == 2


def test_get_is_retried_when_connection_is_refused(make_client, closed_port_url, caplog):
    client = make_client(base_url=closed_port_url)
    with (
        caplog.at_level(logging.INFO, logger="projects.neon"),
        pytest.raises(NeonUnavailable) as caught,
    ):
        client.list_projects()
    assert not isinstance(caught.value, NeonTimeout)
    assert caught.value.message == MSG_UNAVAILABLE
    assert attempts_logged(caplog, "connect-error") == MAX


# --- POST / PATCH / DELETE -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("status", [423, 503])
def test_write_is_retried_on_423_and_503(neon_client, emu, target, method, status):
    emu.set_faults({"status": status, "method": method})

    with pytest.raises(ERROR_FOR[status]) as caught:
        write(neon_client, method, target.id)

    assert caught.value.status == status
    assert emu.stats()[ROUTE[method]] == MAX
    emu.clear_faults()
    assert applied_times(neon_client, method, target.id) == 0


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("status", [423, 503])
def test_write_succeeds_once_after_a_transient_423_or_503(neon_client, emu, target, method, status):
    emu.set_faults({"status": status, "method": method, "count": 1})

    write(neon_client, method, target.id)

    assert emu.stats()[ROUTE[method]] == 2
    assert applied_times(neon_client, method, target.id) == 1


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("status", [429, 500, 502, 504])
def test_write_is_never_retried_on_other_statuses(neon_client, emu, target, method, status):
    emu.set_faults({"status": status, "method": method, "count": 1})

    with pytest.raises(ERROR_FOR[status]) as caught:
        write(neon_client, method, target.id)

    assert caught.value.status == status
    assert emu.stats()[ROUTE[method]] == 1


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_write_is_never_retried_after_read_timeout(
    neon_client, impatient_client, emu, target, method
):
    # Neon applied the write, then the answer never came.
    emu.set_faults(
        {"hang": True, "hang_seconds": HANG_SECONDS, "method": method, "after_apply": True}
    )

    with pytest.raises(NeonTimeout) as caught:
        write(impatient_client, method, target.id)

    assert caught.value.message == MSG_TIMEOUT
    assert emu.stats()[ROUTE[method]] == 1
    emu.clear_faults()
    assert applied_times(neon_client, method, target.id) == 1


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_write_is_not_retried_when_the_connection_drops_after_apply(
    neon_client, emu, target, method
):
    emu.set_faults({"hang": True, "hang_seconds": 0.05, "method": method, "after_apply": True})

    with pytest.raises(NeonTimeout) as caught:
        write(neon_client, method, target.id)

    assert caught.value.message == MSG_CONNECTION_LOST  # not "try again": it was applied

    assert emu.stats()[ROUTE[method]] == 1
    emu.clear_faults()
    assert applied_times(neon_client, method, target.id) == 1


def test_write_html_503_page_is_retried_but_502_page_is_not(neon_client, emu, target):
    emu.set_faults({"malformed": "html", "status": 503, "method": "POST", "count": 1})
    neon_client.create_project({"name": PROBE_NAME})
    assert emu.stats()[POST] == 2

    emu.clear_stats()
    emu.set_faults({"malformed": "html", "status": 502, "method": "POST", "count": 1})
    with pytest.raises(NeonUnavailable) as caught:
        neon_client.create_project({"name": "second-probe"})
    assert caught.value.status == 502
    assert emu.stats()[POST] == 1


def test_write_is_retried_when_connection_is_refused(make_client, closed_port_url, caplog):
    # Refused means no byte reached Neon, so repeating cannot apply anything twice.
    client = make_client(base_url=closed_port_url)
    with (
        caplog.at_level(logging.INFO, logger="projects.neon"),
        pytest.raises(NeonUnavailable) as caught,
    ):
        client.create_project({"name": PROBE_NAME})
    assert not isinstance(caught.value, NeonTimeout)
    assert attempts_logged(caplog, "connect-error") == MAX


def test_write_is_retried_after_a_connect_timeout(make_client, unanswering_listener, caplog):
    base_url, received = unanswering_listener
    client = make_client(base_url=base_url, connect_timeout=0.2)

    with (
        caplog.at_level(logging.INFO, logger="projects.neon"),
        pytest.raises(NeonUnavailable) as caught,
    ):
        client.create_project({"name": PROBE_NAME})

    assert not isinstance(caught.value, NeonTimeout)
    assert attempts_logged(caplog, "connect-error") == MAX
    assert b"POST" not in received()  # no attempt got as far as sending the request


# --- Retry-After and the budget --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "status"), [("GET", 429), ("GET", 503), ("GET", 423), ("POST", 503)]
)
def test_retry_after_is_honoured(neon_client, emu, target, method, status):
    emu.set_faults({"status": status, "method": method, "count": 1, "retry_after": 1})

    started = time.monotonic()
    if method == "GET":
        neon_client.get_project(target.id)
    else:
        neon_client.create_project({"name": PROBE_NAME})
    elapsed = time.monotonic() - started

    assert elapsed >= 1.0
    assert emu.stats()[GET if method == "GET" else POST] == 2


def test_retry_after_beyond_the_budget_stops_retrying(make_client, emu, target):
    client = make_client(retry_budget=2.0, max_attempts=10)
    emu.set_faults({"status": 429, "method": "GET", "retry_after": 5})

    with pytest.raises(NeonRateLimited) as caught:
        client.get_project(target.id)

    assert caught.value.retry_after == 5.0
    assert caught.value.message.startswith(MSG_RATE_LIMITED)
    assert emu.stats()[GET] == 1


def test_the_total_budget_ends_retries_before_max_attempts(make_client, emu, target):
    # Each attempt must wait 1 s; a 1.9 s budget leaves room for exactly one wait.
    client = make_client(retry_budget=1.9, max_attempts=10)
    emu.set_faults({"status": 503, "method": "GET", "retry_after": 1})

    with pytest.raises(NeonUnavailable):
        client.get_project(target.id)

    assert emu.stats()[GET] == 2


def test_backoff_grows_and_the_budget_caps_it(make_client, emu, target):
    client = make_client(retry_budget=1.0, max_attempts=100, backoff_base=0.2)
    emu.set_faults({"status": 503, "method": "GET"})

    started = time.monotonic()
    with pytest.raises(NeonUnavailable):
        client.get_project(target.id)
    elapsed = time.monotonic() - started

    attempts = emu.stats()[GET]
    # Waits of 0.1-0.2, 0.2-0.4, 0.4-0.8, 0.8-1.6 s: the budget allows two to four attempts.
    assert 2 <= attempts <= 4
    # Jittered backoff still waits at least half of each exponential step.
    assert elapsed >= sum(0.2 * 2**i / 2 for i in range(attempts - 1))


def test_a_late_retry_gets_only_the_budget_left_to_answer(make_client, emu, target):
    # Attempt 1: 503. Attempt 2 hangs for 3 s, then the emulator drops the connection. With the
    # full 5 s read timeout the client would see that drop; capped to the 1.5 s budget it times
    # out first.
    client = make_client(retry_budget=1.5, read_timeout=5.0)
    emu.set_faults(
        {"status": 503, "method": "GET", "count": 1},
        {"hang": True, "hang_seconds": 3, "method": "GET", "count": 1},
    )

    with pytest.raises(NeonTimeout):
        client.get_project(target.id)

    assert emu.stats()[GET] == 2


def test_every_attempt_carries_the_same_request_id(neon_client, emu, caplog):
    emu.set_faults({"status": 503, "method": "PATCH", "count": 2})

    with (
        caplog.at_level(logging.INFO, logger="projects.neon"),
        pytest.raises(NeonNotFound) as caught,
    ):
        neon_client.update_project("gone-project-1", {"name": "x"}, request_id="audit-rid-42")

    # Third attempt reached the API, whose 404 body echoes the X-Request-ID it received.
    assert caught.value.request_id == "audit-rid-42"
    assert emu.stats()[PATCH] == 3
    logged = [r.getMessage() for r in caplog.records if r.name == "projects.neon"]
    assert len(logged) == 3
    assert all("request_id audit-rid-42" in line for line in logged)


def test_generated_request_id_is_reused_across_retries(neon_client, emu, caplog):
    emu.set_faults({"status": 502, "method": "GET", "count": 2})

    with (
        caplog.at_level(logging.INFO, logger="projects.neon"),
        pytest.raises(NeonNotFound) as caught,
    ):
        neon_client.get_project("gone-project-2")

    ids = {r.args[-1] for r in caplog.records if r.name == "projects.neon"}
    assert ids == {caught.value.request_id}
    assert emu.stats()[GET] == 3
