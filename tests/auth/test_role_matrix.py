"""Each role against each write route, at the HTTP level: allowed (and then it really happens,
with one successful audit record naming the person) or 403 (nothing was sent to Neon, and a
refused write attempt leaves exactly one failure record saying which role it needed; a refused
GET of a form page is no attempt and records nothing). Hidden buttons are not the guard; these
responses are.

Routes from projects/urls.py. The forms are filled the way a browser submits them: the values
the page renders for someone allowed, with the change under test.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.services import Actor
from neonadmin.roles import Role, user_role_set
from projects import selectors, services
from tests.formdata import form_data

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Route:
    name: str
    minimum: Role
    method: str
    prepare: Callable[[Client], tuple[str, dict]]  # -> (url, POST data), read as an admin
    audit_action: str = ""  # recorded on success, and on a refused POST
    asks: str = ""  # and found in what the record says was asked
    door: Role | None = None  # the view's own role, when `minimum` is checked inside it

    @property
    def gate(self) -> Role:
        return self.door or self.minimum

    def __str__(self) -> str:
        return self.name


def _project():
    return selectors.project_page(limit=5).projects[0]


def _page_form(admin: Client, url: str, **changes) -> tuple[str, dict]:
    page = admin.get(url)
    assert page.status_code == 200, page.status_code
    return url, form_data(page.content.decode(), url, **changes)


def create(admin):
    return _page_form(admin, "/projects/new/", name="matrix-created")


def create_irreversible(admin):
    return _page_form(
        admin, "/projects/new/", name="matrix-replicated",
        enable_logical_replication="on", confirm_irreversible="on",
    )  # fmt: skip


def _reviewed(admin: Client, url: str, data: dict, **extra) -> tuple[str, dict]:
    """Apply on the review page an admin got for `data`: the POST that writes."""
    review = admin.post(url, data)
    assert review.status_code == 200 and b'name="carried"' in review.content
    return url, {**form_data(review.content.decode(), url), "step": "apply", **extra}


def settings_change(admin):
    project = _project()
    url, data = _page_form(
        admin, f"/projects/{project.id}/settings/", name=f"{project.name}-renamed"
    )
    return _reviewed(admin, url, data)


def settings_irreversible(admin):
    project = next(
        p for p in selectors.project_page(limit=25).projects
        if not (p.settings.hipaa or p.settings.enable_logical_replication)
    )  # fmt: skip
    url, data = _page_form(
        admin, f"/projects/{project.id}/settings/", enable_logical_replication="on"
    )
    return _reviewed(admin, url, data, confirm_name=project.name)


def reveal(admin):
    return _page_form(admin, f"/projects/{_project().id}/connect/")


def delete(admin):
    project = _project()
    return f"/projects/{project.id}/delete/", {"name": project.name}


def recover(admin):
    project = _project()
    services.project_delete(
        actor=Actor(username="setup@example.test"), project_id=project.id, project_name=project.name
    )
    return f"/projects/{project.id}/recover/", {}


def page(path_of: Callable[[], str]):
    return lambda admin: (path_of(), {})


REPLICATION_ON = '"enable_logical_replication": true'
ROUTES = [
    Route("create: form", Role.OPERATOR, "GET", page(lambda: "/projects/new/")),
    Route("create", Role.OPERATOR, "POST", create, "project.create"),
    Route(
        "create: irreversible",
        Role.ADMIN,
        "POST",
        create_irreversible,
        "project.create",
        asks=REPLICATION_ON,
        door=Role.OPERATOR,
    ),
    Route(
        "settings: form", Role.OPERATOR, "GET", page(lambda: f"/projects/{_project().id}/settings/")
    ),
    Route("settings: change", Role.OPERATOR, "POST", settings_change, "project.update"),
    Route(
        "settings: irreversible",
        Role.ADMIN,
        "POST",
        settings_irreversible,
        "project.update",
        asks=REPLICATION_ON,
        door=Role.OPERATOR,
    ),
    Route("connect: reveal", Role.OPERATOR, "POST", reveal, "connection.reveal", door=Role.VIEWER),
    Route("delete: form", Role.ADMIN, "GET", page(lambda: f"/projects/{_project().id}/delete/")),
    Route("delete", Role.ADMIN, "POST", delete, "project.delete"),
    Route("recover", Role.ADMIN, "POST", recover, "project.recover"),
]
ROLES = [None, Role.VIEWER, Role.OPERATOR, Role.ADMIN]


def _user(django_user_model, role: Role | None, username: str):
    user = django_user_model.objects.create_user(username)
    if role is not None:
        user_role_set(user=user, role=role)
    return user


def _writes(stats: dict[str, int]) -> list[str]:
    """Calls that change something at Neon, or fetch a secret."""
    return [k for k in stats if not k.startswith("GET ") or "connection_uri" in k]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.label if r else "no-role")
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_role_matrix(client, neon, django_user_model, route, role):
    admin = Client()
    admin.force_login(_user(django_user_model, Role.ADMIN, "setup-admin@example.test"))
    url, data = route.prepare(admin)
    person = _user(django_user_model, role, "matrix-person@example.test")
    client.force_login(person)
    recorded_before = AuditEvent.objects.count()
    neon.clear_stats()

    response = client.post(url, data) if route.method == "POST" else client.get(url)

    new_events = list(AuditEvent.objects.all()[: AuditEvent.objects.count() - recorded_before])
    if role is not None and role >= route.minimum:
        assert response.status_code in (200, 201, 302), response.status_code
        if route.audit_action:
            assert [(e.action, e.outcome, e.actor) for e in new_events] == [
                (route.audit_action, "success", person.get_username())
            ]
            assert _writes(neon.stats())  # it reached Neon (and the stats see such calls)
            assert route.asks in json.dumps(new_events[0].request_data)
    else:
        assert response.status_code == 403
        assert _writes(neon.stats()) == []
        if route.method == "GET":
            assert new_events == []
            return
        needed = route.gate if role is None or role < route.gate else route.minimum
        [event] = new_events
        assert (event.action, event.outcome, event.status, event.neon_message) == (
            route.audit_action, "failure", 403, f"Refused: needs the {needed.label} role.",
        )  # fmt: skip
        assert (event.actor, event.client_ip) == (person.get_username(), "127.0.0.1")
        assert event.request_id == ""  # nothing was sent to Neon
        if "/projects/new/" not in url:
            assert event.project_id == url.split("/")[2]
        assert "csrfmiddlewaretoken" not in event.request_data
        if route.asks:
            posted = event.request_data
            if "carried" in posted:  # refused at the door: the POST as it came, a signed review
                assert posted["step"] == "apply"
            else:  # the form as asked, before any payload was built
                assert posted["enable_logical_replication"] == "on"
