"""What the policy does when the fleet has been refreshed (fleet.inventory.refreshed)."""

from __future__ import annotations

import logging

from django.db import transaction

from policy import drift, grace, loaded, services, tasks

logger = logging.getLogger(__name__)


def on_refreshed(**_) -> None:
    """The whole inventory is new, so is its drift: evaluated now (set-based, in the refresh's
    task), its grace periods run; the default branches the policy needs are read in a task of
    their own, after it (project by project, and slow with it)."""
    policy = loaded.current().policy
    if policy is None:
        drift.mark_fleet(None)  # a policy taken away leaves no classes behind
        return
    evaluation = services.evaluate_fleet(policy)
    logger.info("policy evaluated in %.1f s", evaluation.seconds)
    grace.run(policy)
    if services.branches_needed(policy):
        transaction.on_commit(lambda: tasks.read_branches.enqueue())
