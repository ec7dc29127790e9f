"""Deleting a project: typed exact name, checked on the server, admin only, audited."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from projects.forms.access import MSG_NAME_MISMATCH
from projects.neon import MSG_LOCKED, NeonNotFound, get_client
from projects.views.detail import MSG_PROTECTED_BLOCKS_DELETE

HX = {"HX-Request": "true"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(neon):
    """A seeded project Neon will delete: none of its branches is protected."""
    client = get_client()
    return next(
        p
        for p in client.list_projects(limit=25).projects[2:]
        if not any(b.protected for b in client.list_branches(p.id))
    )


@pytest.fixture
def protected_project(neon):
    """A seeded project whose branches include a protected one."""
    client = get_client()
    for candidate in client.list_projects(limit=25).projects:
        if any(b.protected for b in client.list_branches(candidate.id)):
            return candidate
    pytest.fail("the seed has no project with a protected branch")


def url(project_id: str) -> str:
    return reverse("projects:delete", args=[project_id])


def deletes(neon) -> int:
    return neon.stats().get("DELETE /api/v2/projects/{project_id}", 0)


def test_page_says_what_is_lost_and_about_recovery(admin_client_, project):
    response = admin_client_.get(url(project.id))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "What will be lost" in html
    assert "recoverable for 7 days" in html
    assert project.name in html and project.id in html
    # The button is enabled by script only once the name matches; the server checks again.
    assert f'data-confirm-name="{project.name}"' in html
    assert 'data-confirm-button="#delete-button"' in html
    assert f'hx-post="{url(project.id)}"' in html and 'method="post"' in html


def test_page_lists_the_branches_computes_and_databases_neon_has(admin_client_, neon):
    client = get_client()
    for project in client.list_projects(limit=25).projects:  # one with several of each
        branches = client.list_branches(project.id)
        endpoints = client.list_endpoints(project.id)
        databases = [d for b in branches for d in client.list_databases(project.id, b.id)]
        several = min(len(branches), len(endpoints), len(databases)) > 1
        if several and not any(b.protected for b in branches):
            break
    else:
        pytest.fail("the seed has no unprotected project with several branches, computes, dbs")
    response = admin_client_.get(url(project.id))
    html = response.content.decode()
    summary = response.context["summary"]
    assert (summary.branch_count, summary.endpoint_count, summary.database_count) == (
        len(branches),
        len(endpoints),
        len(databases),
    )
    assert f"<strong>{len(branches)} branches</strong>" in html
    assert f"<strong>{len(endpoints)} computes</strong>" in html
    assert f"<strong>{len(databases)} databases</strong>" in html
    for thing in [*branches, *endpoints]:
        assert thing.id in html
    assert all(d.name in html for d in databases)
    assert "Neon will refuse" not in html and MSG_PROTECTED_BLOCKS_DELETE not in html


def test_counts_of_one_are_singular(admin_client_, neon):
    created = get_client().create_project({"name": "just-one-of-each"})
    html = admin_client_.get(url(created.project.id)).content.decode()
    assert "<strong>1 branch</strong>" in html
    assert "<strong>1 compute</strong>" in html
    assert "<strong>1 database</strong>" in html


def test_page_says_recovery_is_beta_and_integrations_need_reconnecting(admin_client_, project):
    html = admin_client_.get(url(project.id)).content.decode()
    assert "recover call, which Neon marks as <strong>beta</strong>" in html
    assert "some integrations must be reconnected" in html


def test_protected_branches_are_named_and_the_form_stays(admin_client_, protected_project):
    protected = [b for b in get_client().list_branches(protected_project.id) if b.protected]
    response = admin_client_.get(url(protected_project.id))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Neon will refuse to delete this project" in html
    assert MSG_PROTECTED_BLOCKS_DELETE in html
    warning = html[html.index('id="protected-warning"') : html.index('id="h-lost"')]
    for branch in protected:
        assert f"<strong>{branch.name}</strong>" in warning and branch.id in warning
    assert "turn protection off" in warning and '{"branch": {"protected": false}}' in warning
    assert [b.id for b in response.context["summary"].protected_branches] == [
        b.id for b in protected
    ]
    # An operator may still try: Neon decides, and its refusal is shown like any other.
    assert '<form id="delete-form"' in html and 'id="delete-button"' in html


def test_summary_neon_cannot_read_is_said_and_the_form_stays(admin_client_, project, neon):
    neon.set_faults(
        {"status": 500, "method": "GET", "path_prefix": f"/api/v2/projects/{project.id}/branches"}
    )
    response = admin_client_.get(url(project.id))
    html = response.content.decode()
    assert response.status_code == 200
    assert "summary" not in response.context
    assert "could not list the project's branches" in html
    assert "Request ID" in html
    assert "recoverable for 7 days" in html
    assert '<form id="delete-form"' in html


def test_htmx_get_is_only_the_confirm_form(admin_client_, project, neon):
    neon.clear_stats()
    html = admin_client_.get(url(project.id), headers=HX).content.decode()
    assert "<html" not in html
    assert html.strip().startswith('<form id="delete-form"')
    assert "What will be lost" not in html
    # The fragment needs no summary, so it costs no branch, endpoint or database reads.
    assert set(neon.stats()) == {"GET /api/v2/projects/{project_id}"}


def test_htmx_get_of_a_protected_project_is_the_same_form(admin_client_, protected_project):
    html = admin_client_.get(url(protected_project.id), headers=HX).content.decode()
    assert html.strip().startswith('<form id="delete-form"')
    assert "Neon will refuse" not in html  # the warning is on the page, above the fragment


@pytest.mark.parametrize("client_fixture", ["viewer_client", "operator_client"])
def test_only_admins_may_delete(request, project, neon, client_fixture):
    client = request.getfixturevalue(client_fixture)
    neon.clear_stats()
    assert client.get(url(project.id)).status_code == 403
    assert client.post(url(project.id), {"name": project.name}).status_code == 403
    assert deletes(neon) == 0
    event = AuditEvent.objects.get()  # the refused POST is recorded, the refused GET is not
    assert (event.action, event.outcome, event.status) == ("project.delete", "failure", 403)
    assert event.project_id == project.id


@pytest.mark.parametrize(
    "mistype",
    [
        lambda name: "",
        lambda name: "x",
        lambda name: name.upper(),
        lambda name: f" {name}",
        lambda name: f"{name} ",
        lambda name: name[:-1],
    ],
    ids=["empty", "other", "other-case", "leading-space", "trailing-space", "prefix"],
)
def test_wrong_name_is_refused_and_nothing_is_sent(admin_client_, project, neon, mistype):
    typed = mistype(project.name)
    neon.clear_stats()
    response = admin_client_.post(url(project.id), {"name": typed}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.strip().startswith('<form id="delete-form"')
    assert (MSG_NAME_MISMATCH if typed else "This field is required.") in html.replace(
        "&#x27;", "'"
    )
    assert f'value="{typed}"' in html if typed else True  # what was typed is kept
    assert deletes(neon) == 0
    assert not AuditEvent.objects.exists()
    assert get_client().get_project(project.id).name == project.name


def test_right_name_with_htmx_deletes_and_redirects_to_the_list(admin_client_, project, neon):
    response = admin_client_.post(url(project.id), {"name": project.name}, headers=HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("projects:list")
    with pytest.raises(NeonNotFound):
        get_client().get_project(project.id)
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.project_id) == (
        "project.delete",
        "success",
        project.id,
    )
    assert event.actor == "ada.admin@example.test"
    listing = admin_client_.get(reverse("projects:list")).content.decode()
    assert f"Project “{project.name}” was deleted" in listing
    assert "recoverable for 7 days" in listing


def test_right_name_without_htmx_redirects(admin_client_, project, neon):
    response = admin_client_.post(url(project.id), {"name": project.name})
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:list")
    assert deletes(neon) == 1


def test_locked_project_keeps_the_form_and_says_why(admin_client_, project, neon):
    neon.set_faults({"status": 423, "method": "DELETE"})
    response = admin_client_.post(url(project.id), {"name": project.name})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert MSG_LOCKED in html
    assert "Request ID" in html
    assert f'value="{project.name}"' in html
    assert response.context["summary"].branch_count  # the whole page, with what would go
    event = AuditEvent.objects.get()
    assert (event.outcome, event.status) == ("failure", 423)
    assert get_client().get_project(project.id)  # still there


def test_unknown_project_is_404(admin_client_, neon):
    assert admin_client_.get(url("no-such-project-1")).status_code == 404


@pytest.mark.parametrize("headers", [HX, {}], ids=["htmx", "page"])
def test_neon_refuses_a_protected_project_and_the_refusal_is_shown(
    admin_client_, protected_project, neon, headers
):
    response = admin_client_.post(
        url(protected_project.id), {"name": protected_project.name}, headers=headers
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<form id="delete-form"') if headers else "<html" in html
    assert 'class="flash flash-error" role="alert"' in html
    assert "protected" in html  # Neon's own words
    assert "Request ID" in html
    assert f'value="{protected_project.name}"' in html
    if not headers:  # the whole page again, warning included
        assert MSG_PROTECTED_BLOCKS_DELETE in html
    assert get_client().get_project(protected_project.id)  # still there
    event = AuditEvent.objects.get()
    assert event.outcome == "failure" and 400 <= event.status < 500 and event.status != 423
    assert event.project_id == protected_project.id
