"""Reads for the policy pages: the file in force, the last evaluation, drift by rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, Min, OuterRef

from fleet.models import InventoryBranch, InventoryProject
from policy import loaded
from policy.catalog import KINDS, Kind
from policy.document import UNCLASSIFIED, Rule
from policy.fixes import FIXES
from policy.models import Drift, Evaluation
from policy.show import show_value

PAGE_SIZE = 100


@dataclass(frozen=True)
class RuleState:
    rule: Rule
    kind: Kind
    drift: int
    oldest: datetime | None
    # A default-branch rule: the class's live projects whose branch is not known yet
    # (never read, or its schedule not given), which the rule cannot judge. None otherwise.
    unchecked: int | None = None

    @property
    def value_text(self) -> str:
        return show_value(self.rule.kind, self.rule.value)


@dataclass(frozen=True)
class ClassState:
    name: str
    projects: int | None  # at the last evaluation (None: not evaluated yet)
    rules: list[RuleState]

    @property
    def fixable_drift(self) -> bool:
        return any(s.drift and s.kind.slug in FIXES for s in self.rules)


@dataclass(frozen=True)
class Overview:
    file: loaded.Loaded
    evaluation: Evaluation | None
    classes: list[ClassState]


def overview() -> Overview:
    current = loaded.current()
    evaluation = Evaluation.objects.first()
    if current.policy is None:
        return Overview(current, evaluation, [])
    found = {
        row["rule_id"]: row
        for row in Drift.objects.values("rule_id").annotate(n=Count("pk"), oldest=Min("since"))
    }
    counted = evaluation.classes if evaluation else {}
    names = [c.name for c in current.policy.classes] + [UNCLASSIFIED]
    classes = []
    for name in names:
        rules = [
            RuleState(
                rule,
                KINDS[rule.kind],
                found.get(rule.id, {}).get("n", 0),
                found.get(rule.id, {}).get("oldest"),
            )
            for rule in current.policy.rules_of(name)
        ]
        classes.append(ClassState(name, counted.get(name) if evaluation else None, rules))
    return Overview(current, evaluation, classes)


def rule_state(rule_id: str) -> RuleState | None:
    policy = loaded.current().policy
    rule = next((r for r in policy.rules if r.id == rule_id), None) if policy else None
    if rule is None:
        return None
    stats = Drift.objects.filter(rule_id=rule_id).aggregate(n=Count("pk"), oldest=Min("since"))
    return RuleState(rule, KINDS[rule.kind], stats["n"], stats["oldest"], _unchecked(policy, rule))


def _unchecked(policy, rule: Rule) -> int | None:
    if not KINDS[rule.kind].branch:
        return None
    known = InventoryBranch.objects.filter(project_id=OuterRef("project_id"))
    if rule.kind == "backup_schedule":
        known = known.filter(backup_schedule__isnull=False)
    rows = InventoryProject.objects.filter(gone_at__isnull=True, project_class=rule.klass)
    return rows.filter(~Exists(known)).count()


@dataclass(frozen=True)
class DriftRow:
    project_id: str
    name: str
    org: str
    since: datetime


def drift_page(rule_id: str, *, after: str = "") -> tuple[list[DriftRow], str]:
    """A page of the projects out of the rule, by project ID; and where the next starts."""
    rows = Drift.objects.filter(rule_id=rule_id).order_by("project_id")
    if after:
        rows = rows.filter(project_id__gt=after)
    window = list(rows.values_list("project_id", "since")[: PAGE_SIZE + 1])
    shown = window[:PAGE_SIZE]
    inventory = InventoryProject.objects.in_bulk([pid for pid, _ in shown])
    page = [
        DriftRow(
            pid,
            inventory[pid].name if pid in inventory else pid,
            (inventory[pid].org_name or "Personal account") if pid in inventory else "",
            since,
        )
        for pid, since in shown
    ]
    return page, (shown[-1][0] if len(window) > PAGE_SIZE else "")
