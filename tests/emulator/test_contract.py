"""Every route's answers, successes and errors alike, validate against Neon's published spec."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import wait_for_operations


def _first_project(api) -> dict:
    return api.get("/projects", params={"limit": 1}).json()["projects"][0]


def test_list_projects_conforms(api, conforms):
    body = conforms(api.get("/projects", params={"limit": 5}))
    assert len(body["projects"]) == 5
    assert set(body["applications"]) == {p["id"] for p in body["projects"]}
    assert body["pagination"]["cursor"]


def test_list_projects_by_org_and_search_conform(api, conforms):
    orgs = conforms(api.get("/users/me/organizations"))["organizations"]
    assert len(orgs) == 3
    body = conforms(api.get("/projects", params={"org_id": orgs[0]["id"], "limit": 400}))
    assert body["projects"]
    assert {p["org_id"] for p in body["projects"]} == {orgs[0]["id"]}
    assert {p["org_name"] for p in body["projects"]} == {orgs[0]["name"]}
    some = body["projects"][0]
    params = {"org_id": orgs[0]["id"], "search": some["id"][-5:].upper()}
    found = conforms(api.get("/projects", params=params))
    assert some["id"] in {p["id"] for p in found["projects"]}


def test_list_shared_projects_conforms(api, conforms):
    body = conforms(api.get("/projects/shared", params={"limit": 400}))
    assert body["projects"], "the seed shares a few projects with the user"
    assert "applications" not in body  # only listProjects has those maps
    personal = {p["id"] for p in api.get("/projects", params={"limit": 400}).json()["projects"]}
    assert all(p["owner_id"] != "1232111" and "org_id" not in p for p in body["projects"])
    assert not personal & {p["id"] for p in body["projects"]}


def test_create_project_conforms(api, conforms):
    response = api.post("/projects", json={"project": {"name": "contract"}})
    assert response.status_code == 201
    body = conforms(response)
    assert body["project"]["name"] == "contract"
    assert body["branch"]["id"].startswith("br-")
    assert body["branch"]["name"] == "main"
    assert body["endpoints"][0]["id"].startswith("ep-")
    assert body["endpoints"][0]["type"] == "read_write"
    assert body["roles"][0]["name"] == "neondb_owner"
    assert body["roles"][0]["password"]
    assert body["databases"][0]["name"] == "neondb"
    assert body["project"]["pg_version"] == 17
    assert {op["status"] for op in body["operations"]} <= {"scheduling", "running"}
    uri = body["connection_uris"][0]["connection_uri"]
    assert uri.startswith("postgresql://neondb_owner:npg_")
    assert uri.endswith("/neondb?sslmode=require&channel_binding=require")


def test_create_with_everything_conforms(api, conforms):
    project = {
        "name": "full",
        "region_id": "aws-eu-central-1",
        "pg_version": 16,
        "provisioner": "k8s-neonvm",
        "store_passwords": True,
        "history_retention_seconds": 604800,
        "org_id": api.get("/users/me/organizations").json()["organizations"][1]["id"],
        "default_endpoint_settings": {
            "autoscaling_limit_min_cu": 0.5,
            "autoscaling_limit_max_cu": 4,
            "suspend_timeout_seconds": 600,
            "pg_settings": {"work_mem": "64MB"},
        },
        "settings": {
            "quota": {"active_time_seconds": 3600, "logical_size_bytes": 0},
            "allowed_ips": {"ips": ["203.0.113.7"], "protected_branches_only": True},
            "enable_logical_replication": True,
            "maintenance_window": {"weekdays": [6, 7], "start_time": "01:00", "end_time": "03:00"},
            "audit_log_level": "extended",
            "block_public_connections": False,
            "preload_libraries": {"use_defaults": True, "enabled_libraries": ["pg_cron"]},
        },
        "branch": {"name": "trunk", "role_name": "app", "database_name": "shop"},
    }
    body = conforms(api.post("/projects", json={"project": project}))
    got = body["project"]
    assert got["region_id"] == "aws-eu-central-1"
    assert got["proxy_host"] == "eu-central-1.aws.neon.tech"
    assert got["settings"]["maintenance_window"]["weekdays"] == [6, 7]
    assert got["settings"]["quota"] == {"active_time_seconds": 3600, "logical_size_bytes": 0}
    assert got["default_endpoint_settings"]["autoscaling_limit_max_cu"] == 4
    assert body["branch"]["name"] == "trunk"
    assert body["roles"][0]["name"] == "app"
    assert body["databases"][0] == {**body["databases"][0], "name": "shop", "owner_name": "app"}


def test_get_update_delete_recover_conform(api, conforms):
    project = _first_project(api)
    pid = project["id"]
    assert conforms(api.get(f"/projects/{pid}"))["project"]["id"] == pid
    updated = conforms(api.patch(f"/projects/{pid}", json={"project": {"name": "renamed"}}))
    assert updated["project"]["name"] == "renamed"
    assert updated["operations"] == []
    deleted = conforms(api.delete(f"/projects/{pid}"))
    assert deleted["project"]["id"] == pid
    assert api.get(f"/projects/{pid}").status_code == 404
    recoverable = conforms(api.get("/projects", params={"recoverable": "true", "limit": 400}))
    item = next(p for p in recoverable["projects"] if p["id"] == pid)
    assert item["deleted_at"] and item["recoverable_until"] > item["deleted_at"]
    recovered = conforms(api.post(f"/projects/{pid}/recover"))
    assert recovered["project"]["id"] == pid
    assert recovered["branches"]
    assert api.get(f"/projects/{pid}").status_code == 200


def test_update_that_touches_computes_returns_operations(api, conforms):
    pid = _first_project(api)["id"]
    body = conforms(
        api.patch(
            f"/projects/{pid}",
            json={"project": {"default_endpoint_settings": {"autoscaling_limit_max_cu": 8}}},
        )
    )
    assert body["operations"]
    assert {op["action"] for op in body["operations"]} == {"apply_config"}
    endpoints = api.get(f"/projects/{pid}/endpoints").json()["endpoints"]
    assert {e["autoscaling_limit_max_cu"] for e in endpoints} == {8}


def test_connection_uri_conforms(api, conforms):
    created = api.post("/projects", json={"project": {"region_id": "aws-us-east-2"}}).json()
    pid = created["project"]["id"]
    endpoint = created["endpoints"][0]["id"]
    params = {"database_name": "neondb", "role_name": "neondb_owner"}
    direct = {**params, "pooled": "false"}
    uri = conforms(api.get(f"/projects/{pid}/connection_uri", params=direct))["uri"]
    password = created["roles"][0]["password"]
    assert uri == (
        f"postgresql://neondb_owner:{password}@{endpoint}.us-east-2.aws.neon.tech/neondb"
        "?sslmode=require&channel_binding=require"
    )
    pooled = conforms(
        api.get(f"/projects/{pid}/connection_uri", params={**params, "pooled": "true"})
    )["uri"]
    assert pooled == uri.replace(f"@{endpoint}.", f"@{endpoint}-pooler.")
    by_ids = conforms(
        api.get(
            f"/projects/{pid}/connection_uri",
            params={**direct, "branch_id": created["branch"]["id"], "endpoint_id": endpoint},
        )
    )
    assert by_ids["uri"] == uri


@pytest.mark.parametrize(
    ("pooled", "pooler"),
    [(None, True), ("true", True), ("True", True), ("1", True), ("false", False), ("0", False)],
)
def test_connection_uri_is_pooled_unless_asked_otherwise(api, conforms, pooled, pooler):
    """``pooled`` defaults to true: without it Neon answers the pooled URI."""
    pid = _first_project(api)["id"]
    params = {"database_name": "neondb", "role_name": "neondb_owner"}
    if pooled is not None:
        params["pooled"] = pooled
    uri = conforms(api.get(f"/projects/{pid}/connection_uri", params=params))["uri"]
    assert ("-pooler." in uri) is pooler


@pytest.mark.parametrize("pooled", ["yes", "", "TRUE ", "2"])
def test_connection_uri_pooled_is_a_strict_boolean(api, conforms, pooled):
    pid = _first_project(api)["id"]
    params = {"database_name": "neondb", "role_name": "neondb_owner", "pooled": pooled}
    response = api.get(f"/projects/{pid}/connection_uri", params=params)
    assert response.status_code == 400
    assert "pooled" in conforms(response)["message"]


@pytest.mark.parametrize("missing", ["database_name", "role_name"])
def test_connection_uri_requires_database_and_role(api, conforms, missing):
    pid = _first_project(api)["id"]
    params = {"database_name": "neondb", "role_name": "neondb_owner"}
    del params[missing]
    response = api.get(f"/projects/{pid}/connection_uri", params=params)
    assert response.status_code == 400
    assert missing in conforms(response)["message"]


def test_branch_database_role_endpoint_routes_conform(api, conforms):
    # Walk a few seeded projects so that extra branches, roles and read-only endpoints appear.
    seen_read_only = seen_extra_branch = False
    for project in api.get("/projects", params={"limit": 20}).json()["projects"]:
        pid = project["id"]
        branches = conforms(api.get(f"/projects/{pid}/branches"))["branches"]
        assert sum(b["default"] for b in branches) == 1
        seen_extra_branch |= len(branches) > 1
        for branch in branches:
            bid = branch["id"]
            assert conforms(api.get(f"/projects/{pid}/branches/{bid}"))["branch"]["id"] == bid
            dbs = conforms(api.get(f"/projects/{pid}/branches/{bid}/databases"))["databases"]
            roles = conforms(api.get(f"/projects/{pid}/branches/{bid}/roles"))["roles"]
            assert dbs and roles
            assert all("password" not in r for r in roles)
            assert {d["owner_name"] for d in dbs} <= {r["name"] for r in roles}
            conforms(api.get(f"/projects/{pid}/branches/{bid}/endpoints"))
        endpoints = conforms(api.get(f"/projects/{pid}/endpoints"))["endpoints"]
        seen_read_only |= any(e["type"] == "read_only" for e in endpoints)
    assert seen_read_only and seen_extra_branch


def test_reveal_password_conforms(api, conforms):
    created = api.post("/projects", json={"project": {}}).json()
    pid, bid = created["project"]["id"], created["branch"]["id"]
    body = conforms(api.get(f"/projects/{pid}/branches/{bid}/roles/neondb_owner/reveal_password"))
    assert body["password"] == created["roles"][0]["password"]
    missing = api.get(f"/projects/{pid}/branches/{bid}/roles/nobody/reveal_password")
    assert missing.status_code == 404
    conforms(missing)


def test_reveal_password_without_stored_passwords_is_412(api, conforms):
    created = api.post("/projects", json={"project": {"store_passwords": False}}).json()
    pid, bid = created["project"]["id"], created["branch"]["id"]
    response = api.get(f"/projects/{pid}/branches/{bid}/roles/neondb_owner/reveal_password")
    assert response.status_code == 412
    conforms(response)


def test_operations_conform(api, conforms):
    created = api.post("/projects", json={"project": {}}).json()
    pid = created["project"]["id"]
    ops = conforms(api.get(f"/projects/{pid}/operations"))["operations"]
    assert {op["id"] for op in ops} == {op["id"] for op in created["operations"]}
    one = conforms(api.get(f"/projects/{pid}/operations/{ops[0]['id']}"))["operation"]
    assert one["id"] == ops[0]["id"]
    wait_for_operations(api, pid)


def test_account_routes_conform(api, conforms):
    regions = conforms(api.get("/regions"))["regions"]
    ids = {r["region_id"] for r in regions}
    assert {"aws-us-east-1", "aws-us-east-2", "azure-gwc", "aws-sa-east-1"} <= ids
    assert sum(r["default"] for r in regions) == 1
    conforms(api.get("/users/me"))
    orgs = conforms(api.get("/users/me/organizations"))["organizations"]
    assert conforms(api.get(f"/organizations/{orgs[0]['id']}"))["id"] == orgs[0]["id"]
    assert conforms(api.get("/auth"))["auth_method"] == "api_key_user"
    pid = _first_project(api)["id"]
    libraries = conforms(api.get(f"/projects/{pid}/available_preload_libraries"))["libraries"]
    assert any(lib["library_name"] == "pg_cron" for lib in libraries)


@pytest.mark.parametrize(
    "path",
    [
        "/projects/no-such-project",
        "/projects/no-such-project/branches",
        "/projects/no-such-project/operations",
        "/organizations/no-such-org",
    ],
)
def test_not_found_conforms(api, conforms, path):
    response = api.get(path)
    assert response.status_code == 404
    body = conforms(response)
    assert body["code"] == "NOT_FOUND"
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_not_found_inside_a_project_conforms(api, conforms):
    pid = _first_project(api)["id"]
    for path in (
        f"/projects/{pid}/branches/br-nope-00000000",
        f"/projects/{pid}/branches/br-nope-00000000/roles",
        f"/projects/{pid}/operations/00000000-0000-4000-8000-000000000000",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        conforms(response)


def test_request_id_is_echoed(api, conforms):
    response = api.get("/projects/nope", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert conforms(response)["request_id"] == "abc-123"
    generated = api.get("/projects/nope")
    assert len(generated.json()["request_id"]) == 36


def test_without_org_id_only_the_personal_accounts_projects(api, conforms):
    """A personal key lists its own projects by default, an organization's with ``org_id``."""
    assert conforms(api.get("/auth"))["auth_method"] == "api_key_user"
    orgs = [o["id"] for o in api.get("/users/me/organizations").json()["organizations"]]
    personal = conforms(api.get("/projects", params={"limit": 400}))["projects"]
    assert personal
    assert all("org_id" not in p and "org_name" not in p for p in personal)
    for org in orgs:
        listed = conforms(api.get("/projects", params={"org_id": org, "limit": 400}))["projects"]
        assert listed
        assert {p["org_id"] for p in listed} == {org}
        assert not {p["id"] for p in listed} & {p["id"] for p in personal}

    in_org = api.post("/projects", json={"project": {"name": "in-org", "org_id": orgs[0]}})
    mine = api.post("/projects", json={"project": {"name": "mine"}})
    default_ids = {p["id"] for p in api.get("/projects", params={"limit": 400}).json()["projects"]}
    org_ids = {
        p["id"]
        for p in api.get("/projects", params={"org_id": orgs[0], "limit": 400}).json()["projects"]
    }
    assert mine.json()["project"]["id"] in default_ids - org_ids
    assert in_org.json()["project"]["id"] in org_ids - default_ids


def test_recoverable_without_org_id_only_the_personal_accounts_projects(api, conforms):
    orgs = [o["id"] for o in api.get("/users/me/organizations").json()["organizations"]]
    personal = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    in_org = api.get("/projects", params={"limit": 1, "org_id": orgs[0]}).json()["projects"][0]
    for pid in (personal, in_org["id"]):
        assert api.delete(f"/projects/{pid}").status_code == 200
    params = {"recoverable": "true", "limit": 400}
    listed = conforms(api.get("/projects", params=params))["projects"]
    assert personal in {p["id"] for p in listed}
    assert all("org_id" not in p for p in listed)
    listed = conforms(api.get("/projects", params={**params, "org_id": orgs[0]}))["projects"]
    assert {p["id"] for p in listed} == {in_org["id"]}
    missing = api.get("/projects", params={**params, "org_id": "org-nope-12345"})
    assert missing.status_code == 404
    conforms(missing)
