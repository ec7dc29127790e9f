"""Bulk changes to each project's default branch from the bulk page: the form, the dry run's
before → after on the job page, and apply through the branch services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bulk.models import BulkItem, BulkJob
from projects.neon import get_client
from tests.bulk.jobs import run_worker

pytestmark = pytest.mark.django_db(transaction=True)
HX = {"HX-Request": "true"}


def test_a_schedule_change_needs_its_frequency(operator_client, fleet):
    pid = fleet.first().project_id
    response = operator_client.post(
        reverse("bulk:new"), {"project": pid, "kind": "backup_schedule"}, headers=HX
    )
    assert response.status_code == 200 and "This change needs a value here" in (
        response.content.decode()
    )
    assert not BulkJob.objects.exists()


def test_a_weekly_line_is_added_to_each_schedule_and_others_kept(operator_client, fleet, neon):
    ids = list(fleet.filter(org_id="").values_list("project_id", flat=True)[:3])
    client = get_client()
    before = {}
    for pid in ids:
        default = next(b for b in client.list_branches(pid) if b.default)
        before[pid] = [i.as_api() for i in client.get_backup_schedule(pid, default.id)]
    change = {"kind": "backup_schedule", "backup_frequency": "weekly", "backup_day": "7",
              "backup_hour": "3", "backup_retention_hours": "336"}  # fmt: skip
    operator_client.post(reverse("bulk:new"), {"project": ids, **change})
    job = BulkJob.objects.get()
    run_worker()  # the dry run reads each default branch (two calls each)
    job.refresh_from_db()
    page = operator_client.get(reverse("bulk:job", args=[job.pk])).content.decode()
    assert "Backup schedule" in page and "weekly, kept 336 h" in page
    operator_client.post(reverse("bulk:apply", args=[job.pk]), headers=HX)
    run_worker()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.FINISHED
    wanted = {"frequency": "weekly", "day": 7, "hour": 3, "retention_seconds": 336 * 3600}
    for pid in ids:
        client.invalidate(pid)
        default = next(b for b in client.list_branches(pid) if b.default)
        now = [i.as_api() for i in client.get_backup_schedule(pid, default.id)]
        assert wanted in now
        assert [i for i in now if i["frequency"] != "weekly"] == [
            i for i in before[pid] if i["frequency"] != "weekly"
        ]
    outcomes = set(job.items.values_list("outcome", flat=True))
    assert outcomes <= {BulkItem.Outcome.CHANGED, BulkItem.Outcome.UNCHANGED}
