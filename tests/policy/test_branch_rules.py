"""Rules on the default branch and classes by its annotation: the worker reads the default
branches the policy needs (two calls each, counted), drift agrees with the emulator's truth,
and the project page's branch writes are guarded by deny rules."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from audit.models import AuditEvent
from fleet.models import InventoryBranch, InventoryProject
from policy import loaded, services
from policy.models import Drift
from projects.neon import get_client
from tests.conftest import TEST_NEON_KEY

pytestmark = pytest.mark.django_db
LIST_BRANCHES = "GET /api/v2/projects/{project_id}/branches"
GET_SCHEDULE = "GET /api/v2/projects/{project_id}/branches/{branch_id}/backup_schedule"
PATCH_BRANCH = "PATCH /api/v2/projects/{project_id}/branches/{branch_id}"


def truth(neon, project_id: str) -> tuple[dict, list[dict]]:
    """The emulator's own answer, read with plain HTTP: the default branch and its schedule."""
    headers = {"Authorization": f"Bearer {TEST_NEON_KEY}"}
    base = f"{neon.base_url}/projects/{project_id}"
    branches = requests.get(f"{base}/branches", headers=headers, timeout=5).json()["branches"]
    default = next(b for b in branches if b["default"])
    schedule = requests.get(
        f"{base}/branches/{default['id']}/backup_schedule", headers=headers, timeout=5
    ).json()["schedule"]
    return default, schedule


def production_ids() -> set[str]:
    return set(
        InventoryProject.objects.filter(
            project_class="production", gone_at__isnull=True
        ).values_list("project_id", flat=True)
    )


def test_the_worker_reads_the_default_branches_the_policy_needs(evaluated, neon):
    """The example matches its preview class by annotation too, so any live project could be
    in it: each was read, two calls each, and none twice."""
    wanted = set(
        InventoryProject.objects.filter(gone_at__isnull=True).values_list("project_id", flat=True)
    )
    assert production_ids() < wanted
    assert set(InventoryBranch.objects.values_list("project_id", flat=True)) == wanted
    stats = neon.stats()
    assert stats[LIST_BRANCHES] == len(wanted) and stats[GET_SCHEDULE] == len(wanted)


def test_branch_drift_is_the_emulators_truth(evaluated, neon):
    unprotected, short = set(), set()
    for pid in production_ids():
        default, schedule = truth(neon, pid)
        if not default["protected"]:
            unprotected.add(pid)
        kept = [
            item
            for item in schedule
            if item["frequency"] in ("hourly", "daily")
            and (item.get("retention_seconds") is None or item["retention_seconds"] >= 604800)
        ]
        if not kept:
            short.add(pid)
    drift = {
        kind: set(
            Drift.objects.filter(rule_id=f"production.{kind}").values_list("project_id", flat=True)
        )
        for kind in ("default_branch_protected", "backup_schedule")
    }
    assert drift["default_branch_protected"] == unprotected
    assert drift["backup_schedule"] == short
    assert unprotected and short
    # The seed meets and misses: some default branches have schedules, most none.
    read = list(InventoryBranch.objects.values_list("backup_schedule", flat=True))
    assert any(read) and not all(read)


def test_a_read_limit_leaves_the_rest_for_later_and_the_page_says_so(
    in_force, neon, settings, viewer_client, django_capture_on_commit_callbacks
):
    from fleet import tasks as fleet_tasks

    settings.POLICY_BRANCH_READS = 2
    with django_capture_on_commit_callbacks(execute=True) as queued:
        run = fleet_tasks.start_refresh(trigger="manual")
        fleet_tasks.refresh_inventory.call(run.pk)
    assert not InventoryBranch.objects.exists()  # not in the refresh's own task
    assert queued  # the branch reading is queued, after it
    from policy import tasks as policy_tasks

    policy_tasks.read_branches.call()
    assert InventoryBranch.objects.count() == 2
    page = viewer_client.get(reverse("policy:rule", args=["production.default_branch_protected"]))
    unchecked = page.context["state"].unchecked
    assert unchecked >= len(production_ids()) - 2 and "not checked yet" in page.content.decode()
    services.read_default_branches(in_force)  # the next evaluation reads two more
    assert InventoryBranch.objects.count() == 4


def test_a_class_by_annotation_takes_a_project_once_its_branch_is_read(evaluated, neon):
    created = get_client().create_project(
        {"name": "plain-name", "branch": {"annotations": {"env": "preview"}}}
    )
    pid = created.project.id
    from fleet.inventory import record_project

    record_project(created.project)
    services.evaluate_project(evaluated, pid)
    assert InventoryProject.objects.get(pk=pid).project_class == "unclassified"  # not read yet
    services.read_default_branches(evaluated)  # every live project is a candidate: preview
    assert InventoryProject.objects.get(pk=pid).project_class == "preview"  # matches by annotation


DENY_PROTECTED = """
classes:
  - name: production
    match: {names: ["*"]}
rules:
  production:
    - {rule: default_branch_protected, severity: deny}
    - {rule: backup_schedule, value: {frequency: daily, retention_seconds: 86400}, severity: deny}
"""


@pytest.fixture
def deny_policy(settings, tmp_path, neon, django_capture_on_commit_callbacks):
    """Every project in production, whose default branch must be protected and backed up daily
    (deny); the fleet refreshed (a project's class is read from its inventory row)."""
    from fleet import tasks as fleet_tasks

    path = tmp_path / "policy.yaml"
    path.write_text(DENY_PROTECTED)
    settings.POLICY_FILE = str(path)
    with django_capture_on_commit_callbacks(execute=True):
        fleet_tasks.refresh_inventory.call(fleet_tasks.start_refresh(trigger="manual").pk)
    return loaded.current().policy


def _protected_default(neon):
    client = get_client()
    for project in client.list_projects(limit=50).projects:
        default = next(b for b in client.list_branches(project.id) if b.default)
        if default.protected:
            return project, default
    raise AssertionError("the seed has a protected default branch")


def test_a_deny_rule_refuses_unprotecting_the_default_branch(operator_client, deny_policy, neon):
    project, default = _protected_default(neon)
    neon.clear_stats()
    url = reverse("projects:branch-protect", args=[project.id, default.id])
    response = operator_client.post(url, {"protected": "0"}, follow=True)
    assert "The policy refuses this change to the default branch" in response.content.decode()
    assert PATCH_BRANCH not in neon.stats()
    record = AuditEvent.objects.get(action="branch.update")
    assert record.outcome == "failure" and record.project_id == project.id


def test_a_deny_rule_refuses_a_schedule_short_of_it(operator_client, deny_policy, neon):
    project, default = _protected_default(neon)
    neon.clear_stats()
    url = reverse("projects:branch-backups", args=[project.id, default.id])
    response = operator_client.post(url, {"weekly_on": "on", "weekly_day": "1", "weekly_hour": "2"})
    assert "The policy refuses this change to the default branch" in response.content.decode()
    assert not any(key.startswith("PUT ") for key in neon.stats())


def test_without_annotation_classes_only_the_branch_rules_classes_are_read(
    neon, settings, tmp_path
):
    """A policy whose classes match by name only: the branches read are those of the classes
    with default-branch rules."""
    path = tmp_path / "narrow.yaml"
    path.write_text(
        "classes: [{name: production, match: {names: ['*-prod*', '*api*']}}]\n"
        "rules: {production: [{rule: default_branch_protected}]}\n"
    )
    settings.POLICY_FILE = str(path)
    policy = loaded.current().policy
    from fleet import tasks as fleet_tasks

    fleet_tasks.refresh_inventory.call(fleet_tasks.start_refresh(trigger="manual").pk)
    services.evaluate_fleet(policy)
    neon.clear_stats()
    services.read_default_branches(policy)
    wanted = production_ids()
    assert set(InventoryBranch.objects.values_list("project_id", flat=True)) == wanted
    assert neon.stats().get(LIST_BRANCHES, 0) == len(wanted)


@pytest.mark.django_db(transaction=True)
def test_a_branch_rules_drift_is_fixed_through_a_bulk_job(evaluated, operator_client, neon):
    """Dry run (from the fleet's copy of each default branch), apply (each branch read again,
    then protected in Neon, audited with the job), drift gone."""
    from bulk.models import BulkItem, BulkJob
    from tests.bulk.jobs import run_worker

    rule = "production.default_branch_protected"
    out = set(Drift.objects.filter(rule_id=rule).values_list("project_id", flat=True))
    assert out
    operator_client.post(reverse("policy:fix", args=[rule]))
    job = BulkJob.objects.get()
    assert job.kind == "protect_default_branch"
    neon.clear_stats()
    run_worker()  # the dry run: every branch was read at the refresh's end, so no call
    job.refresh_from_db()
    assert job.status == BulkJob.Status.PLANNED and LIST_BRANCHES not in neon.stats()
    changing = set(
        job.items.filter(verdict=BulkItem.Verdict.CHANGE).values_list("project_id", flat=True)
    )
    assert changing == out
    operator_client.post(reverse("bulk:apply", args=[job.pk]), headers={"HX-Request": "true"})
    run_worker()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.FINISHED
    assert neon.stats()[PATCH_BRANCH] == len(changing)
    for project_id in changing:
        default, _ = truth(neon, project_id)
        assert default["protected"]
    records = AuditEvent.objects.filter(action="branch.update", bulk_job_id=job.pk)
    assert records.count() == len(changing)
    assert not Drift.objects.filter(rule_id=rule).exists()  # each write evaluated its project


@pytest.mark.django_db(transaction=True)
def test_a_backup_rules_drift_is_fixed_by_adding_its_line(evaluated, operator_client, neon):
    from bulk.models import BulkItem, BulkJob
    from tests.bulk.jobs import run_worker

    rule = "production.backup_schedule"
    out = set(Drift.objects.filter(rule_id=rule).values_list("project_id", flat=True))
    operator_client.post(reverse("policy:fix", args=[rule]))
    job = BulkJob.objects.get()
    run_worker()
    changing = set(
        job.items.filter(verdict=BulkItem.Verdict.CHANGE).values_list("project_id", flat=True)
    )
    assert changing == out
    operator_client.post(reverse("bulk:apply", args=[job.pk]), headers={"HX-Request": "true"})
    run_worker()
    for project_id in changing:
        _, schedule = truth(neon, project_id)
        daily = [i for i in schedule if i["frequency"] == "daily"]
        assert daily and daily[0]["retention_seconds"] == 604800
    assert not Drift.objects.filter(rule_id=rule).exists()
