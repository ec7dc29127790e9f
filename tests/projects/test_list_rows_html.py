"""The list's rows partial loops over `projects.presenters.row_cells`: this is the markup an
operator gets for the rows, byte for byte, with the badge, the escaping and the dashes."""

from datetime import UTC, datetime, timedelta

from django.template.loader import render_to_string

from projects.neon import Project
from projects.presenters import row_cells

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def a_project(**fields) -> Project:
    return Project(
        **{
            "platform_id": "aws",
            "provisioner": "k8s-neonvm",
            "proxy_host": "c-1.us-east-2.aws.neon.tech",
            "store_passwords": True,
            "updated_at": None,
        }
        | fields
    )


PROJECTS = [
    a_project(
        id="quiet-frog-12345678",
        name='<b>ops & "prod"</b>',
        region_id="aws-us-east-2",
        pg_version=17,
        created_at=NOW - timedelta(days=40),
        compute_last_active_at=None,
        synthetic_storage_size=None,
        org_id="org-x",
    ),
    a_project(
        id="bold-hat-87654321",
        name="billing",
        region_id="aws-eu-central-1",
        pg_version=16,
        created_at=NOW + timedelta(days=3),
        compute_last_active_at=NOW - timedelta(hours=3, minutes=5),
        synthetic_storage_size=1536,
    ),
]

# Each row as sent, one line per cell, in the partial's indentation.
PROTECTED_ROW = """          <tr>
            <td><a href="/projects/quiet-frog-12345678/">&lt;b&gt;ops &amp; &quot;prod&quot;&lt;/b&gt;</a> <span class="badge protected-badge" title="Protected from deletion">protected</span><div class="muted mono small">quiet-frog-12345678</div></td>
            <td>aws-us-east-2</td>
            <td>17</td>
            <td><time datetime="2026-05-06T12:00:00+00:00" title="2026-05-06 12:00:00 UTC">1\xa0month ago</time></td>
            <td>—</td>
            <td class="num">—</td>
            <td>org-x</td>
          </tr>"""  # noqa: E501
PLAIN_ROW = """          <tr>
            <td><a href="/projects/bold-hat-87654321/">billing</a><div class="muted mono small">bold-hat-87654321</div></td>
            <td>aws-eu-central-1</td>
            <td>16</td>
            <td><time datetime="2026-06-18T12:00:00+00:00" title="2026-06-18 12:00:00 UTC">in 3\xa0days</time></td>
            <td><time datetime="2026-06-15T08:55:00+00:00" title="2026-06-15 08:55:00 UTC">3\xa0hours ago</time></td>
            <td class="num">1.5 KiB</td>
            <td>Personal</td>
          </tr>"""  # noqa: E501
LAST_PAGE = type("Page", (), {"next_cursor": None})()


def test_the_rows_partial_draws_each_row_as_the_operator_gets_it():
    rows = row_cells(PROJECTS, protected={"quiet-frog-12345678"}, now=NOW)
    html = render_to_string(
        "projects/project_list.html#rows", {"rows": rows, "page": LAST_PAGE, "filters": {}}
    )
    rows_markup = "".join(f"\n{row}\n        " for row in (PROTECTED_ROW, PLAIN_ROW))
    assert html == f"\n        {rows_markup}\n        \n        "
