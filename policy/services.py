"""Evaluating the fleet against the policy in force, as the worker does after each refresh and
the web process does after each write (one project)."""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.services import Actor, audited
from fleet import branches, tally
from fleet.models import InventoryProject
from policy import drift, loaded
from policy.catalog import KINDS
from policy.document import Policy
from policy.models import ClassOverride, Evaluation

logger = logging.getLogger(__name__)


def evaluate_fleet(policy: Policy) -> Evaluation:
    """The whole fleet: drift per rule, each project's class and drift on its inventory row
    (the fleet page's marks), and how many live projects each class holds."""
    started = time.perf_counter()
    conditions = drift.class_conditions(policy)
    drift.evaluate(policy)
    drift.mark_fleet(policy, conditions)
    classes = Counter()
    for group, n in tally.current().groups:
        if not group.gone:
            classes[group.project_class] += n
    return Evaluation.objects.create(
        finished_at=timezone.now(),
        digest=policy.digest,
        seconds=time.perf_counter() - started,
        classes=dict(classes),
    )


def branches_needed(policy: Policy) -> bool:
    return any(KINDS[r.kind].branch for r in policy.rules) or any(
        m.annotations for c in policy.classes for m in c.matches
    )


def branch_candidates(policy: Policy) -> QuerySet[InventoryProject]:
    """The projects whose default branch the policy needs: every live one if a class matches
    by annotation (any could be in it), else those of the classes with default-branch rules."""
    rows = InventoryProject.objects.filter(gone_at__isnull=True)
    if any(m.annotations for c in policy.classes for m in c.matches):
        return rows
    conditions = drift.class_conditions(policy)
    wanted = {rule.klass for rule in policy.rules if KINDS[rule.kind].branch}
    if not wanted:
        return rows.none()
    needed = Q(pk__in=[])
    for klass in wanted:
        needed |= conditions[klass]
    return rows.filter(needed)


def read_default_branches(policy: Policy, *, limit: int | None = None) -> branches.Sweep:
    """Read the default branches due (fleet.branches.due), then evaluate those projects again:
    their class (by annotation) and their default-branch rules follow what was read."""
    limit = settings.POLICY_BRANCH_READS if limit is None else limit
    fresh = timezone.now() - timedelta(hours=settings.POLICY_BRANCH_FRESH_HOURS)
    due = branches.due(branch_candidates(policy), read_before=fresh, limit=limit)
    swept = branches.sweep(due) if due else branches.Sweep(0, 0)
    for chunk in itertools.batched(due, 500):
        drift.evaluate(policy, project_ids=list(chunk))
        drift.mark_projects(policy, list(chunk))
    if swept.read:
        logger.info("policy read %s default branches (%s failed)", swept.read, swept.failed)
    return swept


def evaluate_project(policy: Policy, project_id: str) -> None:
    drift.evaluate(policy, project_ids=[project_id])
    drift.mark_projects(policy, [project_id])


def on_project_written(*, project_id: str, **_) -> None:
    """projects.extensions.project_written: the project's drift follows the change at once
    (the fleet's own receiver has already put Neon's answer into the inventory)."""
    policy = loaded.current().policy
    if policy is not None:
        evaluate_project(policy, project_id)


def class_set(*, actor: Actor, project_id: str, name: str, reason: str) -> None:
    """Set (or, with "", clear) the project's class by hand, audited; its drift follows."""
    classes_set(actor=actor, projects=[(project_id, "")], name=name, reason=reason)


def classes_set(
    *,
    actor: Actor,
    projects: list[tuple[str, str]],
    name: str,
    reason: str,
    selection: dict | None = None,
) -> None:
    """Set (or, with "", clear) the class of each of `projects` ((ID, name) pairs) by hand:
    one audit record each, as for one project, naming the fleet selection they came from; then
    their drift and the fleet's marks follow."""
    ids = [project_id for project_id, _ in projects]
    before = dict(
        ClassOverride.objects.filter(project_id__in=ids).values_list("project_id", "name")
    )
    with transaction.atomic():
        for project_id, project_name in projects:
            asked = {"class": name, "reason": reason, "was": before.get(project_id, "")}
            with audited(
                actor=actor,
                action="policy.class",
                project_id=project_id,
                project_name=project_name,
                request_data={**asked, "selection": selection} if selection else asked,
            ):
                _override(project_id, name=name, reason=reason, actor=actor)
    policy = loaded.current().policy
    if policy is not None:
        drift.evaluate(policy, project_ids=ids)
        drift.mark_projects(policy, ids)


def _override(project_id: str, *, name: str, reason: str, actor: Actor) -> None:
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
