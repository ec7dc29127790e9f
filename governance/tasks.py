"""Background work of governance (Django's Tasks framework): approval notices, so a slow mail
server or webhook never slows the page that caused them, and each request's expiry, on time."""

from __future__ import annotations

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


@task(queue_name=QUEUE)
def approval_expire(approval_id: int) -> bool:
    """Booked for a request's expiry when it is made: marks it expired (audited, notified) if it
    is still pending then. Pages expire overdue requests too, for when no worker ran."""
    from governance.services import approval_expire_if_due  # services import this module

    return approval_expire_if_due(approval_id=approval_id)
