"""The fleet a bulk job selects from: the inventory, refreshed from the emulator."""

import pytest

from fleet.models import InventoryProject
from tests.bulk.jobs import refresh_inventory


@pytest.fixture
def fleet(neon):
    refresh_inventory()
    return InventoryProject.objects.filter(gone_at__isnull=True)
