"""Handlers of the emulated /api/v2 routes. Each returns ``(status, body)`` or raises ApiError.

Handlers run with ``Store.lock`` held, so each request sees and leaves a consistent state.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from dataclasses import dataclass

from neon_emulator import limits, permissions, quotas, render
from neon_emulator import validation as v
from neon_emulator.errors import ORG_ID_REQUIRED, RUNNING_OPERATIONS, ApiError
from neon_emulator.store import (
    DEFAULT_REGION,
    DEFAULT_USER_EMAIL,
    PRELOAD_LIBRARIES,
    REGION_IDS,
    REGIONS,
    Branch,
    Endpoint,
    Project,
    Snapshot,
    Store,
    iso,
    iso_us,
    now_us,
    parse_iso_us,
)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
USER_ID = "8f2e0c5a-4b7d-4c1e-9a3f-2d6b1e7c9a10"
# Neon's docs: protected branches cannot be deleted; an expiring branch is deleted when it
# expires. So a branch is one or the other (the emulator's reading; the spec says nothing).
PROTECTED_CANNOT_EXPIRE = "a protected branch cannot expire: protected branches cannot be deleted"
NOT_A_RESTORE = "only a branch made by restoreSnapshot with finalize_restore false can be finalized"
IN_THE_FUTURE = "must be in the future"


@dataclass
class Ctx:
    store: Store
    args: object  # werkzeug MultiDict of the query string
    body: object  # parsed JSON body, or None
    api_key: str
    # The clock consumption history reads (POST /_emulator/reset {"consumption_now": ...}).
    consumption_now_us: int | None = None


# ---- lookups ------------------------------------------------------------------------------


def _project(ctx: Ctx, project_id: str) -> Project:
    project = ctx.store.projects.get(project_id)
    if project is None:
        raise ApiError(404, f"project {project_id} not found")
    return project


def _branch(project: Project, branch_id: str) -> Branch:
    branch = project.branches.get(branch_id)
    if branch is None:
        raise ApiError(404, f"branch {branch_id} not found")
    return branch


def _ensure_unlocked(store: Store, project: Project) -> None:
    if store.has_running_operations(project):
        raise ApiError(423, RUNNING_OPERATIONS)


def _check_hipaa_allowed(store: Store, org_id: str | None) -> None:
    """Refuse HIPAA in an organization whose ``allow_hipaa_projects`` is false.

    Personal projects may turn it on.
    """
    org = store.organizations.get(org_id) if org_id is not None else None
    if org is not None and not org.allow_hipaa_projects:
        raise v.bad(f"project.settings.hipaa: organization {org_id} does not allow HIPAA projects")


def _org_filter(ctx: Ctx) -> str | None:
    org_id = v.query_id(ctx.args, "org_id")
    if org_id is not None and org_id not in ctx.store.organizations:
        raise ApiError(404, f"organization {org_id} not found")
    return org_id


def _require_org_if_org_only(store: Store, org_id: str | None) -> None:
    """A user who belongs only to organizations has no personal account to list or create in."""
    if org_id is None and store.org_only:
        raise v.bad(ORG_ID_REQUIRED)


def check_permission(ctx: Ctx, method: str, template: str, path_args: dict) -> None:
    """403 for a write under /projects/{project_id} that the caller's
    effective_project_permission does not allow. Called before the handler, so before any
    validation; a project that does not exist is left to the handler's 404."""
    project_id = path_args.get("project_id")
    if project_id is None or permissions.needed(method, template) is None:
        return
    store = ctx.store
    project = store.projects.get(project_id)
    if project is None and template == "/projects/{project_id}/recover":
        project = store.recoverable(project_id)
    if project is not None:
        permissions.check(project_id, project.permission, method, template)


# ---- projects -----------------------------------------------------------------------------


def _list_page(ctx: Ctx, *, shared: bool) -> dict:
    store = ctx.store
    limit = v.query_int(ctx.args, "limit", 1, 400, default=10)
    timeout_ms = v.query_int(ctx.args, "timeout", 100, 30000)
    search = ctx.args.get("search") or None
    raw_cursor = ctx.args.get("cursor")
    before = None
    if raw_cursor:
        before = parse_iso_us(raw_cursor)
        if before is None:
            raise v.bad("query parameter cursor: not a cursor returned by this API")
    # listSharedProjects takes neither org_id nor recoverable.
    org_id = None if shared else _org_filter(ctx)
    if not shared:
        _require_org_if_org_only(store, org_id)
    recoverable = False if shared else v.query_bool(ctx.args, "recoverable")
    deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
    projects, _ = store.page(
        deleted=recoverable,
        before_us=before,
        limit=limit,
        search=search,
        org_id=org_id,
        shared=shared,
        deadline=deadline,
    )
    body: dict = {"projects": [render.project_list_item(store, p) for p in projects]}
    if not shared:
        # Only listProjects' answer has these maps (ProjectsApplicationsMapResponse, ...).
        body["applications"] = {p.id: [] for p in projects}
        body["integrations"] = {p.id: [] for p in projects}
    if projects:
        body["pagination"] = {"cursor": iso_us(projects[-1].created_us)}
    elif raw_cursor:
        body["pagination"] = {"cursor": raw_cursor}
    return body


def list_projects(ctx: Ctx):
    return 200, _list_page(ctx, shared=False)


def list_shared_projects(ctx: Ctx):
    return 200, _list_page(ctx, shared=True)


def _merge_settings(current: dict, update: dict) -> dict:
    merged = copy.deepcopy(current)
    for key, value in update.items():
        if key in ("quota", "allowed_ips", "preload_libraries") and isinstance(
            merged.get(key), dict
        ):
            merged[key] = {**merged[key], **copy.deepcopy(value)}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def default_settings(rng) -> dict:
    return {
        "allowed_ips": {"ips": [], "protected_branches_only": False},
        "enable_logical_replication": False,
        "maintenance_window": {
            "weekdays": [rng.randint(1, 7)],
            "start_time": f"{rng.randrange(0, 23):02d}:00",
            "end_time": None,  # filled by the caller: one hour after start
        },
        "block_public_connections": False,
        "block_vpc_connections": False,
        "hipaa": False,
    }


def _fill_window(settings: dict) -> dict:
    window = settings["maintenance_window"]
    if window.get("end_time") is None:
        hour = int(window["start_time"][:2])
        window["end_time"] = f"{hour + 1:02d}:00"
    return settings


def build_project(
    store: Store,
    spec: dict,
    *,
    at_us: int,
    rng,
    ops_done: bool = False,
    creation_source: str = "console",
) -> tuple[Project, str]:
    """Create a project with its default branch, role, database and read-write endpoint.

    Returns the project and the default role's password. ``spec`` has passed the schema
    checks; Neon's compute limits are checked here, before anything is stored, so the seed
    meets them too.
    """
    provisioner = spec.get("provisioner", "k8s-neonvm")
    ceiling = store.max_autoscaling_limit
    compute = limits.for_create(spec, provisioner=provisioner, ceiling=ceiling)
    limits.check(compute, provisioner=provisioner, ceiling=ceiling)
    min_cu, max_cu = compute.min_cu, compute.max_cu
    # Validated: scalars and string-to-string maps (pg_settings), so one level deep is a copy.
    des = {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in (spec.get("default_endpoint_settings") or {}).items()
    }
    des[limits.MIN_FIELD] = min_cu
    des[limits.MAX_FIELD] = max_cu
    des[limits.SUSPEND_FIELD] = compute.suspend_timeout_seconds

    project_id = store.new_id(rng=rng)
    settings = _fill_window(default_settings(rng))
    if spec.get("settings"):
        settings = _merge_settings(settings, spec["settings"])
    if not settings.get("hipaa"):
        settings["hipaa"] = False
    project = Project(
        id=project_id,
        name=spec.get("name", project_id),
        region_id=spec.get("region_id", DEFAULT_REGION),
        pg_version=spec.get("pg_version", 17),
        provisioner=provisioner,
        created_us=at_us,
        updated_us=at_us,
        store_passwords=spec.get("store_passwords", True),
        history_retention_seconds=spec.get("history_retention_seconds", 86400),
        org_id=spec.get("org_id"),
        settings=settings,
        default_endpoint_settings=des,
        creation_source=creation_source,
        hipaa_enabled_us=at_us if settings["hipaa"] else None,
    )
    branch_spec = spec.get("branch") or {}
    database_name = branch_spec.get("database_name", "neondb")
    role_name = branch_spec.get("role_name", f"{database_name}_owner")
    branch = Branch(
        id=store.new_id("br-", rng=rng),
        name=branch_spec.get("name", "main"),
        created_us=at_us,
        updated_us=at_us,
        default=True,
        logical_size=30 * 1024 * 1024,
        annotations=dict(branch_spec.get("annotations") or {}),  # string to string
    )
    password = store.new_password(rng)
    branch.roles[role_name] = (password, at_us)
    branch.databases[database_name] = (store.next_db_id(), role_name, at_us)
    project.branches[branch.id] = branch
    endpoint = Endpoint(
        id=store.new_id("ep-", rng=rng),
        branch_id=branch.id,
        type="read_write",
        created_us=at_us,
        min_cu=min_cu,
        max_cu=max_cu,
        suspend_timeout_seconds=des["suspend_timeout_seconds"],
        last_active_us=at_us,
        idle=ops_done,
    )
    project.endpoints[endpoint.id] = endpoint
    store.add_operation(project, "create_timeline", at_us=at_us, branch_id=branch.id, done=ops_done)
    store.add_operation(
        project,
        "start_compute",
        at_us=at_us + 1,
        branch_id=branch.id,
        endpoint_id=endpoint.id,
        done=ops_done,
    )
    return project, password


def create_project(ctx: Ctx):
    store = ctx.store
    spec = v.project_create(ctx.body)
    if "region_id" in spec and spec["region_id"] not in REGION_IDS:
        raise v.bad(
            f"project.region_id: unsupported region {spec['region_id']!r}; see GET /regions"
        )
    if "org_id" in spec and spec["org_id"] not in store.organizations:
        raise ApiError(404, f"organization {spec['org_id']} not found")
    _require_org_if_org_only(store, spec.get("org_id"))
    if (spec.get("settings") or {}).get("hipaa"):
        _check_hipaa_allowed(store, spec.get("org_id"))
    project, password = build_project(store, spec, at_us=store.tick(), rng=store.rng)
    org = store.organizations.get(project.org_id) if project.org_id else None
    if org is not None and org.project_permissions:
        project.permission = permissions.CAN_MANAGE  # whoever creates a project manages it
    store.insert(project)
    branch = project.default_branch
    endpoint = next(iter(project.endpoints.values()))
    role_name, database_name = next(iter(branch.roles)), next(iter(branch.databases))
    host = render.endpoint(store, project, endpoint)["host"]
    pooler_host = host.replace(endpoint.id, f"{endpoint.id}-pooler", 1)
    return 201, {
        "project": render.project(store, project),
        "connection_uris": [
            {
                "connection_uri": render.connection_uri(
                    project, endpoint, role_name, password, database_name, pooled=False
                ),
                "connection_parameters": {
                    "database": database_name,
                    "password": password,
                    "role": role_name,
                    "host": host,
                    "pooler_host": pooler_host,
                },
            }
        ],
        "roles": [render.role(branch, role_name, with_password=True)],
        "databases": [render.database(branch, database_name)],
        "operations": [render.operation(store, op) for op in project.operations],
        "branch": render.branch(store, project, branch),
        "endpoints": [render.endpoint(store, project, endpoint)],
    }


def get_project(ctx: Ctx, project_id: str):
    return 200, {"project": render.project(ctx.store, _project(ctx, project_id))}


def update_project(ctx: Ctx, project_id: str):
    store = ctx.store
    project = _project(ctx, project_id)
    spec = v.project_update(ctx.body)
    if "default_endpoint_settings" in spec:
        compute = limits.for_update(
            project.default_endpoint_settings, spec["default_endpoint_settings"]
        )
        limits.check(compute, provisioner=project.provisioner, ceiling=store.max_autoscaling_limit)
    settings = spec.get("settings") or {}
    if (
        project.settings.get("enable_logical_replication")
        and settings.get("enable_logical_replication") is False
    ):
        raise v.bad(
            "project.settings.enable_logical_replication: logical replication cannot be "
            "disabled once it has been enabled"
        )
    if project.settings.get("hipaa") and settings.get("hipaa") is False:
        raise v.bad("project.settings.hipaa: HIPAA cannot be disabled once it has been enabled")
    turns_hipaa_on = settings.get("hipaa") is True and not project.settings.get("hipaa")
    if turns_hipaa_on:
        _check_hipaa_allowed(store, project.org_id)
    _ensure_unlocked(store, project)
    was_held = quotas.held_since(project)
    touches_computes = (
        "default_endpoint_settings" in spec
        or "preload_libraries" in settings
        or (
            settings.get("enable_logical_replication")
            and not project.settings.get("enable_logical_replication")
        )
    )
    now = store.tick()
    if "name" in spec:
        project.name = spec["name"]
    if "history_retention_seconds" in spec:
        project.history_retention_seconds = spec["history_retention_seconds"]
    if settings:
        project.settings = _merge_settings(project.settings, settings)
        quotas.update(project, was_held=was_held, now_us=now)
    if turns_hipaa_on:
        project.hipaa_enabled_us = now
    if "default_endpoint_settings" in spec:
        des = {**project.default_endpoint_settings, **spec["default_endpoint_settings"]}
        project.default_endpoint_settings = copy.deepcopy(des)
        for endpoint in project.endpoints.values():
            endpoint.min_cu = des["autoscaling_limit_min_cu"]
            endpoint.max_cu = des["autoscaling_limit_max_cu"]
            endpoint.suspend_timeout_seconds = des.get("suspend_timeout_seconds", 0)
    project.updated_us = now
    operations = []
    if touches_computes:
        for endpoint in project.endpoints.values():
            op = store.add_operation(
                project,
                "apply_config",
                at_us=store.tick(),
                branch_id=endpoint.branch_id,
                endpoint_id=endpoint.id,
            )
            operations.append(render.operation(store, op))
    return 200, {"project": render.project(store, project), "operations": operations}


def delete_project(ctx: Ctx, project_id: str):
    store = ctx.store
    project = _project(ctx, project_id)
    if project.shared:
        # Neon's docs ("Manage project access"): whoever a project is shared with may do
        # anything in it except delete it. 403: only another credential could.
        raise ApiError(
            403, f"project {project_id} is shared with you; only its owner can delete it"
        )
    protected = [b for b in project.branches.values() if b.protected]
    if protected:
        # 409 Conflict: the request is well formed, but the project's present state forbids it,
        # and the client can resolve that (unprotect the branches) and retry. Not 400/422:
        # nothing in the request is wrong. Checked before the lock, so that a client that
        # retries 423 does not retry a delete that can never succeed.
        names = ", ".join(f"{b.name} ({b.id})" for b in protected)
        raise ApiError(
            409,
            f"project {project_id} has protected branches, which block its deletion: {names}; "
            "unprotect them first",
        )
    _ensure_unlocked(store, project)
    store.soft_delete(project, store.tick())
    return 200, {"project": render.project(store, project)}


def recover_project(ctx: Ctx, project_id: str):
    store = ctx.store
    if project_id in store.projects:
        raise v.bad(f"project {project_id} is not deleted")
    project = store.recoverable(project_id)
    if project is None:
        raise ApiError(404, f"project {project_id} not found")
    store.recover(project)
    project.updated_us = store.tick()
    return 200, {
        "project": render.project(store, project),
        "branches": [render.branch(store, project, b) for b in project.branches.values()],
    }


def connection_uri(ctx: Ctx, project_id: str):
    project = _project(ctx, project_id)
    args = ctx.args
    for key in ("database_name", "role_name"):
        if not args.get(key):
            raise v.bad(f"query parameter {key} is required")
    branch_id = v.query_id(args, "branch_id")
    endpoint_id = v.query_id(args, "endpoint_id")
    # Neon answers the pooled URI unless asked otherwise (pooled=false).
    pooled = v.query_bool(args, "pooled", default=True)
    if endpoint_id is not None:
        endpoint = project.endpoints.get(endpoint_id)
        if endpoint is None or (branch_id is not None and endpoint.branch_id != branch_id):
            raise ApiError(404, f"endpoint {endpoint_id} not found")
        branch = _branch(project, endpoint.branch_id)
    else:
        branch = _branch(project, branch_id) if branch_id else project.default_branch
        endpoint = next(
            (
                e
                for e in project.endpoints.values()
                if e.branch_id == branch.id and e.type == "read_write"
            ),
            None,
        )
        if endpoint is None:
            raise ApiError(404, f"branch {branch.id} has no read-write endpoint")
    role_name, database_name = args["role_name"], args["database_name"]
    if role_name not in branch.roles:
        raise ApiError(404, f"role {role_name} not found")
    if database_name not in branch.databases:
        raise ApiError(404, f"database {database_name} not found")
    password = branch.roles[role_name][0]
    uri = render.connection_uri(
        project, endpoint, role_name, password, database_name, pooled=pooled
    )
    return 200, {"uri": uri}


def available_preload_libraries(ctx: Ctx, project_id: str):
    _project(ctx, project_id)
    return 200, {
        "libraries": [
            {
                "library_name": name,
                "description": description,
                "is_default": is_default,
                "is_experimental": experimental,
                "version": version,
            }
            for name, description, is_default, experimental, version in PRELOAD_LIBRARIES
        ]
    }


# ---- branches, roles, databases, endpoints ------------------------------------------------


def _encode_cursor(value, item_id: str) -> str:
    raw = json.dumps([value, item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(text: str):
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value, item_id = json.loads(raw)
    except (ValueError, TypeError):
        raise v.bad("query parameter cursor: not a cursor returned by this API") from None
    if not isinstance(item_id, str) or not isinstance(value, (str, int)):
        raise v.bad("query parameter cursor: not a cursor returned by this API")
    return value, item_id


def _annotation(branch: Branch) -> dict:
    return {
        "object": {"type": "console/branch", "id": branch.id},
        "value": dict(branch.annotations),
        "created_at": iso(branch.created_us),
        "updated_at": iso(branch.updated_us),
    }


def list_branches(ctx: Ctx, project_id: str):
    store = ctx.store
    project = _project(ctx, project_id)
    args = ctx.args
    sort_by = v.query_enum(args, "sort_by", ("name", "created_at", "updated_at"), "updated_at")
    sort_order = v.query_enum(args, "sort_order", ("asc", "desc"), "desc")
    limit = v.query_int(args, "limit", 1, 10000)
    v.query_bool(args, "include_deleted")
    search = (args.get("search") or "").lower()

    def key(b: Branch):
        value = {"name": b.name, "created_at": b.created_us, "updated_at": b.updated_us}[sort_by]
        return (value, b.id)

    branches = [
        b
        for b in project.branches.values()
        if not search or search in b.name.lower() or search in b.id
    ]
    branches.sort(key=key, reverse=sort_order == "desc")
    if args.get("cursor"):
        after = tuple(_decode_cursor(args["cursor"]))
        if sort_order == "desc":
            branches = [b for b in branches if key(b) < after]
        else:
            branches = [b for b in branches if key(b) > after]
    more = limit is not None and len(branches) > limit
    page = branches[:limit] if limit is not None else branches
    pagination: dict = {"sort_by": sort_by, "sort_order": sort_order}
    if more:
        pagination["next"] = _encode_cursor(*key(page[-1]))
    return 200, {
        "branches": [render.branch(store, project, b) for b in page],
        "annotations": {b.id: _annotation(b) for b in page if b.annotations},
        "pagination": pagination,
    }


def get_branch(ctx: Ctx, project_id: str, branch_id: str):
    project = _project(ctx, project_id)
    branch = _branch(project, branch_id)
    return 200, {
        "branch": render.branch(ctx.store, project, branch),
        "annotation": _annotation(branch),
    }


def list_databases(ctx: Ctx, project_id: str, branch_id: str):
    branch = _branch(_project(ctx, project_id), branch_id)
    return 200, {"databases": [render.database(branch, name) for name in branch.databases]}


def list_roles(ctx: Ctx, project_id: str, branch_id: str):
    branch = _branch(_project(ctx, project_id), branch_id)
    return 200, {"roles": [render.role(branch, name) for name in branch.roles]}


def reveal_password(ctx: Ctx, project_id: str, branch_id: str, role_name: str):
    project = _project(ctx, project_id)
    branch = _branch(project, branch_id)
    if role_name not in branch.roles:
        raise ApiError(404, f"role {role_name} not found")
    if not project.store_passwords:
        raise ApiError(412, "this project does not store role passwords")
    return 200, {"password": branch.roles[role_name][0]}


def _endpoints(store: Store, project: Project, endpoints) -> list[dict]:
    """Endpoints as a client reads them: suspended while a quota holds the project."""
    held_since = quotas.held_since(project)
    return [render.endpoint(store, project, e, held_since=held_since) for e in endpoints]


def list_endpoints(ctx: Ctx, project_id: str):
    project = _project(ctx, project_id)
    return 200, {"endpoints": _endpoints(ctx.store, project, project.endpoints.values())}


def list_branch_endpoints(ctx: Ctx, project_id: str, branch_id: str):
    project = _project(ctx, project_id)
    _branch(project, branch_id)
    endpoints = [e for e in project.endpoints.values() if e.branch_id == branch_id]
    return 200, {"endpoints": _endpoints(ctx.store, project, endpoints)}


# ---- branch settings, backup schedules, snapshots -----------------------------------------


def _free_name(project: Project, name: str, *, ignore: tuple[str, ...] = ()) -> str:
    """409 when another branch of the project has this name.

    The spec hints that names are unique within a project: finalizing a restore renames the
    replaced branch "so it no longer uses the original name"."""
    for branch in project.branches.values():
        if branch.name == name and branch.id not in ignore:
            raise ApiError(409, f"branch name {name!r} is taken by {branch.id} in this project")
    return name


def _generated_name(project: Project, base: str) -> str:
    names = {b.name for b in project.branches.values()}
    name, n = base, 1
    while name in names:
        n += 1
        name = f"{base}-{n}"
    return name


def update_branch(ctx: Ctx, project_id: str, branch_id: str):
    store = ctx.store
    project = _project(ctx, project_id)
    branch = _branch(project, branch_id)
    spec = v.branch_update(ctx.body)
    now = now_us()
    if "name" in spec:
        _free_name(project, spec["name"], ignore=(branch.id,))
    expires_us = spec.get("expires_at", branch.expires_us)
    if spec.get("expires_at") is not None and spec["expires_at"] <= now:
        raise v.bad(f"branch.expires_at: {IN_THE_FUTURE}")
    protected = spec.get("protected", branch.protected)
    if protected and expires_us is not None:
        if spec.get("protected") and spec.get("expires_at") is not None:
            raise v.bad(f"branch: {PROTECTED_CANNOT_EXPIRE}")
        # 409, as for deleting a project with protected branches: the request is well formed,
        # the branch's present state forbids it, and the client can change that first.
        undo = "unprotect it" if branch.protected else "remove its expires_at (null)"
        raise ApiError(409, f"branch {branch.id}: {PROTECTED_CANNOT_EXPIRE}; {undo} first")
    _ensure_unlocked(store, project)
    at = store.tick()
    operations = []
    if "protected" in spec and spec["protected"] != branch.protected:
        branch.protected = spec["protected"]
        op = store.add_operation(
            project, "timeline_update_protected_config", at_us=at, branch_id=branch.id
        )
        operations.append(render.operation(store, op))
    if "name" in spec:
        branch.name = spec["name"]
    if "expires_at" in spec:
        branch.expires_us = spec["expires_at"]
        branch.ttl_interval_seconds = (
            None if expires_us is None else (expires_us - now) // 1_000_000
        )
    branch.updated_us = at
    return 200, {"branch": render.branch(store, project, branch), "operations": operations}


def get_backup_schedule(ctx: Ctx, project_id: str, branch_id: str):
    branch = _branch(_project(ctx, project_id), branch_id)
    return 200, render.backup_schedule(branch)


def set_backup_schedule(ctx: Ctx, project_id: str, branch_id: str):
    project = _project(ctx, project_id)
    branch = _branch(project, branch_id)
    schedule = v.backup_schedule(ctx.body)
    _ensure_unlocked(ctx.store, project)
    branch.backup_schedule = schedule
    return 200, {}  # EmptyResponse


def _snapshot(project: Project, snapshot_id: str) -> Snapshot:
    snapshot = project.snapshots.get(snapshot_id)
    if snapshot is None:
        raise ApiError(404, f"snapshot {snapshot_id} not found")
    return snapshot


def create_snapshot(ctx: Ctx, project_id: str, branch_id: str):
    store = ctx.store
    project = _project(ctx, project_id)
    branch = _branch(project, branch_id)
    if ctx.body not in (None, {}):
        raise v.bad(
            "createSnapshot takes no request body: send lsn or timestamp, name and expires_at "
            "as query parameters"
        )
    query = v.snapshot_query(ctx.args)
    now = now_us()
    if "timestamp" in query:
        earliest = now - project.history_retention_seconds * 1_000_000
        if not earliest <= query["timestamp"] <= now:
            raise v.bad(
                "query parameter timestamp: must fall within the restore window, from "
                f"{iso(earliest)} to now (history_retention_seconds "
                f"{project.history_retention_seconds})"
            )
    if query.get("expires_at") is not None and query["expires_at"] <= now:
        raise v.bad(f"query parameter expires_at: {IN_THE_FUTURE}")
    _ensure_unlocked(store, project)
    snapshot = store.take_snapshot(
        project,
        branch,
        name=query.get("name"),
        at_us=query.get("timestamp"),
        lsn=query.get("lsn"),
        expires_us=query.get("expires_at"),
    )
    # The spec's OperationAction has no snapshot action: Neon's answer carries none the
    # emulator could name.
    return 200, {"snapshot": render.snapshot(snapshot), "operations": []}


def list_snapshots(ctx: Ctx, project_id: str):
    project = _project(ctx, project_id)
    newest_first = sorted(project.snapshots.values(), key=lambda s: s.created_us, reverse=True)
    return 200, {"snapshots": [render.snapshot(s) for s in newest_first]}


def update_snapshot(ctx: Ctx, project_id: str, snapshot_id: str):
    project = _project(ctx, project_id)
    snapshot = _snapshot(project, snapshot_id)
    spec = v.snapshot_update(ctx.body)
    _ensure_unlocked(ctx.store, project)
    if "name" in spec:
        snapshot.name = spec["name"]
    return 200, {"snapshot": render.snapshot(snapshot)}


def delete_snapshot(ctx: Ctx, project_id: str, snapshot_id: str):
    project = _project(ctx, project_id)
    _snapshot(project, snapshot_id)
    _ensure_unlocked(ctx.store, project)
    del project.snapshots[snapshot_id]
    return 202, {"operations": []}


def restore_snapshot(ctx: Ctx, project_id: str, snapshot_id: str):
    store = ctx.store
    project = _project(ctx, project_id)
    snapshot = _snapshot(project, snapshot_id)
    spec = v.snapshot_restore(ctx.body)
    name = spec.get("name")
    if name is None and ctx.args.get("name") is not None:  # deprecated, still in the spec
        name = v.name(ctx.args["name"], "query parameter name")
    target_id = spec.get("target_branch_id", snapshot.source_branch_id)
    target = project.branches.get(target_id)
    if target is None:
        raise ApiError(404, f"branch {target_id} not found")
    if name is not None:
        _free_name(project, name)
    stamp = iso(now_us()).replace(":", "-")
    finalize_as = None
    if spec.get("finalize_restore", False):
        finalize_as = _generated_name(project, f"{target.name}_old_{stamp}")
    _ensure_unlocked(store, project)
    branch, operations = store.restore_snapshot(
        project,
        snapshot,
        target,
        name=name or _generated_name(project, f"{target.name}_restored_{stamp}"),
        finalize_as=finalize_as,
    )
    endpoints = [e for e in project.endpoints.values() if e.branch_id == branch.id]
    return 200, {
        "branch": render.branch(store, project, branch),
        "endpoints": _endpoints(store, project, endpoints),
        "operations": [render.operation(store, op) for op in operations],
    }


def finalize_restore(ctx: Ctx, project_id: str, branch_id: str):
    store = ctx.store
    project = _project(ctx, project_id)
    branch = _branch(project, branch_id)
    spec = v.finalize_restore(ctx.body)
    if branch.restore_status != "restored":
        raise v.bad(f"branch {branch.id}: {NOT_A_RESTORE}")
    target = _branch(project, branch.restored_as)
    if "name" in spec:
        # The replaced branch takes this name, and the restored one takes the replaced one's.
        if spec["name"] == target.name:
            raise ApiError(409, f"branch name {target.name!r} is the one the restore takes over")
        old_name = _free_name(project, spec["name"], ignore=(target.id, branch.id))
    else:
        stamp = iso(now_us()).replace(":", "-")
        old_name = _generated_name(project, f"{target.name}_old_{stamp}")
    _ensure_unlocked(store, project)
    operations = store.finalize_restore(project, branch, target, old_name=old_name)
    return 200, {"operations": [render.operation(store, op) for op in operations]}


# ---- operations ---------------------------------------------------------------------------


def list_operations(ctx: Ctx, project_id: str):
    store = ctx.store
    project = _project(ctx, project_id)
    limit = v.query_int(ctx.args, "limit", 1, 1000, default=10)
    raw_cursor = ctx.args.get("cursor")
    ops = project.operations
    end = len(ops)
    if raw_cursor:
        before = parse_iso_us(raw_cursor)
        if before is None:
            raise v.bad("query parameter cursor: not a cursor returned by this API")
        end = next((i for i in range(len(ops) - 1, -1, -1) if ops[i].created_us < before), -1) + 1
    page = ops[max(0, end - limit) : end][::-1]
    body: dict = {"operations": [render.operation(store, op) for op in page]}
    if page:
        body["pagination"] = {"cursor": iso_us(page[-1].created_us)}
    return 200, body


def get_operation(ctx: Ctx, project_id: str, operation_id: str):
    project = _project(ctx, project_id)
    if not UUID_RE.match(operation_id):
        raise v.bad("operation_id: must be a UUID")
    for op in project.operations:
        if op.id == operation_id:
            return 200, {"operation": render.operation(ctx.store, op)}
    raise ApiError(404, f"operation {operation_id} not found")


# ---- account ------------------------------------------------------------------------------


def list_regions(ctx: Ctx):
    _org_filter(ctx)
    return 200, {
        "regions": [
            {"region_id": rid, "name": name, "default": default, "geo_lat": lat, "geo_long": long}
            for rid, name, default, lat, long in REGIONS
        ]
    }


def current_user(ctx: Ctx):
    return 200, {
        "id": USER_ID,
        "email": DEFAULT_USER_EMAIL,
        "login": "ada",
        "name": "Ada",
        "last_name": "Lovelace",
        "image": "",
        "active_seconds_limit": 0,
        "projects_limit": 0,
        "branches_limit": 5000,
        "max_autoscaling_limit": ctx.store.max_autoscaling_limit,
        "compute_seconds_limit": 0,
        # Optional in today's spec but required by older clients (neon-api 0.3.0), so sent.
        "billing_account": {
            "state": "active",
            "payment_source": {"type": "card"},
            "subscription_type": "launch",
            "payment_method": "stripe",
            "quota_reset_at_last": "2026-11-01T00:00:00Z",
            "name": "Ada Lovelace",
            "email": DEFAULT_USER_EMAIL,
            "address_city": "London",
            "address_country": "GB",
            "address_country_name": "United Kingdom",
            "address_line1": "12 St James's Square",
            "address_line2": "",
            "address_postal_code": "SW1Y 4LB",
            "address_state": "",
        },
        "auth_accounts": [
            {
                "provider": "github",
                "email": DEFAULT_USER_EMAIL,
                "name": "Ada Lovelace",
                "login": "ada",
                "image": "",
            }
        ],
        "plan": "launch",
    }


def current_user_organizations(ctx: Ctx):
    orgs = sorted(ctx.store.organizations.values(), key=lambda o: o.created_us)
    return 200, {"organizations": [render.organization(o) for o in orgs]}


def get_organization(ctx: Ctx, org_id: str):
    org = ctx.store.organizations.get(org_id)
    if org is None:
        raise ApiError(404, f"organization {org_id} not found")
    return 200, render.organization(org)


def auth_details(ctx: Ctx):
    return 200, {"account_id": USER_ID, "auth_method": "api_key_user"}
