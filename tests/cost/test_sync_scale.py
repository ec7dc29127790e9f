"""The sync at fleet scale, counted: 10,000 projects, about one call per 100 of them, never a
429 from Neon's own consumption limit, the most recently active first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cost import sync
from cost.models import ProjectMonth
from fleet import tasks as fleet_tasks
from fleet.models import InventoryProject

pytestmark = pytest.mark.django_db
PROJECTS = 10_000
CONSUMPTION = "GET /api/v2/consumption_history/v2/projects"


@pytest.fixture
def big_fleet(emulator, settings):
    """10,000 projects, all in organizations; Neon's limit at 300 a minute and the dashboard's
    share at 270 (the default's ratio, 27 of 30), so the test takes seconds, not minutes."""
    emulator.reset(seed=PROJECTS, org_only=True, consumption_rate_limit="300/min")
    settings.NEON_API_URL = emulator.base_url
    settings.NEON_API_KEY = "test-neon-key-not-real"
    settings.NEON_CONSUMPTION_RATE_LIMIT = "270/min"
    pinned = datetime.now(UTC).replace(minute=20, second=0, microsecond=0)
    emulator.set_consumption_clock(pinned.strftime("%Y-%m-%dT%H:%M:%SZ"))
    fleet_tasks.refresh_inventory.call(fleet_tasks.start_refresh(trigger="manual").pk)
    emulator.clear_stats()
    yield emulator, pinned
    emulator.reset(seed=25)


def test_ten_thousand_projects_in_about_a_hundred_calls_and_no_429(big_fleet):
    emulator, now = big_fleet
    live = InventoryProject.objects.filter(gone_at__isnull=True, shared=False)
    per_org = {}
    for org_id in live.values_list("org_id", flat=True):
        per_org[org_id] = per_org.get(org_id, 0) + 1
    assert sum(per_org.values()) >= PROJECTS
    run = sync.run(sync.start_run(), now=now)
    assert run.status == "finished", run.error
    calls = emulator.stats()[CONSUMPTION]
    assert calls == sum(-(-n // 100) for n in per_org.values()) == run.calls
    assert calls <= PROJECTS // 100 + len(per_org)
    assert emulator.rate_limited("consumption") == 0
    priced = ProjectMonth.objects.filter(month=now.date().replace(day=1))
    assert priced.count() == live.count()
