"""Writes to Neon. Each service makes one Neon call inside `audited`, so every attempt, failed or
not, leaves exactly one audit record naming the person who asked."""

from dataclasses import fields
from typing import Any

from django.views.decorators.debug import sensitive_variables

from audit.services import Actor, audited
from projects.neon import CreatedProject, Project, Quota, UpdatedProject, get_client

# Neon's quota keys, from the client's Quota dataclass (the forms map their fields onto these).
QUOTA_KEYS = tuple(f.name for f in fields(Quota))


def project_delete(*, actor: Actor, project_id: str, project_name: str) -> Project:
    with audited(
        actor=actor,
        action="project.delete",
        project_id=project_id,
        project_name=project_name,
        request_data={"project_id": project_id},
    ) as entry:
        project = get_client().delete_project(project_id, request_id=entry.request_id)
        entry.status = 200
    return project


def project_recover(*, actor: Actor, project_id: str, project_name: str = "") -> Project:
    """Bring back a deleted project that is still inside Neon's 7-day recovery window.

    `project_name` is the name the caller showed, so a failed recover names the project too."""
    with audited(
        actor=actor,
        action="project.recover",
        project_id=project_id,
        project_name=project_name,
        request_data={"project_id": project_id},
    ) as entry:
        project = get_client().recover_project(project_id, request_id=entry.request_id)
        entry.project_name = project.name
        entry.status = 200
    return project


@sensitive_variables("uri")  # kept out of error reports (those written with DEBUG off)
def connection_reveal(
    *,
    actor: Actor,
    project: Project,
    branch_id: str,
    endpoint_id: str,
    database_name: str,
    role_name: str,
    pooled: bool,
) -> str:
    """The connection URI with its password. Showing a secret is audited like a write."""
    with audited(
        actor=actor,
        action="connection.reveal",
        project_id=project.id,
        project_name=project.name,
        request_data={
            "branch_id": branch_id,
            "endpoint_id": endpoint_id,
            "database_name": database_name,
            "role_name": role_name,
            "pooled": pooled,
        },
    ) as entry:
        uri = get_client().connection_uri(
            project.id,
            branch_id=branch_id,
            endpoint_id=endpoint_id,
            database_name=database_name,
            role_name=role_name,
            pooled=pooled,
            request_id=entry.request_id,
        )
        entry.status = 200
    return uri


@sensitive_variables("created")
def project_create(*, actor: Actor, data: dict[str, Any]) -> CreatedProject:
    """Create a project from the create request's `project` object. Who may turn on irreversible
    settings is the view's check (projects.views.edit), audited there when it refuses.

    The result holds the connection URI and password: show them once, never store or log them.
    """
    with audited(
        actor=actor, action="project.create", project_name=data.get("name", ""), request_data=data
    ) as entry:
        created = get_client().create_project(data, request_id=entry.request_id)
        entry.project_id, entry.project_name = created.project.id, created.project.name
        entry.status = 201
    return created


# Values compared and sent whole: Neon replaces them as one piece, and sending half of
# `quota`, `allowed_ips` or `preload_libraries` would leave the other half to Neon's
# interpretation (is a missing quota unchanged, or unlimited?).
_WHOLE_VALUES = frozenset(
    {"quota", "maintenance_window", "allowed_ips", "preload_libraries", "pg_settings"}
)


def _project_state(project: Project) -> dict[str, Any]:
    """The project's current values in the update request's shape, absent values as Neon's
    defaults, so a form that leaves a field alone compares equal."""
    s, e = project.settings, project.endpoint_defaults
    window = s.maintenance_window
    return {
        "name": project.name,
        "history_retention_seconds": project.history_retention_seconds,
        "settings": {
            "quota": {key: getattr(s.quota, key) or 0 for key in QUOTA_KEYS},
            "allowed_ips": {
                "ips": list(s.allowed_ips),
                "protected_branches_only": s.protected_branches_only,
            },
            "enable_logical_replication": s.enable_logical_replication,
            "maintenance_window": (
                {
                    "weekdays": sorted(window.weekdays),
                    "start_time": window.start_time,
                    "end_time": window.end_time,
                }
                if window
                else None
            ),
            "block_public_connections": s.block_public_connections,
            "block_vpc_connections": s.block_vpc_connections,
            "audit_log_level": s.audit_log_level,
            "hipaa": s.hipaa,
            "preload_libraries": {
                "use_defaults": bool(s.preload_use_defaults),
                "enabled_libraries": sorted(s.preload_libraries),
            },
        },
        "default_endpoint_settings": {
            "autoscaling_limit_min_cu": e.autoscaling_limit_min_cu,
            "autoscaling_limit_max_cu": e.autoscaling_limit_max_cu,
            "suspend_timeout_seconds": e.suspend_timeout_seconds or 0,
            "pg_settings": dict(e.pg_settings),
        },
    }


def _comparable(key: str, value: Any) -> Any:
    if key == "preload_libraries" and value:  # their order means nothing
        return {**value, "enabled_libraries": sorted(value.get("enabled_libraries") or [])}
    return value


def project_changes(
    *, project: Project, desired: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """What differs between `desired` (update-request shape) and the project: the body to send,
    and {dotted.field: {"before", "after"}} for the audit log."""

    def walk(want: dict, have: dict, prefix: str) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for key, value in want.items():
            before = (have or {}).get(key)
            if isinstance(value, dict) and key not in _WHOLE_VALUES:
                nested = walk(value, before or {}, f"{prefix}{key}.")
                if nested:
                    body[key] = nested
            elif _comparable(key, value) != _comparable(key, before):
                body[key] = value
                diff[f"{prefix}{key}"] = {"before": before, "after": value}
        return body

    diff: dict[str, dict[str, Any]] = {}
    body = walk(desired, _project_state(project), "")
    return body, diff


def project_update(
    *,
    actor: Actor,
    project: Project,
    changes: dict[str, Any],
) -> UpdatedProject | None:
    """Send Neon only what differs from `project` in `changes` (the desired state, in the update
    request's shape). Returns None, and records nothing, when nothing differs."""
    body, diff = project_changes(project=project, desired=changes)
    if not body:
        return None
    with audited(
        actor=actor,
        action="project.update",
        project_id=project.id,
        project_name=project.name,
        request_data=body,
    ) as entry:
        entry.changes = diff
        updated = get_client().update_project(project.id, body, request_id=entry.request_id)
        entry.status = 200
    return updated
