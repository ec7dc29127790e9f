"""Writes of governance: protection, approval requests from asking to executing, and `act`, the
one place that decides whether an action runs now or waits for a second admin.

Every step leaves one audit record, written here through `audited` (a refusal raises a
GovernanceError inside the block, so it is recorded as a failure with our message). Approving
executes the kind's registered executor (governance.registry) after checking, for single-project
kinds, that the project Neon holds is still the one the request was made against.

The core (projects) names none of this: `act` is its registered decider and `protection_guard`
one of its guards (projects.extensions), both registered in GovernanceConfig.ready().
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from audit.services import Actor, audited, for_approval
from governance import registry, selectors
from governance.expiry import book_expiry, expire
from governance.models import ApprovalRequest, Protection
from governance.tasks import notify_later
from projects.extensions import Action, Attempt, Done, Refused, Requested, check_guards
from projects.neon import NeonNotFound
from projects.project_state import diff, project_state
from projects.selectors import project_get

logger = logging.getLogger(__name__)

Status = ApprovalRequest.Status

PROTECT_AT_CREATION = "Protected at creation (PROTECT_NEW_PROJECTS)"

MSG_PROTECTED_DELETE = (
    "“{name}” is protected from deletion (by {by}: “{reason}”). An admin must remove the "
    "protection before it can be deleted. Nothing was sent to Neon."
)
MSG_PROTECTED_IRREVERSIBLE = (
    "“{name}” is protected (by {by}: “{reason}”): its irreversible settings (logical "
    "replication, HIPAA) cannot be changed until an admin removes the protection. Nothing was "
    "sent to Neon."
)
MSG_ALREADY_PROTECTED = "“{name}” is already protected."
MSG_NOT_PROTECTED = "“{name}” is not protected."
MSG_REASON_REQUIRED = "Give a reason: the audit log keeps it."
MSG_ALREADY_PENDING = "A request of this kind for this project is already waiting (#{id})."
MSG_SELF_APPROVAL = "You asked for this change: a different admin must approve it."
MSG_NOT_PENDING = "This request is {status}: it can no longer be approved or rejected."
MSG_EXPIRED = "This request expired at {when} UTC without a decision; nothing was done."
MSG_PROJECT_GONE = "The project no longer exists in Neon; nothing was sent."
MSG_PROJECT_CHANGED = (
    "The project changed since the request ({what}), so nothing was sent to Neon. Ask again "
    "against the project as it is now."
)
MSG_CUT_OFF = (
    "The dashboard was stopped while executing this request: check the project (and the audit "
    "log) for what was done before asking again."
)
MSG_UNKNOWN_KIND = "No executor is registered for approval requests of kind “{kind}”."


class GovernanceError(Refused):
    """A refusal of ours (no Neon call was made). `message` is what the person reads and what
    the audit record keeps; `status` is the HTTP status a view answers with."""

    status = 409


class ProjectProtected(GovernanceError):
    status = 409


class NotAllowed(GovernanceError):
    status = 403


# --- The decision: now, or a request for a second admin -------------------------------------


def approval_needed(*kinds: str) -> bool:
    """Whether the team asks a second admin for an action of any of `kinds`
    (APPROVAL_REQUIRED_FOR)."""
    return any(kind in settings.APPROVAL_REQUIRED_FOR for kind in kinds)


def act(action: Action) -> Done | Requested:
    """The one place that decides: the guards are asked first (a protected project is refused,
    recorded); then `action` runs now, or, when APPROVAL_REQUIRED_FOR names its kind, is stored
    exactly as asked (`action.change`, against `action.before`) for a second admin."""
    if action.attempt is not None:
        check_guards(action.attempt)
    if not approval_needed(*(action.approval_kinds or (action.kind,))):
        return Done(action.run())
    approval = approval_request_create(
        actor=action.actor,
        kind=action.kind,
        change=action.change,
        summary=action.summary,
        project_id=action.project_id,
        project_name=action.project_name,
        before=action.before,
        bulk_job_id=action.bulk_job_id,
    )
    return Requested(approval.pk, reverse("governance:approval", args=[approval.pk]))


def protection_guard(attempt: Attempt) -> None:
    """The core's guard: a protected project is neither deleted nor changed irreversibly."""
    if attempt.action == "project.delete":
        message = MSG_PROTECTED_DELETE
    elif attempt.irreversible:
        message = MSG_PROTECTED_IRREVERSIBLE
    else:
        return
    ensure_unprotected(
        actor=attempt.actor,
        action=attempt.action,
        project_id=attempt.project_id,
        project_name=attempt.project_name,
        request_data=attempt.request_data,
        message=message,
        bulk_job_id=attempt.bulk_job_id,
    )


def protect_when_created(*, project_id: str, project, created: bool, actor: Actor, **_) -> None:
    """On `project_written`: a project this dashboard creates is protected at once when
    PROTECT_NEW_PROJECTS is on."""
    if created and settings.PROTECT_NEW_PROJECTS:
        protection_create(
            actor=actor,
            project_id=project_id,
            project_name=project.name,
            reason=PROTECT_AT_CREATION,
        )


# --- Protection -----------------------------------------------------------------------------------


def protection_create(
    *, actor: Actor, project_id: str, project_name: str, reason: str
) -> Protection:
    """Protect a project from deletion and from irreversible changes (audited project.protect)."""
    reason = reason.strip()
    with audited(
        actor=actor,
        action="project.protect",
        project_id=project_id,
        project_name=project_name,
        request_data={"reason": reason},
    ):
        if not reason:
            raise GovernanceError(MSG_REASON_REQUIRED)
        protection, created = Protection.objects.get_or_create(
            project_id=project_id,
            defaults={
                "project_name": project_name,
                "protected_by": actor.username,
                "protected_at": timezone.now(),
                "reason": reason,
            },
        )
        if not created:
            raise GovernanceError(MSG_ALREADY_PROTECTED.format(name=project_name or project_id))
        selectors.shown_changed()
    return protection


def protection_remove(
    *, actor: Actor, project_id: str, reason: str, approval_id: int | None = None
) -> Protection:
    """Remove a project's protection (audited project.unprotect). Returns the removed row."""
    reason = reason.strip()
    protection = selectors.protection_get(project_id=project_id)
    data: dict[str, Any] = {"reason": reason}
    if approval_id is not None:
        data["approval_id"] = approval_id
    with audited(
        actor=actor,
        action="project.unprotect",
        project_id=project_id,
        project_name=protection.project_name if protection else "",
        request_data=data,
    ):
        if not reason:
            raise GovernanceError(MSG_REASON_REQUIRED)
        if protection is None or not Protection.objects.filter(pk=project_id).delete()[0]:
            raise GovernanceError(MSG_NOT_PROTECTED.format(name=project_id))
        selectors.shown_changed()
    return protection


def ensure_unprotected(
    *,
    actor: Actor,
    action: str,
    project_id: str,
    project_name: str = "",
    request_data: dict | None = None,
    message: str = MSG_PROTECTED_DELETE,
    bulk_job_id: int | None = None,
) -> None:
    """Raise ProjectProtected, recorded as a failed `action`, if the project is protected.
    `message` is formatted with the protection's name, by and reason."""
    protection = selectors.protection_get(project_id=project_id)
    if protection is None:
        return
    with audited(
        actor=actor,
        action=action,
        project_id=project_id,
        project_name=project_name or protection.project_name,
        request_data=request_data,
        bulk_job_id=bulk_job_id,
    ):
        raise ProjectProtected(protected_message(protection, message))


def protected_message(protection: Protection, message: str = MSG_PROTECTED_DELETE) -> str:
    return message.format(
        name=protection.project_name or protection.project_id,
        by=protection.protected_by,
        reason=protection.reason,
    )


# --- Approval requests ------------------------------------------------------------------------


def approval_request_create(
    *,
    actor: Actor,
    kind: str,
    change: dict,
    summary: str,
    project_id: str = "",
    project_name: str = "",
    before: dict | None = None,
    bulk_job_id: int | None = None,
) -> ApprovalRequest:
    """Store a change for a second admin to approve (audited approval.request), and notify.
    `change` is exactly what the kind's executor will do; `before`, the project state (from
    projects.project_state) it was asked against. One pending request per project and kind."""
    if registry.executor_for(kind) is None:
        raise ValueError(MSG_UNKNOWN_KIND.format(kind=kind))
    with audited(
        actor=actor,
        action="approval.request",
        project_id=project_id,
        project_name=project_name,
        request_data={"kind": kind, "summary": summary, "change": change},
    ) as entry:
        if project_id and (
            waiting := selectors.approval_pending_for(project_id=project_id, kind=kind)
        ):
            raise GovernanceError(MSG_ALREADY_PENDING.format(id=waiting.pk))
        approval = ApprovalRequest.objects.create(
            kind=kind,
            project_id=project_id,
            project_name=project_name,
            change=change,
            before=before,
            summary=summary,
            requested_by=actor.username,
            requested_by_subject=actor.subject,
            requested_by_user_id=actor.user_id,
            expires_at=timezone.now() + timedelta(hours=settings.APPROVAL_TTL_HOURS),
            bulk_job_id=bulk_job_id,
        )
        selectors.shown_changed()
        entry.approval_id = approval.pk
    book_expiry(approval)
    notify_later("requested", approval)
    return approval


def _decision_data(approval: ApprovalRequest, note: str) -> dict:
    return {"approval_id": approval.pk, "kind": approval.kind, "note": note}


def _claim(approval: ApprovalRequest, actor: Actor, note: str, **update) -> None:
    """Take the decision, once: of two admins pressing at the same moment, one wins."""
    if approval.expires_at <= timezone.now():
        expire(approval)
        approval.refresh_from_db()
        if approval.status == Status.EXPIRED:
            raise GovernanceError(MSG_EXPIRED.format(when=f"{approval.expires_at:%Y-%m-%d %H:%M}"))
    claimed = ApprovalRequest.objects.filter(
        pk=approval.pk, status=Status.PENDING, decided_by=""
    ).update(decided_by=actor.username, decided_at=timezone.now(), note=note, **update)
    if claimed:
        selectors.shown_changed()
    approval.refresh_from_db()
    if not claimed:
        raise GovernanceError(MSG_NOT_PENDING.format(status=approval.get_status_display().lower()))


def approval_approve(*, actor: Actor, approval_id: int, note: str = "") -> ApprovalRequest:
    """A second admin approves: the request's change is executed now, exactly as stored.

    Raises GovernanceError (recorded as a failed approval.approve) when the actor asked for it
    themselves, or it is no longer pending (decided, or expired). Once approved, the request
    ends `approved` with the executor's result, or `failed` with why (the project changed since,
    or Neon refused): both are recorded in approval.approve's record, and notified."""
    approval = selectors.approval_get(approval_id=approval_id)
    with for_approval(approval.pk):
        return _approve(approval, actor, note)


def _approve(approval: ApprovalRequest, actor: Actor, note: str) -> ApprovalRequest:
    claimed = False
    try:
        with audited(
            actor=actor,
            action="approval.approve",
            project_id=approval.project_id,
            project_name=approval.project_name,
            request_data=_decision_data(approval, note),
        ) as entry:
            if approval.asked_by(actor):
                raise NotAllowed(MSG_SELF_APPROVAL)
            _claim(approval, actor, note, status=Status.EXECUTING)
            claimed = True
            result = _execute(approval, actor)
            entry.status = 200
    except BaseException as exc:  # a worker timeout (SystemExit) must not leave it executing
        if not claimed:
            raise
        if not isinstance(exc, Exception):
            _finish(approval, Status.FAILED, MSG_CUT_OFF)
            raise
        if not isinstance(exc, GovernanceError):
            logger.warning("approval %s failed: %r", approval.pk, exc)
        message = getattr(exc, "message", "") or str(exc) or exc.__class__.__name__
        _finish(approval, Status.FAILED, message)
        return approval
    _finish(approval, Status.APPROVED, result)
    return approval


def _finish(approval: ApprovalRequest, status: str, result: str) -> None:
    ApprovalRequest.objects.filter(pk=approval.pk).update(status=status, result=result)
    approval.refresh_from_db()
    notify_later("approved" if status == Status.APPROVED else "failed", approval)


def _execute(approval: ApprovalRequest, actor: Actor) -> str:
    executor = registry.executor_for(approval.kind)
    if executor is None:
        raise GovernanceError(MSG_UNKNOWN_KIND.format(kind=approval.kind))
    if approval.project_id and approval.before is not None:
        project_unchanged(approval)
    return executor.execute(approval, actor)


def project_unchanged(approval: ApprovalRequest) -> None:
    """Raise GovernanceError unless Neon's copy of the project, read now, is in the state the
    request was made against; the message names what changed."""
    try:
        project = project_get(project_id=approval.project_id)
    except NeonNotFound as exc:
        raise GovernanceError(MSG_PROJECT_GONE) from exc
    now = project_state(project)
    if now == approval.before:
        return
    _body, changes = diff(approval.before or {}, now)
    what = (
        ", ".join(f"{c.label}: {c.before_text} → {c.after_text}" for c in changes) or "its settings"
    )
    raise GovernanceError(MSG_PROJECT_CHANGED.format(what=what))


def approval_reject(*, actor: Actor, approval_id: int, note: str = "") -> ApprovalRequest:
    """Turn a pending request down: rejected by another admin (approval.reject), or withdrawn by
    the one who asked (cancelled, approval.cancel). Nothing is executed; the kind's close hook
    runs, and it is notified."""
    approval = selectors.approval_get(approval_id=approval_id)
    own = approval.asked_by(actor)
    status = Status.CANCELLED if own else Status.REJECTED
    with (
        for_approval(approval.pk),
        audited(
            actor=actor,
            action="approval.cancel" if own else "approval.reject",
            project_id=approval.project_id,
            project_name=approval.project_name,
            request_data=_decision_data(approval, note),
        ),
    ):
        _claim(approval, actor, note, status=status)
    registry.close(approval)
    notify_later("cancelled" if own else "rejected", approval)
    return approval


def approval_described(approval: ApprovalRequest) -> list | None:
    """What the kind's executor says approval does, row by row; None if it says nothing."""
    executor = registry.executor_for(approval.kind)
    return executor.describe(approval) if executor and executor.describe else None
