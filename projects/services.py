"""Writes to Neon. Each service makes one Neon call inside `audited`, so every attempt, failed or
not, leaves exactly one audit record naming the person who asked.

Features hear of each write through `projects.extensions` (the fleet keeps its inventory from
`project_written`), and a delete or an irreversible change is put to the registered guards
first (governance refuses a protected project), so no import here names a feature."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.views.decorators.debug import sensitive_variables

from audit.services import Actor, AuditEntry, audited
from projects.extensions import Action, Attempt, branch_changed, check_guards, written
from projects.neon import (
    BackupScheduleItem,
    Branch,
    CreatedProject,
    Project,
    UpdatedProject,
    get_client,
)
from projects.project_state import Change, changes_record, diff, project_state

# How a write's one call is made: at once, or (bulk) again while Neon says it did nothing.
type Send = Callable[[Callable[[], Any]], Any]


def _at_once(call: Callable[[], Any]) -> Any:
    return call()


def delete_attempt(
    *, actor: Actor, project_id: str, project_name: str = "", bulk_job_id: int | None = None
) -> Attempt:
    """What the guards are asked before a project is deleted."""
    return Attempt(
        actor=actor,
        action="project.delete",
        project_id=project_id,
        project_name=project_name,
        request_data={"project_id": project_id},
        bulk_job_id=bulk_job_id,
    )


def project_delete(*, actor: Actor, project_id: str, project_name: str) -> Project:
    """Delete a project; one a guard refuses (a protected project: extensions.Refused, recorded
    as a failed project.delete) is refused before anything is sent to Neon."""
    check_guards(delete_attempt(actor=actor, project_id=project_id, project_name=project_name))
    return project_delete_sent(actor=actor, project_id=project_id, project_name=project_name)


def project_delete_sent(
    *,
    actor: Actor,
    project_id: str,
    project_name: str,
    bulk_job_id: int | None = None,
    request_id: str | None = None,
    send: Send = _at_once,
) -> Project | None:
    """The audited DELETE itself, for a caller that has asked the guards (bulk.apply wraps the
    call in its patience through `send`, which returns None when a lost answer turned out to
    have been applied). Features are told of the deletion."""
    with audited(
        actor=actor,
        action="project.delete",
        project_id=project_id,
        project_name=project_name,
        request_data={"project_id": project_id},
        bulk_job_id=bulk_job_id,
    ) as entry:
        entry.request_id = request_id or entry.request_id
        client = get_client()
        project = send(lambda: client.delete_project(project_id, request_id=entry.request_id))
        entry.status = 200
    written(project_id, project, deleted=True, actor=actor)
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
    written(project.id, project, actor=actor)
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
    settings is the view's check (projects.views.edit), audited there when it refuses; what
    follows a creation (protection when PROTECT_NEW_PROJECTS) hangs off `project_written`.

    The result holds the connection URI and password: show them once, never store or log them.
    """
    with audited(
        actor=actor, action="project.create", project_name=data.get("name", ""), request_data=data
    ) as entry:
        created = get_client().create_project(data, request_id=entry.request_id)
        entry.project_id, entry.project_name = created.project.id, created.project.name
        entry.status = 201
    written(created.project.id, created.project, created=True, actor=actor)
    return created


def project_changes(*, project: Project, desired: dict[str, Any]) -> tuple[dict, list[Change]]:
    """What going from the project to `desired` (a project state) takes: the update request's
    `project` object and one Change per setting. The review page shows these; apply sends them."""
    return diff(project_state(project), desired)


def update_attempt(
    *,
    actor: Actor,
    project: Project,
    body: dict[str, Any],
    bulk_job_id: int | None = None,
    irreversible: bool = True,
    desired: dict[str, Any] | None = None,
    override: str = "",
) -> Attempt:
    """What the guards are asked before a change is sent."""
    return Attempt(
        actor=actor,
        action="project.update",
        project_id=project.id,
        project_name=project.name,
        request_data=body,
        irreversible=irreversible,
        bulk_job_id=bulk_job_id,
        before=project_state(project),
        desired=desired,
        override=override,
    )


def project_update(
    *,
    actor: Actor,
    project: Project,
    changes: dict[str, Any],
) -> UpdatedProject | None:
    """Send Neon only what differs from `project` in `changes` (the desired state, in the update
    request's shape). Returns None, and records nothing, when nothing differs. An irreversible
    change a guard refuses (a protected project) is refused, and recorded, before any call."""
    body, diffs = project_changes(project=project, desired=changes)
    if not body:
        return None
    if any(change.irreversible for change in diffs):
        check_guards(update_attempt(actor=actor, project=project, body=body))
    return project_update_sent(actor=actor, project=project, body=body, changes=diffs)


def project_update_sent(
    *,
    actor: Actor,
    project: Project,
    body: dict[str, Any],
    changes: list[Change],
    bulk_job_id: int | None = None,
    request_id: str | None = None,
    send: Send = _at_once,
) -> UpdatedProject | None:
    """The audited PATCH itself, for a caller that has asked the guards: `body` is the update
    request's `project` object, `changes` what it changes (the record keeps them). bulk.apply
    wraps the call in its patience through `send`, which returns None when a lost answer turned
    out to have been applied. Features are told of Neon's answer."""
    with audited(
        actor=actor,
        action="project.update",
        project_id=project.id,
        project_name=project.name,
        request_data=body,
        bulk_job_id=bulk_job_id,
    ) as entry:
        entry.request_id = request_id or entry.request_id
        entry.changes = changes_record(changes)
        client = get_client()
        updated = send(lambda: client.update_project(project.id, body, request_id=entry.request_id))
        entry.status = 200
    if updated is not None:
        written(project.id, updated.project, actor=actor)
    return updated


# --- Branches ---------------------------------------------------------------------------------


@contextmanager
def _branch_write(
    *,
    actor: Actor,
    action: str,
    branch: Branch,
    project_name: str,
    asked: dict[str, Any],
    bulk_job_id: int | None,
) -> Iterator[AuditEntry]:
    """One write to a branch: the guards asked first (a policy's rules on the default branch),
    then exactly one audit record around the call the block makes."""
    check_guards(
        Attempt(
            actor=actor,
            action=action,
            project_id=branch.project_id,
            project_name=project_name,
            request_data={**asked, "default": branch.default},
            bulk_job_id=bulk_job_id,
        )
    )
    with audited(
        actor=actor,
        action=action,
        project_id=branch.project_id,
        project_name=project_name,
        request_data=asked,
        bulk_job_id=bulk_job_id,
    ) as entry:
        yield entry
        entry.status = 200


def branch_protect(
    *,
    actor: Actor,
    branch: Branch,
    project_name: str,
    protected: bool,
    bulk_job_id: int | None = None,
) -> Branch:
    """Protect the branch in Neon, or take its protection away. Neon's answer is the branch as
    it now is."""
    asked = {"branch_id": branch.id, "branch_name": branch.name, "protected": protected}
    with _branch_write(
        actor=actor, action="branch.update", branch=branch, project_name=project_name,
        asked=asked, bulk_job_id=bulk_job_id,
    ) as entry:  # fmt: skip
        entry.changes = {"protected": {"before": branch.protected, "after": protected}}
        updated = get_client().update_branch(
            branch.project_id, branch.id, protected=protected, request_id=entry.request_id
        )
    branch_changed(branch.project_id, updated, None, actor=actor)
    return updated


def backup_schedule_set(
    *,
    actor: Actor,
    branch: Branch,
    project_name: str,
    before: list[BackupScheduleItem],
    schedule: list[BackupScheduleItem],
    bulk_job_id: int | None = None,
) -> None:
    """Replace the branch's backup schedule."""
    asked = {"branch_id": branch.id, "schedule": [item.as_api() for item in schedule]}
    with _branch_write(
        actor=actor, action="branch.backup_schedule", branch=branch, project_name=project_name,
        asked=asked, bulk_job_id=bulk_job_id,
    ) as entry:  # fmt: skip
        entry.changes = {
            "backup_schedule": {
                "before": [item.as_api() for item in before],
                "after": asked["schedule"],
            }
        }
        get_client().set_backup_schedule(
            branch.project_id, branch.id, schedule, request_id=entry.request_id
        )
    branch_changed(branch.project_id, branch, schedule, actor=actor)


# --- Actions: what a person asked for, to run now or after approval (projects.extensions) -----

DELETE, IRREVERSIBLE, SETTINGS = "delete", "irreversible", "settings"


def delete_action(*, actor: Actor, project: Project, reason: str = "") -> Action:
    """Deleting `project`, as the decider takes it. `change` is what an approved request runs
    (governance.executors reads project_id and project_name)."""
    return Action(
        kind=DELETE,
        actor=actor,
        summary=f"Delete project “{project.name}”" + (f" ({reason})" if reason else ""),
        change={"project_id": project.id, "project_name": project.name},
        # The decider asks the guards (attempt) before it runs this: not asked twice.
        run=lambda: project_delete_sent(
            actor=actor, project_id=project.id, project_name=project.name
        ),
        project_id=project.id,
        project_name=project.name,
        before=project_state(project),
        attempt=delete_attempt(actor=actor, project_id=project.id, project_name=project.name),
    )


def update_action(
    *, actor: Actor, project: Project, desired: dict[str, Any], override: str = ""
) -> Action:
    """Changing `project` to `desired` (a project state), as the decider takes it: the guards
    are asked first, an irreversible change may need approval; `change` keeps the exact request
    body and the desired state (governance.executors sends it only if the body is still the
    same). `override`: an admin's reason to apply what a guard allows admins to override."""
    body, changes = project_changes(project=project, desired=desired)
    irreversible = any(change.irreversible for change in changes)
    labels = ", ".join(change.label for change in changes)
    return Action(
        kind=IRREVERSIBLE if irreversible else SETTINGS,
        actor=actor,
        summary=f"Change {labels} of “{project.name}”",
        change={"body": body, "desired": desired},
        # The decider asks the guards first; the body and changes are the ones computed here.
        run=lambda: (
            project_update_sent(actor=actor, project=project, body=body, changes=changes)
            if body
            else None
        ),
        project_id=project.id,
        project_name=project.name,
        before=project_state(project),
        attempt=update_attempt(
            actor=actor,
            project=project,
            body=body,
            irreversible=irreversible,
            desired=desired,
            override=override,
        ),
    )
