"""The settings page on a project Neon lets the key view only (CAN_VIEW): any change is refused
before anything is sent; an untouched form still says nothing changed. CAN_EDIT saves."""

import pytest
from django.utils.html import escape

from audit.models import AuditEvent
from projects.forms.project import ProjectSettingsForm
from projects.neon import get_client
from projects.permissions import MSG_VIEW_ONLY
from projects.views.edit import MSG_NOTHING_CHANGED
from tests.projects.test_settings import apply, html, review, untouched, url

pytestmark = pytest.mark.django_db

PATCH = "PATCH /api/v2/projects/{project_id}"


def patches(neon) -> int:
    return neon.stats().get(PATCH, 0)


def writes(neon) -> int:
    return sum(n for route, n in neon.stats().items() if not route.startswith("GET"))


def with_level(neon, level: str | None):
    """A plain personal project of the seed, given `level` in Neon, as the dashboard reads it."""
    client = get_client()
    for item in client.list_projects(limit=25).projects:
        full = client.get_project(item.id)
        s = full.settings
        if s.maintenance_window and not (s.enable_logical_replication or s.hipaa):
            neon.set_permission(full.id, level)
            client.invalidate(full.id)
            neon.clear_stats()
            project = client.get_project(full.id)
            assert project.permission == level
            return project
    pytest.fail("the seed has no plain project")


@pytest.fixture
def view_only(neon):
    return with_level(neon, "CAN_VIEW")


def refused(response) -> None:
    assert response.status_code == 200
    body = html(response)
    assert escape(MSG_VIEW_ONLY) in body
    assert not response.context.get("reviewing")  # the form again, not a review of changes
    assert not response.context["form"].is_valid()
    assert MSG_VIEW_ONLY in response.context["form"].non_field_errors()


def test_a_change_is_refused_and_nothing_is_sent(view_only, operator_client, neon):
    data = {**untouched(view_only), "name": "renamed-anyway"}
    refused(review(operator_client, view_only, data))
    assert patches(neon) == 0 and writes(neon) == 0
    assert AuditEvent.objects.filter(action="project.update").count() == 0
    assert get_client().get_project(view_only.id).name == view_only.name


@pytest.mark.parametrize(
    "changes",
    [
        {"allowed_ips": "192.0.2.0/24"},
        {"maintenance_weekdays": ["3"], "maintenance_start_time": "05:00",
         "maintenance_end_time": "06:00"},
        {"history_retention_0": "2", "history_retention_1": "hours"},
        {"name": ""},  # invalid as well: still a change Neon would refuse
    ],
)  # fmt: skip
def test_every_kind_of_change_is_refused(view_only, operator_client, neon, changes):
    refused(review(operator_client, view_only, {**untouched(view_only), **changes}))
    assert writes(neon) == 0


def test_apply_posted_directly_is_refused_too(view_only, operator_client, neon):
    data = {**untouched(view_only), "name": "renamed-anyway", "step": "apply"}
    refused(operator_client.post(url(view_only), data))
    assert writes(neon) == 0


def test_admins_are_refused_as_well(view_only, admin_client_, neon):
    # The dashboard's role does not matter: Neon's key cannot change the project.
    refused(review(admin_client_, view_only, {**untouched(view_only), "name": "renamed"}))
    assert writes(neon) == 0


def test_untouched_form_still_says_nothing_changed(view_only, operator_client, neon):
    response = operator_client.post(url(view_only), untouched(view_only), follow=True)
    assert MSG_NOTHING_CHANGED in html(response)
    assert escape(MSG_VIEW_ONLY) not in html(response)
    assert writes(neon) == 0


@pytest.mark.parametrize("level", ["CAN_EDIT", "CAN_MANAGE", None])
def test_other_levels_save(neon, operator_client, level):
    project = with_level(neon, level)
    reviewed = review(operator_client, project, {**untouched(project), "name": "renamed"})
    assert reviewed.context.get("reviewing"), html(reviewed)[:2000]
    response = apply(operator_client, project, reviewed)
    assert response.status_code == 302
    assert patches(neon) == 1
    assert get_client().get_project(project.id).name == "renamed"


def test_a_seeded_view_only_project_of_an_organization(neon, operator_client):
    """No control involved: Borealis Labs sends CAN_VIEW on some of its projects."""
    client = get_client()
    org = next(o.id for o in client.list_organizations() if o.name == "Borealis Labs")
    listed = client.list_projects(limit=400, org_id=org).projects
    target = next(p for p in listed if p.permission == "CAN_VIEW")
    neon.clear_stats()
    refused(review(operator_client, target, {**untouched(target), "name": "not-mine"}))
    assert writes(neon) == 0


def test_the_form_says_so_before_anything_is_typed(view_only, neon):
    libraries = get_client().available_preload_libraries(view_only.id)
    assert ProjectSettingsForm(project=view_only, libraries=libraries).view_only == MSG_VIEW_ONLY
    editable = with_level(neon, "CAN_EDIT")
    assert ProjectSettingsForm(project=editable, libraries=libraries).view_only is None


def test_the_settings_and_delete_pages_say_up_front_what_neon_will_refuse(admin_client_, neon):
    project = get_client().list_projects(limit=1).projects[0]
    neon.set_permission(project.id, "CAN_VIEW")
    settings_page = admin_client_.get(f"/projects/{project.id}/settings/").content.decode()
    assert 'id="view-only"' in settings_page
    delete_page = admin_client_.get(f"/projects/{project.id}/delete/").content.decode()
    assert "Neon will refuse to delete this project" in delete_page
    neon.set_permission(project.id, "CAN_MANAGE")
    assert (
        "Neon will refuse to delete"
        not in admin_client_.get(f"/projects/{project.id}/delete/").content.decode()
    )
