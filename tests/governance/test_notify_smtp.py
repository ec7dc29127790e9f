"""Approval notices through a real SMTP server (aiosmtpd on 127.0.0.1), with the mailer
configured as production configures it: from EMAIL_URL, by the settings module itself."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.core.management import call_command

from governance import services

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent.parent
USER, PASSWORD = "notices", "smtp-password-not-real"


class Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@gone.example.test"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((session.authenticated, envelope))
        return "250 Message accepted for delivery"


def authenticate(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd checks its server by connecting to the port given
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,  # a test server on loopback; production URLs use smtp+tls
    )
    controller.start()
    yield port, inbox
    controller.stop()


def mailers_from(email_url: str) -> dict:
    """MAILERS as neonadmin/settings.py builds it from EMAIL_URL, in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env |= {"EMAIL_URL": email_url, "DEBUG": "true", "SECRET_KEY": "x" * 50}
    env |= {"NEON_API_KEY": "fake-neon-key"}
    code = "import json, neonadmin.settings as s; print(json.dumps(s.MAILERS))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_a_notice_reaches_a_real_smtp_server_signed_in(smtp_server, settings, ada):
    port, inbox = smtp_server
    settings.MAILERS = mailers_from(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}")
    settings.APPROVAL_NOTIFY_EMAILS = ["ops@example.test", "lead@example.test"]
    settings.DEFAULT_FROM_EMAIL = "neonadmin@example.test"
    services.approval_request_create(
        actor=ada, kind="unprotect", change={}, summary="Unprotect “shop”", project_id="p-shop"
    )
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)

    ((authenticated, envelope),) = inbox.messages
    assert authenticated  # the URL's user and password signed in
    assert envelope.mail_from == "neonadmin@example.test"
    assert envelope.rcpt_tos == ["ops@example.test", "lead@example.test"]
    body = envelope.content.decode()
    assert "Unprotect" in body and "ada" in body
    assert PASSWORD not in body


def test_a_refusing_mail_server_fails_the_task_visibly(smtp_server, settings, ada):
    from django_tasks_db.models import DBTaskResult

    port, inbox = smtp_server
    settings.MAILERS = mailers_from(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}")
    settings.APPROVAL_NOTIFY_EMAILS = ["ops@gone.example.test"]
    services.approval_request_create(
        actor=ada, kind="unprotect", change={}, summary="Unprotect", project_id="p-shop"
    )
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    assert inbox.messages == []
    result = DBTaskResult.objects.get(task_path__endswith="approval_notify")
    assert result.status == "FAILED" and "No such mailbox" in result.traceback
