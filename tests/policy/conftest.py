"""The policy's fixtures: the example policy in force, and the emulator's fleet refreshed and
evaluated by the worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import tasks as fleet_tasks
from policy import loaded

EXAMPLE = Path(__file__).resolve().parents[2] / "policy" / "example-policy.yaml"


@pytest.fixture
def in_force(settings):
    settings.POLICY_FILE = str(EXAMPLE)
    return loaded.current().policy


@pytest.fixture
def evaluated(neon, in_force, django_capture_on_commit_callbacks):
    """The worker's refresh, whose end evaluates the fleet (on commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        run = fleet_tasks.start_refresh(trigger="manual")
        fleet_tasks.refresh_inventory.call(run.pk)
    return in_force
