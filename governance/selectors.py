"""Reads of protection and approval requests (our database only, never Neon)."""

from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from governance.models import ApprovalRequest, Protection

KINDS = frozenset(ApprovalRequest.Kind.values)


def protection_get(*, project_id: str) -> Protection | None:
    return Protection.objects.filter(project_id=project_id).first()


def protected_ids(*, project_ids: Iterable[str] | None = None) -> set[str]:
    """The protected ones among `project_ids` (None: every protected project), in one query."""
    rows = Protection.objects.all()
    if project_ids is not None:
        rows = rows.filter(project_id__in=list(project_ids))
    return set(rows.values_list("project_id", flat=True))


def approval_required(kind: str) -> bool:
    """Whether `kind` (an ApprovalRequest.Kind value) needs a second admin
    (APPROVAL_REQUIRED_FOR)."""
    return kind in settings.APPROVAL_REQUIRED_FOR


def approval_list(
    *, status: str = "", project_id: str = "", kind: str = "", bulk_job_id: int | None = None
) -> QuerySet[ApprovalRequest]:
    """Requests, newest first, filtered by any of the arguments given. Expiry is lazy: call
    governance.services.approval_expire_due() first to have overdue ones marked."""
    rows = ApprovalRequest.objects.all()
    if status:
        rows = rows.filter(status=status)
    if project_id:
        rows = rows.filter(project_id=project_id)
    if kind:
        rows = rows.filter(kind=kind)
    if bulk_job_id is not None:
        rows = rows.filter(bulk_job_id=bulk_job_id)
    return rows


def approval_get(*, approval_id: int) -> ApprovalRequest:
    return ApprovalRequest.objects.get(pk=approval_id)


def approval_pending_count() -> int:
    """Pending and not yet past their expiry (whether or not marked expired yet)."""
    return ApprovalRequest.objects.filter(
        status=ApprovalRequest.Status.PENDING, expires_at__gt=timezone.now()
    ).count()


def approval_pending_for(*, project_id: str, kind: str) -> ApprovalRequest | None:
    """The live pending request of `kind` for this project, if one is waiting."""
    return (
        ApprovalRequest.objects.filter(
            project_id=project_id,
            kind=kind,
            status=ApprovalRequest.Status.PENDING,
            expires_at__gt=timezone.now(),
        )
        .order_by("-requested_at")
        .first()
    )
