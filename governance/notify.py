"""What an approval notice says, and the two ways it is sent: Django's email backend and a
Slack-compatible incoming webhook. The text names the change, never a value of it: the summary
is written by us, and is scrubbed of anything secret-looking all the same."""

import json
import logging
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from audit.services import redact_text
from governance.models import ApprovalRequest

logger = logging.getLogger(__name__)

HEADLINES = {
    "requested": "Approval needed: {who} asks for",
    "approved": "Approved by {decider} and done:",
    "failed": "Approved by {decider}, but it failed:",
    "rejected": "Rejected by {decider}:",
    "cancelled": "Withdrawn by {who}:",
    "expired": "Expired without a decision:",
}


def approval_url(approval: ApprovalRequest) -> str:
    path = reverse("governance:approval", args=[approval.pk])
    base = settings.APPROVAL_LINK_BASE_URL.rstrip("/")
    return f"{base}{path}" if base else path


def message_text(event: str, approval: ApprovalRequest) -> str:
    headline = HEADLINES[event].format(
        who=approval.requested_by, decider=approval.decided_by or "an admin"
    )
    lines = [f"[Neon Admin] {headline} {approval.summary} (request #{approval.pk})"]
    if event == "requested":
        lines.append(f"Expires {approval.expires_at:%Y-%m-%d %H:%M} UTC.")
    if approval.note:
        lines.append(f"Note: {approval.note}")
    if approval.result and event in ("approved", "failed"):
        lines.append(approval.result)
    lines.append(approval_url(approval))
    return redact_text("\n".join(lines))


def send_email(text: str) -> int:
    recipients = settings.APPROVAL_NOTIFY_EMAILS
    if not recipients:
        return 0
    subject = text.splitlines()[0][:200]
    return send_mail(subject, text, None, recipients, fail_silently=False)


def send_webhook(text: str) -> int | None:
    """POST {"text": ...} as JSON; returns the HTTP status. Raises on failure (the task's result
    records it)."""
    url = settings.APPROVAL_WEBHOOK_URL
    if not url:
        return None
    if urlsplit(url).scheme not in ("http", "https"):  # also a system check
        raise ValueError("APPROVAL_WEBHOOK_URL must be an http(s) URL.")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "neonadmin-approvals"},
        method="POST",
    )
    timeout = settings.APPROVAL_WEBHOOK_TIMEOUT
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status
