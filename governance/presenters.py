"""What a request changes, as rows of before → after for the approval page."""

from dataclasses import dataclass

from governance import selectors
from governance.forms import ReasonForm
from governance.models import ApprovalRequest
from governance.services import approval_described
from projects.project_state import diff

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


def protection_card(*, request, project_id: str, project_name: str, form=None) -> dict:
    """The protection card's context, for every page that shows it."""
    protection = selectors.protection_get(project_id=project_id)
    return {
        "protection": protection,
        "protection_project_id": project_id,
        "protection_project_name": project_name,
        "protection_form": form or ReasonForm(),
        "unprotect_needs_approval": selectors.approval_required("unprotect"),
        "unprotect_pending": selectors.approval_pending_for(
            project_id=project_id, kind=ApprovalRequest.Kind.UNPROTECT
        ),
        "protection_next": request.get_full_path(),
    }
