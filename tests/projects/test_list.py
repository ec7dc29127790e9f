"""The project list: full page and htmx partials, search, organizations, paging, errors."""

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from html import escape

import pytest
from django.urls import reverse

from projects.forms.listing import PERSONAL_ACCOUNT
from projects.neon import MSG_UNAVAILABLE, NeonRejected, get_client
from projects.presenters import PERSONAL, row_cells
from projects.templatetags.neon_format import bytes_iec

HX = {"HX-Request": "true"}
URL = "/projects/"

pytestmark = pytest.mark.django_db


def rows(html: str) -> int:
    return html.count("<tr>")


ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.DOTALL)


def cells(html: str) -> list[list[str]]:
    """The project rows' cells as HTML, in order (the header and "Load more" rows left out)."""
    return [CELL.findall(row) for row in ROW.findall(html) if "<td" in row]


def time_cell(value: datetime | None) -> str:
    """The <time> element of a cell, its relative words left to the pattern: they depend on
    the moment the page was drawn."""
    if value is None:
        return re.escape("—")
    exact = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return re.escape(f'<time datetime="{value.isoformat()}" title="{exact}">') + r"[^<]+</time>"


def assert_rows_show(html: str, projects) -> None:
    shown = cells(html)
    assert len(shown) == len(projects)
    for cell, p in zip(shown, projects, strict=True):
        url = reverse("projects:detail", args=[p.id])
        name_cell = (
            f'<a href="{url}">{escape(p.name)}</a><div class="muted mono small">{p.id}</div>'
        )
        assert cell[0] == name_cell
        assert cell[1:3] == [p.region_id, str(p.pg_version)]
        assert re.fullmatch(time_cell(p.created_at), cell[3])
        assert re.fullmatch(time_cell(p.compute_last_active_at), cell[4])
        assert cell[5:] == [bytes_iec(p.synthetic_storage_size), p.org_name or p.org_id or PERSONAL]


def personal_projects() -> set[str]:
    """What Neon lists without org_id: the personal account's projects (some of the seed's)."""
    return {p.id for p in get_client().list_projects(limit=400).projects}


def test_root_leads_to_the_list(viewer_client):
    response = viewer_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:list")


def test_full_page_without_htmx(viewer_client, neon):
    response = viewer_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert 'id="results"' in html
    assert rows(html) == 1 + 10  # header row + the default page size
    assert "Load more" in html


def test_each_row_shows_its_project_and_links_to_its_page(viewer_client, neon):
    response = viewer_client.get(URL)
    assert_rows_show(response.content.decode(), response.context["page"].projects)


def test_an_organization_s_rows_name_it(viewer_client, neon):
    org = get_client().list_organizations()[0]
    response = viewer_client.get(URL, {"org_id": org.id, "limit": 25})
    projects = response.context["page"].projects
    assert projects
    assert_rows_show(response.content.decode(), projects)
    assert {row[6] for row in cells(response.content.decode())} == {org.name}


def test_a_400_row_load_more_has_every_row_and_the_next_control(viewer_client, neon):
    neon.reset(seed=700)  # 422 personal projects: 10 on the page, 400 more, then 12
    first = viewer_client.get(URL).context["page"]
    response = viewer_client.get(URL, {"limit": 400, "cursor": first.next_cursor}, headers=HX)
    html = response.content.decode()
    page = response.context["page"]
    assert len(page.projects) == 400 and page.next_cursor
    assert "<table" not in html and "<html" not in html
    assert rows(html) == 400
    assert_rows_show(html, page.projects)
    # The control comes after the last row, and asks for the next 400 with the same filters.
    assert html.count('id="load-more"') == 1
    control = html[html.index('<tr id="load-more"') :]
    assert "<tr>" not in control
    list_url = reverse("projects:list")
    assert f'hx-get="{list_url}" hx-target="#load-more" hx-swap="outerHTML"' in control
    assert '<input type="hidden" name="limit" value="400">' in control
    assert f'<input type="hidden" name="cursor" value="{page.next_cursor}">' in control
    last = viewer_client.get(URL, {"limit": 400, "cursor": page.next_cursor}, headers=HX)
    assert rows(last.content.decode()) == 12
    assert 'id="load-more"' not in last.content.decode()


# --- The rows' display values (projects/presenters.py) ---------------------------------------

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def a_project(neon):
    return get_client().list_projects(limit=1).projects[0]


def test_a_row_holds_each_cell_as_shown(a_project):
    project = dataclasses.replace(
        a_project,
        created_at=NOW - timedelta(days=40),
        compute_last_active_at=NOW - timedelta(hours=3, minutes=5),
        synthetic_storage_size=1536,
        org_id=None,
        org_name=None,
    )
    (row,) = row_cells([project], now=NOW)
    assert row == {
        "url": reverse("projects:detail", args=[project.id]),
        "name": escape(project.name),
        "id": project.id,
        "protected": False,
        "region": project.region_id,
        "pg_version": str(project.pg_version),
        "created": '<time datetime="2026-05-06T12:00:00+00:00" title="2026-05-06 12:00:00 UTC">'
        "1\xa0month ago</time>",
        "last_active": '<time datetime="2026-06-15T08:55:00+00:00" '
        'title="2026-06-15 08:55:00 UTC">3\xa0hours ago</time>',
        "storage": "1.5 KiB",
        "organization": "Personal",
    }


def test_a_row_escapes_what_neon_sends_and_shows_dashes_for_what_it_does_not(a_project):
    project = dataclasses.replace(
        a_project,
        name='<b>ops & "prod"</b>',
        compute_last_active_at=None,
        synthetic_storage_size=None,
        org_id="org-x",
        org_name=None,
    )
    (row,) = row_cells([project], now=NOW)
    assert row["name"] == "&lt;b&gt;ops &amp; &quot;prod&quot;&lt;/b&gt;"
    assert (row["last_active"], row["storage"]) == ("—", "—")
    assert row["organization"] == "org-x"  # an organization Neon did not name: its ID


def test_a_hostile_name_is_escaped_on_the_page(viewer_client, neon):
    name = '<script>alert("x")</script>'
    get_client().create_project({"name": name})
    html = viewer_client.get(URL, {"search": "script"}).content.decode()
    assert name not in html
    assert escape(name) in html


def test_search_with_htmx_returns_only_the_results_partial(viewer_client, neon):
    name = viewer_client.get(URL).context["page"].projects[3].name
    response = viewer_client.get(URL, {"search": name}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="results">')
    assert name in html
    assert all(name.lower() in p.name.lower() for p in response.context["page"].projects)


def test_load_more_with_htmx_returns_only_rows_and_the_next_control(viewer_client, neon):
    first = viewer_client.get(URL, {"limit": 10}).context["page"]
    response = viewer_client.get(URL, {"limit": 10, "cursor": first.next_cursor}, headers=HX)
    html = response.content.decode()
    assert "<table" not in html and "<html" not in html
    assert html.count("<tr>") == min(10, len(personal_projects()) - 10)
    ids_first = {p.id for p in first.projects}
    ids_next = {p.id for p in response.context["page"].projects}
    assert not ids_first & ids_next


def test_load_more_walks_to_the_end_once_each_and_the_control_disappears(viewer_client, neon):
    seen: list[str] = []
    cursor = None
    neon.clear_stats()
    calls = 0
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        response = viewer_client.get(URL, params, headers=HX if cursor else {})
        calls += 1
        page = response.context["page"]
        seen += [p.id for p in page.projects]
        cursor = page.next_cursor
        if not cursor:
            assert 'id="load-more"' not in response.content.decode()
            break
    assert neon.stats()["GET /api/v2/projects"] == calls  # one upstream call per click
    assert len(seen) == len(set(seen))
    assert set(seen) == personal_projects()


def test_load_more_works_without_javascript(viewer_client, neon):
    first = viewer_client.get(URL).context["page"]
    response = viewer_client.get(URL, {"cursor": first.next_cursor})
    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert response.context["page"].projects[0].id not in {p.id for p in first.projects}


def test_page_size_is_kept_in_the_load_more_control(viewer_client, neon):
    html = viewer_client.get(URL, {"limit": 25}).content.decode()
    assert rows(html) == 1 + min(25, len(personal_projects()))
    assert '<option value="25" selected>' in html


def test_a_bad_page_size_falls_back_to_the_default(viewer_client, neon):
    response = viewer_client.get(URL, {"limit": "9999"})
    assert response.status_code == 200
    assert len(response.context["page"].projects) == 10


def test_no_match_says_so(viewer_client, neon):
    html = viewer_client.get(URL, {"search": "zz-no-such-project"}, headers=HX).content.decode()
    assert "No project matches “zz-no-such-project”" in html


def test_empty_account_says_no_projects_yet(viewer_client, neon):
    neon.reset(seed=0)
    html = viewer_client.get(URL).content.decode()
    assert "No projects yet." in html


def test_organization_filter_lists_the_key_s_organizations_and_filters(viewer_client, neon):
    response = viewer_client.get(URL)
    choices = dict(response.context["form"].fields["org_id"].choices)
    org_ids = [key for key in choices if key]
    assert org_ids, "the seeded emulator has organizations"
    filtered = viewer_client.get(URL, {"org_id": org_ids[0], "limit": 400}).context["page"]
    assert filtered.projects
    assert {p.org_id for p in filtered.projects} == {org_ids[0]}


def test_neon_down_shows_an_error_page_not_a_traceback(viewer_client, neon):
    neon.set_faults({"status": 503, "path_prefix": "/api/v2/projects"})
    response = viewer_client.get(URL)
    assert response.status_code == 502
    html = response.content.decode()
    assert MSG_UNAVAILABLE in html
    assert "Request ID" in html


def test_neon_down_during_search_swaps_an_error_into_the_flash_area(viewer_client, neon):
    viewer_client.get(URL)  # organizations cached
    neon.set_faults({"status": 500, "path_prefix": "/api/v2/projects"})
    response = viewer_client.get(URL, {"search": "x"}, headers=HX)
    assert response.status_code == 200  # htmx 2 swaps 2xx only
    assert response["HX-Retarget"] == "#flash"
    assert 'role="alert"' in response.content.decode()


def test_a_signed_in_person_without_a_role_is_refused(client, django_user_model, neon):
    client.force_login(django_user_model.objects.create_user("nobody@example.test"))
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_htmx_request_gets_hx_redirect_not_a_login_fragment(client):
    response = client.get(URL, headers=HX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("login"))
    assert response.content == b""


def test_htmx_history_restore_gets_the_whole_page(viewer_client, neon):
    headers = HX | {"HX-History-Restore-Request": "true"}
    html = viewer_client.get(URL, {"search": "a"}, headers=headers).content.decode()
    assert "<html" in html


def test_unknown_project_page_names_the_problem_and_points_to_recently_deleted(viewer_client, neon):
    response = viewer_client.get("/projects/no-such-project-1/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Not found</h1>" in html
    assert reverse("projects:recoverable") in html


# --- Organization filter and partly invalid query strings -------------------------------------


def org_ids() -> list[str]:
    from projects.selectors import organization_list

    return [org.id for org in organization_list()]


def test_the_empty_organization_choice_is_the_personal_account(viewer_client, neon, settings):
    settings.NEON_ORG_ID = ""
    response = viewer_client.get(URL)
    choices = dict(response.context["form"].fields["org_id"].choices)
    assert choices[""] == PERSONAL_ACCOUNT
    assert "All organizations" not in response.content.decode()
    assert response.context["filters"]["org_id"] == ""


def test_configured_organization_is_only_where_the_list_starts(viewer_client, neon, settings):
    settings.NEON_ORG_ID = org_ids()[0]
    first = viewer_client.get(URL, {"limit": 400})
    assert first.context["filters"]["org_id"] == settings.NEON_ORG_ID
    assert {p.org_id for p in first.context["page"].projects} == {settings.NEON_ORG_ID}
    assert f'<option value="{settings.NEON_ORG_ID}" selected>' in first.content.decode()
    # Choosing the personal account sticks: it is not replaced by the configured organization.
    personal = viewer_client.get(URL, {"org_id": "", "limit": 400})
    assert personal.context["filters"]["org_id"] == ""
    assert '<option value="" selected>' in personal.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"limit": "7", "search": "db"}, {"search": "db", "limit": 10}),
        ({"limit": "25", "search": "x" * 300}, {"search": "", "limit": 25}),
        ({"org_id": "org-unknown-1", "search": "db"}, {"search": "db", "org_id": ""}),
    ],
)
def test_an_invalid_parameter_falls_back_alone(viewer_client, neon, settings, query, expected):
    settings.NEON_ORG_ID = ""
    response = viewer_client.get(URL, query)
    assert response.status_code == 200
    filters = response.context["filters"]
    assert {key: filters[key] for key in expected} == expected


def test_templates_build_their_links_with_url_not_literal_paths():
    """A literal path breaks the day the app is mounted elsewhere; {% url %} follows it."""
    import re
    from pathlib import Path

    from django.conf import settings

    templates = Path(settings.BASE_DIR) / "templates"
    literal = re.compile(r"""(?:href|action|hx-get|hx-post)="/[a-z]""")
    found = [
        f"{path.name}: {match.group(0)}"
        for path in [*(templates / "projects").glob("*.html"), templates / "neon_error.html"]
        for match in literal.finditer(path.read_text())
    ]
    assert found == []


def test_a_dashboard_mounted_under_a_prefix_draws_every_link_under_it(
    viewer_client, neon, settings
):
    """Django's {% url %} and the rows' `url_with_project_id` both follow the URLconf."""
    settings.ROOT_URLCONF = "tests.urls_mounted"
    html = viewer_client.get("/mounted" + URL).content.decode()
    project_links = re.findall(r'<td><a href="([^"]+)">', html)
    assert project_links
    assert all(link.startswith("/mounted/projects/") for link in project_links)
    assert 'href="/mounted/projects/"' in html and 'action="/mounted/projects/"' in html
    assert not re.search(r'(?:href|action|hx-get|hx-post)="/(?!mounted/|static/)', html)


def test_the_top_bar_names_the_person_by_name_else_email_else_username(
    client, django_user_model, neon
):
    from neonadmin.roles import Role, user_role_set

    # Usernames are the IdP subject (an opaque ID); people should see something they recognise.
    user = django_user_model.objects.create_user("0b7f3c1e-subject", email="sam@example.test")
    user_role_set(user=user, role=Role.VIEWER)
    client.force_login(user)
    assert '<span class="who">sam@example.test</span>' in client.get(URL).content.decode()
    user.first_name, user.last_name = "Sam", "Lee"
    user.save()
    assert '<span class="who">Sam Lee</span>' in client.get(URL).content.decode()


def test_an_org_only_account_starts_at_its_first_organization(viewer_client, neon, monkeypatch):
    # Neon's answer to a key with no personal account listing without org_id.
    client = get_client()
    original = type(client).list_projects

    def org_only(self, **kwargs):
        if not kwargs.get("org_id"):
            raise NeonRejected("org_id is required", status=400, code="")
        return original(self, **kwargs)

    monkeypatch.setattr(type(client), "list_projects", org_only)
    first = client.list_organizations()[0]
    response = viewer_client.get(reverse("projects:list"))
    assert response.status_code == 200
    assert response.context["filters"]["org_id"] == first.id
    choices = [value for value, _label in response.context["form"].fields["org_id"].choices]
    assert "" not in choices  # no "Personal account" to pick
    assert response.context["page"].projects
    assert all(p.org_id == first.id for p in response.context["page"].projects)
