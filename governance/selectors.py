"""Reads of protection and approval requests (our database only, never Neon).

What every page shows in passing (the navigation's pending count, the list rows' "protected"
badges) is read through Django's cache for at most SHOWN_SECONDS, instead of a query per page:
the services forget it on every change they make (`shown_changed`), so this instance shows its
own changes at once; with a shared cache (Redis) every instance does, and otherwise another
instance's change shows within SHOWN_SECONDS. Decisions never read these: deletion and
irreversible changes check `protection_get`, and the approvals pages query.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from governance.models import ApprovalRequest, Protection

KINDS = frozenset(ApprovalRequest.Kind.values)
SHOWN_SECONDS = 10
PROTECTED_KEY = "governance:protected-ids"
PENDING_COUNT_KEY = "governance:approvals-pending"
SHOWN_KEYS = (PROTECTED_KEY, PENDING_COUNT_KEY)


def protection_get(*, project_id: str) -> Protection | None:
    return Protection.objects.filter(project_id=project_id).first()


def protected_ids(*, project_ids: Iterable[str] | None = None) -> set[str]:
    """The protected ones among `project_ids` (None: every protected project), in one query."""
    rows = Protection.objects.all()
    if project_ids is not None:
        rows = rows.filter(project_id__in=list(project_ids))
    return set(rows.values_list("project_id", flat=True))


def protected_ids_shown(*, project_ids: Iterable[str]) -> set[str]:
    """`protected_ids` for display: from every protected project's ID, cached (see above)."""
    protected = cache.get(PROTECTED_KEY)
    if protected is None:
        protected = frozenset(Protection.objects.values_list("project_id", flat=True))
        cache.set(PROTECTED_KEY, protected, SHOWN_SECONDS)
    return protected.intersection(project_ids)


def approval_list(
    *, status: str = "", project_id: str = "", kind: str = "", bulk_job_id: int | None = None
) -> QuerySet[ApprovalRequest]:
    """Requests, newest first, filtered by any of the arguments given. Expiry is lazy: call
    governance.expiry.approval_expire_due() first to have overdue ones marked."""
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


def approval_pending_count_shown() -> int:
    """Requests pending and not yet past their expiry (whether or not marked expired yet), for
    display: cached (see above), never past the next one's expiry, so none is counted late."""
    count = cache.get(PENDING_COUNT_KEY)
    if count is None:
        now = timezone.now()
        pending = ApprovalRequest.objects.filter(
            status=ApprovalRequest.Status.PENDING, expires_at__gt=now
        ).aggregate(count=Count("pk"), next_expiry=Min("expires_at"))
        count = pending["count"]
        until = pending["next_expiry"] or now + timedelta(seconds=SHOWN_SECONDS)
        cache.set(PENDING_COUNT_KEY, count, min(SHOWN_SECONDS, (until - now).total_seconds()))
    return count


def shown_changed() -> None:
    """Forget what pages show in passing: a service changed a protection or an approval
    request's status. Again after the transaction commits, or a page read in between could
    cache what is no longer true."""
    cache.delete_many(SHOWN_KEYS)
    transaction.on_commit(lambda: cache.delete_many(SHOWN_KEYS))


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
