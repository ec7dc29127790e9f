"""Drift: the live projects out of a rule of their class, found where the data is. A class and a
rule are each a condition on the fleet inventory, so one evaluation is a few statements per rule
over the whole fleet (delete what is back within the rule, insert what newly drifted, as
INSERT ... SELECT), never a loop over projects. `since` is when drift was first found and stays
until the project is back within the rule.

A refresh's end evaluates the whole fleet; a write through the dashboard evaluates its project.
"""

from __future__ import annotations

import functools
import operator
import re

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from fleet import marks, tally
from fleet.models import InventoryBranch, InventoryProject
from policy.catalog import KINDS
from policy.document import UNCLASSIFIED, ClassMatch, Policy, Rule
from policy.models import ClassOverride, Drift


def glob_regex(pattern: str) -> str:
    """A shell-style pattern (`*`, `?`) as an anchored regular expression both PostgreSQL and
    SQLite read the same way."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return "^" + "".join(parts) + "$"


def _matches(match: ClassMatch) -> Q:
    """A class's match: in one of its organizations (if it names any), with a name matching
    one of its patterns (if it gives any), and with a default branch annotated with each pair
    it gives (as last read, fleet.branches)."""
    q = Q()
    if match.organizations:
        orgs = [o for o in match.organizations if o != "personal"]
        in_org = Q(org_id__in=orgs, shared=False)
        if "personal" in match.organizations:
            in_org |= Q(org_id="", shared=False)
        q &= in_org
    if match.names:
        named = Q()
        for pattern in match.names:
            named |= Q(name__regex=glob_regex(pattern))
        q &= named
    if match.annotations:
        branch = InventoryBranch.objects.filter(project_id=OuterRef("project_id"))
        for i, (key, value) in enumerate(match.annotations):
            alias = f"annotation_{i}"
            # As text: a JSON key's own lookups would compare JSON with JSON.
            text = Cast(KeyTextTransform(key, "annotations"), output_field=CharField())
            branch = branch.alias(**{alias: text}).filter(**{alias: value})
        q &= Q(Exists(branch))
    return q


def class_conditions(policy: Policy) -> dict[str, Q]:
    """Each class (and `unclassified`) as a condition on the inventory: the first class whose
    match a project meets, unless a class was set on it by hand, which wins."""
    conditions: dict[str, Q] = {}
    taken: Q | None = None
    for klass in policy.classes:
        matched = functools.reduce(operator.or_, (_matches(m) for m in klass.matches))
        conditions[klass.name] = matched if taken is None else matched & ~taken
        taken = matched if taken is None else taken | matched
    conditions[UNCLASSIFIED] = Q() if taken is None else ~taken
    # EXISTS, not IN: PostgreSQL runs NOT IN over a subquery too big for work_mem once per
    # outer row (measured: one statement over a million rows still running after 14 minutes).
    for name, condition in conditions.items():
        here = ClassOverride.objects.filter(project_id=OuterRef("project_id"))
        chosen = Q(Exists(here.filter(name=name)))
        elsewhere = Q(Exists(here.exclude(name=name)))
        conditions[name] = (condition & ~elsewhere) | chosen
    return conditions


def drifting(policy: Policy, rule: Rule, classes: dict[str, Q] | None = None) -> QuerySet:
    """The live inventory rows out of `rule`."""
    classes = classes or class_conditions(policy)
    condition = classes[rule.klass] & KINDS[rule.kind].drifting(rule.value)
    return InventoryProject.objects.filter(gone_at__isnull=True).filter(condition)


def evaluate(policy: Policy, *, project_ids: list[str] | None = None) -> dict[str, int]:
    """Bring the stored drift up to date with the inventory (only `project_ids`' if given);
    returns each rule's drift count over the projects evaluated."""
    now = timezone.now()
    classes = class_conditions(policy)
    counts = {}
    with transaction.atomic():
        gone_rules = Drift.objects.exclude(rule_id__in=[rule.id for rule in policy.rules])
        changed = _only(gone_rules, project_ids).delete()[0]
        for rule in policy.rules:
            out = _only(drifting(policy, rule, classes), project_ids)
            kept = _only(Drift.objects.filter(rule_id=rule.id), project_ids)
            # Back within the rule: no longer among `out` (an anti-join, see above).
            changed += kept.filter(~Exists(out.filter(project_id=OuterRef("project_id")))).delete()[
                0
            ]
            known = Drift.objects.filter(rule_id=rule.id, project_id=OuterRef("project_id"))
            changed += _insert(out.filter(~Exists(known)), rule, now)
            counts[rule.id] = kept.count()
    if changed:
        tally.bump()  # what the fleet counts per rule (fleet.marks) is kept by generation
    return counts


def _only(rows: QuerySet, project_ids: list[str] | None) -> QuerySet:
    return rows if project_ids is None else rows.filter(project_id__in=project_ids)


def _insert(rows: QuerySet, rule: Rule, now) -> int:
    """INSERT INTO drift ... SELECT from the inventory: the database copies the rows."""
    text = CharField()
    select = (
        rows.order_by()
        .annotate(
            d_rule=Value(rule.id, output_field=text),
            d_class=Value(rule.klass, output_field=text),
            d_kind=Value(rule.kind, output_field=text),
            d_severity=Value(rule.severity, output_field=text),
            d_since=Value(now, output_field=DateTimeField()),
        )
        .values("project_id", "d_rule", "d_class", "d_kind", "d_severity", "d_since")
    )
    sql, params = select.query.sql_with_params()
    table = connection.ops.quote_name(Drift._meta.db_table)
    columns = "project_id, rule_id, klass, kind, severity, since"
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {sql}", params)
        return max(cursor.rowcount, 0)


# -- The marks the fleet page shows (fleet.marks): each project's class and drift count --


def _drift_count() -> Coalesce:
    counted = (
        Drift.objects.filter(project_id=OuterRef("project_id"))
        .order_by()
        .values("project_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _class_case(policy: Policy, classes: dict[str, Q] | None) -> Case:
    """Each row's class, in SQL: the class whose condition it meets ("" none)."""
    return Case(
        *[
            When(condition, then=Value(name))
            for name, condition in (classes or class_conditions(policy)).items()
        ],
        default=Value(""),
        output_field=CharField(),
    )


def mark_fleet(policy: Policy | None, classes: dict[str, Q] | None = None) -> int:
    """Every inventory row's class and drift count as the evaluation left them, in one UPDATE
    of the rows whose marks change (a row written once, not once per mark: each write of a row
    is a new version in every one of the inventory's indexes), and the tally counted again if
    any changed; returns the rows changed. After the first evaluation, a handful. No policy
    clears the marks."""
    rows = InventoryProject.objects.all()
    with transaction.atomic():
        if policy is None:
            changed = rows.exclude(project_class="", drift=0).update(project_class="", drift=0)
        else:
            klass, counted = _class_case(policy, classes), _drift_count()
            changed = (
                rows.annotate(k=klass, n=counted)
                .exclude(project_class=F("k"), drift=F("n"))
                .update(project_class=klass, drift=counted)
            )
    if changed:
        tally.rebuild()
    return changed


def mark_projects(policy: Policy, project_ids: list[str]) -> None:
    """Some projects' marks after their own evaluation (a write, classes set by hand, default
    branches read): read in one query, and each that changed moved in the tally."""
    rows = InventoryProject.objects.filter(project_id__in=project_ids).annotate(
        k=_class_case(policy, None), n=_drift_count()
    )
    for row in rows:
        marks.set_marks(row, project_class=row.k, drift=row.n)
