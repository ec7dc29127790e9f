"""Each finding against rows built to trigger it and rows built to avoid it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet.findings import BY_SLUG, FINDINGS
from fleet.models import InventoryProject
from fleet.selectors import finding_counts

pytestmark = pytest.mark.django_db

NOW = timezone.now()
HEALTHY = {
    "region_id": "aws-us-east-2",
    "pg_version": 17,
    "created_at": NOW - timedelta(days=400),
    "last_active_at": NOW - timedelta(hours=2),
    "storage_bytes": 10**9,
    "cu_min": 0.25,
    "cu_max": 2,
    "history_retention_seconds": 86400,
    "allowed_ips_count": 1,
    "has_maintenance_window": True,
}
CASES = {
    "eol-postgres": ({"pg_version": 14}, {"pg_version": 15}),
    "idle-with-storage": (
        {"last_active_at": NOW - timedelta(days=45)},
        {"last_active_at": NOW - timedelta(days=45), "storage_bytes": 0},
    ),
    "open-to-the-internet": (
        {"allowed_ips_count": 0},
        {"allowed_ips_count": 0, "block_public_connections": True},
    ),
    "no-maintenance-window": ({"has_maintenance_window": False}, {}),
    "large-autoscaling-without-quota": (
        {"cu_max": 8},
        {"cu_max": 8, "compute_time_quota_seconds": 36000},
    ),
    "no-history": ({"history_retention_seconds": 0}, {"history_retention_seconds": 3600}),
    "idle-but-costing": (
        {"last_active_at": NOW - timedelta(days=45), "cost_cents": 1},
        {"last_active_at": NOW - timedelta(days=45), "cost_cents": 0},
    ),
    "held-by-quota": (
        {"compute_time_quota_seconds": 3600, "compute_time_seconds": 3600},
        {"compute_time_quota_seconds": 3600, "compute_time_seconds": 3599},
    ),
}


def make(project_id: str, **fields) -> InventoryProject:
    return InventoryProject.objects.create(
        project_id=project_id, name=project_id, **{**HEALTHY, **fields}
    )


def test_every_finding_has_a_case():
    assert set(CASES) == {f.slug for f in FINDINGS}


@pytest.mark.parametrize("slug", list(CASES))
def test_each_finding_catches_its_case_and_spares_the_near_miss(slug, settings):
    settings.FLEET_IDLE_DAYS = 30
    settings.FLEET_LARGE_CU = 4
    triggers, avoids = CASES[slug]
    make("healthy")
    make("trigger", **triggers)
    make("near-miss", **avoids)
    hit = set(InventoryProject.objects.filter(BY_SLUG[slug].query()).values_list("pk", flat=True))
    assert hit == {"trigger"}
    counts = {c.finding.slug: c.count for c in finding_counts()}
    assert counts[slug] == 1


def test_thresholds_are_settings(settings):
    make("idle-20-days", last_active_at=NOW - timedelta(days=20))
    settings.FLEET_IDLE_DAYS = 30
    assert not InventoryProject.objects.filter(BY_SLUG["idle-with-storage"].query()).exists()
    settings.FLEET_IDLE_DAYS = 14
    assert InventoryProject.objects.filter(BY_SLUG["idle-with-storage"].query()).exists()


def test_gone_projects_raise_no_findings():
    make("gone-eol", pg_version=14, gone_at=NOW)
    assert {c.finding.slug: c.count for c in finding_counts()}["eol-postgres"] == 0


def test_the_fleet_page_lists_a_findings_projects_with_why_and_fix(viewer_client):
    make("old-pg", pg_version=14)
    make("new-pg")
    response = viewer_client.get("/fleet/", {"finding": "eol-postgres"})
    assert [r.project_id for r in response.context["page"].rows] == ["old-pg"]
    html = response.content.decode()
    assert BY_SLUG["eol-postgres"].why in html


def test_a_finding_with_a_setting_to_fix_links_each_row_to_it(viewer_client):
    make("open-one", allowed_ips_count=0)
    html = viewer_client.get("/fleet/", {"finding": "open-to-the-internet"}).content.decode()
    assert 'href="/projects/open-one/settings/#section-network"' in html
    assert BY_SLUG["open-to-the-internet"].fix_label in html
