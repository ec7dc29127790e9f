"""The project detail page: every field, lazy panels, live operations, errors and roles."""

import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from neon_emulator.testing import run_emulator
from projects.neon import MSG_UNAVAILABLE, get_client
from projects.views.detail import mask_email
from tests.conftest import TEST_NEON_KEY

HX = {"HX-Request": "true"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(neon):
    """The seeded project with the most branches (so the panels have something to show)."""
    client = get_client()
    projects = client.list_projects(limit=25).projects
    chosen = max(projects, key=lambda p: len(client.list_branches(p.id)))
    cache.clear()  # the test's pages start cold, as if these reads had not been made
    return chosen


def url(project_id: str) -> str:
    return reverse("projects:detail", args=[project_id])


def test_full_page_shows_every_field_in_readable_units(viewer_client, project):
    full = get_client().get_project(project.id)
    response = viewer_client.get(url(project.id))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert f"<h1>{full.name}</h1>" in html
    assert full.id in html
    assert full.region_id in html
    for heading in (
        "Overview",
        "Consumption",
        "Compute defaults",
        "Quotas",
        "Network access",
        "Maintenance and features",
    ):
        assert f">{heading}" in html
    for label in (
        "Storage",
        "Written data",
        "Data transfer",
        "Compute time",
        "Active time",
        "History retention",
        "IP allowlist",
        "Maintenance window",
        "Logical replication",
        "Audit log level",
        "HIPAA",
        "Preload libraries",
        "Autoscaling",
        "Suspend after",
    ):
        assert f"<dt>{label}</dt>" in html, label
    # Readable units, the exact UTC time on hover.
    assert "GiB" in html or "MiB" in html or "KiB" in html
    assert 'title="20' in html and ' UTC"' in html
    for ip in full.settings.allowed_ips:
        assert ip in html
    window = full.settings.maintenance_window
    if window:
        names = dict(enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], start=1))
        days = ", ".join(names[d] for d in window.weekdays)
        assert f"{days} {window.start_time}\u2013{window.end_time} UTC" in html
    else:
        assert "Neon&#x27;s choice" in html


def test_full_page_does_not_wait_for_the_panels(viewer_client, project, neon):
    neon.clear_stats()
    html = viewer_client.get(url(project.id)).content.decode()
    stats = neon.stats()
    assert stats.get("GET /api/v2/projects/{project_id}") == 1
    assert not any(key.endswith(("/branches", "/endpoints", "/operations")) for key in stats)
    for name in ("operations", "branches", "endpoints"):
        assert f'hx-get="{url(project.id)}?panel={name}" hx-trigger="load"' in html
        # Without JavaScript, a plain link brings the panels inline.
        assert f'href="{url(project.id)}?panel=all#{name}"' in html


@pytest.mark.parametrize("panel", ["operations", "branches", "endpoints"])
def test_htmx_panel_is_only_the_fragment(viewer_client, project, neon, panel):
    neon.clear_stats()
    response = viewer_client.get(url(project.id), {"panel": panel}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.strip().startswith(f'<section id="{panel}"')
    # The panel alone: the project itself is not fetched again.
    assert "GET /api/v2/projects/{project_id}" not in neon.stats()


def test_panels_render_inline_without_javascript(viewer_client, project):
    branches = get_client().list_branches(project.id)
    endpoints = get_client().list_endpoints(project.id)
    html = viewer_client.get(url(project.id), {"panel": "all"}).content.decode()
    assert "<html" in html
    assert 'hx-trigger="load"' not in html
    for branch in branches:
        assert branch.id in html and branch.name in html
    for endpoint in endpoints:
        assert endpoint.host in html
    assert "create_timeline" in html  # a seeded operation


def test_branches_panel_lists_default_first(viewer_client, project):
    response = viewer_client.get(url(project.id), {"panel": "branches"}, headers=HX)
    branches = response.context["branches"]
    assert len(branches) >= 2
    assert branches[0].default
    assert "default</span>" in response.content.decode()


def wait_until_done(project_id: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ops = get_client().list_operations(project_id).operations
        if all(op.done for op in ops):
            return
        time.sleep(0.1)
    raise AssertionError("operations did not finish")


@pytest.fixture(scope="module")
def slow_emulator():
    """Operations that outlast a request or two, so "still running" is never a race."""
    with run_emulator(seed=3, api_keys=[TEST_NEON_KEY], op_seconds=3) as emu:
        yield emu


def test_running_operations_poll_until_they_end(viewer_client, slow_emulator, settings):
    slow_emulator.reset(seed=3)
    settings.NEON_API_URL = slow_emulator.base_url
    project = get_client().list_projects(limit=3).projects[0]
    # Changing compute defaults makes Neon reconfigure every endpoint: operations that run a while.
    changed = get_client().update_project(
        project.id, {"default_endpoint_settings": {"autoscaling_limit_max_cu": 2}}
    )
    assert any(not op.done for op in changed.operations)
    html = viewer_client.get(url(project.id), {"panel": "operations"}, headers=HX).content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert f'hx-get="{url(project.id)}?panel=operations"' in html
    assert "in progress" in html

    wait_until_done(project.id)
    html = viewer_client.get(url(project.id), {"panel": "operations"}, headers=HX).content.decode()
    assert "hx-trigger" not in html  # finished: the panel stops polling
    assert "apply_config" in html


def test_unknown_project_is_a_clear_404_page(viewer_client, neon):
    response = viewer_client.get(url("no-such-project-404"))
    html = response.content.decode()
    assert response.status_code == 404
    assert "<html" in html
    assert "no-such-project-404" in html or "no such" in html.lower()
    assert 'href="/projects/"' in html  # a way back
    assert "Traceback" not in html


def test_neon_5xx_in_a_panel_stays_in_the_panel(viewer_client, project, neon):
    neon.set_faults(
        {"status": 500, "path_prefix": f"/api/v2/projects/{project.id}/branches", "message": "x"}
    )
    response = viewer_client.get(url(project.id), {"panel": "branches"}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    # Not retargeted to the page's flash area: the panel itself shows the error.
    assert "HX-Retarget" not in response.headers
    assert html.strip().startswith('<section id="branches"')
    assert MSG_UNAVAILABLE in html
    assert "Request ID" in html
    assert "Try again" in html
    # The rest of the page still works.
    ok = viewer_client.get(url(project.id), {"panel": "endpoints"}, headers=HX)
    assert ok.status_code == 200 and "ep-" in ok.content.decode()
    assert viewer_client.get(url(project.id)).status_code == 200


def test_neon_5xx_on_the_project_is_an_error_page_not_a_crash(viewer_client, project, neon):
    neon.set_faults({"status": 500, "path_prefix": f"/api/v2/projects/{project.id}"})
    response = viewer_client.get(url(project.id))
    assert response.status_code == 502
    assert MSG_UNAVAILABLE in response.content.decode()


@pytest.mark.parametrize(
    ("client_fixture", "settings_link", "delete_link"),
    [
        ("viewer_client", False, False),
        ("operator_client", True, False),
        ("admin_client_", True, True),
    ],
)
def test_actions_follow_the_role(request, project, client_fixture, settings_link, delete_link):
    html = request.getfixturevalue(client_fixture).get(url(project.id)).content.decode()
    assert f'href="{reverse("projects:connect", args=[project.id])}"' in html
    assert (f'href="/projects/{project.id}/settings/"' in html) is settings_link
    assert (f'href="{reverse("projects:delete", args=[project.id])}"' in html) is delete_link


def test_list_links_to_the_detail_page(viewer_client, project):
    html = viewer_client.get(reverse("projects:list"), {"search": project.id}).content.decode()
    assert f'href="{url(project.id)}"' in html


def test_signed_out_is_sent_to_login(client, project):
    response = client.get(url(project.id))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("client_fixture", "sees_owner"),
    [("viewer_client", False), ("operator_client", True), ("admin_client_", True)],
)
def test_owner_email_and_name_are_masked_for_viewers(request, project, client_fixture, sees_owner):
    """The spec marks them x-sensitive ("Mask these in the UI")."""
    full = get_client().get_project(project.id)
    assert full.owner_email and full.owner_name, "the seed gives projects an owner"
    html = request.getfixturevalue(client_fixture).get(url(project.id)).content.decode()
    assert (full.owner_email in html) is sees_owner
    assert (full.owner_name in html) is sees_owner
    if not sees_owner:
        assert mask_email(full.owner_email) in html
        assert mask_email(full.owner_email).startswith(full.owner_email[0] + "\N{BULLET}")


def test_mask_email_keeps_the_first_letter_and_the_domain():
    assert mask_email("alice@example.com") == "a\N{BULLET}\N{BULLET}\N{BULLET}@example.com"
    assert mask_email("") == ""


def test_an_organizations_project_names_its_organization(viewer_client, neon):
    client = get_client()
    org = client.list_organizations()[0]
    project = client.list_projects(limit=1, org_id=org.id).projects[0]
    html = viewer_client.get(f"/projects/{project.id}/").content.decode()
    assert f"<dd>{org.name} <span" in html
