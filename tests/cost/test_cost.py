"""Cost per project: the sync (calls counted, inside Neon's consumption limit, resumable), the
dollars checked by hand against the emulator's raw consumption and the price table, and the
page, the fleet column and the export agreeing to the cent."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from cost import sync
from cost.models import ConsumptionDay, OrgSync, ProjectMonth, SyncRun
from fleet import tasks as fleet_tasks
from fleet.models import InventoryProject

pytestmark = pytest.mark.django_db
CONSUMPTION = "GET /api/v2/consumption_history/v2/projects"
# Neon's published prices (FACTS.md 12), written out here, not read from the code under test.
SCALE_CU_HOUR = Decimal("0.222")
STORAGE_GB_MONTH = Decimal("0.35")
HISTORY_GB_MONTH = Decimal("0.20")
SNAPSHOT_GB_MONTH = Decimal("0.09")
PUBLIC_GB = Decimal("0.10")
PRIVATE_GB = Decimal("0.01")
EXTRA_BRANCH_MONTH = Decimal("1.50")


def by_hand(totals: dict, cu_hour: Decimal = SCALE_CU_HOUR) -> int:
    """A month's cents from Neon's raw units: CU-seconds, byte-hours over a 744-hour month of
    decimal GB, bytes of transfer, branch-hours."""
    gb_month = Decimal(744 * 10**9)
    usd = (
        Decimal(totals["compute_unit_seconds"]) / 3600 * cu_hour
        + Decimal(totals["root_branch_bytes_month"] + totals["child_branch_bytes_month"])
        / gb_month * STORAGE_GB_MONTH
        + Decimal(totals["instant_restore_bytes_month"]) / gb_month * HISTORY_GB_MONTH
        + Decimal(totals["snapshot_storage_bytes_month"]) / gb_month * SNAPSHOT_GB_MONTH
        + Decimal(totals["public_network_transfer_bytes"]) / 10**9 * PUBLIC_GB
        + Decimal(totals["private_network_transfer_bytes"]) / 10**9 * PRIVATE_GB
        + Decimal(totals["extra_branches_month"]) / 744 * EXTRA_BRANCH_MONTH
    )  # fmt: skip
    return int((usd * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.fixture
def now(neon):
    """A pinned clock for both sides: the emulator's data stop 15 minutes before it."""
    pinned = datetime.now(UTC).replace(minute=20, second=0, microsecond=0)
    neon.set_consumption_clock(pinned.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return pinned


@pytest.fixture
def synced(neon, now):
    fleet_tasks.refresh_inventory.call(fleet_tasks.start_refresh(trigger="manual").pk)
    neon.clear_stats()
    return sync.run(sync.start_run(), now=now)


def month_totals(neon, project_id: str, now: datetime) -> dict:
    start = now.date().replace(day=1)
    end = now.date() + timedelta(days=1)
    raw = neon.consumption(project_id, from_=f"{start}T00:00:00Z", to=f"{end}T00:00:00Z")
    return raw["totals"]


def test_a_sync_prices_each_project_as_a_hand_count_does(synced, neon, now):
    assert synced.status == "finished", synced.error
    priced = ProjectMonth.objects.filter(month=now.date().replace(day=1))
    assert priced.count() >= 5
    for month in priced:
        expected = by_hand(month_totals(neon, month.project_id, now))
        assert month.total_cents == expected, month.project_id
        row = InventoryProject.objects.get(project_id=month.project_id)
        assert row.cost_cents == expected  # the fleet's column


def test_one_call_per_hundred_projects_of_each_organization(synced, neon):
    per_org = {}
    for org_id in (
        InventoryProject.objects.filter(gone_at__isnull=True, shared=False)
        .exclude(org_id="")
        .values_list("org_id", flat=True)
    ):
        per_org[org_id] = per_org.get(org_id, 0) + 1
    expected = sum(-(-n // 100) for n in per_org.values())
    assert neon.stats()[CONSUMPTION] == expected == synced.calls
    assert neon.rate_limited("consumption") == 0


def test_a_second_sync_reads_only_the_days_not_final(synced, neon, now):
    final = ConsumptionDay.objects.filter(final=True).count()
    assert final and ConsumptionDay.objects.filter(final=False).exists()
    state = OrgSync.objects.filter(access=True).first()
    start, _ = sync.window(now.date(), state.final_through)
    assert start == now.date() - timedelta(days=1) or start == now.date()
    again = sync.run(sync.start_run(), now=now)
    assert again.status == "finished" and ConsumptionDay.objects.filter(final=True).count() >= final


def test_an_interrupted_sync_resumes_where_it_stopped(neon, now):
    fleet_tasks.refresh_inventory.call(fleet_tasks.start_refresh(trigger="manual").pk)
    run = sync.start_run()
    org = OrgSync.objects.create(org_id="org-acme-analytics-41502719")
    acme = list(
        InventoryProject.objects.filter(org_id=org.org_id, gone_at__isnull=True).values_list(
            "project_id", flat=True
        )
    )
    # As a worker that died after storing Acme's batch: the run is still "running".
    sync._sync_batch(run, org, acme, now=now)
    SyncRun.objects.filter(pk=run.pk).update(status="running")
    neon.clear_stats()
    resumed = sync.run(sync.start_run(), now=now)
    assert resumed.pk == run.pk and resumed.status == "finished"
    orgs_left = (
        InventoryProject.objects.filter(gone_at__isnull=True, shared=False)
        .exclude(org_id__in=["", org.org_id])
        .values_list("org_id", flat=True)
        .distinct()
    )
    assert neon.stats()[CONSUMPTION] == len(set(orgs_left))  # Acme's batch was not read again


def test_a_plan_without_consumption_history_is_said_not_failed(neon, now, viewer_client):
    neon.set_plan("org-cedar-health-27064815", "free")
    fleet_tasks.refresh_inventory.call(fleet_tasks.start_refresh(trigger="manual").pk)
    run = sync.run(sync.start_run(), now=now)
    assert run.status == "finished"
    cedar = OrgSync.objects.get(org_id="org-cedar-health-27064815")
    assert not cedar.access and cedar.message
    page = viewer_client.get(reverse("cost:overview")).content.decode()
    assert "No consumption history on this plan" in page


def test_the_page_the_fleet_and_the_export_agree_to_the_cent(synced, viewer_client, now):
    month = now.date().replace(day=1)
    page = viewer_client.get(reverse("cost:overview"))
    overview = page.context["o"]
    gross = sum(ProjectMonth.objects.filter(month=month).values_list("total_cents", flat=True))
    assert overview.total == gross
    fleet_sum = sum(
        InventoryProject.objects.exclude(cost_cents=None).values_list("cost_cents", flat=True)
    )
    assert fleet_sum == gross
    response = viewer_client.get(reverse("cost:report-csv"), {"month": f"{month:%Y-%m}"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    per_project: dict[str, Decimal] = {}
    for row in rows:
        per_project[row["project_id"]] = per_project.get(row["project_id"], 0) + Decimal(
            row["total_usd"]
        )
    for month_row in ProjectMonth.objects.filter(month=month):
        exported = (per_project[month_row.project_id] * 100).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        assert exported == month_row.total_cents, month_row.project_id
    records = json.loads(
        b"".join(
            viewer_client.get(
                reverse("cost:report-json"), {"month": f"{month:%Y-%m}"}
            ).streaming_content
        )
    )
    assert len(records) == len(rows)
    html = page.content.decode()
    assert 'data-chart="bar"' in html and "chart.umd.min.js" in html


def test_the_fleet_sorts_and_filters_by_cost(synced, viewer_client):
    page = viewer_client.get(
        reverse("fleet:list"), {"sort": "-cost"}, headers={"HX-Request": "true"}
    )
    shown = [row["id"] for row in page.context["rows"]]
    costs = dict(InventoryProject.objects.values_list("project_id", "cost_cents"))
    ordered = [costs[p] for p in shown]
    priced = [c for c in ordered if c is not None]
    assert priced == sorted(priced, reverse=True) and ordered[: len(priced)] == priced
    top = max(priced)
    over = viewer_client.get(reverse("fleet:list"), {"cost_over": f"{(top - 1) / 100:.2f}"})
    assert [row["id"] for row in over.context["rows"]] == [shown[0]]


def test_the_project_page_charts_its_last_sixty_days(synced, viewer_client):
    month = ProjectMonth.objects.order_by("-total_cents").first()
    html = viewer_client.get(reverse("projects:detail", args=[month.project_id])).content.decode()
    assert 'id="cost-chart-data"' in html and "The numbers" in html


def test_an_admin_sets_and_clears_a_spending_limit_audited(synced, admin_client_, neon):
    url = reverse("cost:limit", args=["org-acme-analytics-41502719"])
    admin_client_.post(url, {"dollars": "1234.50"})
    assert OrgSync.objects.get(org_id="org-acme-analytics-41502719").spending_limit_cents == 123450
    from projects.neon import get_client

    assert get_client().get_spending_limit("org-acme-analytics-41502719") == 123450
    admin_client_.post(url, {"dollars": ""})
    assert get_client().get_spending_limit("org-acme-analytics-41502719") is None
    records = AuditEvent.objects.filter(action="cost.spending_limit").order_by("pk")
    assert [r.request_data["spending_limit_cents"] for r in records] == [123450, None]


def test_operators_may_not_set_a_spending_limit(synced, operator_client):
    url = reverse("cost:limit", args=["org-acme-analytics-41502719"])
    assert operator_client.post(url, {"dollars": "10"}).status_code == 403


def test_one_projects_last_day_hour_by_hour_on_demand(synced, neon, viewer_client, now):
    month = ProjectMonth.objects.exclude(plan="").order_by("-total_cents").first()
    neon.clear_stats()
    url = reverse("cost:hours", args=[month.project_id])
    fragment = viewer_client.get(url, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert "<html" not in html and 'id="cost-hours"' in html
    hours = fragment.context["hours"]
    assert 20 <= len(hours) <= 24 and neon.stats()[CONSUMPTION] == 1
    whole = viewer_client.get(url).content.decode()
    assert "<html" in whole and "hour by hour" not in whole


def test_a_personal_project_has_no_hours_and_says_why(synced, viewer_client):
    personal = InventoryProject.objects.filter(org_id="", gone_at__isnull=True).first()
    page = viewer_client.get(reverse("cost:hours", args=[personal.project_id]))
    assert "needs an organization" in page.content.decode()


def test_idle_but_costing_is_a_fleet_finding_with_its_dollars(synced, viewer_client, settings):
    from fleet.findings import BY_SLUG

    page = viewer_client.get(reverse("fleet:list"))
    counts = {item.finding.slug: item.count for item in page.context["findings"]}
    live = InventoryProject.objects.filter(gone_at__isnull=True)
    idle = live.filter(BY_SLUG["idle-but-costing"].query())
    assert counts["idle-but-costing"] == idle.count() > 0  # the tally was counted again
    chosen = viewer_client.get(reverse("fleet:list"), {"finding": "idle-but-costing"})
    cents = sum(idle.values_list("cost_cents", flat=True))
    assert chosen.context["finding_cents"] == cents
    assert f"${cents / 100:,.2f} this month" in chosen.content.decode()


def test_the_fleet_facets_and_filters_by_this_months_cost(synced, viewer_client):
    from fleet.tally import COST_LABELS, cost_band

    page = viewer_client.get(reverse("fleet:list"))
    shown = dict(page.context["form"].fields["cost"].choices)
    live = InventoryProject.objects.filter(gone_at__isnull=True)
    bands: dict[str, int] = {}
    for cents in live.values_list("cost_cents", flat=True):
        bands[cost_band(cents)] = bands.get(cost_band(cents), 0) + 1
    for band, n in bands.items():
        if band:
            assert shown[band] == f"{COST_LABELS[band]} ({n:,})", band
    top = max(bands, key=lambda b: bands[b] if b else -1)
    filtered = viewer_client.get(reverse("fleet:list"), {"cost": top})
    assert filtered.context["page"].total == bands[top]
    assert all(cost_band(live.get(project_id=r["id"]).cost_cents) == top
               for r in filtered.context["rows"])  # fmt: skip


def test_a_personal_projects_page_says_why_it_is_not_priced(synced, operator_client):
    personal = InventoryProject.objects.filter(org_id="", gone_at__isnull=True).first()
    html = operator_client.get(reverse("projects:detail", args=[personal.project_id])).content
    page = html.decode()
    assert "Not priced: Neon's consumption history needs an organization" in page
    assert reverse("cost:project-budget", args=[personal.project_id]) not in page
