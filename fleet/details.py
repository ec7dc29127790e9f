"""Reads of the inventory's details (InventoryDetail): what a bulk dry run judges a project by
without asking Neon, and, for the projects whose detail is too old, the accounts that hold them
and how big those accounts are, so the dry run can tell whether listing an account (400 projects
a call) costs fewer calls than reading each project."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db.models import Count, Q

from fleet.inventory import PAGE_SIZE, PERSONAL, SHARED, account_key
from fleet.models import InventoryDetail, InventoryProject


def details_fresh(*, project_ids: Collection[str], since: datetime) -> dict[str, InventoryDetail]:
    """The details of `project_ids` read from Neon at `since` or later, by project ID. A project
    whose row is gone has none: the dry run asks Neon about it."""
    live = InventoryProject.objects.filter(project_id__in=project_ids, gone_at__isnull=True)
    rows = InventoryDetail.objects.filter(
        project_id__in=live.values("project_id"), read_at__gte=since
    )
    return {detail.project_id: detail for detail in rows}


def accounts_of(*, project_ids: Collection[str]) -> dict[str, str]:
    """Each project's account, named as a refresh names it (fleet.inventory.account_key)."""
    rows = InventoryProject.objects.filter(project_id__in=project_ids)
    return {
        pid: account_key(org_id=org_id, shared=shared)
        for pid, org_id, shared in rows.values_list("project_id", "org_id", "shared")
    }


def list_calls(*, accounts: Collection[str]) -> dict[str, int]:
    """The calls listing each account would take, from its size in the inventory (a short page
    ends a list, so a full last page costs one more call)."""
    orgs = ["" if key == PERSONAL else key for key in accounts if key != SHARED]
    held = Q(org_id__in=orgs) | Q(shared=True) if SHARED in accounts else Q(org_id__in=orgs)
    live = InventoryProject.objects.filter(held, gone_at__isnull=True)
    sizes = live.values_list("org_id", "shared").annotate(n=Count("project_id")).order_by()
    calls = dict.fromkeys(accounts, 1)
    for org_id, shared, n in sizes:
        key = account_key(org_id=org_id, shared=shared)
        if key in calls:
            calls[key] += n // PAGE_SIZE
    return calls
