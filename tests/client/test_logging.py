"""Every call leaves one log line per attempt (method, path, status, duration, attempt, request
id) and no record anywhere (ours, urllib3's, requests') carries the key, a password or a
connection URI."""

import logging
import re
from urllib.parse import quote

import pytest

from projects.neon import NeonError
from tests.client.conftest import HANG_SECONDS, IMPATIENT_READ_TIMEOUT
from tests.conftest import TEST_NEON_KEY

LINE = re.compile(
    r"^neon (?P<method>GET|POST|PATCH|DELETE) (?P<path>/\S*) -> "
    r"(?P<outcome>\d{3}|connect-error|connection-lost|timeout|error) in (?P<ms>\d+) ms "
    r"\(attempt (?P<attempt>\d+), request_id (?P<rid>\S+)\)$"
)


def neon_lines(caplog) -> list[re.Match]:
    lines = [r.getMessage() for r in caplog.records if r.name == "projects.neon"]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return matches


def everything_logged(caplog) -> str:
    """All records as text: formatted message, raw args, and any traceback."""
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        parts.append(repr(record.__dict__))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def test_each_call_logs_method_path_status_duration_and_request_id(neon_client, caplog):
    caplog.set_level(logging.INFO, logger="projects.neon")
    target = neon_client.list_projects(limit=2).projects[0]
    neon_client.get_project(target.id)
    neon_client.update_project(target.id, {"name": "logged-rename"}, request_id="rid-log-1")

    lines = neon_lines(caplog)

    assert [(m["method"], m["path"], m["outcome"]) for m in lines] == [
        ("GET", "/projects", "200"),
        ("GET", f"/projects/{target.id}", "200"),
        ("PATCH", f"/projects/{target.id}", "200"),
    ]
    assert lines[2]["rid"] == "rid-log-1"
    assert len({m["rid"] for m in lines}) == 3  # a fresh id per call
    assert all(m["attempt"] == "1" for m in lines)
    # The path is logged without the query string (search terms are the operator's business).
    record = next(r for r in caplog.records if r.name == "projects.neon")
    assert record.args[:3] == ("GET", "/projects", 200)
    assert record.levelno == logging.INFO


def test_failures_are_logged_per_attempt(make_client, emu, caplog, closed_port_url):
    caplog.set_level(logging.INFO, logger="projects.neon")
    client = make_client(max_attempts=3)
    emu.set_faults({"status": 503, "method": "GET", "count": 2})
    client.list_regions()
    emu.set_faults({"hang": True, "hang_seconds": 0.05, "method": "GET", "count": 1})
    client.list_regions()
    emu.set_faults({"hang": True, "hang_seconds": HANG_SECONDS, "method": "GET"})
    with pytest.raises(NeonError):
        make_client(read_timeout=IMPATIENT_READ_TIMEOUT).list_regions()
    with pytest.raises(NeonError):
        make_client(base_url=closed_port_url, max_attempts=1).list_regions()

    lines = [(m["outcome"], m["attempt"]) for m in neon_lines(caplog)]

    assert lines == [
        ("503", "1"),
        ("503", "2"),
        ("200", "3"),
        ("connection-lost", "1"),
        ("200", "2"),
        ("timeout", "1"),
        ("connect-error", "1"),
    ]


def test_key_passwords_and_uris_never_reach_a_log_record(make_client, emu, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's debug lines included
    client = make_client()
    created = client.create_project({"name": "secret-probe"})
    [details] = created.connection_details
    pid, branch_id = created.project.id, created.branch.id
    uris = [
        client.connection_uri(pid, database_name="neondb", role_name="neondb_owner", pooled=False),
        client.connection_uri(pid, database_name="neondb", role_name="neondb_owner"),
    ]
    revealed = client.reveal_role_password(pid, branch_id, "neondb_owner")
    # Failures too: retried, timed out, unreadable, refused, and a wrong key.
    emu.set_faults({"status": 503, "method": "GET", "count": 2})
    client.connection_uri(pid, database_name="neondb", role_name="neondb_owner")
    emu.set_faults({"malformed": "truncated_json", "method": "GET", "count": 1})
    with pytest.raises(NeonError):
        client.reveal_role_password(pid, branch_id, "neondb_owner")
    emu.set_faults({"hang": True, "hang_seconds": HANG_SECONDS, "method": "GET", "count": 1})
    with pytest.raises(NeonError):
        make_client(read_timeout=IMPATIENT_READ_TIMEOUT).connection_uri(
            pid, database_name="neondb", role_name="neondb_owner"
        )
    emu.clear_faults()
    wrong_key = "wrong-key-also-secret-7c1f"
    with pytest.raises(NeonError) as caught:
        make_client(api_key=wrong_key).list_projects()

    logged = everything_logged(caplog)

    assert neon_lines(caplog), "the calls were logged"
    assert any(r.name.startswith("urllib3") for r in caplog.records), "urllib3 was listened to"
    secrets = [TEST_NEON_KEY, wrong_key, details.password, revealed, details.uri, *uris]
    for secret in secrets:
        assert secret not in logged
        assert quote(secret, safe="") not in logged
    assert wrong_key not in str(caught.value) and wrong_key not in repr(caught.value)
    assert TEST_NEON_KEY not in repr(client)
    assert details.password not in repr(details)
