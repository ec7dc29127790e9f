"""Background work of governance (Django's Tasks framework): approval notices, so a slow mail
server or webhook never slows the page that caused them. Each request's expiry, booked on time,
is governance.expiry's task."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.tasks import task

from governance import notify
from governance.models import ApprovalRequest

QUEUE = "default"


@task(queue_name=QUEUE)
def approval_notify(event: str, approval_id: int) -> dict:
    """Send one notice by every configured channel. A channel's failure fails the task (its
    result keeps why) after the others were tried."""
    approval = ApprovalRequest.objects.get(pk=approval_id)
    text = notify.message_text(event, approval)
    errors = []
    sent: dict = {}
    for name, send in (("email", notify.send_email), ("webhook", notify.send_webhook)):
        try:
            sent[name] = send(text)
        except Exception as exc:  # each channel on its own
            notify.logger.warning("approval notice by %s failed: %r", name, exc)
            errors.append(f"{name}: {exc}")
    if errors:
        raise RuntimeError("; ".join(errors))
    return sent


def notifications_on() -> bool:
    return bool(settings.APPROVAL_NOTIFY_EMAILS or settings.APPROVAL_WEBHOOK_URL)


def notify_later(event: str, approval: ApprovalRequest) -> None:
    """Queue the notice as background work once the request's row is committed: a slow mail
    server or webhook never slows a page."""
    if notifications_on():
        transaction.on_commit(lambda: approval_notify.enqueue(event, approval.pk))
