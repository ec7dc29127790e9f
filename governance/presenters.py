"""What a request changes, as rows of before → after for the approval page; and what governance
adds to the core's project pages (projects.extensions page extras)."""

from dataclasses import dataclass

from governance import registry, selectors
from governance.forms import ReasonForm
from governance.models import ApprovalRequest
from governance.services import approval_described, approval_needed
from projects import extensions
from projects.project_state import diff

CARD = "governance/_protection.html"

Kind = ApprovalRequest.Kind


@dataclass(frozen=True)
class ChangeRow:
    label: str
    before_text: str
    after_text: str
    irreversible: bool = False


def approval_changes(approval: ApprovalRequest) -> list[ChangeRow]:
    change = approval.change or {}
    if approval.kind == Kind.IRREVERSIBLE:
        _body, changes = diff(approval.before or {}, change.get("desired") or {})
        return [ChangeRow(c.label, c.before_text, c.after_text, c.irreversible) for c in changes]
    if approval.kind == Kind.DELETE:
        return [
            ChangeRow(
                "Project",
                f"{approval.project_name} ({approval.project_id})",
                "deleted (recoverable for 7 days)",
                irreversible=False,
            )
        ]
    if approval.kind == Kind.UNPROTECT:
        protection = change.get("protection") or {}
        return [
            ChangeRow(
                "Deletion protection",
                f"on (by {protection.get('protected_by', '?')}: “{protection.get('reason', '')}”)",
                f"off (“{change.get('reason', '')}”)",
            )
        ]
    described = approval_described(approval)
    if described is not None:
        return described
    return [ChangeRow("Change", "", approval.summary)]


def confirmation(approval: ApprovalRequest) -> str:
    """What the approving admin types when approving cannot be undone here: the project's name
    for a delete or an irreversible change, the number of projects for a bulk delete; "" when
    nothing needs typing."""
    if approval.kind in (Kind.DELETE, Kind.IRREVERSIBLE):
        return approval.project_name or approval.project_id
    executor = registry.executor_for(approval.kind)  # another app's kind says for itself
    return executor.confirmation(approval) if executor and executor.confirmation else ""


def protection_card(*, request, project_id: str, project_name: str, form=None) -> dict:
    """The protection card's context, for every page that shows it."""
    protection = selectors.protection_get(project_id=project_id)
    return {
        "protection": protection,
        "protection_project_id": project_id,
        "protection_project_name": project_name,
        "protection_form": form or ReasonForm(),
        "unprotect_needs_approval": approval_needed(Kind.UNPROTECT),
        "unprotect_pending": selectors.approval_pending_for(
            project_id=project_id, kind=ApprovalRequest.Kind.UNPROTECT
        ),
        "protection_next": request.get_full_path(),
    }


def _detail_extra(*, request, project, **_) -> dict:
    card = protection_card(request=request, project_id=project.id, project_name=project.name)
    return {**card, "cards": [CARD]}


def _delete_extra(*, request, project, **_) -> dict:
    return {**_detail_extra(request=request, project=project), "delete_needs_approval": (
        approval_needed(Kind.DELETE)
    )}  # fmt: skip


def _review_extra(*, project, irreversible: bool, **_) -> dict:
    """What the settings review says before Apply: an irreversible change to a protected
    project will be refused, and one that needs a second admin becomes a request."""
    if not irreversible:
        return {}
    return {
        "protection": selectors.protection_get(project_id=project.id),
        "needs_approval": approval_needed(Kind.IRREVERSIBLE),
    }


def _list_extra(*, project_ids, **_) -> dict:
    return {"protected": selectors.protected_ids_shown(project_ids=project_ids)}


def register_page_extras() -> None:
    extensions.register_page_extra("detail", _detail_extra)
    extensions.register_page_extra("delete", _delete_extra)
    extensions.register_page_extra("settings_review", _review_extra)
    extensions.register_page_extra("list", _list_extra)
