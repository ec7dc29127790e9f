"""Bulk changes at fleet scale: what a job costs in Neon calls, counted at the emulator's routes,
and what the job's page says while it runs.

A settings change to N projects judged from a fresh inventory costs N GETs (apply's re-read,
which keeps a project changed elsewhere from being overwritten) and N PATCHes, and nothing else
per project: the dry run reads nothing, and Neon's answer to each PATCH is checked and recorded
instead of read back."""

import dataclasses
import re
from collections import Counter
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bulk import apply as bulk_apply
from bulk import selectors, services
from bulk.models import BulkItem, BulkJob
from fleet.inventory import account_key
from fleet.models import InventoryDetail, InventoryProject
from governance.models import ApprovalRequest
from projects.neon import get_client
from projects.neon.client import NeonClient
from tests.bulk.jobs import PATCH, SUSPEND, WINDOW, new_job, run_worker

pytestmark = pytest.mark.django_db(transaction=True)

HX = {"HX-Request": "true"}
GET_PROJECT = "GET /api/v2/projects/{project_id}"
LISTS = ("GET /api/v2/projects", "GET /api/v2/projects/shared")


def _per_project(stats: dict[str, int]) -> dict[str, int]:
    """The calls about one project each (the plan's limits, /users/me, are per job)."""
    return {route: n for route, n in stats.items() if "{project_id}" in route}


def _apply(client, job: BulkJob) -> BulkJob:
    client.post(reverse("bulk:apply", args=[job.pk]))
    run_worker()
    job.refresh_from_db()
    return job


def test_a_settings_change_costs_one_get_and_one_patch_per_changed_project(
    operator_client, fleet, neon
):
    neon.clear_stats()
    job = new_job(operator_client, WINDOW)  # the whole fleet, judged from the inventory

    assert job.status == BulkJob.Status.PLANNED
    dry_run = neon.stats()
    assert _per_project(dry_run) == {}, "the dry run asked Neon about single projects"
    assert not any(dry_run.get(route) for route in LISTS), "a fresh inventory was listed again"
    changes = job.items.filter(verdict=BulkItem.Verdict.CHANGE)
    n = changes.count()
    assert n >= 10

    neon.clear_stats()
    job = _apply(operator_client, job)

    assert job.status == BulkJob.Status.FINISHED
    assert neon.stats() == {GET_PROJECT: n, PATCH: n}  # 2 calls per changed project, no more
    assert changes.filter(outcome=BulkItem.Outcome.CHANGED).count() == n
    # Neon's answers went into the inventory, with no call of their own.
    window = {"weekdays": [7], "start_time": "02:00", "end_time": "03:00"}
    for item in changes:
        detail = InventoryDetail.objects.get(project_id=item.project_id)
        assert detail.state["settings"]["maintenance_window"] == window
        assert detail.read_at >= job.started_at


def test_a_stale_inventory_row_is_read_from_neon_and_recorded(operator_client, fleet, neon):
    rows = list(fleet.filter(org_id="", shared=False).order_by("name")[:3])
    stale = rows[0]
    long_ago = timezone.now() - timedelta(hours=3)
    InventoryDetail.objects.filter(project_id=stale.project_id).update(read_at=long_ago)
    # Changed in Neon after the inventory read it: only a read of Neon can know.
    get_client().update_project(
        stale.project_id, {"default_endpoint_settings": {"suspend_timeout_seconds": 3600}}
    )
    neon.clear_stats()

    job = new_job(operator_client, SUSPEND, {"project": [r.project_id for r in rows]})

    assert _per_project(neon.stats()) == {GET_PROJECT: 1}  # the stale one; the others fresh
    item = job.items.get(project_id=stale.project_id)
    assert item.verdict == BulkItem.Verdict.CHANGE
    assert item.before["default_endpoint_settings"]["suspend_timeout_seconds"] == 3600
    assert item.read_at > long_ago
    detail = InventoryDetail.objects.get(project_id=stale.project_id)
    assert detail.read_at == item.read_at
    assert detail.state["default_endpoint_settings"]["suspend_timeout_seconds"] == 3600
    row = InventoryProject.objects.get(project_id=stale.project_id)
    assert row.suspend_timeout_seconds == 3600 and row.seen_run == stale.seen_run
    fresh = job.items.exclude(pk=item.pk)
    assert all(i.read_at < item.read_at for i in fresh)  # judged from the inventory


def test_accounts_with_more_stale_rows_than_pages_are_listed_not_read_one_by_one(
    operator_client, fleet, neon, settings
):
    fresh_job = new_job(operator_client, WINDOW)
    judged = {i.project_id: (i.verdict, i.body) for i in fresh_job.items.all()}
    gone = fleet.filter(org_id="", shared=False).order_by("name").first()
    get_client().delete_project(gone.project_id)  # after the inventory read it
    settings.BULK_INVENTORY_FRESH_SECONDS = 0  # every row stale
    per_account = Counter(
        account_key(org_id=org_id, shared=shared)
        for org_id, shared in fleet.values_list("org_id", "shared")
    )
    listed = [account for account, n in per_account.items() if n > 1]
    alone = sum(n for n in per_account.values() if n == 1)
    assert len(listed) >= 3
    neon.clear_stats()

    job = new_job(operator_client, WINDOW)

    stats = neon.stats()
    # One page for each account holding more than one (each holds fewer than 400), a read of
    # a project alone in its account, and one of the project missing from its account's list,
    # to tell deleted from moved.
    assert sum(stats.get(route, 0) for route in LISTS) == len(listed)
    assert _per_project(stats) == {GET_PROJECT: alone + 1}
    assert job.items.get(project_id=gone.project_id).verdict == BulkItem.Verdict.MISSING
    again = {i.project_id: (i.verdict, i.body) for i in job.items.all()}
    del judged[gone.project_id], again[gone.project_id]
    assert again == judged  # a list item judges as the inventory's copy did


def test_a_project_changed_since_a_dry_run_from_the_inventory_is_skipped(
    operator_client, fleet, neon
):
    job = new_job(operator_client, SUSPEND)
    item = job.items.filter(verdict=BulkItem.Verdict.CHANGE).first()
    get_client().update_project(
        item.project_id, {"default_endpoint_settings": {"suspend_timeout_seconds": 7200}}
    )
    job = _apply(operator_client, job)
    item.refresh_from_db()
    assert item.outcome == BulkItem.Outcome.SKIPPED
    assert "Suspend computes" in item.outcome_message
    project = get_client().get_project(item.project_id)
    assert project.endpoint_defaults.suspend_timeout_seconds == 7200  # not overwritten


def test_neons_answer_to_the_patch_is_checked(operator_client, fleet, neon, monkeypatch):
    """An answer that does not hold what was sent is reported, not counted as changed, and
    not read back."""
    row = fleet.filter(org_id="", shared=False).order_by("name").first()
    job = new_job(operator_client, WINDOW, {"project": [row.project_id]})
    assert job.items.get().verdict == BulkItem.Verdict.CHANGE
    real = NeonClient.update_project

    def answer_without_the_window(self, project_id, changes, **kwargs):
        updated = real(self, project_id, changes, **kwargs)
        kept = dataclasses.replace(updated.project.settings, maintenance_window=None)
        return dataclasses.replace(
            updated, project=dataclasses.replace(updated.project, settings=kept)
        )

    monkeypatch.setattr(NeonClient, "update_project", answer_without_the_window)
    neon.clear_stats()
    job = _apply(operator_client, job)
    item = job.items.get()
    assert item.outcome == BulkItem.Outcome.FAILED
    assert item.outcome_message == bulk_apply.MSG_NOT_AS_SENT % {"what": "Maintenance window"}
    assert neon.stats() == {GET_PROJECT: 1, PATCH: 1}


# --- The job's page: rate and time left, a page of projects at a time -------------------------


def _running(job: BulkJob, *, done: int, seconds: float) -> None:
    """The job `seconds` into its apply, with `done` of its changes done since it started."""
    started = timezone.now() - timedelta(seconds=seconds)
    BulkJob.objects.filter(pk=job.pk).update(
        status=BulkJob.Status.RUNNING,
        started_at=started,
        heartbeat_at=timezone.now(),
        pace_since=started,
        pace_done_before=0,
        applied_by="otto.operator@example.test",
    )
    job.items.update(outcome=BulkItem.Outcome.PENDING)
    done_ids = list(job.items.order_by("pk").values_list("pk", flat=True)[:done])
    job.items.filter(pk__in=done_ids).update(outcome=BulkItem.Outcome.CHANGED)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_the_job_page_shows_the_rate_and_time_left(operator_client, fleet, neon, htmx):
    job = new_job(operator_client, WINDOW)
    total = job.items.count()
    _running(job, done=10, seconds=5)  # 2 projects a second

    response = operator_client.get(reverse("bulk:job", args=[job.pk]), headers=HX if htmx else {})

    html = response.content.decode()
    assert ("<html" in html) is not htmx
    assert f"Applying: 10 of {total} projects done · 2 projects/s · about " in html
    assert re.search(r"· about \d+ s left</label>", html)


def test_the_dry_runs_rate_counts_from_its_worker_not_from_before(operator_client, fleet, neon):
    job = new_job(operator_client, WINDOW)
    total = job.items.count()
    started = timezone.now() - timedelta(seconds=4)
    BulkJob.objects.filter(pk=job.pk).update(
        status=BulkJob.Status.PLANNING, pace_since=started, pace_done_before=total - 12,
        heartbeat_at=timezone.now(), planned_at=None,
    )  # fmt: skip
    pending = list(job.items.order_by("pk").values_list("pk", flat=True)[:4])
    job.items.filter(pk__in=pending).update(verdict=BulkItem.Verdict.PENDING)
    job.refresh_from_db()
    progress = selectors.job_progress(job)
    assert progress.read == total - 4
    assert progress.rate == pytest.approx(8 / 4, rel=0.1)  # 8 judged by this worker in 4 s
    assert progress.eta_seconds == 2
    html = operator_client.get(reverse("bulk:job", args=[job.pk]), headers=HX).content.decode()
    assert f"Dry run: {total - 4} of {total} projects judged · 2 projects/s · about 2 s left" in (
        html
    )


def test_nothing_to_estimate_shows_no_rate(operator_client, fleet, neon):
    job = new_job(operator_client, WINDOW)
    _running(job, done=0, seconds=5)
    html = operator_client.get(reverse("bulk:job", args=[job.pk])).content.decode()
    assert not re.search(r"\d projects/s", html) and " left</label>" not in html


def test_the_job_page_shows_a_page_of_projects_at_a_time(operator_client, neon, monkeypatch):
    monkeypatch.setattr(selectors, "ITEMS_PER_PAGE", 10)
    job = BulkJob.objects.create(kind="suspend", summary="Suspend computes", status="planned",
                                 planned_at=timezone.now(), created_by="otto")  # fmt: skip
    BulkItem.objects.bulk_create(
        BulkItem(job=job, project_id=f"p-{n:03d}", project_name=f"tenant-{n:03d}",
                 verdict="refused" if n == 24 else "change")
        for n in range(25)
    )  # fmt: skip
    url = reverse("bulk:job", args=[job.pk])

    first = operator_client.get(url).content.decode()
    assert first.count("<tr data-project=") == 10
    assert 'data-project="p-024"' in first  # what Neon would refuse comes first
    assert "Projects 1 to 10 of 25" in first and 'href="?page=2"' in first

    last = operator_client.get(url, {"page": 3}, headers=HX).content.decode()
    assert "<html" not in last and last.count("<tr data-project=") == 5
    assert 'data-project="p-023"' in last


def test_a_fleet_scale_job_is_judged_in_one_pass(operator_client, neon, settings):
    """3,000 projects from the inventory: no Neon call per project, and the queries grow with
    the pages of 400 judged together, not with the projects."""
    settings.BULK_MAX_PROJECTS = 5000
    now = timezone.now()
    state = {
        "name": "",
        "history_retention_seconds": 86400,
        "settings": {
            "quota": dict.fromkeys(
                ("active_time_seconds", "compute_time_seconds", "written_data_bytes",
                 "data_transfer_bytes", "logical_size_bytes"), 0),
            "allowed_ips": {"ips": [], "protected_branches_only": False},
            "enable_logical_replication": False,
            "maintenance_window": None,
            "block_public_connections": False,
            "block_vpc_connections": False,
            "audit_log_level": None,
            "hipaa": False,
            "preload_libraries": {"use_defaults": True, "enabled_libraries": []},
        },
        "default_endpoint_settings": {
            "autoscaling_limit_min_cu": 0.25, "autoscaling_limit_max_cu": 1.0,
            "suspend_timeout_seconds": 0, "pg_settings": {},
        },
    }  # fmt: skip
    ids = [f"tenant-{n:05d}-12345678" for n in range(3000)]
    InventoryProject.objects.bulk_create(
        InventoryProject(project_id=pid, name=pid[:12], region_id="aws-us-east-2", pg_version=17,
                         read_at=now, org_id="org-big")
        for pid in ids
    )  # fmt: skip
    InventoryDetail.objects.bulk_create(
        InventoryDetail(project_id=pid, state={**state, "name": pid[:12]}, read_at=now)
        for pid in ids
    )
    neon.clear_stats()
    chosen = operator_client.get(reverse("bulk:new"), {"org": "org-big"}).content.decode()
    assert 'data-selected="3000"' in chosen
    assert f"Show the first {selectors.SHOWN_AT_MOST} of the 3000 projects" in chosen

    job = new_job(operator_client, SUSPEND, {"org": "org-big"})

    assert job.status == BulkJob.Status.PLANNED, job.error
    assert job.items.filter(verdict=BulkItem.Verdict.CHANGE).count() == 3000
    assert _per_project(neon.stats()) == {}
    html = operator_client.get(reverse("bulk:job", args=[job.pk])).content.decode()
    assert html.count("<tr data-project=") == selectors.ITEMS_PER_PAGE


def test_the_approval_page_names_the_first_projects_and_counts_the_rest(
    operator_client, fleet, neon, monkeypatch
):
    monkeypatch.setattr(services, "DESCRIBED_AT_MOST", 3)
    job = new_job(operator_client, WINDOW)
    to_change = job.items.filter(verdict=BulkItem.Verdict.CHANGE).count()
    request = ApprovalRequest(kind="bulk", bulk_job_id=job.pk)
    rows = services.job_described(request)
    assert len(rows) == 4
    assert rows[-1].label == f"and {to_change - 3} more projects"
    assert rows[-1].after_text == f"each on bulk job #{job.pk}'s page"
