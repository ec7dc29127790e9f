"""The fleet a bulk job selects from: the inventory, refreshed from the emulator."""

import pytest

from fleet import tasks as fleet_tasks
from fleet.models import InventoryProject


@pytest.fixture
def fleet(neon):
    run = fleet_tasks.start_refresh(trigger="manual")
    fleet_tasks.refresh_inventory.call(run.pk)
    return InventoryProject.objects.filter(gone_at__isnull=True)
