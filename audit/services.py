"""Writing the audit log. Services wrap each Neon write (and each secret reveal) in `audited`."""

import contextvars
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from audit.models import AuditEvent

REDACTED = "[redacted]"
SECRET_MARKERS = ("password", "secret", "token", "key", "uri", "dsn")


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who is acting: the SSO identity and where the request came from."""

    username: str
    subject: str = ""
    client_ip: str | None = None
    user_id: int | None = None  # the dashboard's own account of the person, if signed in

    @classmethod
    def from_request(cls, request) -> "Actor":
        """The person as people know them (their current email, else the username) and as the IdP
        knows them (subject @ issuer, which never changes when the email does)."""
        user = request.user
        identity = getattr(user, "sso_identity", None)  # neonadmin.models.Identity, if SSO
        return cls(
            username=user.email or user.get_username(),
            subject=f"{identity.subject} @ {identity.issuer}"[:255] if identity else "",
            client_ip=getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR"),
            user_id=user.pk,
        )


@dataclass(kw_only=True)
class AuditEntry:
    """Filled in by the service while it works; recorded when the `audited` block ends."""

    project_id: str = ""
    project_name: str = ""
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Sent to Neon as X-Request-ID, so our record and Neon's logs name the same request.
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: int | None = None
    approval_id: int | None = None  # for a record that creates the approval request


_approval: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "audit_approval", default=None
)


@contextmanager
def for_approval(approval_id: int) -> Iterator[None]:
    """Every record made inside is a step of approval request `approval_id`: its decision, and
    the action approving it runs (a delete, a settings change), whichever service records it."""
    token = _approval.set(approval_id)
    try:
        yield
    finally:
        _approval.reset(token)


# Secrets inside text, whatever the key: the password of a connection URI, a bearer token.
_URI_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):[^@\s]+@", re.I)
_BEARER = re.compile(r"(?P<scheme>bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)


def redact_text(text: str) -> str:
    """`text` with URI passwords, bearer tokens and our Neon API key replaced."""
    text = _URI_PASSWORD.sub(rf"\g<scheme>\g<user>:{REDACTED}@", text)
    text = _BEARER.sub(rf"\g<scheme>{REDACTED}", text)
    if api_key := getattr(settings, "NEON_API_KEY", ""):
        text = text.replace(api_key, REDACTED)
    return text


def redact(value: Any) -> Any:
    """A copy of `value` with every secret-looking key's value replaced, and secrets inside
    text (connection URIs with passwords, bearer tokens, the API key) scrubbed."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if any(m in str(k).lower() for m in SECRET_MARKERS) else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _common_fields(*, actor: Actor, action: str, request_data: Mapping[str, Any] | None) -> dict:
    return {
        "actor": actor.username,
        "actor_subject": actor.subject,
        "client_ip": actor.client_ip,
        "action": action,
        "request_data": redact(dict(request_data or {})),
        "approval_id": _approval.get(),
    }


MSG_REFUSED = "Refused: needs the {role} role."


def refusal_record(
    *,
    actor: Actor,
    action: str,
    role: str,
    project_id: str = "",
    project_name: str = "",
    request_data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Record a write refused by our own role check: it never reached Neon, so there is no
    Neon answer and no request id, but the attempt is as much a fact as a failed call."""
    return AuditEvent.objects.create(
        **_common_fields(actor=actor, action=action, request_data=request_data),
        project_id=project_id,
        project_name=project_name,
        outcome=AuditEvent.Outcome.FAILURE,
        status=403,
        neon_message=MSG_REFUSED.format(role=role),
    )


def record_refusal(
    *, request, action: str, role: str, data=None, project_id: str = "", project_name: str = "", **_
) -> None:
    """neonadmin.roles' `write_refused`: the refused attempt, recorded like any other."""
    refusal_record(
        actor=Actor.from_request(request),
        action=action,
        role=role,
        request_data=asked(request, data),
        project_id=project_id,
        project_name=project_name,
    )


def asked(request, data=None) -> dict[str, Any]:
    """What a form POST asked for, as recorded (redacted later): one value per field, or the
    list when a field repeats; the CSRF token is no part of the request. `data` replaces the
    POST when a page carried the real request inside it (the settings review)."""
    return {
        key: values[0] if len(values) == 1 else values
        for key, values in (request.POST if data is None else data).lists()
        if key != "csrfmiddlewaretoken"
    }


@contextmanager
def audited(
    *,
    actor: Actor,
    action: str,
    project_id: str = "",
    project_name: str = "",
    request_data: Mapping[str, Any] | None = None,
    bulk_job_id: int | None = None,
) -> Iterator[AuditEntry]:
    """Record exactly one audit event for the block: success, or failure with Neon's details.

    The exception, if any, is re-raised after it is recorded.
    """
    entry = AuditEntry(project_id=project_id, project_name=project_name)
    fields = _common_fields(actor=actor, action=action, request_data=request_data)
    fields["bulk_job_id"] = bulk_job_id
    try:
        yield entry
    except Exception as exc:
        fields["approval_id"] = entry.approval_id or fields["approval_id"]
        AuditEvent.objects.create(
            **fields,
            project_id=entry.project_id,
            project_name=entry.project_name,
            changes=redact(entry.changes),
            outcome=AuditEvent.Outcome.FAILURE,
            status=getattr(exc, "status", None),
            neon_code=getattr(exc, "code", "") or "",
            neon_message=redact_text(getattr(exc, "message", "") or str(exc))[:2000],
            request_id=getattr(exc, "request_id", "") or entry.request_id,
        )
        raise
    fields["approval_id"] = entry.approval_id or fields["approval_id"]
    AuditEvent.objects.create(
        **fields,
        project_id=entry.project_id,
        project_name=entry.project_name,
        changes=redact(entry.changes),
        outcome=AuditEvent.Outcome.SUCCESS,
        status=entry.status,
        request_id=entry.request_id,
    )
