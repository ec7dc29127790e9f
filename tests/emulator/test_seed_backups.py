"""The seed's branch rules, met and missed: protected default branches and unprotected ones,
default branches with a backup schedule (several frequencies and retentions) and most without,
snapshots on some projects. Schedules and snapshots come from a hash of the project's id, so
they moved no other seeded value (test_seed_scale.py's fingerprints still hold)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from werkzeug.test import Client

from neon_emulator import seed
from neon_emulator import validation as v
from neon_emulator.app import EmulatorApp
from neon_emulator.store import Store

COUNT = 600
AUTH = {"Authorization": "Bearer k"}


def everything(store: Store) -> list:
    return [*store.projects.values(), *store.deleted.values()]


@pytest.fixture(scope="module")
def fleet() -> Store:
    store = Store(rng_seed=1)
    seed.seed_store(store, COUNT)
    return store


def test_most_default_branches_have_no_schedule_and_the_rest_several_kinds(fleet):
    projects = everything(fleet)
    schedules = [p.default_branch.backup_schedule for p in projects]
    with_one = [s for s in schedules if s]
    assert 0.12 < len(with_one) / len(projects) < 0.3
    items = [item for schedule in with_one for item in schedule]
    assert {item["frequency"] for item in items} == {"daily", "weekly", "monthly"}
    retentions = Counter(item.get("retention_seconds") for item in items)
    assert {3600, v.MAX_BACKUP_RETENTION, None} <= set(retentions)
    assert len(retentions) >= 5
    assert any(len(s) > 1 for s in with_one)
    assert not any(
        b.backup_schedule for p in projects for b in p.branches.values() if not b.default
    )


def test_seeded_schedules_meet_neons_rules(fleet):
    for project in everything(fleet):
        schedule = project.default_branch.backup_schedule
        assert v.backup_schedule({"schedule": schedule}) == schedule


def test_protection_and_schedules_are_met_and_missed_in_every_combination(fleet):
    combinations = Counter(
        (p.default_branch.protected, bool(p.default_branch.backup_schedule))
        for p in fleet.projects.values()
    )
    assert set(combinations) == {(False, False), (False, True), (True, False), (True, True)}
    assert combinations[False, False] > len(fleet.projects) / 2


def test_some_projects_have_snapshots_scheduled_or_manual(fleet):
    projects = everything(fleet)
    kinds = Counter()
    for project in projects:
        snapshots = list(project.snapshots.values())
        kinds["any"] += bool(snapshots)
        kinds["manual"] += any(s.manual for s in snapshots)
        kinds["scheduled"] += any(not s.manual for s in snapshots)
        main = project.default_branch
        for s in snapshots:
            assert s.source_branch_id == main.id
            assert project.created_us <= s.created_us <= seed.ANCHOR_US + seed.HOUR_US
            assert s.expires_us is None or s.expires_us > seed.ANCHOR_US
            assert not s.manual or s.name in seed.MANUAL_SNAPSHOT_NAMES
            if not s.manual:
                assert main.backup_schedule, "scheduled snapshots come from a schedule"
        assert [s.created_us for s in snapshots] == sorted(s.created_us for s in snapshots)
    assert 0.1 < kinds["manual"] / len(projects) < 0.2
    assert 0.1 < kinds["scheduled"] / len(projects) < 0.3
    assert kinds["any"] < len(projects) / 2


def test_they_come_from_the_id_alone():
    # Pinned: the same id gets the same schedule in every process and every version.
    assert seed.seeded_schedule("cold-snowflake-35720314") is None
    assert seed.seeded_schedule("green-mud-09224944") == seed.SEEDED_SCHEDULES[7]
    first, second = Store(rng_seed=1), Store(rng_seed=2)
    seed.seed_store(first, 200)
    seed.seed_store(second, 200)
    for a, b in zip(everything(first), everything(second), strict=True):
        assert a.default_branch.backup_schedule == b.default_branch.backup_schedule
        assert a.snapshots == b.snapshots


def test_listing_builds_no_snapshots_and_late_equals_early():
    late, early = EmulatorApp(seed_count=150), EmulatorApp(seed_count=150)
    for project in everything(early.store):
        project.snapshots, project.branches  # noqa: B018 - build them now
    assert not any(p.built for p in everything(late.store))
    for app in (late, early):
        app.store.rng = random.Random(1)

    def answers(app: EmulatorApp) -> list:
        client, out = Client(app), []
        for project in app.store.projects.values():
            path = f"/api/v2/projects/{project.id}"
            out.append(client.get(f"{path}/snapshots", headers=AUTH).json)
            branch = project.default_branch.id
            out.append(client.get(f"{path}/branches/{branch}/backup_schedule", headers=AUTH).json)
        return out

    assert answers(late) == answers(early)
