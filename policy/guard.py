"""Deny rules guard the dashboard's own changes: a settings change that would take a project out
of a deny rule of its class is refused before anything is sent, naming the rule. An admin may
apply it anyway with a reason, recorded in the audit log. A project already out of a rule is
not held hostage: only a change that touches that rule's setting and leaves it out is refused.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from audit.services import audited
from fleet.models import InventoryBranch, InventoryProject
from policy import loaded
from policy.catalog import KINDS, STATE_OUT
from policy.document import UNCLASSIFIED, Policy, Rule
from policy.models import ClassOverride
from policy.show import show_value
from projects.extensions import Attempt, Refused
from projects.neon import BACKUP_FREQUENCIES
from projects.project_state import project_state

MSG_REFUSED = (
    "The policy refuses this change: {rules}. Ask an admin, who can apply it anyway with a reason."
)
# Branch writes have no review step where an admin could give a reason: change the policy.
MSG_REFUSED_BRANCH = "The policy refuses this change to the default branch: {rules}."


@dataclass(frozen=True)
class Broken:
    rule: Rule

    @property
    def text(self) -> str:
        kind = KINDS[self.rule.kind]
        return f"“{self.rule.klass}: {kind.label} {show_value(self.rule.kind, self.rule.value)}”"


def class_of(policy: Policy, project_id: str) -> str:
    """The project's class: set by hand, else the first class whose match its inventory row
    meets (as policy.drift reads it in SQL), else unclassified."""
    chosen = ClassOverride.objects.filter(project_id=project_id).first()
    if chosen is not None:
        return chosen.name
    row = InventoryProject.objects.filter(project_id=project_id).first()
    if row is None:
        return UNCLASSIFIED
    org = "personal" if row.org_id == "" else row.org_id
    branch = InventoryBranch.objects.filter(project_id=project_id).first()
    annotations = branch.annotations if branch else None
    for klass in policy.classes:
        for match in klass.matches:
            in_org = not match.organizations or (org in match.organizations and not row.shared)
            named = not match.names or any(fnmatch.fnmatchcase(row.name, p) for p in match.names)
            annotated = not match.annotations or (
                annotations is not None
                and all(annotations.get(k) == v for k, v in match.annotations)
            )
            if in_org and named and annotated:
                return klass.name
    return UNCLASSIFIED


BRANCH_WRITES = ("branch.update", "branch.backup_schedule")


def broken(project_id: str, before: dict, desired: dict) -> list[Broken]:
    """The deny rules of the project's class that the change from `before` to `desired`
    touches and leaves it out of."""
    policy = loaded.current().policy
    if policy is None:
        return []
    found = []
    for rule in policy.rules_of(class_of(policy, project_id)):
        out = STATE_OUT.get(rule.kind)
        if rule.severity != "deny" or out is None:
            continue
        touched = out(rule.value, before) != out(rule.value, desired) or _changes(
            rule, before, desired
        )
        if touched and out(rule.value, desired):
            found.append(Broken(rule))
    return found


def _changes(rule: Rule, before: dict, desired: dict) -> bool:
    """Whether the change touches what the rule is about (a project already out of the rule
    may change other settings; a change to this one must bring it within)."""
    paths = {
        "public_connections": ("settings",),
        "history_retention_min": ("history_retention_seconds",),
        "maintenance_window": ("settings",),
        "suspend_timeout_max": ("default_endpoint_settings",),
        "autoscaling": ("default_endpoint_settings",),
        "compute_quota_max": ("settings",),
        "logical_replication_off": ("settings",),
        "audit_log_level": ("settings",),
    }[rule.kind]
    return any(_value(rule.kind, before.get(p)) != _value(rule.kind, desired.get(p)) for p in paths)


def _value(kind: str, part):
    """The part of a state's section that the rule reads."""
    if not isinstance(part, dict):
        return part
    keys = {
        "public_connections": ("allowed_ips", "block_public_connections"),
        "maintenance_window": ("maintenance_window",),
        "suspend_timeout_max": ("suspend_timeout_seconds",),
        "autoscaling": ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"),
        "compute_quota_max": ("quota",),
        "logical_replication_off": ("enable_logical_replication",),
        "audit_log_level": ("audit_log_level",),
    }[kind]
    return tuple(part.get(key) for key in keys)


def broken_by_branch_write(attempt: Attempt) -> list[Broken]:
    """The deny rules on the default branch that a branch write would leave it out of:
    taking its protection away, or a schedule short of what the class asks."""
    data = attempt.request_data or {}
    policy = loaded.current().policy
    if policy is None or not data.get("default"):
        return []
    found = []
    for rule in policy.rules_of(class_of(policy, attempt.project_id)):
        if rule.severity != "deny":
            continue
        if rule.kind == "default_branch_protected" and data.get("protected") is False:
            found.append(Broken(rule))
        asked = data.get("schedule") if rule.kind == "backup_schedule" else None
        if asked is not None and not schedule_meets(rule.value, asked):
            found.append(Broken(rule))
    return found


def schedule_meets(value: dict, schedule: list[dict]) -> bool:
    """Whether a schedule (BackupScheduleItem, as sent) takes snapshots as often as the rule
    asks and keeps them as long (policy.catalog's backup_schedule, read on one schedule)."""
    wanted = BACKUP_FREQUENCIES.index(value["frequency"])
    kept = value.get("retention_seconds") or 0
    return any(
        item["frequency"] in BACKUP_FREQUENCIES
        and BACKUP_FREQUENCIES.index(item["frequency"]) <= wanted
        and (item.get("retention_seconds") is None or item["retention_seconds"] >= kept)
        for item in schedule
    )


def policy_guard(attempt: Attempt) -> None:
    """projects.extensions' guard: refuse (recorded) a settings change that breaks a deny rule,
    unless an admin gave a reason to override it (recorded as policy.override); and a branch
    write that leaves the default branch out of a deny rule."""
    if attempt.action in BRANCH_WRITES:
        found = broken_by_branch_write(attempt)
    elif attempt.action != "project.update" or attempt.desired is None or attempt.before is None:
        return
    else:
        found = broken(attempt.project_id, attempt.before, attempt.desired)
    if not found:
        return
    rules = ", ".join(b.text for b in found)
    if attempt.override:
        with audited(
            actor=attempt.actor,
            action="policy.override",
            project_id=attempt.project_id,
            project_name=attempt.project_name,
            request_data={"rules": [b.rule.id for b in found], "reason": attempt.override},
        ):
            return
    with audited(
        actor=attempt.actor,
        action=attempt.action,
        project_id=attempt.project_id,
        project_name=attempt.project_name,
        request_data=attempt.request_data,
        bulk_job_id=attempt.bulk_job_id,
    ):
        message = MSG_REFUSED_BRANCH if attempt.action in BRANCH_WRITES else MSG_REFUSED
        raise Refused(message.format(rules=rules))


def review_extra(*, project, desired=None, admin: bool = False, **_) -> dict:
    """The settings review says which deny rules the change would break, before Apply, and
    gives an admin the field to override them with a reason."""
    if desired is None:
        return {}
    found = broken(project.id, project_state(project), desired)
    if not found:
        return {}
    return {
        "policy_broken": found,
        "policy_admin": admin,
        "cards": ["policy/_review_card.html"],
    }
