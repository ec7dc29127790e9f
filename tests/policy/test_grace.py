"""Grace periods, with a clock: the team is told of drift when it is found, the fix job opens
itself after fix_after and not before, never twice, and is applied once its dry run is done
(through approval when the team asks for it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEvent
from bulk.models import BulkJob
from fleet import tasks as fleet_tasks
from governance.models import ApprovalRequest
from policy import grace, loaded
from policy.models import Drift
from tests.bulk.jobs import run_worker

pytestmark = pytest.mark.django_db(transaction=True)
RULE = "production.suspend_timeout_max"
POLICY = """
auto_fix: true
classes:
  - name: production
    match: {organizations: [org-cedar-health-27064815, org-acme-analytics-41502719]}
rules:
  production:
    - {rule: suspend_timeout_max, value: 3600, notify_after: 0m, fix_after: 7d}
    - {rule: logical_replication_off, notify_after: 1d}
"""


@pytest.fixture
def policy(neon, settings, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    settings.POLICY_FILE = str(path)
    settings.APPROVAL_NOTIFY_EMAILS = ["platform@example.test"]
    run = fleet_tasks.start_refresh(trigger="manual")
    fleet_tasks.refresh_inventory.call(run.pk)  # its end evaluates, then a grace pass (now)
    return loaded.current().policy


def test_told_at_once_fixed_after_seven_days_not_before_and_never_twice(policy, settings):
    out = Drift.objects.filter(rule_id=RULE)
    assert out.exists() and not out.filter(notified_at__isnull=True).exists()
    run_worker()  # the notice goes
    [notice] = [m for m in mail.outbox if m.to == ["platform@example.test"]]
    count = out.count()
    assert f"{count} project{'s' if count != 1 else ''} of class production" in notice.body
    assert AuditEvent.objects.filter(action="policy.notify").count() >= 1
    assert not BulkJob.objects.exists()  # not before fix_after

    found = out.order_by("since").first().since
    six_days = grace.run(policy, now=found + timedelta(days=6, hours=23))
    assert six_days["opened"] == [] and not BulkJob.objects.exists()
    assert six_days["notified"] == []  # told once

    later = found + timedelta(days=7, minutes=1)
    opened = grace.run(policy, now=later)
    job = BulkJob.objects.get()
    assert opened["opened"] == [(RULE, job.pk)] and job.created_by == grace.SYSTEM.username
    assert set(job.items.values_list("project_id", flat=True)) == set(
        out.values_list("project_id", flat=True)
    )
    assert grace.run(policy, now=later + timedelta(days=1))["opened"] == []  # never twice
    assert BulkJob.objects.count() == 1

    run_worker()  # the dry run
    settings.APPROVAL_REQUIRED_FOR = ["bulk"]
    applied = grace.run(policy, now=later + timedelta(hours=1))
    assert applied["applied"] == [job.pk]
    job.refresh_from_db()
    assert job.status == BulkJob.Status.AWAITING_APPROVAL  # the team's approval still decides
    assert ApprovalRequest.objects.get().requested_by == grace.SYSTEM.username
    assert grace.run(policy, now=later + timedelta(hours=2))["applied"] == []


def test_without_auto_fix_drift_is_told_of_but_never_fixed(neon, settings, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.replace("auto_fix: true", "auto_fix: false"))
    settings.POLICY_FILE = str(path)
    run = fleet_tasks.start_refresh(trigger="manual")
    fleet_tasks.refresh_inventory.call(run.pk)
    policy = loaded.current().policy
    assert grace.run(policy, now=timezone.now() + timedelta(days=30))["opened"] == []
    assert not BulkJob.objects.exists()


def test_notify_after_waits_its_time(neon, settings, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.replace("notify_after: 0m", "notify_after: 1d"))
    settings.POLICY_FILE = str(path)
    run = fleet_tasks.start_refresh(trigger="manual")
    fleet_tasks.refresh_inventory.call(run.pk)
    policy = loaded.current().policy
    out = Drift.objects.filter(rule_id=RULE)
    assert out.exists() and not out.filter(notified_at__isnull=False).exists()  # not yet
    found = out.order_by("since").first().since
    assert grace.run(policy, now=found + timedelta(hours=23))["notified"] == []
    done = grace.run(policy, now=found + timedelta(days=1, minutes=1))
    assert done["notified"] == [(RULE, out.count())]


GET_PROJECT = "GET /api/v2/projects/{project_id}"


def test_each_owner_hears_of_their_own_projects_once(policy, neon, settings):
    """The refresh's grace pass read each drifting project's owner (one full read each, once),
    and the worker mailed each owner the names of their projects out of the rule."""
    from fleet.models import InventoryDetail, InventoryProject

    out = set(Drift.objects.filter(rule_id=RULE).values_list("project_id", flat=True))
    owners = dict(
        InventoryDetail.objects.filter(project_id__in=out).values_list("project_id", "owner_email")
    )
    assert set(owners) == out and all(owners.values())
    run_worker()
    told = [m for m in mail.outbox if m.to != ["platform@example.test"]]
    assert {address for m in told for address in m.to} == set(owners.values())
    names = dict(
        InventoryProject.objects.filter(project_id__in=out).values_list("project_id", "name")
    )
    for message in told:
        [email] = message.to
        mine = [names[pid] for pid, owner in owners.items() if owner == email]
        assert all(name in message.body for name in mine) and "Your project" in message.body
    record = AuditEvent.objects.filter(action="policy.notify").first()
    assert record.request_data["owners"] == len(set(owners.values()))
    neon.clear_stats()
    grace.run(policy, now=timezone.now() + timedelta(days=2))  # the other rule's notice
    reads = neon.stats().get(GET_PROJECT, 0)
    other = Drift.objects.filter(rule_id="production.logical_replication_off")
    assert reads == len(set(other.values_list("project_id", flat=True)) - out)  # known: not read


def test_owners_are_not_told_when_the_team_says_so(neon, settings, tmp_path):
    settings.POLICY_NOTIFY_OWNERS = False
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    settings.POLICY_FILE = str(path)
    settings.APPROVAL_NOTIFY_EMAILS = ["platform@example.test"]
    fleet_tasks.refresh_inventory.call(fleet_tasks.start_refresh(trigger="manual").pk)
    run_worker()
    assert mail.outbox and all(m.to == ["platform@example.test"] for m in mail.outbox)
