"""The built-in kinds of approval request: what approving each one runs. Registered through the
same registry other apps use (governance.registry), at start-up (GovernanceConfig.ready).

A delete's and a settings change's `change` are the core's (projects.services.delete_action,
update_action); the executors run them through the core's services, which ask the guards again.
"""

from audit.services import Actor
from governance import selectors
from governance.models import ApprovalRequest
from governance.registry import register_executor
from governance.services import GovernanceError, protection_remove
from projects import services as project_services
from projects.selectors import project_get

Kind = ApprovalRequest.Kind
MSG_BODY_DIFFERS = "What would be sent now is not what was requested; nothing was sent."
MSG_PROTECTION_CHANGED = "The protection changed since the request; nothing was done."


def execute_delete(approval: ApprovalRequest, actor: Actor) -> str:
    project_services.project_delete(
        actor=actor, project_id=approval.change["project_id"], project_name=approval.project_name
    )
    return f"Project “{approval.project_name}” was deleted (recoverable for 7 days)."


def execute_irreversible(approval: ApprovalRequest, actor: Actor) -> str:
    project = project_get(project_id=approval.project_id)
    desired = approval.change["desired"]
    body, _changes = project_services.project_changes(project=project, desired=desired)
    if body != approval.change["body"]:
        raise GovernanceError(MSG_BODY_DIFFERS)
    project_services.project_update(actor=actor, project=project, changes=desired)
    return f"Settings of “{project.name}” saved."


def unprotect_change(*, protection, reason: str) -> dict:
    return {
        "project_id": protection.project_id,
        "reason": reason,
        "protection": {
            "protected_by": protection.protected_by,
            "protected_at": protection.protected_at.isoformat(),
            "reason": protection.reason,
        },
    }


def execute_unprotect(approval: ApprovalRequest, actor: Actor) -> str:
    protection = selectors.protection_get(project_id=approval.project_id)
    asked_about = approval.change["protection"]
    if protection is None or protection.protected_at.isoformat() != asked_about["protected_at"]:
        raise GovernanceError(MSG_PROTECTION_CHANGED)
    protection_remove(
        actor=actor,
        project_id=approval.project_id,
        reason=approval.change["reason"],
        approval_id=approval.pk,
    )
    return f"Protection of “{approval.project_name}” removed."


def register_kinds() -> None:
    register_executor(Kind.DELETE, execute=execute_delete)
    register_executor(Kind.IRREVERSIBLE, execute=execute_irreversible)
    register_executor(Kind.UNPROTECT, execute=execute_unprotect)
