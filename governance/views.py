"""Protection (on the project's pages) and the approval requests' pages."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from audit.services import Actor
from governance import expiry, selectors, services
from governance.executors import unprotect_change
from governance.forms import ApprovalFilterForm, DecisionForm, ReasonForm
from governance.models import ApprovalRequest
from governance.presenters import CARD, approval_changes, confirmation, protection_card
from neonadmin.htmx import render_page_or_fragment, wants_fragment
from neonadmin.roles import Role, has_role, role_required
from projects.extensions import Action, Requested
from projects.project_state import project_state
from projects.selectors import project_get
from projects.views import go

PER_PAGE = 50
PROTECTION_CHANGED = "protection-changed"
MSG_PROTECTED = "“{name}” is now protected from deletion and irreversible changes."
MSG_UNPROTECTED = "Protection of “{name}” removed."
MSG_UNPROTECT_REQUESTED = "Removal of protection requested (#{id}): a second admin must approve it."


def _card_response(request, project, form, done: str):
    """htmx: the card again (with the form's errors, or the new state). Without JavaScript:
    back to the page the form was on, with a message."""
    if wants_fragment(request):
        if done:
            messages.success(request, done)
            form = None
        context = protection_card(
            request=request, project_id=project.id, project_name=project.name, form=form
        )
        context["protection_next"] = _next(request, project.id)
        response = render(request, CARD, context)
        if done:  # what else on the page depends on it (the delete form) follows
            trigger_client_event(response, PROTECTION_CHANGED)
        return response
    for error in form.errors.get("reason", []) + form.non_field_errors():
        messages.error(request, error)
    if done:
        messages.success(request, done)
    return go(request, _next(request, project.id))


def _next(request, project_id: str) -> str:
    url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return reverse("projects:detail", args=[project_id])


@require_POST
@role_required(Role.ADMIN, audit_action="project.protect")
def protection_add(request, project_id: str):
    project = project_get(project_id=project_id)
    form = ReasonForm(request.POST)
    done = ""
    if form.is_valid():
        try:
            services.protection_create(
                actor=Actor.from_request(request),
                project_id=project.id,
                project_name=project.name,
                reason=form.cleaned_data["reason"],
            )
        except services.GovernanceError as exc:
            form.add_error(None, exc.message)
        else:
            done = MSG_PROTECTED.format(name=project.name)
    return _card_response(request, project, form, done)


@require_POST
@role_required(Role.ADMIN, audit_action="project.unprotect")
def protection_remove(request, project_id: str):
    project = project_get(project_id=project_id)
    form = ReasonForm(request.POST)
    done = ""
    if form.is_valid():
        try:
            done = _unprotect(request, project, form.cleaned_data["reason"])
        except services.GovernanceError as exc:
            form.add_error(None, exc.message)
    return _card_response(request, project, form, done)


def _unprotect(request, project, reason: str) -> str:
    actor = Actor.from_request(request)
    protection = selectors.protection_get(project_id=project.id)
    if protection is None and services.approval_needed(ApprovalRequest.Kind.UNPROTECT):
        raise services.GovernanceError(services.MSG_NOT_PROTECTED.format(name=project.name))
    outcome = services.act(
        Action(
            kind=ApprovalRequest.Kind.UNPROTECT,
            actor=actor,
            summary=f"Remove deletion protection of “{project.name}” ({reason})",
            change=unprotect_change(protection=protection, reason=reason) if protection else {},
            run=lambda: services.protection_remove(
                actor=actor, project_id=project.id, reason=reason
            ),
            project_id=project.id,
            project_name=project.name,
            before=project_state(project),
        )
    )
    if isinstance(outcome, Requested):
        return MSG_UNPROTECT_REQUESTED.format(id=outcome.request_id)
    return MSG_UNPROTECTED.format(name=project.name)


@require_GET
@role_required(Role.VIEWER)
def approval_list(request):
    expiry.approval_expire_due()
    form = ApprovalFilterForm(request.GET)
    rows = selectors.approval_list(status=form.status_filter())
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page}
    return render_page_or_fragment(
        request, "governance/approval_list.html", context, fragment="results"
    )


@require_GET
@role_required(Role.VIEWER)
def approval_detail(request, approval_id: int):
    expiry.approval_expire_due()
    approval = get_object_or_404(ApprovalRequest, pk=approval_id)
    return render(request, "governance/approval_detail.html", _detail(request, approval))


def _detail(request, approval: ApprovalRequest, form=None) -> dict:
    admin = has_role(request.user, Role.ADMIN)
    own = approval.asked_by(Actor.from_request(request))
    return {
        "approval": approval,
        "changes": approval_changes(approval),
        "can_approve": admin and approval.is_pending and not own,
        "can_reject": admin and approval.is_pending,
        "own": own,
        "decision_form": form or DecisionForm(expected=confirmation(approval)),
    }


@require_POST
@role_required(Role.ADMIN, audit_action="approval.approve")
def approval_approve(request, approval_id: int):
    return _decide(request, approval_id, services.approval_approve)


@require_POST
@role_required(Role.ADMIN, audit_action="approval.reject")
def approval_reject(request, approval_id: int):
    return _decide(request, approval_id, services.approval_reject)


def _decide(request, approval_id: int, decide):
    approval = get_object_or_404(ApprovalRequest, pk=approval_id)
    # Approving what cannot be undone asks for the name typed; the requester is refused anyway.
    approving = decide is services.approval_approve
    own = approval.asked_by(Actor.from_request(request))
    form = DecisionForm(request.POST, expected="" if own else confirmation(approval))
    if not (form.is_valid() and (not approving or form.confirmed())):
        return render(request, "governance/approval_detail.html", _detail(request, approval, form))
    try:
        approval = decide(
            actor=Actor.from_request(request),
            approval_id=approval.pk,
            note=form.cleaned_data["note"],
        )
    except services.NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc  # recorded by the service
    except services.GovernanceError as exc:
        messages.error(request, exc.message)
    else:
        _report(request, approval)
    return go(request, reverse("governance:approval", args=[approval.pk]))


def _report(request, approval: ApprovalRequest) -> None:
    Status = ApprovalRequest.Status
    if approval.status == Status.APPROVED:
        messages.success(request, f"Approved and done: {approval.result}")
    elif approval.status == Status.FAILED:
        messages.error(request, f"Approved, but not done: {approval.result}")
    else:
        messages.info(request, f"Request #{approval.pk} {approval.get_status_display().lower()}.")
