"""Every documented range, just inside and just outside; wrong types are refused, not coerced."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime

import pytest

from tests.emulator.conftest import all_projects, wait_for_operations

ORG_ID = "org-acme-analytics-41502719"  # seeded; allow_hipaa_projects: false
HIPAA_ORG_ID = "org-borealis-labs-83920461"  # seeded; allow_hipaa_projects: true
HEALTH_ORG_ID = "org-cedar-health-27064815"  # seeded; allow_hipaa_projects: true


def _set(path: str, value) -> dict:
    """{"a.b": v} -> {"project": {"a": {"b": v}}}"""
    project: dict = {}
    node = project
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return {"project": project}


WINDOW = {"weekdays": [1], "start_time": "01:00", "end_time": "02:00"}
DES = "default_endpoint_settings"

# (field path, value, accepted?)
CREATE_CASES = [
    ("name", "", False),
    ("name", "a", True),
    ("name", "x" * 256, True),
    ("name", "x" * 257, False),
    ("name", 5, False),
    ("name", None, False),
    ("pg_version", 13, False),
    ("pg_version", 14, True),
    ("pg_version", 18, True),
    ("pg_version", 19, False),
    ("pg_version", "17", False),
    ("pg_version", True, False),
    ("pg_version", 17.0, False),
    ("provisioner", "k8s-pod", True),
    ("provisioner", "k8s-neonvm", True),
    ("provisioner", "serverless-platform", True),
    ("provisioner", "docker", False),
    ("region_id", "aws-eu-west-2", True),
    ("region_id", "azure-gwc", True),
    ("region_id", "aws-mars-1", False),
    ("region_id", 1, False),
    ("store_passwords", False, True),
    ("store_passwords", 1, False),
    ("store_passwords", "true", False),
    ("history_retention_seconds", -1, False),
    ("history_retention_seconds", 0, True),
    ("history_retention_seconds", 2592000, True),
    ("history_retention_seconds", 2592001, False),
    ("history_retention_seconds", True, False),
    ("history_retention_seconds", 3600.5, False),
    ("org_id", ORG_ID, True),
    ("org_id", "Not_An_Id", False),
    ("autoscaling_limit_min_cu", 0.24, False),
    ("autoscaling_limit_min_cu", 0.25, True),
    ("autoscaling_limit_max_cu", 0.25, True),
    ("autoscaling_limit_max_cu", "1", False),
    (f"{DES}.autoscaling_limit_min_cu", 0.24, False),
    (f"{DES}.autoscaling_limit_min_cu", 0.25, True),
    (f"{DES}.autoscaling_limit_max_cu", 0.24, False),
    # Neon's product limits (8 CU at most between min and max, ...): tests/emulator/test_limits.py
    (f"{DES}.autoscaling_limit_max_cu", 8.25, True),
    (f"{DES}.autoscaling_limit_max_cu", True, False),
    (f"{DES}.suspend_timeout_seconds", -2, False),
    (f"{DES}.suspend_timeout_seconds", -1, True),
    (f"{DES}.suspend_timeout_seconds", 0, True),
    (f"{DES}.suspend_timeout_seconds", 1, False),
    (f"{DES}.suspend_timeout_seconds", 59, False),
    (f"{DES}.suspend_timeout_seconds", 60, True),
    (f"{DES}.suspend_timeout_seconds", 604800, True),
    (f"{DES}.suspend_timeout_seconds", 604801, False),
    (f"{DES}.suspend_timeout_seconds", "300", False),
    (f"{DES}.pg_settings", {"work_mem": "4MB"}, True),
    (f"{DES}.pg_settings", {"work_mem": 4}, False),
    (f"{DES}.colour", "blue", False),
    ("settings.quota.active_time_seconds", -1, False),
    ("settings.quota.active_time_seconds", 0, True),
    ("settings.quota.compute_time_seconds", 1, True),
    ("settings.quota.written_data_bytes", 1.5, False),
    ("settings.quota.data_transfer_bytes", "10", False),
    ("settings.quota.logical_size_bytes", True, False),
    ("settings.quota.logical_size_bytes", 10 * 2**30, True),
    ("settings.quota.cpu", 1, False),
    ("settings.maintenance_window", WINDOW, True),
    ("settings.maintenance_window", {**WINDOW, "weekdays": [0]}, False),
    ("settings.maintenance_window", {**WINDOW, "weekdays": [7]}, True),
    ("settings.maintenance_window", {**WINDOW, "weekdays": [8]}, False),
    ("settings.maintenance_window", {**WINDOW, "weekdays": []}, False),
    ("settings.maintenance_window", {**WINDOW, "weekdays": ["1"]}, False),
    ("settings.maintenance_window", {**WINDOW, "weekdays": 1}, False),
    ("settings.maintenance_window", {"weekdays": [1], "start_time": "01:00"}, False),
    ("settings.maintenance_window", {"weekdays": [1], "end_time": "01:00"}, False),
    ("settings.maintenance_window", {"start_time": "01:00", "end_time": "02:00"}, False),
    ("settings.maintenance_window", {**WINDOW, "start_time": "23:59"}, True),
    ("settings.maintenance_window", {**WINDOW, "start_time": "24:00"}, False),
    ("settings.maintenance_window", {**WINDOW, "start_time": "7:00"}, False),
    ("settings.maintenance_window", {**WINDOW, "end_time": "12:60"}, False),
    ("settings.audit_log_level", "base", True),
    ("settings.audit_log_level", "extended", True),
    ("settings.audit_log_level", "full", True),
    ("settings.audit_log_level", "verbose", False),
    ("settings.enable_logical_replication", True, True),
    ("settings.enable_logical_replication", "true", False),
    ("settings.allowed_ips", {"ips": ["203.0.113.1", "10.0.0.0/8"]}, True),
    ("settings.allowed_ips", {"ips": "203.0.113.1"}, False),
    ("settings.allowed_ips", {"ips": [1]}, False),
    ("settings.allowed_ips", {"protected_branches_only": "yes"}, False),
    ("settings.hipaa", 0, False),
    ("settings.hipaa", "true", False),
    ("settings.hipaa", True, True),
    ("settings.hipaa", False, True),
    ("settings.block_public_connections", True, True),
    ("settings.preload_libraries", {"enabled_libraries": ["pg_cron"]}, True),
    ("settings.preload_libraries", {"enabled_libraries": "pg_cron"}, False),
    ("settings.unknown", True, False),
    ("branch.name", "", False),
    ("branch.name", "b" * 256, True),
    ("branch.name", "b" * 257, False),
    ("branch.role_name", "r" * 63, True),
    ("branch.role_name", "r" * 64, False),
    ("branch.database_name", "", False),
    ("branch.annotations", {f"k{i}": "v" for i in range(50)}, True),
    ("branch.annotations", {f"k{i}": "v" for i in range(51)}, False),
    ("branch.annotations", {"k": 1}, False),
    ("branch.parent_id", "br-x", False),
    ("colour", "blue", False),
]


@pytest.mark.parametrize(
    ("path", "value", "accepted"),
    CREATE_CASES,
    ids=[f"{p}={str(v)[:20]}-{'ok' if a else 'bad'}" for p, v, a in CREATE_CASES],
)
def test_create_ranges(api, conforms, path, value, accepted):
    response = api.post("/projects", json=_set(path, value))
    if accepted:
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 400, response.text
        assert path.split(".")[-1] in response.json()["message"] or "project" in path
    conforms(response)


@pytest.mark.parametrize(
    ("min_cu", "max_cu", "accepted"), [(1, 1, True), (0.25, 8, True), (2, 1, False)]
)
def test_min_cu_not_above_max_cu(api, conforms, min_cu, max_cu, accepted):
    body = {
        "project": {DES: {"autoscaling_limit_min_cu": min_cu, "autoscaling_limit_max_cu": max_cu}}
    }
    response = api.post("/projects", json=body)
    assert response.status_code == (201 if accepted else 400), response.text
    conforms(response)


@pytest.mark.parametrize(
    "body",
    [{}, {"projects": {}}, {"project": []}, {"project": "x"}, [], "project", 17, None],
    ids=["empty", "wrong-key", "list", "string", "array-body", "string-body", "int", "null"],
)
def test_create_needs_a_project_object(api, conforms, body):
    response = api.post("/projects", json=body)
    assert response.status_code == 400
    conforms(response)


def test_create_with_unknown_org_is_404(api, conforms):
    response = api.post("/projects", json={"project": {"org_id": "org-nope-12345"}})
    assert response.status_code == 404
    conforms(response)


def _project_id(api) -> str:
    return api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]


UPDATE_CASES = [
    (p, v, a)
    for p, v, a in CREATE_CASES
    if p.split(".")[0] in ("name", "history_retention_seconds", "settings", DES)
    # a fresh project may have running operations; compute-touching updates are checked apart
    and not (a and (p.startswith(DES) or "preload" in p or "logical_replication" in p))
]


@pytest.mark.parametrize(
    ("path", "value", "accepted"),
    UPDATE_CASES,
    ids=[f"{p}={str(v)[:20]}-{'ok' if a else 'bad'}" for p, v, a in UPDATE_CASES],
)
def test_update_ranges(api, conforms, path, value, accepted):
    pid = _project_id(api)
    response = api.patch(f"/projects/{pid}", json=_set(path, copy.deepcopy(value)))
    assert response.status_code == (200 if accepted else 400), response.text
    conforms(response)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pg_version", 16),
        ("region_id", "aws-us-east-1"),
        ("provisioner", "k8s-pod"),
        ("store_passwords", False),
        ("org_id", ORG_ID),
        ("branch", {"name": "x"}),
    ],
)
def test_update_refuses_create_only_fields(api, conforms, field, value):
    pid = _project_id(api)
    response = api.patch(f"/projects/{pid}", json={"project": {field: value}})
    assert response.status_code == 400
    assert field in conforms(response)["message"]


def test_logical_replication_cannot_be_turned_off(api, conforms):
    created = api.post(
        "/projects", json={"project": {"settings": {"enable_logical_replication": True}}}
    ).json()
    pid = created["project"]["id"]
    body = {"project": {"settings": {"enable_logical_replication": False}}}
    response = api.patch(f"/projects/{pid}", json=body)
    assert response.status_code == 400
    assert "logical replication" in conforms(response)["message"]


def _seconds(timestamp: str) -> float:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def test_hipaa_cannot_be_turned_off(api, conforms):
    response = api.post("/projects", json={"project": {"settings": {"hipaa": True}}})
    assert response.status_code == 201, response.text
    project = conforms(response)["project"]
    assert project["settings"]["hipaa"] is True
    enabled_at = project["hipaa_enabled_at"]
    pid = project["id"]
    response = api.patch(f"/projects/{pid}", json={"project": {"settings": {"hipaa": False}}})
    assert response.status_code == 400
    error = conforms(response)
    assert error["code"] == "BAD_REQUEST"
    assert "hipaa" in error["message"].lower() and "cannot be disabled" in error["message"]
    wait_for_operations(api, pid)
    # Asking again for what is already on changes nothing, not even the date.
    response = api.patch(f"/projects/{pid}", json={"project": {"settings": {"hipaa": True}}})
    assert response.status_code == 200, response.text
    assert conforms(response)["project"]["hipaa_enabled_at"] == enabled_at
    assert api.get(f"/projects/{pid}").json()["project"]["settings"]["hipaa"] is True


def test_turning_hipaa_on_records_when(api, conforms):
    project = api.get("/projects", params={"limit": 1}).json()["projects"][0]  # personal
    assert project["settings"]["hipaa"] is False
    assert "hipaa_enabled_at" not in project
    pid = project["id"]
    response = api.patch(f"/projects/{pid}", json={"project": {"settings": {"hipaa": True}}})
    assert response.status_code == 200, response.text
    enabled_at = conforms(response)["project"]["hipaa_enabled_at"]
    assert abs(_seconds(enabled_at) - time.time()) < 60
    assert conforms(api.get(f"/projects/{pid}"))["project"]["hipaa_enabled_at"] == enabled_at
    listed = conforms(api.get("/projects", params={"limit": 1}))["projects"][0]
    assert listed["id"] == pid and listed["hipaa_enabled_at"] == enabled_at


def test_seeded_hipaa_projects_say_since_when(emu, api):
    emu.reset(seed=40)  # about a third of Borealis Labs' projects have HIPAA on
    projects = all_projects(api)
    with_hipaa = [p for p in projects if p["settings"]["hipaa"]]
    assert with_hipaa
    assert all(p["hipaa_enabled_at"] >= p["created_at"] for p in with_hipaa)
    assert all("hipaa_enabled_at" not in p for p in projects if not p["settings"]["hipaa"])


def test_organizations_say_whether_they_allow_hipaa(api, conforms):
    orgs = conforms(api.get("/users/me/organizations"))["organizations"]
    assert {o["id"]: o["allow_hipaa_projects"] for o in orgs} == {
        ORG_ID: False,
        HIPAA_ORG_ID: True,
        HEALTH_ORG_ID: True,
    }
    assert conforms(api.get(f"/organizations/{ORG_ID}"))["allow_hipaa_projects"] is False


@pytest.mark.parametrize(("org_id", "allowed"), [(ORG_ID, False), (HIPAA_ORG_ID, True)])
def test_create_with_hipaa_follows_the_organization(api, conforms, org_id, allowed):
    before = len(api.get("/projects", params={"org_id": org_id, "limit": 400}).json()["projects"])
    body = {"project": {"org_id": org_id, "settings": {"hipaa": True}}}
    response = api.post("/projects", json=body)
    if allowed:
        assert response.status_code == 201, response.text
        assert conforms(response)["project"]["hipaa_enabled_at"]
    else:
        assert response.status_code == 400, response.text
        message = conforms(response)["message"]
        assert "hipaa" in message and org_id in message
        listed = api.get("/projects", params={"org_id": org_id, "limit": 400}).json()["projects"]
        assert len(listed) == before


@pytest.mark.parametrize(("org_id", "allowed"), [(ORG_ID, False), (HIPAA_ORG_ID, True)])
def test_turning_hipaa_on_follows_the_organization(api, conforms, org_id, allowed):
    listed = api.get("/projects", params={"org_id": org_id, "limit": 400}).json()["projects"]
    # A project the key may change (Borealis Labs has per-project permissions).
    pid = next(
        p["id"]
        for p in listed
        if not p["settings"]["hipaa"] and p.get("effective_project_permission") != "CAN_VIEW"
    )
    response = api.patch(f"/projects/{pid}", json={"project": {"settings": {"hipaa": True}}})
    conforms(response)
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json()["project"]["hipaa_enabled_at"]
    else:
        assert response.status_code == 400, response.text
        assert "does not allow HIPAA" in response.json()["message"]
        project = api.get(f"/projects/{pid}").json()["project"]
        assert project["settings"]["hipaa"] is False
        assert "hipaa_enabled_at" not in project


def test_update_needs_a_project_object(api, conforms):
    pid = _project_id(api)
    for body in ({}, {"project": None}, {"name": "x"}):
        response = api.patch(f"/projects/{pid}", json=body)
        assert response.status_code == 400
        conforms(response)


QUERY_CASES = [
    ("/projects", "limit", "0", False),
    ("/projects", "limit", "1", True),
    ("/projects", "limit", "400", True),
    ("/projects", "limit", "401", False),
    ("/projects", "limit", "ten", False),
    ("/projects", "limit", "1.5", False),
    ("/projects", "timeout", "99", False),
    ("/projects", "timeout", "100", True),
    ("/projects", "timeout", "30000", True),
    ("/projects", "timeout", "30001", False),
    ("/projects", "recoverable", "true", True),
    ("/projects", "recoverable", "yes", False),
    ("/projects", "org_id", ORG_ID, True),
    ("/projects", "org_id", "Bad_Id", False),
    ("/projects", "cursor", "not-a-cursor", False),
    ("/projects/shared", "limit", "0", False),
    ("/projects/shared", "limit", "400", True),
    ("/projects/shared", "limit", "401", False),
    ("/projects/shared", "timeout", "99", False),
    ("/projects/{pid}/operations", "limit", "0", False),
    ("/projects/{pid}/operations", "limit", "1", True),
    ("/projects/{pid}/operations", "limit", "1000", True),
    ("/projects/{pid}/operations", "limit", "1001", False),
    ("/projects/{pid}/branches", "limit", "0", False),
    ("/projects/{pid}/branches", "limit", "1", True),
    ("/projects/{pid}/branches", "limit", "10000", True),
    ("/projects/{pid}/branches", "limit", "10001", False),
    ("/projects/{pid}/branches", "sort_by", "name", True),
    ("/projects/{pid}/branches", "sort_by", "size", False),
    ("/projects/{pid}/branches", "sort_order", "asc", True),
    ("/projects/{pid}/branches", "sort_order", "up", False),
    ("/projects/{pid}/branches", "cursor", "%%%", False),
    ("/regions", "org_id", "Bad_Id", False),
]


@pytest.mark.parametrize(
    ("path", "key", "value", "accepted"),
    QUERY_CASES,
    ids=[f"{p}?{k}={v}" for p, k, v, _ in QUERY_CASES],
)
def test_query_ranges(api, conforms, path, key, value, accepted):
    response = api.get(path.format(pid=_project_id(api)), params={key: value})
    assert response.status_code == (200 if accepted else 400), response.text
    conforms(response)


def test_operation_id_must_be_uuid(api, conforms):
    response = api.get(f"/projects/{_project_id(api)}/operations/not-a-uuid")
    assert response.status_code == 400
    conforms(response)


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _property_paths(spec: dict, schema: dict, prefix: str = ""):
    """Every (dotted path, resolved schema) under an object schema of the spec."""
    schema = _resolve(spec, schema)
    for key, sub in (schema.get("properties") or {}).items():
        sub = _resolve(spec, sub)
        path = f"{prefix}{key}"
        yield path, sub
        if sub.get("type") == "object" or "properties" in sub:
            yield from _property_paths(spec, sub, path + ".")


@pytest.mark.parametrize("request_schema", ["ProjectCreateRequest", "ProjectUpdateRequest"])
def test_every_field_of_the_spec_is_known(api, spec_dict, request_schema):
    """No spec field is refused as unknown: a wrong type gets a type error instead."""
    schemas = spec_dict["components"]["schemas"]
    project_schema = schemas[request_schema]["properties"]["project"]
    pid = _project_id(api)
    paths = list(_property_paths(spec_dict, project_schema))
    assert len(paths) > 20
    for path, sub in paths:
        wrong = {} if sub.get("type") == "array" else []
        if request_schema == "ProjectCreateRequest":
            response = api.post("/projects", json=_set(path, wrong))
        else:
            response = api.patch(f"/projects/{pid}", json=_set(path, wrong))
        assert response.status_code == 400, (path, response.text)
        message = response.json()["message"]
        assert "unknown field" not in message, (path, message)
