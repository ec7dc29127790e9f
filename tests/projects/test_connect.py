"""Connection details: choices from Neon, masked URI, audited reveal for operators only."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from projects.forms.access import MSG_NO_ENDPOINT
from projects.neon import get_client
from projects.selectors import MASKED, password_masked
from projects.views.detail import MSG_REVEAL_FORBIDDEN

HX = {"HX-Request": "true"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(neon):
    """A seeded project with a second branch, its default branch, and that branch's role."""
    client = get_client()
    for project in client.list_projects(limit=25).projects:
        branches = client.list_branches(project.id)
        endpoints = client.list_endpoints(project.id)
        with_endpoint = {e.branch_id for e in endpoints}
        if len(branches) >= 2 and len(with_endpoint) >= 2:
            default = next(b for b in branches if b.default)
            other = next(b for b in branches if not b.default and b.id in with_endpoint)
            return project, default, other
    pytest.fail("the seed has no project with two branches that have endpoints")


def url(project_id: str) -> str:
    return reverse("projects:connect", args=[project_id])


def host(uri: str) -> str:
    return urlsplit(uri).hostname


def test_defaults_are_preselected_and_the_uri_is_masked(viewer_client, setup):
    project, default, _ = setup
    client = get_client()
    roles = client.list_roles(project.id, default.id)
    databases = client.list_databases(project.id, default.id)
    response = viewer_client.get(url(project.id))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    form = response.context["form"]
    assert form.is_valid()
    data = form.cleaned_data
    assert data["branch"] == default.id
    assert data["role"] == next(r.name for r in roles if not r.protected)
    assert data["database"] == databases[0].name
    assert data["pooled"] is True
    endpoint = next(e for e in client.list_endpoints(project.id) if e.id == data["endpoint"])
    assert endpoint.branch_id == default.id and endpoint.read_write
    strings = response.context["strings"]
    assert MASKED in strings.uri
    assert host(strings.uri) == endpoint.host.replace(endpoint.id, f"{endpoint.id}-pooler", 1)
    real = client.connection_uri(
        project.id, database_name=data["database"], role_name=data["role"], pooled=True
    )
    assert urlsplit(real).password not in html  # the secret never reaches a viewer
    # Three formats.
    assert strings.psql == f"psql '{strings.uri}'"
    assert strings.env == f"DATABASE_URL={strings.uri}"
    assert 'id="conn-psql"' in html and 'id="conn-env"' in html


COPY_BUTTONS = {
    "#conn-uri": "Copy connection URI",
    "#conn-psql": "Copy psql command",
    "#conn-env": "Copy environment variable line",
}


def copy_button(target: str, label: str) -> str:
    # Hidden until app.js shows it: without JavaScript a Copy button could do nothing.
    return (
        f'<button type="button" class="copy" data-copy-target="{target}" '
        f'aria-label="{label}" hidden>Copy</button>'
    )


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_each_masked_string_has_a_copy_button_hidden_until_script_runs(
    viewer_client, setup, headers
):
    project, _, _ = setup
    html = viewer_client.get(url(project.id), headers=headers).content.decode()
    assert ("<html" in html) is not bool(headers)
    for target, label in COPY_BUTTONS.items():
        assert copy_button(target, label) in html
        assert f'id="{target[1:]}"' in html
    assert (
        "onclick" not in html and "hx-on" not in html and "<script" not in html.split("<body")[-1]
    )


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_revealed_strings_have_copy_buttons_too(operator_client, setup, headers):
    project, _, _ = setup
    data = operator_client.get(url(project.id)).context["form"].cleaned_data
    post = {**data, "pooled": "on", "shown_branch": data["branch"]}
    html = operator_client.post(url(project.id), post, headers=headers).content.decode()
    assert ("<html" in html) is not bool(headers)
    assert MASKED not in html
    for target, label in COPY_BUTTONS.items():
        assert copy_button(target, label) in html


def test_pooled_off_gives_the_direct_host(viewer_client, setup):
    project, default, _ = setup
    first = viewer_client.get(url(project.id)).context["form"].cleaned_data
    query = {k: first[k] for k in ("branch", "endpoint", "database", "role")}
    direct = viewer_client.get(url(project.id), {**query, "shown_branch": default.id})
    pooled = viewer_client.get(url(project.id), {**query, "pooled": "on"})
    assert direct.context["form"].cleaned_data["pooled"] is False
    assert "-pooler." not in host(direct.context["strings"].uri)
    assert "-pooler." in host(pooled.context["strings"].uri)


def test_htmx_returns_only_the_connection_partial(viewer_client, setup):
    project, _, _ = setup
    response = viewer_client.get(url(project.id), headers=HX)
    html = response.content.decode()
    assert "<html" not in html
    assert html.strip().startswith('<div id="connection">')
    assert 'hx-trigger="change, submit"' in html


def test_changing_branch_refreshes_the_choices(viewer_client, setup):
    project, default, other = setup
    first = viewer_client.get(url(project.id)).context["form"].cleaned_data
    # The operator picks another branch; the other fields still hold the old branch's values.
    query = {**first, "pooled": "on", "branch": other.id, "shown_branch": default.id}
    response = viewer_client.get(url(project.id), query, headers=HX)
    form = response.context["form"]
    assert form.is_valid(), form.errors
    endpoints = get_client().list_endpoints(project.id)
    assert form.cleaned_data["branch"] == other.id
    chosen = next(e for e in endpoints if e.id == form.cleaned_data["endpoint"])
    assert chosen.branch_id == other.id
    offered = {value for value, _ in form.fields["endpoint"].choices}
    assert offered == {e.id for e in endpoints if e.branch_id == other.id}
    assert {value for value, _ in form.fields["role"].choices} == {
        r.name for r in get_client().list_roles(project.id, other.id)
    }
    assert form["shown_branch"].value() == other.id
    assert chosen.id in host(response.context["strings"].uri)


def test_a_role_that_is_not_on_the_branch_is_refused(viewer_client, setup, neon):
    project, default, _ = setup
    neon.clear_stats()
    response = viewer_client.get(
        url(project.id), {"branch": default.id, "shown_branch": default.id, "role": "nobody"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert "strings" not in response.context
    assert "GET /api/v2/projects/{project_id}/connection_uri" not in neon.stats()


def test_branch_without_endpoint_says_so(viewer_client, neon):
    client = get_client()
    for project in client.list_projects(limit=25).projects:
        with_endpoint = {e.branch_id for e in client.list_endpoints(project.id)}
        bare = [b for b in client.list_branches(project.id) if b.id not in with_endpoint]
        if bare:
            break
    else:
        pytest.skip("the seed has no branch without an endpoint")
    response = viewer_client.get(url(project.id), {"branch": bare[0].id})
    assert MSG_NO_ENDPOINT.replace("'", "&#x27;") in response.content.decode()


def test_operator_reveal_shows_the_password_and_is_audited(operator_client, setup, neon):
    project, _, _ = setup
    data = operator_client.get(url(project.id)).context["form"].cleaned_data
    post = {**data, "pooled": "on", "shown_branch": data["branch"]}
    response = operator_client.post(url(project.id), post, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<div id="connection">')
    uri = response.context["strings"].uri
    real = get_client().connection_uri(
        project.id, database_name=data["database"], role_name=data["role"], pooled=True
    )
    assert uri == real
    assert f">{uri}</textarea>" in html.replace("&amp;", "&")
    assert 'data-copy-target="#conn-uri"' in html
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.project_id) == (
        "connection.reveal",
        "success",
        project.id,
    )
    assert event.request_data["role_name"] == data["role"]
    assert urlsplit(real).password not in str(event.request_data)


def test_reveal_without_htmx_renders_the_page(operator_client, setup):
    project, _, _ = setup
    data = operator_client.get(url(project.id)).context["form"].cleaned_data
    del data["pooled"]  # an unticked checkbox sends nothing
    response = operator_client.post(url(project.id), {**data, "shown_branch": data["branch"]})
    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert MASKED not in response.context["strings"].uri
    assert "-pooler." not in host(response.context["strings"].uri)  # pooled was not sent


def test_viewer_sees_the_form_but_may_not_reveal(viewer_client, setup, neon):
    project, _, _ = setup
    page = viewer_client.get(url(project.id))
    html = page.content.decode()
    assert "Reveal password" not in html
    assert MSG_REVEAL_FORBIDDEN in html
    data = page.context["form"].cleaned_data
    neon.clear_stats()
    response = viewer_client.post(url(project.id), {**data, "shown_branch": data["branch"]})
    assert response.status_code == 403
    assert neon.stats() == {}
    event = AuditEvent.objects.get()  # the refused reveal is an attempt, recorded once
    assert (event.action, event.outcome, event.status) == ("connection.reveal", "failure", 403)
    assert event.project_id == project.id


def test_neon_error_on_the_uri_is_shown_in_place(operator_client, setup, neon):
    project, _, _ = setup
    data = operator_client.get(url(project.id)).context["form"].cleaned_data
    neon.set_faults({"status": 500, "path_prefix": f"/api/v2/projects/{project.id}/connection_uri"})
    response = operator_client.post(
        url(project.id), {**data, "shown_branch": data["branch"]}, headers=HX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<div id="connection">')
    assert "Request ID" in html
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.status) == ("connection.reveal", "failure", 500)


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("postgresql://u:p@h/db?sslmode=require", f"postgresql://u:{MASKED}@h/db?sslmode=require"),
        ("postgresql://u:p%40ss@h:5432/db", f"postgresql://u:{MASKED}@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_password_masked(uri, masked):
    assert password_masked(uri) == masked


def test_history_restore_gets_the_whole_page(viewer_client, setup):
    project, _, _ = setup
    headers = {**HX, "HX-History-Restore-Request": "true"}
    html = viewer_client.get(url(project.id), headers=headers).content.decode()
    assert "<html" in html  # htmx swaps this into <body> after a back-button cache miss


@pytest.mark.parametrize("copy", ["uri", "psql", "env"])
def test_copy_on_a_masked_page_answers_the_real_string_once_audited(
    operator_client, setup, neon, copy
):
    """Copy while masked: one call for the URI, the same audit record as Reveal, and only the
    string (JSON, never cached), for the clipboard; the page itself stays masked."""
    project, _, _ = setup
    page = operator_client.get(url(project.id))
    assert 'data-copy-secret="uri" data-copy-form="#reveal-form"' in page.content.decode()
    data = page.context["form"].cleaned_data
    post = {**data, "pooled": "on", "shown_branch": data["branch"], "copy": copy}
    neon.clear_stats()
    response = operator_client.post(url(project.id), post)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    assert sum(n for route, n in neon.stats().items() if "connection_uri" in route) == 1
    real = get_client().connection_uri(
        project.id, database_name=data["database"], role_name=data["role"], pooled=True
    )
    expected = {"uri": real, "psql": f"psql '{real}'", "env": f"DATABASE_URL={real}"}[copy]
    assert response.json() == {"text": expected}
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome) == ("connection.reveal", "success")


def test_copy_is_refused_to_viewers_like_reveal(viewer_client, setup, neon):
    project, _, _ = setup
    page = viewer_client.get(url(project.id))
    assert "data-copy-secret" not in page.content.decode()  # viewers copy what they see
    data = page.context["form"].cleaned_data
    post = {**data, "shown_branch": data["branch"], "copy": "uri"}
    assert viewer_client.post(url(project.id), post).status_code == 403
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.status) == ("connection.reveal", "failure", 403)


def test_copy_of_a_string_neon_refuses_says_why(operator_client, setup, neon):
    project, _, _ = setup
    data = operator_client.get(url(project.id)).context["form"].cleaned_data
    neon.set_faults({"status": 500, "path_prefix": f"/api/v2/projects/{project.id}/connection_uri"})
    post = {**data, "shown_branch": data["branch"], "copy": "uri"}
    response = operator_client.post(url(project.id), post)
    assert response.status_code == 502 and response.json()["error"]
