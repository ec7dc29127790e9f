"""What the policy adds to the project page: the project's class (and who set it by hand), and
the rules it is out of, each with why it matters and the fix."""

from __future__ import annotations

from policy import loaded
from policy.catalog import KINDS
from policy.document import UNCLASSIFIED
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
