"""What the policy adds to the project page: the project's class (and who set it by hand), and
the rules it is out of, each with why it matters and the fix."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse

from fleet import marks
from policy import loaded
from policy.catalog import KINDS
from policy.document import UNCLASSIFIED
from policy.fixes import FIXES
from policy.guard import class_of
from policy.models import ClassOverride, Drift
from policy.show import show_value
from projects import extensions

CARD = "policy/_project_card.html"


def project_card(*, request, project, **_) -> dict:
    policy = loaded.current().policy
    if policy is None:
        return {}
    drifts = [
        {
            "rule": d.rule_id,
            "label": KINDS[d.kind].label,
            "value": show_value(d.kind, rule.value) if (rule := _rule(policy, d.rule_id)) else "",
            "severity": d.severity,
            "since": d.since,
            "why": KINDS[d.kind].why,
            "fix": KINDS[d.kind].fix,
            "fixable": d.kind in FIXES,
        }
        for d in Drift.objects.filter(project_id=project.id).order_by("klass", "kind")
    ]
    return {
        "policy_class": class_of(policy, project.id),
        "policy_override": ClassOverride.objects.filter(project_id=project.id).first(),
        "policy_classes": [c.name for c in policy.classes] + [UNCLASSIFIED],
        "policy_drift": drifts,
        "cards": [CARD],
    }


def _rule(policy, rule_id: str):
    return next((r for r in policy.rules if r.id == rule_id), None)


def register_page_extras() -> None:
    extensions.register_page_extra("detail", project_card)


# -- The policy's rules as the fleet page's filters and chips (fleet.marks) --


def rule_label(rule) -> str:
    kind = KINDS[rule.kind]
    value = f" {show_value(rule.kind, rule.value)}" if kind.needs_value else ""
    return f"{rule.klass}: {kind.label}{value}"


def _fleet_rules() -> list[marks.Rule]:
    policy = loaded.current().policy
    if policy is None:
        return []
    return [
        marks.Rule(rule.id, rule_label(rule), KINDS[rule.kind].why, rule.severity)
        for rule in policy.rules
    ]


def _rows_out_of(rule_id: str) -> Q:
    return Q(Exists(Drift.objects.filter(rule_id=rule_id, project_id=OuterRef("project_id"))))


def _drift_by_rule() -> dict[str, int]:
    return dict(Drift.objects.order_by().values_list("rule_id").annotate(n=Count("pk")))


def register_fleet_rules() -> None:
    marks.register_rules(
        marks.Rules(
            listed=_fleet_rules,
            rows=_rows_out_of,
            counts=_drift_by_rule,
            link=lambda rule_id: reverse("policy:rule", args=[rule_id]),
        )
    )
    marks.register_bulk_action(marks.BulkAction("Set class…", "policy:bulk-class", admin_only=True))
