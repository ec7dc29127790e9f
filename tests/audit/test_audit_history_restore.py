"""/audit/ whole or in part: a plain GET and an htmx history restore get the whole page, an
htmx filter change the results, "load more" only the next rows."""

import pytest

from audit.forms import PAGE_SIZE
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
RESTORE = HX | {"HX-History-Restore-Request": "true"}


@pytest.fixture
def events():
    return [
        AuditEvent.objects.create(
            actor="a@example.test", action="project.update", request_id=f"r{n}"
        )
        for n in range(PAGE_SIZE + 1)
    ]


def test_without_htmx_the_whole_page(viewer_client, events):
    page = viewer_client.get("/audit/").content.decode()

    assert "<html" in page and 'id="audit-results"' in page
    assert 'href="/audit/"' in page  # the top bar


def test_an_htmx_filter_change_gets_the_results_fragment(viewer_client, events):
    fragment = viewer_client.get("/audit/", {"outcome": "success"}, headers=HX).content.decode()

    assert fragment.lstrip().startswith('<div id="audit-results">')
    assert "<html" not in fragment and "<header" not in fragment


def test_an_htmx_history_restore_gets_the_whole_page(viewer_client, events):
    """After a history cache miss htmx swaps the response into the whole body: a fragment
    there would leave the page without its top bar and filters."""
    page = viewer_client.get("/audit/", {"outcome": "success"}, headers=RESTORE).content.decode()

    assert "<html" in page and 'class="topbar"' in page and 'class="filters"' in page
    assert 'name="outcome"' in page and 'id="audit-results"' in page


def test_a_history_restore_of_a_load_more_url_is_the_whole_page_too(viewer_client, events):
    cursor = viewer_client.get("/audit/").context["page"].next_cursor

    page = viewer_client.get("/audit/", {"cursor": cursor}, headers=RESTORE).content.decode()

    assert "<html" in page and "<thead" in page
    assert '<option value="project.update">' in page  # the action choices were filled


def test_load_more_gets_only_rows(viewer_client, events):
    cursor = viewer_client.get("/audit/").context["page"].next_cursor

    rows = viewer_client.get("/audit/", {"cursor": cursor}, headers=HX).content.decode()

    assert rows.lstrip().startswith('<tr class="audit-event">')
    assert "<html" not in rows and "<thead" not in rows
