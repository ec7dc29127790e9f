"""Evaluating the fleet against the policy in force, as the worker does after each refresh and
the web process does after each write (one project)."""

from __future__ import annotations

import logging
import time

from django.db.models import Case, CharField, Count, Value, When
from django.utils import timezone

from audit.services import Actor, audited
from fleet.models import InventoryProject
from policy import drift, grace, loaded
from policy.document import Policy
from policy.models import ClassOverride, Evaluation

logger = logging.getLogger(__name__)


def evaluate_fleet(policy: Policy) -> Evaluation:
    """The whole fleet: drift per rule, and how many live projects each class holds."""
    started = time.perf_counter()
    drift.evaluate(policy)
    conditions = drift.class_conditions(policy)
    klass = Case(
        *[When(condition, then=Value(name)) for name, condition in conditions.items()],
        default=Value(""),
        output_field=CharField(),
    )
    counts = (
        InventoryProject.objects.filter(gone_at__isnull=True)
        .annotate(klass=klass)
        .values("klass")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return Evaluation.objects.create(
        finished_at=timezone.now(),
        digest=policy.digest,
        seconds=time.perf_counter() - started,
        classes={row["klass"]: row["n"] for row in counts},
    )


def on_refreshed(**_) -> None:
    """fleet.inventory.refreshed: the whole inventory is new, so is its drift."""
    policy = loaded.current().policy
    if policy is not None:
        evaluation = evaluate_fleet(policy)
        logger.info("policy evaluated in %.1f s", evaluation.seconds)
        grace.run(policy)


def on_project_written(*, project_id: str, **_) -> None:
    """projects.extensions.project_written: the project's drift follows the change at once
    (the fleet's own receiver has already put Neon's answer into the inventory)."""
    policy = loaded.current().policy
    if policy is not None:
        drift.evaluate(policy, project_ids=[project_id])


def class_set(*, actor: Actor, project_id: str, name: str, reason: str) -> None:
    """Set (or, with "", clear) the project's class by hand, audited; its drift follows."""
    before = ClassOverride.objects.filter(project_id=project_id).first()
    with audited(
        actor=actor,
        action="policy.class",
        project_id=project_id,
        request_data={"class": name, "reason": reason, "was": before.name if before else ""},
    ):
        if name:
            ClassOverride.objects.update_or_create(
                project_id=project_id,
                defaults={
                    "name": name,
                    "reason": reason,
                    "set_by": actor.username,
                    "set_at": timezone.now(),
                },
            )
        else:
            ClassOverride.objects.filter(project_id=project_id).delete()
    policy = loaded.current().policy
    if policy is not None:
        drift.evaluate(policy, project_ids=[project_id])
