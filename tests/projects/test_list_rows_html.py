"""The list's rows are drawn from `projects.presenters.rows_html`, markup built in Python; the
page must be, byte for byte, what the rows partial drew cell by cell from `row_cells`."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from django.template import engines
from django.template.loader import render_to_string
from django.test import RequestFactory

from projects.neon import get_client
from projects.presenters import rows_html
from tests.projects.test_list import project_rows

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

# The rows partial's loop as it was when the template drew each cell.
CELL_BY_CELL = """{% for row in rows %}
          <tr>
            <td><a href="{{ row.url }}">{{ row.name }}</a>{% if row.id in protected %} <span class="badge protected-badge" title="Protected from deletion">protected</span>{% endif %}<div class="muted mono small">{{ row.id }}</div></td>
            <td>{{ row.region }}</td>
            <td>{{ row.pg_version }}</td>
            <td>{{ row.created }}</td>
            <td>{{ row.last_active }}</td>
            <td class="num">{{ row.storage }}</td>
            <td>{{ row.organization }}</td>
          </tr>
        {% endfor %}"""  # noqa: E501


def rows_partial(**context) -> str:
    request = RequestFactory().get("/projects/", {"cursor": "c"}, headers={"HX-Request": "true"})
    return render_to_string("projects/project_list.html#rows", context, request=request)


def test_rows_are_what_the_template_drew_cell_by_cell(neon):
    projects = get_client().list_projects(limit=12).projects
    projects[0] = dataclasses.replace(
        projects[0],
        name='<b>ops & "prod"</b>',
        compute_last_active_at=None,
        synthetic_storage_size=None,
        org_id="org-x",
        org_name=None,
    )
    projects[1] = dataclasses.replace(projects[1], created_at=NOW + timedelta(days=3))
    rows = project_rows(projects, now=NOW)
    protected = {projects[2].id, projects[5].id}
    page = type("Page", (), {"next_cursor": None})()
    expected = (
        engines["django"].from_string(CELL_BY_CELL).render({"rows": rows, "protected": protected})
    )
    html = rows_partial(
        rows_html=rows_html(projects, protected=protected, now=NOW), page=page, filters={}
    )
    assert html.strip() == expected.strip()
    assert html.count("protected-badge") == 2
    assert "&lt;b&gt;ops &amp; &quot;prod&quot;&lt;/b&gt;" in html
