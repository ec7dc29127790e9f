"""Every public method of NeonClient against the emulator over HTTP: the right dataclasses with
the right values."""

from datetime import datetime
from urllib.parse import urlsplit

import pytest

from projects.neon import (
    AuthDetails,
    Branch,
    ConnectionDetails,
    CreatedProject,
    Database,
    DatabaseRole,
    Endpoint,
    NeonNotFound,
    NeonRejected,
    Operation,
    Organization,
    PreloadLibrary,
    Project,
    Region,
    UpdatedProject,
    get_client,
)
from tests.client.conftest import wait_until_unlocked
from tests.conftest import SEED_PROJECTS


def all_projects(client, **filters) -> list[Project]:
    projects, cursor, pages = [], None, 0
    while True:
        page = client.list_projects(cursor=cursor, **filters)
        projects.extend(page.projects)
        pages += 1
        assert pages <= SEED_PROJECTS + 2, "the cursor never ends"
        cursor = page.next_cursor
        if cursor is None:
            return projects


# --- list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 7, 10, 25, 400])
def test_list_pages_through_every_seeded_project_once(neon_client, emu, limit):
    # Without org_id Neon lists the personal account's projects; each organization's need its
    # org_id. Together they are every seeded project, each exactly once.
    owners = [None] + [org.id for org in neon_client.list_organizations()]
    emu.clear_stats()
    ids: list[str] = []
    expected_calls = 0
    for org_id in owners:
        projects = all_projects(neon_client, limit=limit, org_id=org_id)
        assert all(isinstance(p, Project) and p.org_id == org_id for p in projects)
        # Newest first, as Neon lists them.
        created = [p.created_at for p in projects]
        assert created == sorted(created, reverse=True)
        ids += [p.id for p in projects]
        # A full page is followed by one more request; a short page ends the walk.
        expected_calls += len(projects) // limit + 1
    assert len(ids) == len(set(ids)) == SEED_PROJECTS
    assert emu.stats()["GET /api/v2/projects"] == expected_calls


def test_list_item_fields_are_typed(neon_client):
    page = neon_client.list_projects(limit=5)
    assert len(page.projects) == 5
    assert page.next_cursor
    assert page.unavailable_project_ids == []
    for project in page.projects:
        assert isinstance(project.created_at, datetime)
        assert project.created_at.tzinfo is not None
        assert project.pg_version in (14, 15, 16, 17, 18)
        assert project.provisioner in ("k8s-pod", "k8s-neonvm", "serverless-platform")
        assert project.proxy_host.endswith(".neon.tech")
        assert isinstance(project.active_time, int)
        # Consumption is only in the full project, never in the list.
        assert project.consumption_period_start is None


def test_list_search_matches_name_or_id(neon_client):
    every = all_projects(neon_client, limit=100)
    target = every[3]
    needle = target.name[:4]

    found = all_projects(neon_client, limit=100, search=needle)

    assert target.id in {p.id for p in found}
    assert all(needle in p.name.lower() or needle in p.id for p in found)
    expected = {p.id for p in every if needle in p.name.lower() or needle in p.id}
    assert {p.id for p in found} == expected
    by_id = all_projects(neon_client, limit=100, search=target.id)
    assert [p.id for p in by_id] == [target.id]


def test_list_search_without_match_is_an_empty_last_page(neon_client):
    page = neon_client.list_projects(search="no-such-project-anywhere")
    assert page.projects == []
    assert page.next_cursor is None


def test_list_filters_by_org(neon_client):
    orgs = neon_client.list_organizations()
    personal = all_projects(neon_client, limit=100)
    assert personal and all(p.org_id is None for p in personal), "no org_id: personal projects"
    filtered = {}
    for org in orgs:
        in_org = all_projects(neon_client, limit=3, org_id=org.id)
        assert all(p.org_id == org.id for p in in_org)
        filtered[org.id] = {p.id for p in in_org}
    assert any(len(ids) > 3 for ids in filtered.values()), "a filter that pages"
    seen = [pid for ids in filtered.values() for pid in ids] + [p.id for p in personal]
    assert len(seen) == len(set(seen)) == SEED_PROJECTS


def test_list_rejects_a_limit_neon_does_not_allow(neon_client):
    with pytest.raises(NeonRejected) as caught:
        neon_client.list_projects(limit=401)
    assert caught.value.status == 400
    assert "limit" in caught.value.message


def test_list_unknown_org_is_not_found(neon_client):
    with pytest.raises(NeonNotFound) as caught:
        neon_client.list_projects(org_id="org-does-not-exist-1")
    assert "org-does-not-exist-1" in caught.value.message


# --- create / get / update / delete / recover ------------------------------------------------


def test_create_returns_everything_needed_to_connect(neon_client):
    created = neon_client.create_project(
        {"name": "client-create", "region_id": "aws-eu-central-1", "pg_version": 16}
    )

    assert isinstance(created, CreatedProject)
    project = created.project
    assert project.name == "client-create"
    assert project.region_id == "aws-eu-central-1"
    assert project.pg_version == 16
    assert project.proxy_host == "eu-central-1.aws.neon.tech"
    assert isinstance(created.branch, Branch)
    assert created.branch.default and created.branch.project_id == project.id
    assert [type(e) for e in created.endpoints] == [Endpoint]
    endpoint = created.endpoints[0]
    assert endpoint.read_write and endpoint.branch_id == created.branch.id
    assert [d.name for d in created.databases] == ["neondb"]
    assert [r.name for r in created.roles] == ["neondb_owner"]
    assert created.operations and all(isinstance(o, Operation) for o in created.operations)
    assert not all(o.done for o in created.operations), "a new project's operations run"

    [details] = created.connection_details
    assert isinstance(details, ConnectionDetails)
    assert details.password
    assert details.role == "neondb_owner" and details.database == "neondb"
    assert details.host == endpoint.host
    assert details.pooler_host == endpoint.host.replace(endpoint.id, f"{endpoint.id}-pooler")
    uri = urlsplit(details.uri)
    assert uri.scheme == "postgresql"
    assert uri.password == details.password
    assert uri.hostname == details.host
    # The password stays out of reprs, which end up in tracebacks and logs.
    assert details.password not in repr(created)


def test_create_with_empty_body_uses_neon_defaults(neon_client):
    created = neon_client.create_project({})
    assert created.project.name == created.project.id
    assert created.project.pg_version == 17
    assert created.project.region_id == "aws-us-east-2"


def test_get_returns_the_full_project(neon_client):
    created = neon_client.create_project({"name": "client-get", "history_retention_seconds": 3600})

    project = neon_client.get_project(created.project.id)

    assert project.id == created.project.id
    assert project.name == "client-get"
    assert project.history_retention_seconds == 3600
    assert project.consumption_period_start is not None
    assert isinstance(project.data_transfer_bytes, int)
    assert project.created_at == created.project.created_at


def test_update_changes_and_returns_the_project(neon_client):
    target = neon_client.list_projects(limit=1).projects[0]

    updated = neon_client.update_project(
        target.id,
        {"name": "renamed-by-client", "settings": {"allowed_ips": {"ips": ["203.0.113.7"]}}},
    )

    assert isinstance(updated, UpdatedProject)
    assert updated.project.name == "renamed-by-client"
    assert updated.project.settings.allowed_ips == ("203.0.113.7",)
    assert updated.operations == []
    assert neon_client.get_project(target.id).name == "renamed-by-client"


def test_update_of_compute_settings_starts_operations(neon_client):
    target = neon_client.list_projects(limit=1).projects[0]

    updated = neon_client.update_project(
        target.id,
        {
            "default_endpoint_settings": {
                "autoscaling_limit_min_cu": 0.5,
                "autoscaling_limit_max_cu": 2,
            }
        },
    )

    assert updated.project.endpoint_defaults.autoscaling_limit_min_cu == 0.5
    assert updated.project.endpoint_defaults.autoscaling_limit_max_cu == 2
    assert {op.action for op in updated.operations} == {"apply_config"}
    endpoints = neon_client.list_endpoints(target.id)
    assert {(e.autoscaling_limit_min_cu, e.autoscaling_limit_max_cu) for e in endpoints} == {
        (0.5, 2)
    }


def test_delete_then_recover(neon_client):
    target = neon_client.list_projects(limit=1).projects[0]

    deleted = neon_client.delete_project(target.id)

    assert isinstance(deleted, Project) and deleted.id == target.id
    with pytest.raises(NeonNotFound):
        neon_client.get_project(target.id)
    recoverable = all_projects(neon_client, limit=100, recoverable=True)
    listed = next(p for p in recoverable if p.id == target.id)
    assert listed.deleted_at is not None
    assert listed.recoverable_until > listed.deleted_at
    assert target.id not in {p.id for p in all_projects(neon_client, limit=100)}

    recovered = neon_client.recover_project(target.id)

    assert recovered.id == target.id
    assert neon_client.get_project(target.id).name == target.name
    assert target.id not in {p.id for p in all_projects(neon_client, limit=100, recoverable=True)}


def test_recover_of_a_live_project_is_rejected(neon_client):
    target = neon_client.list_projects(limit=1).projects[0]
    with pytest.raises(NeonRejected) as caught:
        neon_client.recover_project(target.id)
    assert caught.value.status == 400
    assert target.id in caught.value.message


# --- connection URI --------------------------------------------------------------------------


def test_connection_uri_direct_and_pooled(neon_client):
    created = neon_client.create_project({"name": "client-uri"})
    [details] = created.connection_details
    endpoint = created.endpoints[0]
    pid = created.project.id

    direct = neon_client.connection_uri(
        pid, database_name="neondb", role_name="neondb_owner", pooled=False
    )
    pooled = neon_client.connection_uri(pid, database_name="neondb", role_name="neondb_owner")

    assert urlsplit(direct).hostname == endpoint.host
    assert urlsplit(pooled).hostname == details.pooler_host
    assert f"{endpoint.id}-pooler." in urlsplit(pooled).hostname
    assert urlsplit(direct).password == details.password == urlsplit(pooled).password
    assert urlsplit(direct).path == "/neondb"
    assert direct == details.uri


def test_connection_uri_for_a_named_branch_and_endpoint(neon_client):
    created = neon_client.create_project({"name": "client-uri-branch"})
    branch, endpoint = created.branch, created.endpoints[0]

    uri = neon_client.connection_uri(
        created.project.id,
        database_name="neondb",
        role_name="neondb_owner",
        branch_id=branch.id,
        endpoint_id=endpoint.id,
        pooled=False,
    )

    assert urlsplit(uri).hostname == endpoint.host


def test_connection_uri_for_an_unknown_role_is_not_found(neon_client):
    created = neon_client.create_project({"name": "client-uri-404"})
    with pytest.raises(NeonNotFound) as caught:
        neon_client.connection_uri(created.project.id, database_name="neondb", role_name="ghost")
    assert "ghost" in caught.value.message


# --- what a project contains -----------------------------------------------------------------


def test_branches_databases_roles_endpoints(neon_client):
    created = neon_client.create_project(
        {"name": "client-tree", "branch": {"name": "trunk", "database_name": "shop"}}
    )
    pid = created.project.id

    branches = neon_client.list_branches(pid)
    assert [b.name for b in branches] == ["trunk"]
    assert branches[0] == neon_client.get_branch(pid, branches[0].id)
    branch_id = branches[0].id

    databases = neon_client.list_databases(pid, branch_id)
    assert databases == [
        Database(id=databases[0].id, branch_id=branch_id, name="shop", owner_name="shop_owner")
    ]
    assert isinstance(databases[0].id, int)

    roles = neon_client.list_roles(pid, branch_id)
    assert roles == [DatabaseRole(branch_id=branch_id, name="shop_owner", protected=False)]

    endpoints = neon_client.list_endpoints(pid)
    assert [e.id for e in endpoints] == [created.endpoints[0].id]
    assert endpoints[0].host == created.endpoints[0].host
    assert endpoints[0].project_id == pid


def test_branches_of_a_seeded_project_with_several(neon_client):
    for project in all_projects(neon_client, limit=100):
        branches = neon_client.list_branches(project.id)
        if len(branches) > 1:
            break
    else:
        pytest.fail("the seed gives some project more than one branch")
    assert sum(b.default for b in branches) == 1
    assert len({b.id for b in branches}) == len(branches)
    children = [b for b in branches if not b.default]
    assert all(b.parent_id for b in children)
    assert all(b.id.startswith("br-") for b in branches)


def test_reveal_role_password_matches_the_created_one(neon_client):
    created = neon_client.create_project({"name": "client-reveal"})
    [details] = created.connection_details

    password = neon_client.reveal_role_password(
        created.project.id, created.branch.id, "neondb_owner"
    )

    assert password == details.password


def test_reveal_role_password_when_project_does_not_store_them(neon_client):
    created = neon_client.create_project({"name": "client-no-store", "store_passwords": False})
    with pytest.raises(NeonRejected) as caught:
        neon_client.reveal_role_password(created.project.id, created.branch.id, "neondb_owner")
    assert caught.value.status == 412
    assert caught.value.code


def test_available_preload_libraries(neon_client):
    target = neon_client.list_projects(limit=1).projects[0]
    libraries = neon_client.available_preload_libraries(target.id)
    assert libraries and all(isinstance(lib, PreloadLibrary) for lib in libraries)
    assert len({lib.name for lib in libraries}) == len(libraries)
    assert any(lib.is_default for lib in libraries)


# --- operations ------------------------------------------------------------------------------


def test_operations_page_newest_first_and_follow_the_cursor(neon_client):
    created = neon_client.create_project({"name": "client-ops"})
    pid = created.project.id
    wait_until_unlocked(neon_client, pid)
    for cu in (0.5, 1):
        neon_client.update_project(
            pid, {"default_endpoint_settings": {"autoscaling_limit_min_cu": cu}}
        )
        wait_until_unlocked(neon_client, pid)

    first = neon_client.list_operations(pid, limit=2)
    assert len(first.operations) == 2 and first.next_cursor
    rest = neon_client.list_operations(pid, limit=2, cursor=first.next_cursor)
    ops = first.operations + rest.operations
    assert len(ops) == 4  # create_timeline, start_compute, apply_config twice
    assert len({o.id for o in ops}) == 4
    assert [o.action for o in ops[:2]] == ["apply_config", "apply_config"]
    assert {o.action for o in ops[2:]} == {"create_timeline", "start_compute"}
    assert all(o.project_id == pid and o.done for o in ops)
    assert neon_client.get_operation(pid, ops[0].id) == ops[0]
    last = neon_client.list_operations(pid, limit=2, cursor=rest.next_cursor)
    assert last.operations == [] and last.next_cursor is None


def test_get_operation_unknown_is_not_found(neon_client):
    target = neon_client.list_projects(limit=1).projects[0]
    with pytest.raises(NeonNotFound):
        neon_client.get_operation(target.id, "00000000-0000-4000-8000-000000000000")


# --- the process-wide client ---------------------------------------------------------------


def test_process_client_is_built_from_settings_and_rebuilt_when_they_change(neon, settings):
    client = get_client()
    assert get_client() is client
    assert client.base_url == neon.base_url
    assert client.transport.timeout == (settings.NEON_CONNECT_TIMEOUT, settings.NEON_READ_TIMEOUT)
    assert client.list_projects(limit=1).projects

    settings.NEON_READ_TIMEOUT = 7.0

    rebuilt = get_client()
    assert rebuilt is not client
    assert rebuilt.transport.timeout[1] == 7.0
    assert rebuilt.list_projects(limit=1).projects
    assert client.list_projects(limit=1).projects, "a thread still holding the old one is fine"


# --- account ---------------------------------------------------------------------------------


def test_regions(neon_client):
    regions = neon_client.list_regions()
    assert regions and all(isinstance(r, Region) for r in regions)
    assert sum(r.default for r in regions) == 1
    assert {"aws-us-east-2", "aws-us-east-1"} <= {r.id for r in regions}
    assert all(r.name for r in regions)


def test_organizations(neon_client):
    orgs = neon_client.list_organizations()
    assert len(orgs) >= 1 and all(isinstance(o, Organization) for o in orgs)
    assert all(o.id and o.name and o.handle and o.plan for o in orgs)
    assert len({o.id for o in orgs}) == len(orgs)


def test_auth_details(neon_client):
    auth = neon_client.get_auth_details()
    assert isinstance(auth, AuthDetails)
    assert auth.auth_method in ("api_key_user", "api_key_org")
    assert auth.account_id
