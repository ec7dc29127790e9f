"""The inventory's details: what a bulk dry run judges a project by without asking Neon, kept
from every answer of Neon the inventory hears (a refresh's pages, a write's answer), and the
account listing a dry run uses when that costs fewer calls than reading each project."""

import pytest
from django.utils import timezone

from fleet import inventory
from fleet.details import accounts_of, details_fresh, list_calls
from fleet.models import InventoryDetail, InventoryProject
from projects.neon import get_client
from projects.project_state import project_state
from tests.fleet.test_fleet import refreshed

pytestmark = pytest.mark.django_db


def test_a_refresh_keeps_each_projects_state_as_a_full_read_gives_it(neon):
    """A refresh lists projects, apply compares with a full read: both must give one state,
    or every change judged from the inventory would be skipped as changed elsewhere."""
    run = refreshed()
    rows = InventoryProject.objects.filter(gone_at__isnull=True)
    details = {d.project_id: d for d in InventoryDetail.objects.all()}
    assert set(details) == set(rows.values_list("project_id", flat=True))
    client = get_client()
    for row in rows:
        project, detail = client.get_project(row.project_id), details[row.project_id]
        assert detail.state == project_state(project), row.project_id
        assert detail.permission == (project.permission or "")
        assert detail.provisioner == project.provisioner
        assert detail.read_at == row.read_at and row.seen_run == run.pk


def test_a_writes_answer_refreshes_the_detail_and_keeps_the_run_that_saw_it(neon, monkeypatch):
    run = refreshed()
    row = (
        InventoryProject.objects.filter(shared=False, permission__in=["", "CAN_MANAGE"])
        .exclude(org_id="")
        .first()
    )
    before = InventoryDetail.objects.get(project_id=row.project_id).read_at
    neon.clear_stats()
    answer = get_client().update_project(row.project_id, {"history_retention_seconds": 3600})
    made = inventory.row_from_project

    def seen_meanwhile(*args, **kwargs):
        # A refresh running now lists the project while the answer is being recorded: its mark
        # must survive, or that refresh would find the project unseen and mark it gone.
        InventoryProject.objects.filter(pk=row.pk).update(seen_run=run.pk + 1)
        return made(*args, **kwargs)

    monkeypatch.setattr(inventory, "row_from_project", seen_meanwhile)
    inventory.record_project(answer.project)

    detail = InventoryDetail.objects.get(project_id=row.project_id)
    assert detail.state["history_retention_seconds"] == 3600 and detail.read_at > before
    row.refresh_from_db()
    assert row.seen_run == run.pk + 1 and row.org_name and row.history_retention_seconds == 3600
    assert list(neon.stats()) == ["PATCH /api/v2/projects/{project_id}"]  # no read of its own


def test_only_details_read_recently_enough_are_fresh(neon):
    refreshed()
    rows = list(InventoryProject.objects.order_by("project_id").values_list("pk", flat=True)[:3])
    InventoryDetail.objects.filter(project_id=rows[0]).update(
        read_at=timezone.now() - timezone.timedelta(hours=2)
    )
    InventoryProject.objects.filter(pk=rows[1]).update(gone_at=timezone.now())
    since = timezone.now() - timezone.timedelta(hours=1)
    assert set(details_fresh(project_ids=rows, since=since)) == {rows[2]}


def test_an_accounts_listing_is_the_refreshs_and_its_cost_is_known(neon):
    refreshed()
    rows = InventoryProject.objects.filter(gone_at__isnull=True)
    accounts = accounts_of(project_ids=list(rows.values_list("project_id", flat=True)))
    keys = set(accounts.values())
    assert {inventory.PERSONAL, inventory.SHARED} < keys and len(keys) >= 4
    assert list_calls(accounts=keys) == dict.fromkeys(keys, 1)  # fewer than 400 in each
    neon.clear_stats()
    for key in keys:
        listed = {p.id for page in inventory.account_pages(key) for p in page.projects}
        assert listed == {pid for pid, account in accounts.items() if account == key}, key
    assert sum(neon.stats().values()) == len(keys)


def test_an_org_only_account_has_nothing_personal_to_list(neon):
    neon.reset(seed=25, org_only=True)
    try:
        assert list(inventory.account_pages(inventory.PERSONAL)) == []
    finally:
        neon.reset(seed=25, org_only=False)
