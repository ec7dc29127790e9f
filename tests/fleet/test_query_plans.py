"""The fleet page's queries use the indexes made for them (PostgreSQL, as production runs it):
a page of rows is an index walk that stops after the page, never a scan and sort of the whole
inventory, whatever the sort, a filter or a search. CI runs these on PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from fleet import selectors
from fleet.forms import PAGE_SIZE
from fleet.models import InventoryProject

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the indexes are PostgreSQL's (fleet migration 0005); CI runs on PostgreSQL",
    ),
]
ROWS = 30_000
SMALL_ORG = "org-small"  # 1 row in 150


@pytest.fixture(scope="module")
def inventory(django_db_setup, django_db_blocker):
    """A fleet big enough that the planner's choices are the ones it makes at scale."""
    now = timezone.now()
    with django_db_blocker.unblock():
        InventoryProject.objects.bulk_create(
            [
                InventoryProject(
                    project_id=f"p-{i:06d}",
                    name=("zebra-" if i % 3000 == 0 else "")
                    + f"{['billing', 'search', 'auth', 'ledger', 'mail'][i % 5]}-{i * 7919 % ROWS}",
                    org_id=SMALL_ORG if i % 150 == 0 else f"org-{i % 4}",
                    org_name="Org",
                    region_id=["aws-us-east-2", "aws-eu-central-1", "azure-eastus2"][i % 3],
                    pg_version=[14, 15, 16, 17][i % 4],
                    created_at=now - timedelta(days=400 + i % 300),
                    # The busiest are never idle: activity follows compute time.
                    last_active_at=now - timedelta(days=(i * 37 % 100)),
                    compute_time_seconds=(100 - i * 37 % 100) * 3600 + i,
                    storage_bytes=(i * 104729) % 10**9,
                    cu_max=[0.25, 1, 2, 4, 8][i % 5],
                    allowed_ips_count=i % 3,
                    hipaa=i % 50 == 0,
                    project_class="production" if i % 200 == 0 else "unclassified",
                    drift=i % 4,
                )
                for i in range(ROWS)
            ],
            batch_size=2000,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE fleet_inventoryproject")
    yield
    with django_db_blocker.unblock():
        InventoryProject.objects.all().delete()


def plan(filters: dict) -> dict:
    view = {**selectors.NO_FILTERS, "sort": "name", "cursor": "", **filters}
    rows = selectors.inventory_rows(view)[: PAGE_SIZE + 1]
    return json.loads(rows.explain(format="json"))[0]["Plan"]


def nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from nodes(child)


def indexes_used(node: dict) -> set[str]:
    return {n["Index Name"] for n in nodes(node) if "Index Name" in n}


def kinds(node: dict) -> set[str]:
    return {n["Node Type"] for n in nodes(node)}


def shown(node: dict) -> list[str]:
    """The plan, a node a line, for a failure's message."""
    keys = ("Index Name", "Index Cond", "Filter", "Sort Key", "Plan Rows")
    return [f"{n['Node Type']} {[n[k] for k in keys if k in n]}" for n in nodes(node)]


@pytest.mark.parametrize(
    "sort, index",
    [
        ("name", "fleet_inv_name_asc"),
        ("-name", "fleet_inv_name_desc"),
        ("-storage", "fleet_inv_storage_desc"),
        ("storage", "fleet_inv_storage_asc"),
        ("-active", "fleet_inv_active_desc"),
        ("region", "fleet_inv_region_asc"),
        ("-pg", "fleet_inv_pg_desc"),
        ("-cu", "fleet_inv_cu_desc"),
    ],
)
def test_each_sort_walks_its_own_index_and_stops_after_a_page(inventory, sort, index):
    found = plan({"sort": sort})
    assert indexes_used(found) == {index}, shown(found)
    assert not kinds(found) & {"Seq Scan", "Sort", "Incremental Sort"}, shown(found)


def test_idle_days_are_checked_on_the_index_the_sort_walks(inventory):
    """Idle projects are the least busy: sorted by compute time they lie at the far end of
    the index, so the idle test must be on the index, not on each row it leads to."""
    found = plan({"idle_days": 30, "sort": "-compute"})
    [scan] = [n for n in nodes(found) if n.get("Index Name") == "fleet_inv_compute_desc"]
    assert "COALESCE(last_active_at, created_at)" in scan["Index Cond"], shown(found)
    assert "Seq Scan" not in kinds(found)


def test_a_small_organization_is_found_by_its_index(inventory):
    found = plan({"org": SMALL_ORG, "pg": 14})
    assert "fleet_inv_org_pg" in indexes_used(found), shown(found)
    assert "Seq Scan" not in kinds(found)


def test_a_search_for_a_rare_name_uses_the_trigram_index(inventory):
    """At 30,000 rows a scan still costs the planner less than the trigram index (at a million
    it does not: `make bench`), so here the scan is ruled out to show the index fits the
    search's SQL (icontains is UPPER(col::text) LIKE UPPER(%s), the index's expression)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    found = plan({"q": "zebra"})
    assert {"fleet_inv_name_trgm", "fleet_inv_project_id_trgm"} <= indexes_used(found), shown(found)
    assert "Seq Scan" not in kinds(found)


def test_a_finding_filter_walks_the_sort_index(inventory):
    found = plan({"finding": "open-to-the-internet"})
    assert indexes_used(found) == {"fleet_inv_name_asc"}, shown(found)
    assert not kinds(found) & {"Seq Scan", "Sort"}, shown(found)


def test_a_small_class_is_found_by_its_index_in_name_order(inventory):
    found = plan({"class": "production", "drift": "yes"})
    assert indexes_used(found) == {"fleet_inv_class"}, shown(found)
    assert not kinds(found) & {"Seq Scan", "Sort"}, shown(found)
