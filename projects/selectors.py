"""Reads from Neon. Views call these; only services write."""

from django.core.cache import cache

from projects.neon import (
    Branch,
    Database,
    Endpoint,
    OperationPage,
    Organization,
    Project,
    ProjectPage,
    Region,
    Role,
    get_client,
)

# Regions and organizations change rarely; every create form and list filter needs them.
ACCOUNT_CACHE_SECONDS = 300


def project_page(
    *, limit: int, cursor: str | None = None, search: str | None = None, org_id: str | None = None
) -> ProjectPage:
    return get_client().list_projects(limit=limit, cursor=cursor, search=search, org_id=org_id)


def region_list() -> list[Region]:
    return cache.get_or_set("neon:regions", get_client().list_regions, ACCOUNT_CACHE_SECONDS)


def organization_list() -> list[Organization]:
    return cache.get_or_set(
        "neon:organizations", get_client().list_organizations, ACCOUNT_CACHE_SECONDS
    )


def project_get(*, project_id: str) -> Project:
    return get_client().get_project(project_id)


def project_recoverable_page(*, limit: int = 100, cursor: str | None = None) -> ProjectPage:
    """Deleted projects still inside Neon's 7-day recovery window."""
    return get_client().list_projects(limit=limit, cursor=cursor, recoverable=True)


def branch_list(*, project_id: str) -> list[Branch]:
    """The project's branches, the default one first, then by name."""
    branches = get_client().list_branches(project_id)
    return sorted(branches, key=lambda b: (not b.default, b.name))


def endpoint_list(*, project_id: str, branch_id: str | None = None) -> list[Endpoint]:
    """The project's endpoints (only `branch_id`'s when given), read-write ones first."""
    endpoints = get_client().list_endpoints(project_id)
    if branch_id is not None:
        endpoints = [e for e in endpoints if e.branch_id == branch_id]
    return sorted(endpoints, key=lambda e: (not e.read_write, e.id))


def operation_list(*, project_id: str, limit: int = 20) -> OperationPage:
    return get_client().list_operations(project_id, limit=limit)


def database_list(*, project_id: str, branch_id: str) -> list[Database]:
    return get_client().list_databases(project_id, branch_id)


def role_list(*, project_id: str, branch_id: str) -> list[Role]:
    return get_client().list_roles(project_id, branch_id)
