"""The audit page: newest first, filters by person, project, action and outcome, "load more"
keyset paging (one query per click), and the same filters as a streamed CSV export."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.forms import PAGE_SIZE
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


def record(n: int, **fields) -> AuditEvent:
    values = {
        "actor": f"person{n % 3}@example.test",
        "action": ("project.update", "project.delete", "connection.reveal")[n % 3],
        "project_id": f"proj-{n % 5}",
        "project_name": f"shop-{n % 5}",
        "outcome": "failure" if n % 4 == 0 else "success",
        "request_id": f"req-{n}",
    }
    return AuditEvent.objects.create(**{**values, **fields})


@pytest.fixture
def events():
    return [record(n) for n in range(PAGE_SIZE + 20)]


def request_ids(response) -> list[str]:
    return [e.request_id for e in response.context["page"].events]


def test_every_role_may_read_it_and_anonymous_people_sign_in_first(client, viewer_client):
    assert viewer_client.get("/audit/").status_code == 200
    viewer_client.logout()
    assert client.get("/audit/").status_code == 302


def test_people_without_a_role_may_not(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody"))

    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_newest_first_with_a_load_more_control(viewer_client, events):
    response = viewer_client.get("/audit/")

    assert request_ids(response) == [f"req-{n}" for n in range(PAGE_SIZE + 19, 19, -1)]
    page = response.content.decode()
    assert "<html" in page and 'id="audit-load-more"' in page
    assert 'href="/audit/"' in page  # the nav link, on every page


def test_load_more_appends_the_rest_in_one_query(viewer_client, events):
    cursor = viewer_client.get("/audit/").context["page"].next_cursor

    with CaptureQueriesContext(connection) as queries:
        response = viewer_client.get("/audit/", {"cursor": cursor}, headers=HX)

    audit_queries = [q for q in queries if "audit_auditevent" in q["sql"]]
    assert len(audit_queries) == 1
    assert request_ids(response) == [f"req-{n}" for n in range(19, -1, -1)]
    fragment = response.content.decode()
    assert "<html" not in fragment and "<thead" not in fragment  # just rows, appended
    assert 'id="audit-load-more"' not in fragment  # nothing further


def test_load_more_without_javascript_is_a_whole_page(viewer_client, events):
    cursor = viewer_client.get("/audit/").context["page"].next_cursor

    response = viewer_client.get("/audit/", {"cursor": cursor})

    assert "<html" in response.content.decode()
    assert request_ids(response)[0] == "req-19"


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ({"person": "person1@"}, lambda e: e.actor == "person1@example.test"),
        ({"project": "proj-2"}, lambda e: e.project_id == "proj-2"),
        ({"project": "shop-3"}, lambda e: e.project_name == "shop-3"),
        ({"action": "project.delete"}, lambda e: e.action == "project.delete"),
        ({"outcome": "failure"}, lambda e: e.outcome == "failure"),
        (
            {"action": "project.update", "outcome": "failure"},
            lambda e: e.action == "project.update" and e.outcome == "failure",
        ),
    ],
)
def test_filters(viewer_client, events, query, matches):
    response = viewer_client.get("/audit/", query, headers=HX)

    expected = [e.request_id for e in reversed(events) if matches(e)][:PAGE_SIZE]
    assert request_ids(response) == expected and expected
    assert 'id="audit-results"' in response.content.decode()  # the results partial


def test_filters_carry_into_load_more(viewer_client):
    for n in range(PAGE_SIZE + 5):
        record(n, outcome="failure", actor="x@example.test")
        record(n, outcome="success", actor="x@example.test")

    first = viewer_client.get("/audit/", {"outcome": "failure"})
    assert 'name="outcome" value="failure"' in first.content.decode()
    rest = viewer_client.get(
        "/audit/", {"outcome": "failure", "cursor": first.context["page"].next_cursor}, headers=HX
    )

    assert len(request_ids(rest)) == 5
    assert all(e.outcome == "failure" for e in rest.context["page"].events)


def test_action_choices_come_from_the_log(viewer_client, events):
    page = viewer_client.get("/audit/").content.decode()

    for action in ("project.update", "project.delete", "connection.reveal"):
        assert f'<option value="{action}">' in page


def test_a_bad_query_string_shows_the_log_not_an_error(viewer_client, events):
    response = viewer_client.get("/audit/", {"outcome": "maybe", "cursor": "garbage"})

    assert response.status_code == 200
    assert len(request_ids(response)) == PAGE_SIZE


def test_no_match_says_so(viewer_client, events):
    response = viewer_client.get("/audit/", {"person": "nobody-like-this"}, headers=HX)

    assert "No audit record matches" in response.content.decode()


def export(client, **query) -> list[list[str]]:
    response = client.get("/audit/export.csv", query)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_export_with_the_same_filters(viewer_client, events):
    rows = export(viewer_client, action="project.delete")

    header, body = rows[0], rows[1:]
    assert header[:5] == ["time", "actor", "actor_subject", "client_ip", "action"]
    expected = [e for e in reversed(events) if e.action == "project.delete"]
    assert [r[header.index("request_id")] for r in body] == [e.request_id for e in expected]
    assert len(body) > PAGE_SIZE // 3  # every match, not one page


def test_csv_export_neutralises_spreadsheet_formulas(viewer_client):
    record(1, project_name='=HYPERLINK("http://evil")', neon_message="@SUM(A1)")

    row = export(viewer_client)[1]

    assert '\'=HYPERLINK("http://evil")' in row and "'@SUM(A1)" in row


def test_the_export_link_keeps_the_filters(viewer_client, events):
    page = viewer_client.get("/audit/", {"outcome": "failure"}).content.decode()

    assert 'href="/audit/export.csv?outcome=failure"' in page


def test_details_show_what_was_asked_and_changed_as_json(viewer_client):
    record(
        1, request_data={"settings": {"allowed_ips": {"ips": ["10.0.0.0/8"]}}},
        changes={"settings.allowed_ips": {"before": None, "after": {"ips": ["10.0.0.0/8"]}}},
    )  # fmt: skip

    page = viewer_client.get("/audit/").content.decode()

    assert "{&quot;settings&quot;: {&quot;allowed_ips&quot;:" in page
    assert "settings.allowed_ips" in page and "&quot;ips&quot;: [&quot;10.0.0.0/8&quot;]" in page


def test_actions_read_as_people_say_them(viewer_client, events):
    page = viewer_client.get("/audit/").content.decode()
    assert '<option value="project.update">Change settings</option>' in page
    assert "Change settings" in page.split("<tbody")[1]  # in the table too, the code beneath
