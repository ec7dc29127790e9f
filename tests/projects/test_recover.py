"""Recently deleted projects and recovering them (admin only, audited)."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from projects.neon import get_client
from tests.formdata import form_data

HX = {"HX-Request": "true"}
LIST = "/projects/deleted/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def deleted(neon):
    project = get_client().list_projects(limit=3).projects[0]
    get_client().delete_project(project.id)
    return project


def test_list_shows_deleted_projects_with_their_deadline(viewer_client, deleted):
    response = viewer_client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("projects:recoverable") == LIST
    assert deleted.name in html and deleted.id in html
    item = next(p for p in response.context["page"].projects if p.id == deleted.id)
    assert item.recoverable_until is not None
    assert item.recoverable_until.strftime("%Y-%m-%d %H:%M:%S UTC") in html
    assert "Recover" not in html.replace("Recoverable", "")  # viewers get no button


def test_list_is_empty_when_nothing_was_deleted(viewer_client, neon):
    html = viewer_client.get(LIST).content.decode()
    assert "No project was deleted in the last 7 days." in html


def test_admin_recovers_with_htmx(admin_client_, deleted, neon):
    html = admin_client_.get(LIST).content.decode()
    recover = reverse("projects:recover", args=[deleted.id])
    assert f'hx-post="{recover}"' in html
    response = admin_client_.post(recover, headers=HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("projects:detail", args=[deleted.id])
    assert get_client().get_project(deleted.id).name == deleted.name
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.project_id, event.project_name) == (
        "project.recover",
        "success",
        deleted.id,
        deleted.name,
    )
    detail = admin_client_.get(reverse("projects:detail", args=[deleted.id])).content.decode()
    assert f"Project “{deleted.name}” was recovered." in detail


def test_admin_recovers_without_htmx(admin_client_, deleted):
    response = admin_client_.post(reverse("projects:recover", args=[deleted.id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:detail", args=[deleted.id])


def test_failed_recovery_is_a_message_and_an_audit_record(admin_client_, neon):
    live = get_client().list_projects(limit=1).projects[0]  # not deleted: Neon refuses
    response = admin_client_.post(reverse("projects:recover", args=[live.id]), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == LIST
    assert f"Project {live.id} was not recovered" in html
    assert "request ID" in html
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.status) == ("project.recover", "failure", 400)


@pytest.mark.parametrize("client_fixture", ["viewer_client", "operator_client"])
def test_only_admins_may_recover(request, deleted, neon, client_fixture):
    client = request.getfixturevalue(client_fixture)
    assert client.post(reverse("projects:recover", args=[deleted.id])).status_code == 403
    assert client.get(reverse("projects:recover", args=[deleted.id])).status_code in (403, 405)
    event = AuditEvent.objects.get()  # the refused POST is recorded, the refused GET is not
    assert (event.action, event.outcome, event.status) == ("project.recover", "failure", 403)
    assert get_client().list_projects(recoverable=True).projects[0].id == deleted.id


def test_a_failed_recovery_names_the_project_the_list_showed(admin_client_, deleted, neon):
    recover = reverse("projects:recover", args=[deleted.id])
    data = form_data(admin_client_.get(LIST).content.decode(), recover)  # the button's form
    neon.set_faults(
        {"status": 500, "method": "POST", "path_prefix": f"/api/v2/projects/{deleted.id}"}
    )
    neon.clear_stats()
    admin_client_.post(recover, data, headers=HX)
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.status) == ("project.recover", "failure", 500)
    assert (event.project_id, event.project_name) == (deleted.id, deleted.name)
    assert [k for k in neon.stats() if not k.startswith("POST ")] == []  # no Neon call for it


@pytest.fixture
def deleted_in_org(neon):
    client = get_client()
    org = client.list_organizations()[0]
    project = client.list_projects(limit=3, org_id=org.id).projects[0]
    client.delete_project(project.id)
    return org, project


def test_an_organizations_deleted_projects_are_listed_and_recovered(
    admin_client_, deleted_in_org, neon
):
    org, project = deleted_in_org
    personal = admin_client_.get(LIST).content.decode()
    assert project.id not in personal  # Neon scopes recoverable projects like the live list
    response = admin_client_.get(LIST, {"org_id": org.id})
    html = response.content.decode()
    assert project.id in html and org.name in html
    fragment = admin_client_.get(LIST, {"org_id": org.id}, headers=HX).content.decode()
    assert "<html" not in fragment and project.id in fragment
    recover = reverse("projects:recover", args=[project.id])
    data = form_data(html, recover)
    assert data["org_id"] == [org.id]
    response = admin_client_.post(recover, data)
    assert response["Location"] == reverse("projects:detail", args=[project.id])
    assert get_client().get_project(project.id).org_id == org.id


def test_the_delete_message_links_to_the_organizations_recently_deleted(admin_client_, neon):
    client = get_client()
    org = client.list_organizations()[0]
    project = next(
        p
        for p in client.list_projects(limit=25, org_id=org.id).projects
        if not any(b.protected for b in client.list_branches(p.id))
    )
    response = admin_client_.post(
        reverse("projects:delete", args=[project.id]), {"name": project.name}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == f"/projects/?org_id={org.id}"  # its own list
    assert f'href="{LIST}?org_id={org.id}">Recently deleted</a>' in html
    assert project.id in admin_client_.get(f"{LIST}?org_id={org.id}").content.decode()


def test_a_failed_recovery_goes_back_to_the_organization_it_was_listed_in(admin_client_, neon):
    org = get_client().list_organizations()[0]
    live = get_client().list_projects(limit=1, org_id=org.id).projects[0]
    response = admin_client_.post(reverse("projects:recover", args=[live.id]), {"org_id": org.id})
    assert response["Location"] == f"{LIST}?org_id={org.id}"
