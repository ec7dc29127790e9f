"""The Neon management API v2, one method per endpoint the dashboard uses.

Every method goes through the gateway (projects.neon.gateway: cache, coalescing, last known
answers) and the transport (projects.neon.transport: budget, retries, errors). Reads that
tolerate seconds of staleness are cached for `cache_seconds` (account-wide lists for
`account_cache_seconds`); the project itself, its operations and every secret are read fresh
each time. Each write forgets what is cached of the project it touched, whether it succeeded or
not: a write that timed out may still have been applied.

Failure classes raised by every method (projects.neon.errors):
    NeonAuthError       401, 403: the key is missing, wrong or not allowed.
    NeonNotFound        404.
    NeonRejected        400, 409, 422 and other 4xx: Neon refused the request as asked.
    NeonLocked          423: operations are still running on the project.
    NeonRateLimited     429, with `retry_after` seconds when Neon sent one; its subclass
                        NeonBudgetSpent when the account budget had no room (nothing was sent).
    NeonUnavailable     5xx, refused or failed connections.
    NeonTimeout         no answer within the read timeout, or a write whose connection broke
                        after it was sent: either way a write may have been applied (the
                        message says so only for writes).
    NeonBadResponse     a 2xx whose body is not JSON, or is JSON without the fields the spec
                        requires; it carries the status and request id of that answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from projects.neon.budget import Budget
from projects.neon.gateway import Gateway
from projects.neon.models import (
    CONSUMPTION_METRICS,
    AuthDetails,
    BackupScheduleItem,
    Branch,
    ConnectionDetails,
    ConsumptionPage,
    CreatedProject,
    CurrentUser,
    Database,
    DatabaseRole,
    Endpoint,
    Operation,
    OperationPage,
    Organization,
    PreloadLibrary,
    Project,
    ProjectConsumption,
    ProjectPage,
    Region,
    UpdatedProject,
    _list,
    _obj,
    _req,
    _str,
)
from projects.neon.transport import Answer, Transport


def parse_project_page(body: Any, limit: int) -> ProjectPage:
    """A page of `GET /projects` (or `/projects/shared`) asked for `limit` at a time
    (benchmarks/render_bench.py times it on a 400-row page)."""
    projects = [Project.from_api(p) for p in _list(body, "projects")]
    cursor_value = (body.get("pagination") or {}).get("cursor")
    # Neon does not say how the last page is marked; a short page is the last one.
    next_cursor = cursor_value if cursor_value and len(projects) >= limit else None
    return ProjectPage(
        projects=projects,
        next_cursor=next_cursor,
        unavailable_project_ids=list(body.get("unavailable_project_ids") or []),
    )


def _branch_page(body: Any) -> list[Branch]:
    """A page of branches, each with its annotation (listed beside them by branch ID)."""
    annotations = body.get("annotations") if isinstance(body, Mapping) else None
    annotations = annotations if isinstance(annotations, Mapping) else {}
    return [
        Branch.from_api(b, annotations.get(b.get("id")) if isinstance(b, Mapping) else None)
        for b in _list(body, "branches")
    ]


def _iso(moment: datetime) -> str:
    """RFC 3339 in UTC, to the second, as the spec's examples write it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seg(value: str) -> str:
    """One URL path segment; IDs come from URLs the operator can type."""
    return quote(str(value), safe="")


class NeonClient:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        retry_budget: float = 10.0,
        max_attempts: int = 4,
        backoff_base: float = 0.25,
        pool_size: int = 10,
        budget: Budget | None = None,
        route_budgets: Mapping[str, Budget] | None = None,
        cache_seconds: float = 0.0,
        account_cache_seconds: float = 0.0,
        stale_seconds: int = 86400,
        fanout_threads: int = 16,
    ) -> None:
        self.transport = Transport(
            api_key=api_key,
            base_url=base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry_budget=retry_budget,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            pool_size=pool_size,
            budget=budget,
            route_budgets=route_budgets,
        )
        self.gateway = Gateway(stale_seconds=stale_seconds, threads=fanout_threads)
        self.cache_seconds = cache_seconds
        self.account_cache_seconds = account_cache_seconds

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def __repr__(self) -> str:
        return f"NeonClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the pooled connections (a closed client reconnects if used again)."""
        self.transport.close()

    # --- Plumbing ---

    def _get(self, route: str, path: str, *, params: Mapping[str, Any] | None = None) -> Answer:
        return self.transport.request("GET", path, route=f"GET {route}", params=params)

    def _cached[T](
        self,
        name: str,
        args: tuple,
        fetch: Callable[[], T],
        *,
        ttl: float,
        scope: str,
        keep_last: bool = True,
    ) -> T:
        return self.gateway.read(name, args, fetch, ttl=ttl, scope=scope, keep_last=keep_last)

    def _write(
        self,
        method: str,
        route: str,
        path: str,
        *,
        project_id: str | None,
        json: Any = None,
        request_id: str | None = None,
    ) -> Answer:
        try:
            return self.transport.request(
                method, path, route=f"{method} {route}", json=json, request_id=request_id
            )
        finally:
            if project_id:
                self.gateway.invalidate(project_id)

    def invalidate(self, project_id: str) -> None:
        """Forget what is cached of a project (the services' writes do this themselves)."""
        self.gateway.invalidate(project_id)

    def together(self, *calls: Callable[[], Any]) -> list[Any]:
        """Independent calls at once (see Gateway.together)."""
        return self.gateway.together(*calls)

    def submit(self, call: Callable[[], Any]):
        """Start a call now, collect its `.result()` later (see Gateway.submit)."""
        return self.gateway.submit(call)

    # --- Projects ---

    def list_projects(
        self,
        *,
        limit: int = 10,
        cursor: str | None = None,
        search: str | None = None,
        org_id: str | None = None,
        recoverable: bool = False,
    ) -> ProjectPage:
        params = {"limit": limit, "cursor": cursor, "search": search, "org_id": org_id}
        if recoverable:
            params["recoverable"] = "true"
        return self._project_page("/projects", params, limit)

    def list_shared_projects(
        self, *, limit: int = 10, cursor: str | None = None, search: str | None = None
    ) -> ProjectPage:
        """Projects other accounts shared with the key's user (never in `list_projects`)."""
        params = {"limit": limit, "cursor": cursor, "search": search}
        return self._project_page("/projects/shared", params, limit)

    def _project_page(self, path: str, params: dict, limit: int) -> ProjectPage:
        return self._cached(
            path.strip("/").replace("/", "-"),
            tuple(sorted(params.items())),
            lambda: self._get(path, path, params=params).parse(
                lambda body: parse_project_page(body, limit)
            ),
            ttl=0,
            scope="account",
            keep_last=not params.get("cursor"),
        )

    def get_project(self, project_id: str) -> Project:
        return self._cached(
            "project",
            (project_id,),
            lambda: self._get("/projects/{project_id}", f"/projects/{_seg(project_id)}").parse(
                lambda body: Project.from_api(_obj(body, "project"))
            ),
            ttl=0,
            scope=project_id,
        )

    def create_project(
        self, project: Mapping[str, Any], *, request_id: str | None = None
    ) -> CreatedProject:
        answer = self._write(
            "POST",
            "/projects",
            "/projects",
            project_id=None,
            json={"project": dict(project)},
            request_id=request_id,
        )
        return answer.parse(
            lambda body: CreatedProject(
                project=Project.from_api(_obj(body, "project")),
                connection_details=[
                    ConnectionDetails.from_api(c) for c in _list(body, "connection_uris")
                ],
                branch=Branch.from_api(_obj(body, "branch")),
                endpoints=[Endpoint.from_api(e) for e in _list(body, "endpoints")],
                databases=[Database.from_api(d) for d in _list(body, "databases")],
                roles=[DatabaseRole.from_api(r) for r in _list(body, "roles")],
                operations=[Operation.from_api(o) for o in _list(body, "operations")],
            )
        )

    def update_project(
        self, project_id: str, changes: Mapping[str, Any], *, request_id: str | None = None
    ) -> UpdatedProject:
        answer = self._write(
            "PATCH",
            "/projects/{project_id}",
            f"/projects/{_seg(project_id)}",
            project_id=project_id,
            json={"project": dict(changes)},
            request_id=request_id,
        )
        return answer.parse(
            lambda body: UpdatedProject(
                project=Project.from_api(_obj(body, "project")),
                operations=[Operation.from_api(o) for o in _list(body, "operations")],
            )
        )

    def delete_project(self, project_id: str, *, request_id: str | None = None) -> Project:
        answer = self._write(
            "DELETE",
            "/projects/{project_id}",
            f"/projects/{_seg(project_id)}",
            project_id=project_id,
            request_id=request_id,
        )
        return answer.parse(lambda body: Project.from_api(_obj(body, "project")))

    def recover_project(self, project_id: str, *, request_id: str | None = None) -> Project:
        answer = self._write(
            "POST",
            "/projects/{project_id}/recover",
            f"/projects/{_seg(project_id)}/recover",
            project_id=project_id,
            request_id=request_id,
        )
        return answer.parse(lambda body: Project.from_api(_obj(body, "project")))

    def connection_uri(
        self,
        project_id: str,
        *,
        database_name: str,
        role_name: str,
        branch_id: str | None = None,
        endpoint_id: str | None = None,
        pooled: bool = True,  # as the connect page preselects: what most applications want
        request_id: str | None = None,
    ) -> str:
        """Holds the password: never cached, never coalesced."""
        params = {
            "database_name": database_name,
            "role_name": role_name,
            "branch_id": branch_id,
            "endpoint_id": endpoint_id,
            "pooled": "true" if pooled else "false",
        }
        answer = self.transport.request(
            "GET",
            f"/projects/{_seg(project_id)}/connection_uri",
            route="GET /projects/{project_id}/connection_uri",
            params=params,
            request_id=request_id,
        )
        return answer.parse(lambda body: _str(body, "uri"))

    def available_preload_libraries(self, project_id: str) -> list[PreloadLibrary]:
        return self._cached(
            "preload-libraries",
            (project_id,),
            lambda: self._get(
                "/projects/{project_id}/available_preload_libraries",
                f"/projects/{_seg(project_id)}/available_preload_libraries",
            ).parse(lambda body: [PreloadLibrary.from_api(x) for x in _list(body, "libraries")]),
            ttl=self.cache_seconds,
            scope=project_id,
        )

    # --- Consumption and the spending limit (organizations on paid plans) ---

    def consumption_projects(
        self,
        *,
        org_id: str,
        start: datetime,
        end: datetime,
        granularity: str,
        project_ids: Sequence[str] = (),
        metrics: Sequence[str] = CONSUMPTION_METRICS,
        limit: int = 100,
        cursor: str | None = None,
    ) -> ConsumptionPage:
        """One page of the organization's projects' consumption from `start` up to `end`
        (hourly, daily or monthly; up to 100 projects). Never cached: a sync stores what it
        reads. Neon limits these calls apart from the rest (the transport's route budgets)."""
        params: dict[str, Any] = {
            "org_id": org_id,
            "from": _iso(start),
            "to": _iso(end),
            "granularity": granularity,
            "metrics": ",".join(metrics),
            "limit": limit,
            "cursor": cursor,
        }
        if project_ids:
            params["project_ids"] = ",".join(project_ids)
        answer = self._get("/consumption_history/v2/projects", "/consumption_history/v2/projects",
                           params=params)  # fmt: skip
        return answer.parse(
            lambda body: ConsumptionPage(
                projects=[ProjectConsumption.from_api(p) for p in _list(body, "projects")],
                next_cursor=(body.get("pagination") or {}).get("cursor") or None,
            )
        )

    def get_spending_limit(self, org_id: str) -> int | None:
        """The organization's monthly spending cap in cents (None: no cap)."""
        return self._get(
            "/organizations/{org_id}/billing/spending_limit",
            f"/organizations/{_seg(org_id)}/billing/spending_limit",
        ).parse(lambda body: _req(body, "spending_limit_cents"))

    def set_spending_limit(self, org_id: str, cents: int, *, request_id: str | None = None) -> int:
        answer = self._write(
            "PUT",
            "/organizations/{org_id}/billing/spending_limit",
            f"/organizations/{_seg(org_id)}/billing/spending_limit",
            project_id=None,
            json={"spending_limit_cents": cents},
            request_id=request_id,
        )
        return answer.parse(lambda body: _req(body, "spending_limit_cents"))

    def delete_spending_limit(self, org_id: str, *, request_id: str | None = None) -> None:
        self._write(
            "DELETE",
            "/organizations/{org_id}/billing/spending_limit",
            f"/organizations/{_seg(org_id)}/billing/spending_limit",
            project_id=None,
            request_id=request_id,
        )

    # --- What a project contains ---

    def list_branches(self, project_id: str) -> list[Branch]:
        """All branches of a project, following the cursor to the end."""

        def fetch() -> list[Branch]:
            branches: list[Branch] = []
            cursor: str | None = None
            while True:
                answer = self._get(
                    "/projects/{project_id}/branches",
                    f"/projects/{_seg(project_id)}/branches",
                    params={"cursor": cursor, "limit": 1000},
                )
                page = answer.parse(_branch_page)
                branches.extend(page)
                cursor = answer.parse(lambda body: (body.get("pagination") or {}).get("next"))
                if not cursor or not page:
                    return branches

        return self._cached(
            "branches", (project_id,), fetch, ttl=self.cache_seconds, scope=project_id
        )

    def get_branch(self, project_id: str, branch_id: str) -> Branch:
        return self._cached(
            "branch",
            (project_id, branch_id),
            lambda: self._get(
                "/projects/{project_id}/branches/{branch_id}",
                f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}",
            ).parse(lambda body: Branch.from_api(_obj(body, "branch"), body.get("annotation"))),
            ttl=self.cache_seconds,
            scope=project_id,
        )

    def update_branch(
        self,
        project_id: str,
        branch_id: str,
        *,
        protected: bool | None = None,
        name: str | None = None,
        request_id: str | None = None,
    ) -> Branch:
        """PATCH the branch (only what is given); Neon's answer is the branch as it now is."""
        changes: dict[str, Any] = {}
        if protected is not None:
            changes["protected"] = protected
        if name is not None:
            changes["name"] = name
        answer = self._write(
            "PATCH",
            "/projects/{project_id}/branches/{branch_id}",
            f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}",
            project_id=project_id,
            json={"branch": changes},
            request_id=request_id,
        )
        return answer.parse(lambda body: Branch.from_api(_obj(body, "branch")))

    def get_backup_schedule(self, project_id: str, branch_id: str) -> list[BackupScheduleItem]:
        """The branch's backup schedule (Beta in Neon's API); empty: no automatic snapshots."""
        return self._cached(
            "backup_schedule",
            (project_id, branch_id),
            lambda: self._get(
                "/projects/{project_id}/branches/{branch_id}/backup_schedule",
                f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}/backup_schedule",
            ).parse(
                lambda body: [BackupScheduleItem.from_api(item) for item in _list(body, "schedule")]
            ),
            ttl=self.cache_seconds,
            scope=project_id,
        )

    def set_backup_schedule(
        self,
        project_id: str,
        branch_id: str,
        schedule: list[BackupScheduleItem],
        *,
        request_id: str | None = None,
    ) -> None:
        """Replace the branch's backup schedule (Neon answers with an empty body)."""
        self._write(
            "PUT",
            "/projects/{project_id}/branches/{branch_id}/backup_schedule",
            f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}/backup_schedule",
            project_id=project_id,
            json={"schedule": [item.as_api() for item in schedule]},
            request_id=request_id,
        )

    def list_databases(self, project_id: str, branch_id: str) -> list[Database]:
        return self._cached(
            "databases",
            (project_id, branch_id),
            lambda: self._get(
                "/projects/{project_id}/branches/{branch_id}/databases",
                f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}/databases",
            ).parse(lambda body: [Database.from_api(d) for d in _list(body, "databases")]),
            ttl=self.cache_seconds,
            scope=project_id,
        )

    def list_roles(self, project_id: str, branch_id: str) -> list[DatabaseRole]:
        return self._cached(
            # The cache holds pickles, which name their class: the key changes with the class
            # name, so no instance reads a copy pickled under a name its code does not have.
            "database-roles",
            (project_id, branch_id),
            lambda: self._get(
                "/projects/{project_id}/branches/{branch_id}/roles",
                f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}/roles",
            ).parse(lambda body: [DatabaseRole.from_api(r) for r in _list(body, "roles")]),
            ttl=self.cache_seconds,
            scope=project_id,
        )

    def reveal_role_password(
        self, project_id: str, branch_id: str, role_name: str, *, request_id: str | None = None
    ) -> str:
        """A password: never cached, never coalesced."""
        path = (
            f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}"
            f"/roles/{_seg(role_name)}/reveal_password"
        )
        answer = self.transport.request(
            "GET",
            path,
            route="GET /projects/{project_id}/branches/{branch_id}/roles/{role_name}"
            "/reveal_password",
            request_id=request_id,
        )
        return answer.parse(lambda body: _str(body, "password"))

    def list_endpoints(self, project_id: str) -> list[Endpoint]:
        return self._cached(
            "endpoints",
            (project_id,),
            lambda: self._get(
                "/projects/{project_id}/endpoints", f"/projects/{_seg(project_id)}/endpoints"
            ).parse(lambda body: [Endpoint.from_api(e) for e in _list(body, "endpoints")]),
            ttl=self.cache_seconds,
            scope=project_id,
        )

    def list_operations(
        self, project_id: str, *, limit: int = 20, cursor: str | None = None
    ) -> OperationPage:
        def parse(body: Any) -> OperationPage:
            operations = [Operation.from_api(o) for o in _list(body, "operations")]
            cursor_value = (body.get("pagination") or {}).get("cursor")
            next_cursor = cursor_value if cursor_value and len(operations) >= limit else None
            return OperationPage(operations=operations, next_cursor=next_cursor)

        return self._cached(
            "operations",
            (project_id, limit, cursor),
            lambda: self._get(
                "/projects/{project_id}/operations",
                f"/projects/{_seg(project_id)}/operations",
                params={"limit": limit, "cursor": cursor},
            ).parse(parse),
            ttl=0,  # the operations panel polls until they finish: always fresh
            scope=project_id,
        )

    def get_operation(self, project_id: str, operation_id: str) -> Operation:
        return self._cached(
            "operation",
            (project_id, operation_id),
            lambda: self._get(
                "/projects/{project_id}/operations/{operation_id}",
                f"/projects/{_seg(project_id)}/operations/{_seg(operation_id)}",
            ).parse(lambda body: Operation.from_api(_obj(body, "operation"))),
            ttl=0,
            scope=project_id,
        )

    # --- Account ---

    def list_regions(self) -> list[Region]:
        return self._cached(
            "regions",
            (),
            lambda: self._get("/regions", "/regions").parse(
                lambda body: [Region.from_api(r) for r in _list(body, "regions")]
            ),
            ttl=self.account_cache_seconds,
            scope="account",
        )

    def list_organizations(self) -> list[Organization]:
        return self._cached(
            "organizations",
            (),
            lambda: self._get("/users/me/organizations", "/users/me/organizations").parse(
                lambda body: [Organization.from_api(o) for o in _list(body, "organizations")]
            ),
            ttl=self.account_cache_seconds,
            scope="account",
        )

    def get_current_user(self) -> CurrentUser:
        return self._cached(
            "users-me",
            (),
            lambda: self._get("/users/me", "/users/me").parse(CurrentUser.from_api),
            ttl=self.account_cache_seconds,
            scope="account",
        )

    def get_auth_details(self) -> AuthDetails:
        """Who the key is; fresh each time, so a health check sees Neon as it is now."""
        return self._get("/auth", "/auth").parse(
            lambda body: AuthDetails(
                account_id=str(_req(body, "account_id")),
                auth_method=str(_req(body, "auth_method")),
            )
        )
