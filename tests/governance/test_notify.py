"""Notices: Django's mailer and a Slack-compatible webhook (a real HTTP server on 127.0.0.1),
sent by the background worker, off by default, never carrying a secret."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audit.models import AuditEvent
from governance import expiry, registry, services
from governance.models import ApprovalRequest

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_URI = "postgresql://alex:AbC123dEf@ep-cool.neon.tech/neondb"


def run_worker() -> None:
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)


@pytest.fixture
def webhook():
    """A local incoming-webhook stand-in: records each POST's JSON; `delay` slows it down."""
    received: list[dict] = []
    state = {"delay": 0.0, "status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            time.sleep(state["delay"])
            length = int(self.headers["Content-Length"])
            received.append(
                {"type": self.headers["Content-Type"], "body": json.loads(self.rfile.read(length))}
            )
            self.send_response(state["status"])
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/approvals", received, state
    server.shutdown()
    server.server_close()


@pytest.fixture
def notices(settings, webhook):
    url, received, state = webhook
    settings.APPROVAL_WEBHOOK_URL = url
    settings.APPROVAL_NOTIFY_EMAILS = ["ops@example.test", "lead@example.test"]
    settings.APPROVAL_LINK_BASE_URL = "https://neonadmin.example.test"
    return received, state


def ask(actor, summary="Remove deletion protection of “shop”"):
    return services.approval_request_create(
        actor=actor, kind="unprotect", change={}, summary=summary, project_id="p-shop"
    )


def test_off_by_default_nothing_is_queued(ada, mailoutbox):
    ask(ada)
    assert not DBTaskResult.objects.filter(task_path__endswith="approval_notify").exists()
    run_worker()
    assert mailoutbox == []


def test_the_worker_expires_a_request_when_its_time_is_up(ada, notices):
    received, _ = notices
    approval = ask(ada)
    booked = DBTaskResult.objects.get(task_path__endswith="approval_expire")
    assert booked.run_after == approval.expires_at
    run_worker()  # the request notice goes; the expiry is not due yet
    approval.refresh_from_db()
    assert approval.status == "pending" and len(received) == 1

    now = timezone.now()
    ApprovalRequest.objects.filter(pk=approval.pk).update(expires_at=now)
    DBTaskResult.objects.filter(pk=booked.pk).update(run_after=now)
    run_worker()  # the booked expiry, then its notice
    approval.refresh_from_db()
    assert approval.status == "expired"
    assert received[-1]["body"]["text"].startswith("[Neon Admin] Expired without a decision")
    (record,) = AuditEvent.objects.filter(action="approval.expire")
    assert record.approval_id == approval.pk


def test_a_booked_expiry_leaves_a_decided_request_alone(ada, bea, executors):
    registry.register_executor("bulk", execute=lambda request, actor: "done")
    approval = services.approval_request_create(actor=ada, kind="bulk", change={}, summary="B")
    services.approval_approve(actor=bea, approval_id=approval.pk)
    ApprovalRequest.objects.filter(pk=approval.pk).update(expires_at=timezone.now())
    assert expiry.approval_expire_if_due(approval_id=approval.pk) is False
    approval.refresh_from_db()
    assert approval.status == "approved"


def test_request_and_decision_are_sent_by_email_and_webhook(ada, bea, notices, mailoutbox):
    received, _ = notices
    approval = ask(ada)
    assert received == [] and mailoutbox == []  # queued, not sent by the page
    run_worker()
    (hook,) = received
    assert hook["type"] == "application/json" and set(hook["body"]) == {"text"}
    text = hook["body"]["text"]
    assert "Approval needed: ada.admin@example.test asks for" in text
    assert "shop" in text and f"request #{approval.pk}" in text
    assert f"https://neonadmin.example.test/governance/approvals/{approval.pk}/" in text
    (mail,) = mailoutbox
    assert mail.to == ["ops@example.test", "lead@example.test"] and mail.body == text

    services.approval_reject(actor=bea, approval_id=approval.pk, note="not now")
    run_worker()
    assert "Rejected by bea.admin@example.test" in received[-1]["body"]["text"]
    assert "not now" in mailoutbox[-1].body


def test_approval_and_expiry_are_sent(ada, bea, notices, mailoutbox, executors):
    received, _ = notices
    registry.register_executor("bulk", execute=lambda request, actor: "3 projects changed")
    done = services.approval_request_create(actor=ada, kind="bulk", change={}, summary="Bulk")
    services.approval_approve(actor=bea, approval_id=done.pk)
    expiring = ask(ada)
    ApprovalRequest.objects.filter(pk=expiring.pk).update(expires_at=expiring.requested_at)
    assert expiry.approval_expire_due() == 1
    run_worker()
    texts = [r["body"]["text"] for r in received]
    assert any(
        "Approved by bea.admin@example.test and done" in t and "3 projects" in t for t in texts
    )
    assert any(t.startswith("[Neon Admin] Expired without a decision") for t in texts)
    assert len(mailoutbox) == len(received) == 4


def test_a_notice_never_carries_a_secret(ada, notices, mailoutbox, settings):
    received, _ = notices
    ask(ada, summary=f"Rotate {SECRET_URI} and {settings.NEON_API_KEY}")
    run_worker()
    text = received[0]["body"]["text"]
    assert "AbC123dEf" not in text and settings.NEON_API_KEY not in text
    assert "AbC123dEf" not in mailoutbox[0].body


def test_a_slow_webhook_never_slows_the_page(ada, notices):
    received, state = notices
    state["delay"] = 1.5
    started = time.monotonic()
    ask(ada)
    assert time.monotonic() - started < 0.5
    run_worker()
    assert len(received) == 1


def test_a_failing_webhook_fails_the_task_and_still_sends_the_email(ada, notices, mailoutbox):
    _, state = notices
    state["status"] = 500
    ask(ada)
    run_worker()
    assert len(mailoutbox) == 1
    result = DBTaskResult.objects.get(task_path__endswith="approval_notify")
    assert result.status == "FAILED"
