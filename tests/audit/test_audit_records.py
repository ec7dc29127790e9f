"""What the audit log records: exactly one record per attempt, success or failure, with who,
where from, which project, what was asked (secrets redacted), the changes, and Neon's answer.
No record ever holds a password, a connection URI's password or the Neon API key."""

import json

import pytest
from django.forms.models import model_to_dict
from django.test import RequestFactory

from audit.models import AuditEvent
from audit.services import Actor, audited, redact
from neonadmin.models import Identity
from projects import selectors, services
from projects.neon import NeonError, NeonRejected
from tests.auth.conftest import PROXY_AUDIENCE, PROXY_HEADER, PROXY_ISSUER
from tests.auth.idp import claims_for
from tests.conftest import TEST_NEON_KEY

pytestmark = pytest.mark.django_db


def everything(event: AuditEvent) -> str:
    return json.dumps(model_to_dict(event), default=str)


def actor() -> Actor:
    return Actor(username="kim@example.test", subject="u-1 @ https://idp", client_ip="203.0.113.5")


def test_a_success_records_one_event_with_every_field():
    with audited(
        actor=actor(), action="project.update", project_id="p-1", project_name="shop",
        request_data={"name": "shop-2"},
    ) as entry:  # fmt: skip
        entry.changes = {"name": {"before": "shop", "after": "shop-2"}}
        entry.status = 200

    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_subject, event.client_ip) == (
        "kim@example.test", "u-1 @ https://idp", "203.0.113.5",
    )  # fmt: skip
    assert (event.action, event.project_id, event.project_name) == ("project.update", "p-1", "shop")
    assert event.request_data == {"name": "shop-2"}
    assert event.changes == {"name": {"before": "shop", "after": "shop-2"}}
    assert (event.outcome, event.status) == (AuditEvent.Outcome.SUCCESS, 200)
    assert event.request_id == entry.request_id and event.created_at


def test_a_failure_records_one_event_with_neons_answer():
    with pytest.raises(NeonRejected):  # noqa: SIM117
        with audited(actor=actor(), action="project.delete", project_id="p-1") as entry:
            raise NeonRejected(
                "project is protected", status=409, code="CONFLICT", request_id="neon-req-9"
            )

    event = AuditEvent.objects.get()
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert (event.status, event.neon_code, event.neon_message) == (
        409, "CONFLICT", "project is protected",
    )  # fmt: skip
    assert event.request_id == "neon-req-9" != entry.request_id


def test_secrets_are_redacted_by_key_and_inside_text():
    uri = "postgresql://neondb_owner:npg_S3cr3tPw@ep-x-1.us-east-2.aws.neon.tech/neondb"
    payload = {
        "name": "shop",
        "roles": [{"name": "app", "password": "npg_S3cr3tPw"}],
        "connection_uris": [{"connection_uri": uri}],
        "note": f"see {uri}",
        "headers": {"Authorization": f"Bearer {TEST_NEON_KEY}"},
        "api_key": TEST_NEON_KEY,
        "echo": f"key was {TEST_NEON_KEY}",
    }

    cleaned = json.dumps(redact(payload))

    assert "npg_S3cr3tPw" not in cleaned and TEST_NEON_KEY not in cleaned
    assert "neondb_owner:[redacted]@ep-x-1" in cleaned  # still says which role and host
    assert redact(payload)["name"] == "shop"


def test_a_failure_message_quoting_a_secret_is_redacted():
    with pytest.raises(NeonError):  # noqa: SIM117
        with audited(actor=actor(), action="connection.reveal"):
            raise NeonError("bad uri postgres://a:hunter2@h/db with key " + TEST_NEON_KEY)

    message = AuditEvent.objects.get().neon_message
    assert "hunter2" not in message and TEST_NEON_KEY not in message


def test_the_log_is_append_only():
    with audited(actor=actor(), action="project.delete"):
        pass
    event = AuditEvent.objects.get()

    for attempt in (
        event.save,
        event.delete,
        lambda: AuditEvent.objects.update(actor="someone-else"),
        lambda: AuditEvent.objects.all().delete(),
    ):
        with pytest.raises(PermissionError):
            attempt()
    assert AuditEvent.objects.get().actor == "kim@example.test"


def test_actor_from_request_names_the_sso_identity(django_user_model):
    user = django_user_model.objects.create_user("kim@example.test")
    Identity.objects.create(user=user, issuer="https://idp", subject="u-1")
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")
    request.user, request.client_ip = user, "203.0.113.5"

    assert Actor.from_request(request) == Actor(
        username="kim@example.test",
        subject="u-1 @ https://idp",
        client_ip="203.0.113.5",
        user_id=user.pk,
    )


def test_actor_is_the_current_email_and_the_subject_not_the_username(django_user_model):
    # Usernames are derived from the IdP subject; people are known by their (current) email.
    user = django_user_model.objects.create_user("oidc-u-2", email="lee@example.test")
    Identity.objects.create(user=user, issuer="https://idp", subject="u-2")
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")
    request.user = user

    actor = Actor.from_request(request)

    assert (actor.username, actor.subject) == ("lee@example.test", "u-2 @ https://idp")
    assert actor.client_ip == "10.0.0.2"
    user.email = "lee.renamed@example.test"  # renamed at the IdP: the record says who it is now
    assert Actor.from_request(request).username == "lee.renamed@example.test"
    user.email = ""  # no verified email: the username still names someone
    assert Actor.from_request(request).username == "oidc-u-2"


# --- Through the emulator -----------------------------------------------------------------------


def test_a_real_create_records_no_password(neon):
    created = services.project_create(actor=actor(), data={"name": "audit-no-secrets"})

    password = created.connection_details[0].password
    assert password and password in created.connection_details[0].uri  # the secret exists...
    event = AuditEvent.objects.get()
    assert event.outcome == AuditEvent.Outcome.SUCCESS and event.status == 201
    assert (event.project_id, event.project_name) == (created.project.id, "audit-no-secrets")
    dump = everything(event)
    assert password not in dump and TEST_NEON_KEY not in dump  # ...but not in the record


def test_a_failed_create_records_one_failure(neon):
    with pytest.raises(NeonRejected):
        services.project_create(actor=actor(), data={"name": "will-fail", "region_id": "mars-1"})

    event = AuditEvent.objects.get()
    assert (event.outcome, event.project_name) == ("failure", "will-fail")
    assert event.status in (400, 422)
    assert event.neon_message and event.request_id
    assert TEST_NEON_KEY not in everything(event)


def test_a_reveal_records_the_asker_and_not_the_secret(neon):
    project = selectors.project_page(limit=1).projects[0]
    options = selectors.connection_options(project_id=project.id, branch_id=None)

    uri = services.connection_reveal(
        actor=actor(), project=options.project, branch_id=options.branches[0].id,
        endpoint_id="", database_name=options.default_database_name,
        role_name=options.default_role_name, pooled=False,
    )  # fmt: skip

    event = AuditEvent.objects.get()
    assert (event.action, event.project_id, event.outcome) == (
        "connection.reveal", project.id, "success",
    )  # fmt: skip
    password = uri.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert password not in everything(event)


def test_an_http_delete_behind_the_proxy_names_the_person_and_their_address(
    client, neon, proxy_mode, signing_key
):
    proxy_mode.NEONADMIN_TRUSTED_PROXIES = ["10.0.0.0/8"]
    project = selectors.project_page(limit=1).projects[0]
    token = signing_key.sign(
        claims_for(
            iss=PROXY_ISSUER, aud=PROXY_AUDIENCE, sub="u-77", email="ada@example.test",
            groups=["platform-admins"],
        )
    )  # fmt: skip
    headers = {
        "HTTP_" + PROXY_HEADER.upper().replace("-", "_"): token,
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_X_FORWARDED_FOR": "203.0.113.50, 10.0.0.9",
    }

    response = client.post(f"/projects/{project.id}/delete/", {"name": project.name}, **headers)

    assert response.status_code in (200, 302)
    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_subject, event.client_ip) == (
        "ada@example.test", f"u-77 @ {PROXY_ISSUER}", "203.0.113.50",
    )  # fmt: skip
    assert (event.action, event.project_id, event.project_name, event.outcome) == (
        "project.delete", project.id, project.name, "success",
    )  # fmt: skip
