"""Writes to Neon. Each service makes one Neon call inside `audited`, so every attempt, failed or
not, leaves exactly one audit record naming the person who asked."""

from typing import Any

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from audit.services import Actor, audited
from fleet.inventory import record_gone, record_project
from governance.services import (
    MSG_PROTECTED_IRREVERSIBLE,
    PROTECT_AT_CREATION,
    ensure_unprotected,
    protection_create,
)
from projects.neon import CreatedProject, Project, UpdatedProject, get_client
from projects.project_state import Change, changes_record, diff, project_state


def project_delete(*, actor: Actor, project_id: str, project_name: str) -> Project:
    """Delete a project; a protected one is refused (governance.services.ProjectProtected,
    recorded as a failed project.delete) before anything is sent to Neon."""
    request_data = {"project_id": project_id}
    ensure_unprotected(
        actor=actor,
        action="project.delete",
        project_id=project_id,
        project_name=project_name,
        request_data=request_data,
    )
    with audited(
        actor=actor,
        action="project.delete",
        project_id=project_id,
        project_name=project_name,
        request_data=request_data,
    ) as entry:
        project = get_client().delete_project(project_id, request_id=entry.request_id)
        entry.status = 200
    record_gone(project_id)
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
    record_project(project)
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
    record_project(created.project)
    if settings.PROTECT_NEW_PROJECTS:
        protection_create(
            actor=actor,
            project_id=created.project.id,
            project_name=created.project.name,
            reason=PROTECT_AT_CREATION,
        )
    return created


def project_changes(*, project: Project, desired: dict[str, Any]) -> tuple[dict, list[Change]]:
    """What going from the project to `desired` (a project state) takes: the update request's
    `project` object and one Change per setting. The review page shows these; apply sends them."""
    return diff(project_state(project), desired)


def project_update(
    *,
    actor: Actor,
    project: Project,
    changes: dict[str, Any],
) -> UpdatedProject | None:
    """Send Neon only what differs from `project` in `changes` (the desired state, in the update
    request's shape). Returns None, and records nothing, when nothing differs. An irreversible
    change to a protected project is refused (ProjectProtected, recorded) before any call."""
    body, diffs = project_changes(project=project, desired=changes)
    if not body:
        return None
    if any(change.irreversible for change in diffs):
        ensure_unprotected(
            actor=actor,
            action="project.update",
            project_id=project.id,
            project_name=project.name,
            request_data=body,
            message=MSG_PROTECTED_IRREVERSIBLE,
        )
    with audited(
        actor=actor,
        action="project.update",
        project_id=project.id,
        project_name=project.name,
        request_data=body,
    ) as entry:
        entry.changes = changes_record(diffs)
        updated = get_client().update_project(project.id, body, request_id=entry.request_id)
        entry.status = 200
    record_project(updated.project)  # the fleet shows the change at once
    return updated
