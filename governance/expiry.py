"""Expiry of approval requests: booked for each request's expiry when it is made (a task the
worker runs then), and checked by pages and decisions too, for when no worker ran."""

from __future__ import annotations

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from audit.services import Actor, audited, for_approval
from governance import registry, selectors
from governance.models import ApprovalRequest
from governance.tasks import QUEUE, notify_later

Status = ApprovalRequest.Status

# Who marks an overdue request expired: nobody pressed anything, the dashboard did.
SYSTEM_ACTOR = Actor(username="neonadmin (expiry)")


@task(queue_name=QUEUE)
def approval_expire(approval_id: int) -> bool:
    """Booked for a request's expiry when it is made: marks it expired (audited, notified) if it
    is still pending then."""
    return approval_expire_if_due(approval_id=approval_id)


def book_expiry(approval: ApprovalRequest) -> None:
    """The worker expires the request at its expiry, so it stops showing as pending (and its
    notice goes) on time, not when someone next opens a governance page."""
    booked = approval_expire.using(run_after=approval.expires_at)
    if booked.get_backend().supports_defer:
        transaction.on_commit(lambda: booked.enqueue(approval.pk))


def approval_expire_if_due(*, approval_id: int) -> bool:
    """Expire one request if it is pending and past its expiry (the worker's booked call)."""
    due = ApprovalRequest.objects.filter(
        pk=approval_id, status=Status.PENDING, expires_at__lte=timezone.now()
    ).first()
    return due is not None and expire(due)


def approval_expire_due(*, now=None) -> int:
    """Mark every pending request past its expiry expired (audited approval.expire, closed,
    notified). Returns how many."""
    now = now or timezone.now()
    due = ApprovalRequest.objects.filter(status=Status.PENDING, expires_at__lte=now)
    return sum(expire(approval) for approval in due)


def expire(approval: ApprovalRequest) -> bool:
    """Mark `approval` expired unless someone decided or expired it first."""
    claimed = ApprovalRequest.objects.filter(pk=approval.pk, status=Status.PENDING).update(
        status=Status.EXPIRED, decided_at=timezone.now()
    )
    if not claimed:
        return False
    selectors.shown_changed()
    approval.refresh_from_db()
    with (
        for_approval(approval.pk),
        audited(
            actor=SYSTEM_ACTOR,
            action="approval.expire",
            project_id=approval.project_id,
            project_name=approval.project_name,
            request_data={"approval_id": approval.pk, "kind": approval.kind},
        ),
    ):
        pass
    registry.close(approval)
    notify_later("expired", approval)
    return True
