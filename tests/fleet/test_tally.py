"""The tally: the fleet page's counts as sums over groups of rows, held to what counting the
rows themselves gives, and kept true by the dashboard's writes between refreshes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet import inventory, selectors, tally
from fleet.findings import FINDINGS
from fleet.models import InventoryGroup, InventoryProject

pytestmark = pytest.mark.django_db
NOW = timezone.now()
ORGS = [("", ""), ("org-a", "Acme"), ("org-b", "Borealis")]


def make_rows(n: int = 120) -> list[InventoryProject]:
    """Rows that cover every value and edge the tally groups by: empty columns, a CU maximum
    on the threshold, no history and unknown history, activity on either side of idle."""
    rows = []
    for i in range(n):
        org_id, org_name = ORGS[i % 3]
        active = [None, NOW - timedelta(days=2), NOW - timedelta(days=90)][(i // 3) % 3]
        rows.append(
            InventoryProject(
                project_id=f"p-{i:04d}",
                name=f"{['billing', 'search', 'auth', 'ledger'][i % 4]}-{i}",
                org_id=org_id,
                org_name=org_name,
                shared=i % 17 == 0,
                region_id=["aws-us-east-2", "aws-eu-central-1"][i % 2],
                pg_version=[14, 15, 16, 17][i % 4],
                created_at=NOW - timedelta(days=[1, 40, 400][i % 3]),
                last_active_at=active,
                storage_bytes=[None, 0, 10**9][i % 3 if i % 5 else 2],
                cu_min=0.25,
                cu_max=[None, 1.0, 4.0, 8.0][i % 4],
                compute_time_quota_seconds=[None, 3600][i % 7 == 0],
                compute_time_seconds=[None, 0, 3599, 3600, 90000][i % 5],
                cost_cents=[None, 0, 250, 5000, 150000][i % 5 if i % 4 else 2],
                history_retention_seconds=[None, 0, 86400][i % 3],
                allowed_ips_count=[0, 0, 2][i % 3],
                block_public_connections=i % 11 == 0,
                has_maintenance_window=i % 2 == 0,
                hipaa=i % 13 == 0,
                logical_replication=i % 3 == 0,
                gone_at=NOW if i % 19 == 0 else None,
                project_class=["", "production", "preview", "unclassified"][i % 4 if i % 9 else 1],
                drift=[0, 0, 1, 3][(i // 2) % 4],
            )
        )
    return rows


@pytest.fixture
def rows():
    made = make_rows()
    InventoryProject.objects.bulk_create(made)
    return made


def test_a_row_lands_in_the_group_the_sql_puts_it_in(rows):
    """`group_of` (a write moving a row) and `grouped` (a rebuild in SQL) read the same."""
    in_sql = {}
    for row in rows:
        [(group, n)] = tally.grouped(InventoryProject.objects.filter(pk=row.pk))
        in_sql[row.pk] = group
        assert n == 1
    assert {row.pk: tally.group_of(InventoryProject.objects.get(pk=row.pk)) for row in rows} == (
        in_sql
    )


def test_every_finding_reads_a_row_as_its_query_does(rows):
    for finding in FINDINGS:
        queried = set(InventoryProject.objects.filter(finding.query()).values_list("pk", flat=True))
        read = {r.pk for r in InventoryProject.objects.all() if finding.matches(r)}
        assert read == queried, finding.slug


def counted_by_rows(filters: dict) -> tuple[int, dict[str, dict[str, int]]]:
    """What the page's counts mean, counted the plain way: the view's rows, and per facet the
    rows of the view with that facet's own filter left out, by value."""
    live = InventoryProject.objects.all()
    if not filters["include_gone"]:
        live = live.filter(gone_at__isnull=True)

    def without(facet: str):
        return live.filter(selectors._conditions({**filters, facet: "" if facet != "pg" else None}))

    per_facet = {}
    for facet in tally.FACETS:
        counts: dict[str, int] = {}
        for row in without(facet):
            value = tally.group_of(row).facet(facet)
            counts[value] = counts.get(value, 0) + 1
        per_facet[facet] = counts
    return live.filter(selectors._conditions(filters)).count(), per_facet


FILTER_VALUES = {
    "org": ["", "personal", "shared", "org-a"],
    "region": ["", "aws-us-east-2"],
    "pg": [None, 14, 16],
    "exposure": ["", "public", "allowlist", "private"],
    "hipaa": ["", "yes", "no"],
    "logical_replication": ["", "yes"],
    "finding": ["", *(f.slug for f in FINDINGS)],
    "include_gone": [False, True],
    "class": ["", "production", "unclassified"],
    "drift": ["", "yes", "no"],
    "cost": ["", "0", "lt10", "lt100", "100+"],
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in FILTER_VALUES.items()}))
def test_the_tally_counts_what_counting_the_rows_gives(rows, chosen):
    filters = {**selectors.NO_FILTERS, **chosen}
    total, per_facet = tally.count(tally.grouped(InventoryProject.objects.all()), filters)
    expected_total, expected = counted_by_rows(filters)
    assert total == expected_total
    assert {f: {v: n for v, n in c.items() if n} for f, c in per_facet.items()} == expected


def test_a_search_and_idle_days_are_counted_from_the_rows_they_match(rows):
    filters = {**selectors.NO_FILTERS, "q": "billing", "idle_days": 30, "org": "org-a"}
    counts = selectors._view_counts(filters)
    assert (
        counts.total
        == InventoryProject.objects.filter(selectors._conditions(filters))
        .filter(gone_at__isnull=True)
        .count()
    )
    assert counts.total > 0 and counts.counted_at is None and not counts.approximate


def test_writes_between_refreshes_keep_the_tally_equal_to_a_recount(rows):
    tally.rebuild()
    row = InventoryProject.objects.filter(gone_at__isnull=True, shared=False).first()
    moves = [
        {"block_public_connections": True},
        {"pg_version": 17, "allowed_ips_count": 3},
        {"has_maintenance_window": not row.has_maintenance_window, "history_retention_seconds": 0},
    ]
    for change in moves:
        before = tally.group_of(InventoryProject.objects.get(pk=row.pk))
        InventoryProject.objects.filter(pk=row.pk).update(**change)
        tally.move(before, tally.group_of(InventoryProject.objects.get(pk=row.pk)))
    inventory.record_gone(row.pk)
    kept = sorted((g.key(), n) for g, n in tally.current().groups)
    tally.rebuild()
    assert kept == sorted(InventoryGroup.objects.values_list("key", "n"))


def test_a_moved_row_changes_the_generation_and_the_counts_show_it(rows):
    tally.rebuild()
    name = tally.generation()
    row = InventoryProject.objects.filter(gone_at__isnull=True, hipaa=False).first()
    before = tally.group_of(row)
    InventoryProject.objects.filter(pk=row.pk).update(hipaa=True)
    tally.move(before, tally.group_of(InventoryProject.objects.get(pk=row.pk)))
    assert tally.generation() != name
    hipaa = dict((v, n) for v, _, n in selectors.view_counts(selectors.NO_FILTERS).facets["hipaa"])
    assert hipaa["yes"] == InventoryProject.objects.filter(hipaa=True, gone_at__isnull=True).count()


def test_the_choices_are_what_the_live_inventory_holds(rows):
    choices = selectors.filter_choices()
    live = InventoryProject.objects.filter(gone_at__isnull=True)
    assert [v for v, _ in choices["region"]] == sorted(
        set(live.values_list("region_id", flat=True))
    )
    assert [v for v, _ in choices["pg"]] == sorted(set(live.values_list("pg_version", flat=True)))
    assert [v for v, _ in choices["org"]] == ["personal", "org-a", "org-b", "shared"]


def test_finding_counts_agree_with_each_findings_query(rows):
    live = InventoryProject.objects.filter(gone_at__isnull=True)
    for found in selectors.finding_counts():
        assert found.count == live.filter(found.finding.query()).count(), found.finding.slug


def test_estimates_say_about_and_round_to_two_figures():
    assert [tally.about(x) for x in (0, 0.4, 7.6, 96.2, 1234.5, 296_375.0)] == [
        0, 1, 8, 96, 1200, 300_000,
    ]  # fmt: skip


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TABLESAMPLE is PostgreSQL's")
def test_a_broad_search_is_estimated_from_a_sample_on_postgresql(monkeypatch):
    made = make_rows(4000)
    for i, row in enumerate(made):
        row.project_id, row.name = f"s-{i:05d}", f"billing-{i}" if i % 2 else f"auth-{i}"
    InventoryProject.objects.bulk_create(made)
    tally.rebuild()
    # Lower the bars so 4,000 rows count as many: half match, more than the exact limit, and
    # the sample is half the table's pages.
    monkeypatch.setattr(selectors, "EXACT_UP_TO", 500)
    monkeypatch.setattr(selectors, "SAMPLE_ROWS", 2000)
    counts = selectors._view_counts({**selectors.NO_FILTERS, "q": "billing"})
    truth = InventoryProject.objects.filter(Q(name__icontains="billing"), gone_at__isnull=True)
    assert counts.approximate and counts.counted_at is None
    assert 0.75 * truth.count() <= counts.total <= 1.25 * truth.count()
    assert counts.total == tally.about(counts.total)
