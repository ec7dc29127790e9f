"""Every failure class: real ones from the emulator's API, and injected ones from its fault control.
Each error carries the HTTP status, Neon's code, a message and the request id."""

import pytest
import requests

from projects.neon import (
    MSG_AUTH,
    MSG_BAD_RESPONSE,
    MSG_LOCKED,
    MSG_NOT_FOUND,
    MSG_RATE_LIMITED,
    MSG_TIMEOUT,
    MSG_TIMEOUT_READ,
    MSG_UNAVAILABLE,
    NeonAuthError,
    NeonBadResponse,
    NeonError,
    NeonLocked,
    NeonNotFound,
    NeonRateLimited,
    NeonRejected,
    NeonTimeout,
    NeonUnavailable,
    Project,
)
from projects.neon.errors import error_for_status
from projects.neon.transport import Transport, parse_retry_after
from tests.client.conftest import HANG_SECONDS

LIST = "GET /api/v2/projects"
POST = "POST /api/v2/projects"
PATCH = "PATCH /api/v2/projects/{project_id}"


# --- Real errors from the API ----------------------------------------------------------------


def test_wrong_key_is_an_auth_error_and_not_retried(make_client, emu):
    client = make_client(api_key="wrong-key-for-this-test")

    with pytest.raises(NeonAuthError) as caught:
        client.list_projects()

    error = caught.value
    assert error.status == 401
    assert error.code == "UNAUTHORIZED"
    assert error.message.startswith(MSG_AUTH)
    assert "invalid" in error.message  # Neon's own words follow ours
    assert error.request_id
    assert "wrong-key-for-this-test" not in str(error)
    assert emu.stats()[LIST] == 1


def test_wrong_key_on_a_write(make_client, emu):
    client = make_client(api_key="wrong-key-for-this-test")
    with pytest.raises(NeonAuthError):
        client.create_project({"name": "never"}, request_id="rid-auth-1")
    assert emu.stats()[POST] == 1


def test_not_found_carries_neon_message_and_code(neon_client, emu):
    with pytest.raises(NeonNotFound) as caught:
        neon_client.get_project("no-such-project-123")
    error = caught.value
    assert error.status == 404
    assert error.code == "NOT_FOUND"
    assert "no-such-project-123" in error.message
    assert error.request_id
    assert emu.stats()["GET /api/v2/projects/{project_id}"] == 1


def test_malformed_id_is_rejected_not_sent_to_another_route(neon_client, emu):
    # IDs are quoted as one path segment: a slash cannot reach a different route.
    with pytest.raises(NeonError) as caught:
        neon_client.get_project("../regions")
    assert caught.value.status in (400, 404)
    assert "GET /api/v2/regions" not in emu.stats()


def test_invalid_create_is_rejected_with_neon_message(neon_client, emu):
    with pytest.raises(NeonRejected) as caught:
        neon_client.create_project({"name": "bad-version", "pg_version": 13}, request_id="rid-400")

    error = caught.value
    assert error.status == 400
    assert error.code == "BAD_REQUEST"
    assert "pg_version" in error.message
    assert error.request_id == "rid-400"
    assert str(error) == f"{error.message} (HTTP 400)"
    assert emu.stats()[POST] == 1
    assert neon_client.list_projects(search="bad-version").projects == []


def test_invalid_update_is_rejected(neon_client, emu):
    target = neon_client.list_projects(limit=1).projects[0]
    with pytest.raises(NeonRejected) as caught:
        neon_client.update_project(target.id, {"name": ""})
    assert caught.value.status == 400
    assert "name" in caught.value.message
    assert neon_client.get_project(target.id).name == target.name


def test_update_right_after_create_is_locked(make_client, slow_ops_emulator):
    client = make_client(base_url=slow_ops_emulator.base_url, max_attempts=1)
    created = client.create_project({"name": "locked-probe"})

    with pytest.raises(NeonLocked) as caught:
        client.update_project(created.project.id, {"name": "renamed"}, request_id="rid-423")

    error = caught.value
    assert error.status == 423
    assert error.code == "LOCKED"
    assert error.message.startswith(MSG_LOCKED)
    assert "running operations" in error.message
    assert error.request_id == "rid-423"
    assert client.get_project(created.project.id).name == "locked-probe"


def test_locked_update_goes_through_once_operations_finish(make_client, emu):
    client = make_client(backoff_base=0.2, max_attempts=10, retry_budget=8.0)
    created = client.create_project({"name": "locked-probe"})

    updated = client.update_project(created.project.id, {"name": "renamed"})

    assert updated.project.name == "renamed"
    assert emu.stats()[PATCH] >= 2  # at least one 423 came first


def test_locked_delete_is_retried_then_reported(make_client, slow_ops_emulator):
    slow_ops_emulator.clear_stats()
    client = make_client(base_url=slow_ops_emulator.base_url, max_attempts=2)
    created = client.create_project({"name": "locked-delete"})
    with pytest.raises(NeonLocked):
        client.delete_project(created.project.id)
    assert slow_ops_emulator.stats()["DELETE /api/v2/projects/{project_id}"] == 2
    assert client.get_project(created.project.id).id == created.project.id


# --- Injected statuses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class", "code", "lead"),
    [
        (423, NeonLocked, "LOCKED", MSG_LOCKED),
        (429, NeonRateLimited, "TOO_MANY_REQUESTS", MSG_RATE_LIMITED),
        (500, NeonUnavailable, "INTERNAL_ERROR", MSG_UNAVAILABLE),
        (502, NeonUnavailable, "BAD_GATEWAY", MSG_UNAVAILABLE),
        (503, NeonUnavailable, "SERVICE_UNAVAILABLE", MSG_UNAVAILABLE),
        (504, NeonUnavailable, "GATEWAY_TIMEOUT", MSG_UNAVAILABLE),
    ],
)
def test_injected_status_maps_to_its_error(make_client, emu, status, error_class, code, lead):
    client = make_client(max_attempts=1)
    emu.set_faults({"status": status, "message": "injected by the test"})

    with pytest.raises(error_class) as caught:
        client.create_project({"name": "x"}, request_id=f"rid-{status}")

    error = caught.value
    assert type(error) is error_class
    assert error.status == status
    assert error.code == code
    assert error.message == f"{lead} Neon said: injected by the test"
    assert error.request_id == f"rid-{status}"


def test_rate_limited_carries_retry_after(make_client, emu):
    client = make_client(max_attempts=1)
    emu.set_faults({"status": 429, "retry_after": 7})
    with pytest.raises(NeonRateLimited) as caught:
        client.list_projects()
    assert caught.value.retry_after == 7.0


def test_rate_limited_without_retry_after(make_client, emu):
    client = make_client(max_attempts=1)
    emu.set_faults({"status": 429})
    with pytest.raises(NeonRateLimited) as caught:
        client.list_projects()
    assert caught.value.retry_after is None


# --- Transport failures ----------------------------------------------------------------------


def test_read_timeout_on_a_read(impatient_client, emu):
    emu.set_faults({"hang": True, "hang_seconds": HANG_SECONDS})
    with pytest.raises(NeonTimeout) as caught:
        impatient_client.list_regions()
    assert isinstance(caught.value, NeonUnavailable)  # views may treat both alike
    assert caught.value.message == MSG_TIMEOUT_READ
    assert caught.value.status is None
    assert caught.value.request_id


def test_read_timeout_on_a_write_warns_it_may_have_been_applied(impatient_client, emu):
    emu.set_faults({"hang": True, "hang_seconds": HANG_SECONDS})
    with pytest.raises(NeonTimeout) as caught:
        impatient_client.create_project({"name": "maybe"}, request_id="rid-timeout")
    assert caught.value.message == MSG_TIMEOUT
    assert caught.value.request_id == "rid-timeout"


def test_connection_refused(make_client, closed_port_url):
    client = make_client(base_url=closed_port_url, max_attempts=1)
    with pytest.raises(NeonUnavailable) as caught:
        client.get_auth_details()
    assert type(caught.value) is NeonUnavailable
    assert caught.value.message == MSG_UNAVAILABLE
    assert caught.value.request_id


# --- Bodies that are not what the spec promises ----------------------------------------------


@pytest.mark.parametrize("malformed", ["non_json", "truncated_json"])
def test_unreadable_200_on_a_read(neon_client, emu, malformed):
    emu.set_faults({"malformed": malformed, "method": "GET"})

    with pytest.raises(NeonBadResponse) as caught:
        neon_client.list_projects()

    error = caught.value
    assert error.message == MSG_BAD_RESPONSE
    assert error.status == 200
    assert error.request_id
    assert emu.stats()[LIST] == 1  # a broken 200 is not a transient failure


def test_truncated_answer_to_an_applied_create(neon_client, emu):
    emu.set_faults({"malformed": "truncated_json", "method": "POST", "after_apply": True})

    with pytest.raises(NeonBadResponse) as caught:
        neon_client.create_project({"name": "half-answered"}, request_id="rid-trunc")

    assert caught.value.request_id == "rid-trunc"
    assert emu.stats()[POST] == 1
    emu.clear_faults()
    assert len(neon_client.list_projects(search="half-answered").projects) == 1


def test_html_200_page(neon_client, emu):
    emu.set_faults({"malformed": "html", "status": 200})
    with pytest.raises(NeonBadResponse) as caught:
        neon_client.list_organizations()
    assert caught.value.status == 200


def test_html_error_page_keeps_the_status_class(make_client, emu):
    client = make_client(max_attempts=1)
    emu.set_faults({"malformed": "html", "status": 502})
    with pytest.raises(NeonUnavailable) as caught:
        client.list_projects()
    error = caught.value
    assert error.status == 502
    assert error.message == MSG_UNAVAILABLE  # not the nginx page
    assert error.code == ""
    assert error.request_id


def test_non_json_error_body(make_client, emu):
    client = make_client(max_attempts=1)
    emu.set_faults({"malformed": "non_json", "status": 423})
    with pytest.raises(NeonLocked) as caught:
        client.update_project("any-project", {"name": "x"})
    assert caught.value.message == MSG_LOCKED
    assert caught.value.status == 423


# --- The mapping itself, for statuses the emulator never sends --------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, NeonRejected),
        (401, NeonAuthError),
        (403, NeonAuthError),
        (404, NeonNotFound),
        (405, NeonRejected),
        (409, NeonRejected),
        (412, NeonRejected),
        (422, NeonRejected),
        (423, NeonLocked),
        (429, NeonRateLimited),
        (500, NeonUnavailable),
        (599, NeonUnavailable),
    ],
)
def test_status_classes(status, error_class):
    assert error_for_status(status) is error_class


def test_default_messages():
    assert NeonNotFound().message == MSG_NOT_FOUND
    assert NeonAuthError().message == MSG_AUTH
    assert str(NeonLocked(status=423)) == f"{MSG_LOCKED} (HTTP 423)"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), ("0.5", 0.5), ("-3", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_values(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_http_date_in_the_past_means_now():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_missing_required_field_is_a_bad_response():
    with pytest.raises(NeonBadResponse) as caught:
        Project.from_api({"id": "p-1", "name": "x"})
    assert "region_id" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        '{"projects": [{"id": "a", "cpu_used_sec": 12}], "note": "caf\u00e9"}'.encode(),
        b'{"quota": 9223372036854775807, "low": -9223372036854775808}',  # the spec's int64
        '{"name": "utf-16 from some proxy"}'.encode("utf-16"),
    ],
)
def test_a_body_decodes_as_the_json_module_reads_it(body):
    response = requests.Response()
    response.status_code, response._content = 200, body
    response.encoding = None
    assert Transport._decode(response, "rid") == response.json()
