"""Reads from Neon. Views call these; only services write."""

from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit, urlunsplit

from django.core.cache import cache

from projects.compute import ComputeLimits
from projects.neon import (
    ACCOUNT_CACHE_SECONDS,
    BackupScheduleItem,
    Branch,
    Database,
    DatabaseRole,
    Endpoint,
    NeonAuthError,
    NeonError,
    NeonNotFound,
    NeonRejected,
    OperationPage,
    Organization,
    PreloadLibrary,
    Project,
    ProjectPage,
    Region,
    get_client,
)


def together(*reads):
    """Independent reads at once; their results in order (the first error is raised)."""
    return get_client().together(*reads)


# Remembered once Neon said so: this key belongs only to organizations.
ORG_ONLY_KEY = "neon:org-only"


class OrgRequired(Exception):
    """The personal listing was refused: the key lives only in organizations."""


def org_required(error: NeonRejected) -> bool:
    """Neon's answer to listing without `org_id` for a key that belongs only to organizations."""
    return error.status == 400 and "org_id" in error.message


def account_is_org_only() -> bool:
    return bool(cache.get(ORG_ONLY_KEY))


def project_page(
    *,
    limit: int,
    cursor: str | None = None,
    search: str | None = None,
    org_id: str | None = None,
    recoverable: bool = False,
) -> ProjectPage:
    """A page of projects (`recoverable`: of those deleted and still inside Neon's 7-day
    recovery window); without `org_id` Neon lists the personal account's only (and refuses for
    a key without one: OrgRequired, remembered for a day)."""
    try:
        return get_client().list_projects(
            limit=limit,
            cursor=cursor,
            search=search or None,
            org_id=org_id or None,
            recoverable=recoverable,
        )
    except NeonRejected as exc:
        if org_id or not org_required(exc):
            raise
        cache.set(ORG_ONLY_KEY, True, 86400)
        raise OrgRequired from exc


def region_list() -> list[Region]:
    return get_client().list_regions()  # cached by the gateway, like every account list


def organization_list() -> list[Organization]:
    return get_client().list_organizations()


def organization_name(*, org_id: str | None) -> str:
    """The organization's name as people know it (the ID if the key cannot see it); "" for the
    personal account. Neon's project answer carries only the ID; the list is cached."""
    if not org_id:
        return ""
    try:
        names = {org.id: org.name for org in organization_list()}
    except NeonError:
        return org_id
    return names.get(org_id, org_id)


def compute_limits() -> ComputeLimits:
    """The plan's compute ceiling. A key that may not read `/users/me` (an organization's key,
    say) gets no ceiling here: Neon still refuses what the plan does not allow."""

    def fetch() -> ComputeLimits:
        try:
            user = get_client().get_current_user()
        except (NeonAuthError, NeonNotFound, NeonRejected):
            return ComputeLimits()
        return ComputeLimits(plan_max_cu=user.max_autoscaling_limit)

    # The plan's limits change rarely; a key that may not read them is not asked again soon.
    return cache.get_or_set("neon:compute-limits", fetch, ACCOUNT_CACHE_SECONDS)


def project_get(*, project_id: str) -> Project:
    return get_client().get_project(project_id)


def project_settings_reads(
    *, project_id: str
) -> tuple[Project, list[PreloadLibrary], ComputeLimits]:
    """What the settings form is built from, read at once."""
    project, libraries, limits = get_client().together(
        lambda: project_get(project_id=project_id),
        lambda: preload_library_list(project_id=project_id),
        compute_limits,
    )
    return project, libraries, limits


def project_create_choices() -> tuple[list[Region], list[Organization], ComputeLimits]:
    """The create form's regions, organizations and compute limits, read at once."""
    regions, organizations, limits = get_client().together(
        region_list, organization_list, compute_limits
    )
    return regions, organizations, limits


def branch_list(*, project_id: str) -> list[Branch]:
    """The project's branches, the default one first, then by name."""
    branches = get_client().list_branches(project_id)
    return sorted(branches, key=lambda b: (not b.default, b.name))


def branch_get(*, project_id: str, branch_id: str) -> Branch:
    return get_client().get_branch(project_id, branch_id)


def backup_schedule_get(*, project_id: str, branch_id: str) -> list[BackupScheduleItem]:
    return get_client().get_backup_schedule(project_id, branch_id)


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


def database_role_list(*, project_id: str, branch_id: str) -> list[DatabaseRole]:
    return get_client().list_roles(project_id, branch_id)


@dataclass(frozen=True, kw_only=True)
class BranchContents:
    """One branch and what lives on it: its computes and its databases."""

    branch: Branch
    endpoints: list[Endpoint]
    databases: list[Database]


@dataclass(frozen=True, kw_only=True)
class ProjectDeleteSummary:
    """What deleting a project takes with it, as Neon lists it now."""

    branches: list[BranchContents]
    endpoints: list[Endpoint]  # all of them, so a compute on an unlisted branch still counts

    @property
    def branch_count(self) -> int:
        return len(self.branches)

    @property
    def endpoint_count(self) -> int:
        return len(self.endpoints)

    @property
    def database_count(self) -> int:
        return sum(len(c.databases) for c in self.branches)

    @property
    def protected_branches(self) -> list[Branch]:
        """Neon refuses to delete a project while any of these exist (FACTS.md section 11)."""
        return [c.branch for c in self.branches if c.branch.protected]


def project_delete_summary(*, project_id: str) -> ProjectDeleteSummary:
    """The project's branches, computes and databases. Databases live on branches, so this is
    one call per branch, made at once: a project with many branches costs as many requests."""
    client = get_client()
    endpoints, branches = client.together(
        lambda: endpoint_list(project_id=project_id), lambda: branch_list(project_id=project_id)
    )
    databases = client.together(
        *[partial(database_list, project_id=project_id, branch_id=b.id) for b in branches]
    )
    contents = [
        BranchContents(
            branch=branch,
            endpoints=[e for e in endpoints if e.branch_id == branch.id],
            databases=branch_databases,
        )
        for branch, branch_databases in zip(branches, databases, strict=True)
    ]
    return ProjectDeleteSummary(branches=contents, endpoints=endpoints)


MASKED = "********"


@dataclass(frozen=True, kw_only=True)
class ConnectionOptions:
    """What a connection can be made with: one branch's computes, databases and roles.

    The project itself is read alongside, not before: nothing in the choices depends on it, so
    the connection URI can be asked for while it is still on its way."""

    project_future: Future[Project] = field(repr=False)
    branches: list[Branch]
    branch: Branch | None
    endpoints: list[Endpoint]
    databases: list[Database]
    roles: list[DatabaseRole]

    @property
    def project(self) -> Project:
        return self.project_future.result()

    @property
    def default_endpoint_id(self) -> str:
        return self.endpoints[0].id if self.endpoints else ""

    @property
    def default_role_name(self) -> str:
        # Protected roles are for humans with extra checks; apps use the others.
        role = next((r for r in self.roles if not r.protected), None) or next(
            iter(self.roles), None
        )
        return role.name if role else ""

    @property
    def default_database_name(self) -> str:
        return self.databases[0].name if self.databases else ""


def connection_options(*, project_id: str, branch_id: str | None = None) -> ConnectionOptions:
    """The choices for `branch_id`, or for the default branch if that is not the project's.

    Two rounds of calls made at once (branches and endpoints, then the branch's databases and
    roles), with the project read alongside both."""
    client = get_client()
    project = client.submit(lambda: project_get(project_id=project_id))
    try:
        branches, endpoints = client.together(
            lambda: branch_list(project_id=project_id),
            lambda: endpoint_list(project_id=project_id),
        )
    except NeonNotFound:
        project.result()  # the project's own 404 (or error) is the one to show
        raise
    branch = next((b for b in branches if b.id == branch_id), None) or next(iter(branches), None)
    if branch is None:
        return ConnectionOptions(
            project_future=project, branches=[], branch=None, endpoints=[], databases=[], roles=[]
        )
    databases, roles = client.together(
        lambda: database_list(project_id=project_id, branch_id=branch.id),
        lambda: database_role_list(project_id=project_id, branch_id=branch.id),
    )
    return ConnectionOptions(
        project_future=project,
        branches=branches,
        branch=branch,
        endpoints=[e for e in endpoints if e.branch_id == branch.id],
        databases=databases,
        roles=roles,
    )


def password_masked(uri: str) -> str:
    """The URI with its password replaced, so it can be shown to anyone who may read the project."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASKED}@{hostinfo}"))


def connection_uri_masked(
    *,
    project_id: str,
    branch_id: str,
    endpoint_id: str,
    database_name: str,
    role_name: str,
    pooled: bool,
) -> str:
    """Neon's connection URI without its password; revealing it is `services.connection_reveal`."""
    uri = get_client().connection_uri(
        project_id,
        branch_id=branch_id,
        endpoint_id=endpoint_id,
        database_name=database_name,
        role_name=role_name,
        pooled=pooled,
    )
    return password_masked(uri)


def preload_library_list(*, project_id: str) -> list[PreloadLibrary]:
    """The libraries this project's computes can preload (the settings form's choices)."""
    return get_client().available_preload_libraries(project_id)
