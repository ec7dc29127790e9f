"""Drift, found in SQL over the whole inventory, held to the same rules read in Python row by
row; kept with since when; and following each change."""

from __future__ import annotations

import fnmatch
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from fleet import tally
from fleet.models import InventoryBackup, InventoryBranch, InventoryDetail, InventoryProject
from governance.models import Protection
from policy import drift
from policy.document import parse
from policy.models import ClassOverride, Drift
from projects.neon import BACKUP_FREQUENCIES

pytestmark = pytest.mark.django_db
NOW = timezone.now()

POLICY = """
classes:
  - name: preview
    match: [{names: ["*-preview*"]}, {annotations: {env: preview, team: web}}]
  - name: production
    match: {organizations: [org-a, personal], names: ["*-prod", "prod-*"]}
  - name: analytics
    match: {organizations: [org-b]}
rules:
  production:
    - {rule: postgres_version_min, value: 16, severity: deny}
    - {rule: public_connections, value: allowlist, severity: deny}
    - {rule: history_retention_min, value: 86400}
    - {rule: maintenance_window, value: {weekdays: [6], start_time: "01:00", end_time: "02:00"}}
    - {rule: suspend_timeout_max, value: 120}
    - {rule: autoscaling, value: {min_cu: 0.5, max_cu: 4}}
    - {rule: compute_quota_max, value: 7200}
    - {rule: deletion_protection}
    - {rule: logical_replication_off}
    - {rule: audit_log_level, value: extended}
    - {rule: default_branch_protected}
    - {rule: backup_schedule, value: {frequency: weekly, retention_seconds: 604800}}
  analytics:
    - {rule: public_connections, value: blocked}
    - {rule: suspend_timeout_max, value: 600}
  unclassified:
    - {rule: history_retention_min, value: 3600}
"""
LEVELS = ["base", "extended", "full"]


def rows(n: int = 90) -> list[InventoryProject]:
    made = []
    for i in range(n):
        made.append(
            InventoryProject(
                project_id=f"p-{i:03d}",
                name=["prod-api", "billing-prod", "x-preview-1", "ledger", "prod-x-preview"][i % 5]
                + f"-{i}" * (i % 5 in (0, 3)),
                org_id=["org-a", "", "org-b", "org-c"][i % 4],
                shared=i % 23 == 0,
                region_id="aws-us-east-2",
                pg_version=[14, 15, 16, 17][i % 4],
                history_retention_seconds=[None, 0, 3600, 86400, 604800][i % 5],
                allowed_ips_count=[0, 2][i % 2],
                block_public_connections=i % 7 == 0,
                has_maintenance_window=i % 3 == 0,
                suspend_timeout_seconds=[-1, 0, 60, 300, 900][i % 5],
                cu_min=[0.25, 0.5, 1][i % 3],
                cu_max=[1, 4, 8, None][i % 4],
                compute_time_quota_seconds=[None, 3600, 36000][i % 3],
                logical_replication=i % 6 == 0,
                gone_at=NOW if i % 17 == 0 else None,
            )
        )
    return made


def expected(policy, inventory, overrides, protected, levels, branches) -> set[tuple[str, str]]:
    """The same policy read in Python, project by project."""
    found = set()
    for row in inventory:
        if row.gone_at is not None:
            continue
        klass = overrides.get(row.project_id) or next(
            (c.name for c in policy.classes if any(_matches(m, row, branches) for m in c.matches)),
            "unclassified",
        )
        for rule in policy.rules_of(klass):
            if _out(rule, row, protected, levels, branches):
                found.add((rule.id, row.project_id))
    return found


def _matches(match, row, branches) -> bool:
    org = "personal" if row.org_id == "" else row.org_id
    in_org = not match.organizations or (org in match.organizations and not row.shared)
    named = not match.names or any(fnmatch.fnmatchcase(row.name, p) for p in match.names)
    branch = branches.get(row.project_id)
    annotated = not match.annotations or (
        branch is not None and all(branch["annotations"].get(k) == v for k, v in match.annotations)
    )
    return in_org and named and annotated


def _backup_short(value, branch) -> bool:
    if branch is None or branch["schedule"] is None:
        return False  # not read, or Neon would not say: not judged
    wanted = BACKUP_FREQUENCIES.index(value["frequency"])
    return not any(
        BACKUP_FREQUENCIES.index(item["frequency"]) <= wanted
        and (item.get("retention_seconds") is None
             or item["retention_seconds"] >= value["retention_seconds"])
        for item in branch["schedule"]
    )  # fmt: skip


def _out(rule, row, protected, levels, branches) -> bool:
    v = rule.value
    branch = branches.get(row.project_id)
    suspend = {0: 300, -1: float("inf")}.get(row.suspend_timeout_seconds)
    return {
        "postgres_version_min": lambda: row.pg_version < v,
        "public_connections": lambda: (
            not row.block_public_connections and (v == "blocked" or row.allowed_ips_count == 0)
        ),
        "history_retention_min": lambda: (
            row.history_retention_seconds is None or row.history_retention_seconds < v
        ),
        "maintenance_window": lambda: not row.has_maintenance_window,
        "suspend_timeout_max": lambda: (suspend or row.suspend_timeout_seconds) > v,
        "autoscaling": lambda: (
            (row.cu_max is not None and row.cu_max > v["max_cu"]) or row.cu_min < v["min_cu"]
        ),
        "compute_quota_max": lambda: (
            row.compute_time_quota_seconds is None or row.compute_time_quota_seconds > v
        ),
        "deletion_protection": lambda: row.project_id not in protected,
        "logical_replication_off": lambda: row.logical_replication,
        "default_branch_protected": lambda: branch is not None and not branch["protected"],
        "backup_schedule": lambda: _backup_short(v, branch),
        "audit_log_level": lambda: (
            LEVELS.index(levels.get(row.project_id, "base")) < LEVELS.index(v)
        ),
    }[rule.kind]()


@pytest.fixture
def fleet():
    inventory = rows()
    InventoryProject.objects.bulk_create(inventory)
    levels = {r.project_id: LEVELS[i % 3] for i, r in enumerate(inventory) if i % 4}
    InventoryDetail.objects.bulk_create(
        InventoryDetail(project_id=pid, state={"settings": {"audit_log_level": level}}, read_at=NOW)
        for pid, level in levels.items()
    )
    protected = {r.project_id for i, r in enumerate(inventory) if i % 5 == 1}
    Protection.objects.bulk_create(
        Protection(project_id=p, protected_by="a", protected_at=NOW, reason="r") for p in protected
    )
    overrides = {"p-004": "analytics", "p-010": "production"}
    for pid, name in overrides.items():
        ClassOverride.objects.create(project_id=pid, name=name, set_by="a", set_at=NOW)
    branches = {}
    for i, r in enumerate(inventory):
        if i % 6 == 5:
            continue  # never read
        schedule = [
            None,
            [],
            [{"frequency": "daily", "retention_seconds": 86400}],
            [{"frequency": "weekly", "retention_seconds": 1209600}],
            [{"frequency": "monthly"}, {"frequency": "hourly", "retention_seconds": 3600}],
            [{"frequency": "daily"}],
        ][i % 6 if i % 7 else 4]
        annotations = [{}, {"env": "preview", "team": "web"}, {"env": "preview"}][i % 3]
        branches[r.project_id] = {
            "protected": i % 4 == 0,
            "annotations": annotations,
            "schedule": schedule,
        }
        InventoryBranch.objects.create(
            project_id=r.project_id,
            branch_id=f"br-{i}",
            name="main",
            protected=i % 4 == 0,
            annotations=annotations,
            backup_schedule=schedule,
            read_at=NOW,
        )
        for item in schedule or []:
            InventoryBackup.objects.create(
                project_id=r.project_id,
                rank=BACKUP_FREQUENCIES.index(item["frequency"]),
                retention_seconds=item.get("retention_seconds"),
            )
    return inventory, overrides, protected, levels, branches


def stored() -> set[tuple[str, str]]:
    return set(Drift.objects.values_list("rule_id", "project_id"))


def test_drift_in_sql_is_drift_read_row_by_row(fleet):
    policy = parse(POLICY)
    counts = drift.evaluate(policy)
    truth = expected(policy, *fleet)
    assert stored() == truth
    assert counts == {r.id: sum(1 for rid, _ in truth if rid == r.id) for r in policy.rules}
    assert all(counts.values())  # every rule catches some project here


def test_since_stays_until_the_project_is_back_within_the_rule(fleet):
    policy = parse(POLICY)
    drift.evaluate(policy)
    row = Drift.objects.filter(rule_id="production.logical_replication_off").first()
    Drift.objects.filter(pk=row.pk).update(since=NOW - timedelta(days=3))
    drift.evaluate(policy)
    assert Drift.objects.get(pk=row.pk).since == NOW - timedelta(days=3)

    InventoryProject.objects.filter(project_id=row.project_id).update(logical_replication=False)
    drift.evaluate(policy, project_ids=[row.project_id])
    assert not Drift.objects.filter(rule_id=row.rule_id, project_id=row.project_id).exists()


def test_one_projects_evaluation_touches_no_other(fleet):
    policy = parse(POLICY)
    drift.evaluate(policy)
    before = stored()
    Drift.objects.exclude(project_id="p-001").delete()  # as if never evaluated
    drift.evaluate(policy, project_ids=["p-001"])
    assert stored() == {d for d in before if d[1] == "p-001"}


def test_a_rule_taken_out_of_the_policy_takes_its_drift_with_it(fleet):
    drift.evaluate(parse(POLICY))
    smaller = POLICY.split("  analytics:\n")[0]
    drift.evaluate(parse(smaller))
    assert not Drift.objects.filter(klass__in=["analytics", "unclassified"]).exists()


def test_gone_projects_have_no_drift(fleet):
    policy = parse(POLICY)
    drift.evaluate(policy)
    InventoryProject.objects.filter(project_id="p-001").update(gone_at=NOW)
    drift.evaluate(policy)
    assert not Drift.objects.filter(project_id="p-001").exists()


@pytest.mark.parametrize(
    "pattern, name, matched",
    [
        ("*-prod", "api-prod", True),
        ("*-prod", "api-prod-2", False),
        ("prod-?", "prod-a", True),
        ("a.b*", "axb", False),
        ("a[1]*", "a[1]x", True),
    ],
)
def test_patterns_match_as_the_shell_does(pattern, name, matched):
    InventoryProject.objects.create(project_id="x", name=name, region_id="r", pg_version=17)
    found = InventoryProject.objects.filter(name__regex=drift.glob_regex(pattern)).exists()
    assert found == matched == fnmatch.fnmatchcase(name, pattern.replace("[", "[[]"))


# -- The marks the fleet page shows (fleet.marks) --


def _class_read_in_python(policy, row, overrides, branches) -> str:
    return overrides.get(row.project_id) or next(
        (c.name for c in policy.classes if any(_matches(m, row, branches) for m in c.matches)),
        "unclassified",
    )


def test_each_row_carries_its_class_and_drift_count(fleet):
    inventory, overrides, *_, branches = fleet
    policy = parse(POLICY)
    drift.evaluate(policy)
    changed = drift.mark_fleet(policy)
    assert changed > 0
    marked = {r.project_id: (r.project_class, r.drift) for r in InventoryProject.objects.all()}
    per_project = Counter(pid for _, pid in stored())
    for row in inventory:
        assert marked[row.project_id] == (
            _class_read_in_python(policy, row, overrides, branches),
            per_project[row.project_id],
        ), row.project_id
    # The tally follows: its class counts are the rows'.
    counted = Counter()
    for group, n in tally.current().groups:
        counted[(group.project_class, group.drifting)] += n
    assert counted == Counter((c, n > 0) for c, n in marked.values())


def test_marking_again_writes_nothing_and_keeps_the_tally(fleet):
    policy = parse(POLICY)
    drift.evaluate(policy)
    drift.mark_fleet(policy)
    generation = tally.generation()
    assert drift.mark_fleet(policy) == 0
    assert tally.generation() == generation


def test_no_policy_clears_the_marks(fleet):
    policy = parse(POLICY)
    drift.evaluate(policy)
    drift.mark_fleet(policy)
    assert drift.mark_fleet(None) == len(fleet[0])
    assert not InventoryProject.objects.exclude(project_class="", drift=0).exists()
    assert {g.project_class for g, _ in tally.current().groups} == {""}


def test_one_projects_marks_follow_its_evaluation_and_move_the_tally(fleet):
    policy = parse(POLICY)
    drift.evaluate(policy)
    drift.mark_fleet(policy)
    pid = Drift.objects.filter(rule_id="production.logical_replication_off").first().project_id
    row = InventoryProject.objects.get(project_id=pid)
    InventoryProject.objects.filter(project_id=pid).update(logical_replication=False)
    # As the fleet's own receiver moves it for a write, before the policy's receiver runs.
    tally.move(tally.group_of(row), tally.group_of(InventoryProject.objects.get(project_id=pid)))
    drift.evaluate(policy, project_ids=[pid])
    drift.mark_projects(policy, [pid])
    assert InventoryProject.objects.get(project_id=pid).drift == row.drift - 1
    assert tally.current().groups and sorted(
        (g.key(), n) for g, n in tally.current().groups if n
    ) == sorted((g.key(), n) for g, n in tally.grouped(InventoryProject.objects.all()))
