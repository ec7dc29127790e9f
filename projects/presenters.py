"""Display values for the project list, computed in one pass in Python.

A 400-row "Load more" page has 3,600 cells. Resolved in the template, each cell was a lookup,
often a filter chain, and each row a `{% url %}`: that was most of the page's cost. Here each
row becomes one object of ready HTML strings, and the template only places them.

Every cell is escaped here, with the standard library's `html.escape` (what Django's `escape`
calls, without its lazy-string checks), and marked safe, so the template's autoescape has nothing
left to do: at 3,600 cells, Django's own escaping was about 40% of the render.

The page itself uses `row_html`: the same cells joined into two strings of markup per row,
around the one part the template still decides (the "protected" badge), so that a row costs the
template three lookups and an `if`, not nine lookups and their escaping checks. At 400 rows,
the cell-by-cell loop was still the largest part of the fragment. `project_rows` gives the same
cells one by one.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from html import escape
from typing import TypedDict
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from projects.neon import Project
from projects.templatetags.neon_format import bytes_iec, time_element

PERSONAL = "Personal"


class ProjectRow(TypedDict):
    """One row of the project list, every cell as HTML, escaped. A dict, not a dataclass: the
    template's `row.name` finds a dict key at once, where an attribute costs it a caught
    exception first (a sixth of the rows' render)."""

    url: SafeString
    name: SafeString
    id: SafeString
    region: SafeString
    pg_version: SafeString
    created: str  # a <time> element (safe), or "—"
    last_active: str
    storage: SafeString
    organization: SafeString


def project_rows(projects: Iterable[Project], *, now: datetime | None = None) -> list[ProjectRow]:
    """The list's rows; every relative time on the page is counted from the same `now`."""
    return [
        ProjectRow(
            url=SafeString(url),
            name=SafeString(name),
            id=SafeString(project_id),
            region=SafeString(region),
            pg_version=SafeString(pg_version),
            created=created,
            last_active=last_active,
            storage=SafeString(storage),
            organization=SafeString(organization),
        )
        for (
            url,
            name,
            project_id,
            region,
            pg_version,
            created,
            last_active,
            storage,
            organization,
        ) in _cells(projects, now)
    ]


class RowHtml(TypedDict):
    """One row of the project list as markup: `head` up to the name's link, `tail` from the
    project's ID to the end of the row; the template puts the badge between them."""

    head: SafeString
    id: str
    tail: SafeString


def row_html(projects: Iterable[Project], *, now: datetime | None = None) -> list[RowHtml]:
    """The rows' markup: cell for cell what the list's rows partial drew from `project_rows`
    (tests/projects/test_list_rows_html.py compares the two)."""
    return [
        RowHtml(
            head=SafeString(f'\n          <tr>\n            <td><a href="{url}">{name}</a>'),
            id=project_id,
            tail=SafeString(
                "".join(
                    (
                        f'<div class="muted mono small">{project_id}</div></td>\n'
                        f"            <td>{region}</td>\n"
                        f"            <td>{pg_version}</td>\n"
                        "            <td>",
                        created,  # a SafeString: joined, since an f-string would call its __str__
                        "</td>\n            <td>",
                        last_active,
                        f'</td>\n            <td class="num">{storage}</td>\n'
                        f"            <td>{organization}</td>\n"
                        "          </tr>\n        ",
                    )
                )
            ),
        )
        for (
            url,
            name,
            project_id,
            region,
            pg_version,
            created,
            last_active,
            storage,
            organization,
        ) in _cells(projects, now)
    ]


def _cells(projects: Iterable[Project], now: datetime | None) -> Iterator[tuple[str, ...]]:
    """Each row's cells as escaped HTML, in the columns' order, with the project's URL first."""
    now = now or timezone.now()
    detail_url = url_with_project_id("projects:detail")
    for p in projects:
        yield (
            escape(detail_url(p.id)),
            escape(p.name),
            escape(p.id),
            escape(p.region_id),
            escape(str(p.pg_version)),
            time_element(p.created_at, now),
            time_element(p.compute_last_active_at, now),
            escape(bytes_iec(p.synthetic_storage_size)),
            escape(p.org_name or p.org_id or PERSONAL),
        )


def _html(text: str) -> SafeString:
    return SafeString(escape(text))


_MARKER = "0marker0"  # matches the project_id converter, and no mount point spells it


def url_with_project_id(name: str) -> Callable[[str], str]:
    """`reverse(name, kwargs={"project_id": ...})` for many projects at the cost of one.

    The URLconf still decides the path (mount point, script prefix); only the ID is put in,
    quoted as `reverse` would: the project_id converter uses it as it is.
    """
    head, _, tail = reverse(name, kwargs={"project_id": _MARKER}).rpartition(_MARKER)
    return lambda project_id: f"{head}{quote(project_id, safe='')}{tail}"
