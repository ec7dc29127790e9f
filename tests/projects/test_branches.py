"""A project's branches from its page: protection in Neon and the backup schedule, with and
without htmx, by role, audited, and what Neon received."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from fleet.models import InventoryBranch
from projects import rules
from projects.neon import get_client

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
PUT = "PUT /api/v2/projects/{project_id}/branches/{branch_id}/backup_schedule"


@pytest.fixture
def default(neon):
    client = get_client()
    project = client.list_projects(limit=5).projects[0]
    return next(b for b in client.list_branches(project.id) if b.default)


def test_the_branches_panel_offers_protection_to_operators(operator_client, default):
    url = reverse("projects:detail", args=[default.project_id])
    html = operator_client.get(url, {"panel": "branches"}, headers=HX).content.decode()
    assert reverse("projects:branch-protect", args=[default.project_id, default.id]) in html
    assert reverse("projects:branch-backups", args=[default.project_id, default.id]) in html


def test_viewers_see_the_backups_link_but_no_protect_button(viewer_client, default):
    url = reverse("projects:detail", args=[default.project_id])
    html = viewer_client.get(url, {"panel": "branches"}, headers=HX).content.decode()
    assert reverse("projects:branch-protect", args=[default.project_id, default.id]) not in html
    assert reverse("projects:branch-backups", args=[default.project_id, default.id]) in html


def test_protecting_the_default_branch_reaches_neon_audited_and_the_fleet_follows(
    operator_client, default, django_capture_on_commit_callbacks
):
    url = reverse("projects:branch-protect", args=[default.project_id, default.id])
    wanted = not default.protected
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(url, {"protected": "1" if wanted else "0"}, headers=HX)
    assert response.status_code == 200 and response["HX-Redirect"].endswith("#branches")
    get_client().invalidate(default.project_id)
    assert get_client().get_branch(default.project_id, default.id).protected is wanted
    record = AuditEvent.objects.get(action="branch.update")
    assert record.outcome == "success"
    assert record.changes == {"protected": {"before": default.protected, "after": wanted}}
    assert InventoryBranch.objects.get(project_id=default.project_id).protected is wanted


def test_viewers_may_not_protect(viewer_client, default, neon):
    url = reverse("projects:branch-protect", args=[default.project_id, default.id])
    assert viewer_client.post(url, {"protected": "1"}).status_code == 403


def test_the_backups_page_shows_the_schedule_whole_and_as_a_fragment(viewer_client, default):
    get_client().set_backup_schedule(default.project_id, default.id, [])
    url = reverse("projects:branch-backups", args=[default.project_id, default.id])
    page = viewer_client.get(url).content.decode()
    assert "<html" in page and "No snapshots are scheduled now" in page
    assert "Save the schedule" not in page  # viewers read, operators change
    fragment = viewer_client.get(url, headers=HX).content.decode()
    assert "<html" not in fragment and 'id="backups-form"' in fragment


def test_an_operator_sets_a_schedule_and_neon_has_it(operator_client, default, neon):
    url = reverse("projects:branch-backups", args=[default.project_id, default.id])
    response = operator_client.post(
        url,
        {"daily_on": "on", "daily_hour": "3", "daily_retention_hours": "168",
         "monthly_on": "on", "monthly_day": "1", "monthly_hour": "4"},
        headers=HX,
    )  # fmt: skip
    assert response.status_code == 200 and "HX-Redirect" in response
    get_client().invalidate(default.project_id)
    saved = [i.as_api() for i in get_client().get_backup_schedule(default.project_id, default.id)]
    assert saved == [
        {"frequency": "daily", "hour": 3, "retention_seconds": 604800},
        {"frequency": "monthly", "day": 1, "hour": 4},
    ]
    record = AuditEvent.objects.get(action="branch.backup_schedule")
    assert record.outcome == "success" and record.request_data["schedule"] == saved


def test_a_schedule_neon_would_refuse_is_refused_here_and_nothing_is_sent(
    operator_client, default, neon
):
    neon.clear_stats()
    url = reverse("projects:branch-backups", args=[default.project_id, default.id])
    response = operator_client.post(
        url, {"daily_on": "on", "daily_hour": "25", "daily_retention_hours": "0"}, headers=HX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'value="25"' in html  # the input is kept
    assert "less than or equal to 23" in html and "greater than or equal to 1" in html
    assert PUT not in neon.stats()


def test_viewers_may_not_change_the_schedule_and_the_refusal_is_audited(viewer_client, default):
    url = reverse("projects:branch-backups", args=[default.project_id, default.id])
    assert viewer_client.post(url, {"daily_on": "on"}).status_code == 403
    assert AuditEvent.objects.get(action="branch.backup_schedule").outcome == "failure"


@pytest.mark.parametrize(
    "items, field",
    [
        ([{"frequency": "often"}], None),
        ([{"frequency": "hourly"}], None),  # in the spec's text, not accepted by Neon
        ([{"frequency": "daily", "retention_seconds": 3599}], "daily_retention_hours"),
        ([{"frequency": "daily", "retention_seconds": 35 * 86400 + 1}], "daily_retention_hours"),
        ([{"frequency": "daily", "hour": 24}], "daily_hour"),
        ([{"frequency": "monthly", "day": 32}], "monthly_day"),
        ([{"frequency": "weekly", "day": 0}], "weekly_day"),
        ([{"frequency": "daily"}, {"frequency": "daily"}], "daily"),
    ],
)
def test_the_schedule_rules_name_the_field(items, field):
    [violation] = rules.backup_schedule(items)
    assert violation.field == field


def test_a_schedule_within_the_spec_breaks_no_rule():
    assert not rules.backup_schedule(
        [{"frequency": f, "hour": 0, "day": 1, "retention_seconds": 3600}
         for f in ("daily", "weekly", "monthly")]
    )  # fmt: skip
