"""Reading the audit log: filters, keyset pages (newest first), and rows for export."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from audit.models import AuditEvent


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str


def _filtered(
    *,
    person: str = "",
    project: str = "",
    action: str = "",
    outcome: str = "",
    bulk_job: int | None = None,
    approval: int | None = None,
) -> QuerySet[AuditEvent]:
    """The filters of the audit page and its export (audit.forms.AuditFilterForm.filters)."""
    events = AuditEvent.objects.all()
    if bulk_job:
        events = events.filter(bulk_job_id=bulk_job)
    if approval:
        events = events.filter(approval_id=approval)
    if person:
        events = events.filter(Q(actor__icontains=person) | Q(actor_subject=person))
    if project:
        events = events.filter(Q(project_id=project) | Q(project_name__icontains=project))
    if action:
        events = events.filter(action=action)
    if outcome:
        events = events.filter(outcome=outcome)
    return events.order_by("-created_at", "-id")


def _encode(event: AuditEvent) -> str:
    return f"{event.created_at.isoformat()}~{event.pk}"


def _decode(cursor: str) -> tuple[datetime, int] | None:
    when, _, pk = cursor.partition("~")
    try:
        return datetime.fromisoformat(when), int(pk)
    except ValueError:
        return None


def audit_event_page(*, cursor: str = "", limit: int = 50, **filters) -> AuditPage:
    """One page, newest first, after `cursor`: a single query (one row more than shown tells
    whether there is a next page). An unreadable cursor starts from the newest."""
    events = _filtered(**filters)
    if position := _decode(cursor):
        created_at, pk = position
        events = events.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    rows = list(events[: limit + 1])
    shown = rows[:limit]
    return AuditPage(events=shown, next_cursor=_encode(shown[-1]) if len(rows) > limit else "")


def audit_event_export(**filters) -> Iterator[AuditEvent]:
    """Every matching event, newest first, streamed from the database in chunks."""
    events = _filtered(**filters)
    return events.iterator(chunk_size=500)


def audit_action_list() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
