"""Deterministic demo data: ``seed_store(store, n)`` gives the same n projects every time."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from neon_emulator import api, limits
from neon_emulator.store import (
    REGIONS,
    Branch,
    Endpoint,
    Organization,
    Store,
)

# Creation times count back from here, so the seeded data does not depend on the clock.
ANCHOR_US = int(datetime(2026, 11, 27, 12, 0, tzinfo=UTC).timestamp()) * 1_000_000
HOUR_US = 3600 * 1_000_000

# id, name, handle, plan, allow_hipaa_projects
ORGS = [
    ("org-acme-analytics-41502719", "Acme Analytics", "acme-analytics", "scale", False),
    ("org-borealis-labs-83920461", "Borealis Labs", "borealis-labs", "business", True),
]
PRODUCTS = [
    "billing",
    "checkout",
    "inventory",
    "analytics",
    "search",
    "auth",
    "notifications",
    "payments",
    "catalog",
    "reporting",
    "crm",
    "ledger",
    "onboarding",
    "marketing-site",
    "docs",
    "telemetry",
    "recommendations",
    "shipping",
    "invoicing",
    "support-desk",
    "warehouse",
    "feature-flags",
    "audit-log",
    "chat",
]
SUFFIXES = ("", "", "-prod", "-staging", "-dev", "-eu", "-preview", "-sandbox", "-v2")
REGION_WEIGHTS = (14, 30, 12, 14, 6, 5, 4, 3, 5, 3, 4)
PG_WEIGHTS = {14: 6, 15: 10, 16: 30, 17: 40, 18: 14}
EXTRA_DATABASES = ("analytics", "app", "events", "reporting", "auth", "queue")
EXTRA_ROLES = ("app_user", "readonly", "reporting", "migrator", "web_app")
BRANCH_NAMES = ("dev", "staging", "preview/pr-142", "feature/search", "qa", "hotfix", "ci")

# Compute sizes, (min CU, max CU, provisioner). All meet Neon's limits (neon_emulator/limits.py),
# so a dashboard can save any seeded project unchanged. Some are off the console's steps
# (0.75, 7.5, 9, 11, 13): the API takes them, and a dashboard that offers only steps meets them.
NEONVM, POD = "k8s-neonvm", "k8s-pod"
COMMON_SIZES = (
    (0.25, 1, NEONVM),
    (0.25, 2, NEONVM),
    (0.25, 2, NEONVM),
    (0.5, 4, NEONVM),
    (1, 4, NEONVM),
    (0.25, 0.5, NEONVM),
    (0.75, 7.5, NEONVM),
    (1, 9, NEONVM),
)
# The newest projects are the ones a demo shows first and tests pick ("the first project"):
# they get common sizes and no protected branch, so that renaming, resizing or deleting them
# just works. Below them come the cases that refuse some requests: a large min that a smaller
# max cannot go under, k8s-pod (min = max only), fixed sizes, protected branches.
COMMON_NEWEST = 10
OLDER_SIZES = (
    *COMMON_SIZES,
    (2, 8, NEONVM),
    (5, 13, NEONVM),
    (4, 12, NEONVM),
    (8, 16, NEONVM),
    (11, 11, NEONVM),
    (0.25, 0.25, POD),
    (1, 1, POD),
    (2, 2, POD),
)
# Every BIG_EVERY-th older project is a fixed 32 CU compute, which never suspends: above 16 CU
# a compute cannot scale to zero.
BIG_SIZE = (32, 32, NEONVM)
BIG_EVERY = 12
# Older projects at rank PROTECTED_AT (mod PROTECTED_EVERY) from the newest have a protected
# default branch, which blocks deleting the project (one in seven); at twice the period they
# have a second branch, protected as well.
PROTECTED_EVERY = 7
PROTECTED_AT = 4


def _name(rng: random.Random, index: int) -> str:
    base = rng.choice(PRODUCTS) + rng.choice(SUFFIXES)
    # Keep names readable but mostly unique across thousands of projects.
    return base if index < 40 else f"{base}-{index}"


def _settings(rng: random.Random, project) -> None:
    settings = project.settings
    if rng.random() < 0.25:
        settings["quota"] = {
            "active_time_seconds": rng.choice((0, 360_000, 720_000)),
            "compute_time_seconds": rng.choice((0, 180_000, 360_000)),
            "written_data_bytes": rng.choice((0, 50 * 2**30)),
            "data_transfer_bytes": rng.choice((0, 100 * 2**30)),
            "logical_size_bytes": rng.choice((0, 10 * 2**30, 50 * 2**30)),
        }
    if rng.random() < 0.2:
        settings["allowed_ips"] = {
            "ips": [f"203.0.113.{rng.randrange(1, 255)}", "198.51.100.0/24"][: rng.randint(1, 2)],
            "protected_branches_only": rng.random() < 0.3,
        }
    if rng.random() < 0.3:
        start = rng.randrange(0, 22)
        settings["maintenance_window"] = {
            "weekdays": sorted(rng.sample(range(1, 8), rng.randint(1, 3))),
            "start_time": f"{start:02d}:00",
            "end_time": f"{start + 2:02d}:00",
        }
    if rng.random() < 0.1:
        settings["enable_logical_replication"] = True
    if rng.random() < 0.15:
        settings["audit_log_level"] = rng.choice(("base", "extended", "full"))
    if project.org_id == ORGS[1][0] and rng.random() < 0.3:
        settings["hipaa"] = True
        # No extra draw from rng: the rest of the seeded data stays the same.
        project.hipaa_enabled_us = project.created_us


def _size(rng: random.Random, rank: int, ceiling: float) -> tuple[float, float, str, int]:
    """(min CU, max CU, provisioner, suspend_timeout_seconds) of the project ``rank`` from the
    newest, lowered to the plan ceiling."""
    older = rank - COMMON_NEWEST
    if older >= 0 and older % BIG_EVERY == 0:
        min_cu, max_cu, provisioner = BIG_SIZE
    else:
        min_cu, max_cu, provisioner = rng.choice(OLDER_SIZES if older >= 0 else COMMON_SIZES)
    suspend = rng.choice((0, 0, 300, 3600, -1))
    min_cu, max_cu = limits.fit(min_cu, max_cu, ceiling)
    if max_cu > limits.MAX_AUTOSCALING_CU:
        suspend = limits.NEVER_SUSPEND
    return min_cu, max_cu, provisioner, suspend


def _project(
    store: Store,
    rng: random.Random,
    index: int,
    rank: int,
    created_us: int,
    org_ids: list[str],
    *,
    deleted: bool,
):
    min_cu, max_cu, provisioner, suspend = _size(rng, rank, store.max_autoscaling_limit)
    spec = {
        "name": _name(rng, index),
        "region_id": rng.choices([r[0] for r in REGIONS], REGION_WEIGHTS)[0],
        "pg_version": rng.choices(list(PG_WEIGHTS), list(PG_WEIGHTS.values()))[0],
        "provisioner": provisioner,
        "history_retention_seconds": rng.choice((0, 3600, 86400, 86400, 604800, 2592000)),
        "store_passwords": rng.random() > 0.05,
        "default_endpoint_settings": {
            "autoscaling_limit_min_cu": min_cu,
            "autoscaling_limit_max_cu": max_cu,
            "suspend_timeout_seconds": suspend,
        },
    }
    roll = rng.random()
    if roll < 0.25:
        spec["org_id"] = org_ids[0]
    elif roll < 0.4:
        spec["org_id"] = org_ids[1]
    project, _ = api.build_project(
        store, spec, at_us=created_us, rng=rng, ops_done=True, creation_source="console"
    )
    _settings(rng, project)
    size = int(rng.lognormvariate(18, 2.2))
    project.synthetic_storage_size = min(size, 2 * 2**40)
    project.active_time = rng.randrange(0, 3_000_000)
    project.compute_time_seconds = project.active_time // rng.randint(2, 8)
    project.written_data_bytes = project.synthetic_storage_size * rng.randint(1, 4)
    project.data_transfer_bytes = rng.randrange(0, 20 * 2**30)
    age = ANCHOR_US - created_us
    project.updated_us = created_us + rng.randrange(0, max(1, age))
    if rng.random() < 0.8:
        project.compute_last_active_us = ANCHOR_US - rng.randrange(0, max(1, age))
    main = project.default_branch
    main.logical_size = min(project.synthetic_storage_size, 2**40)
    for endpoint in project.endpoints.values():
        endpoint.last_active_us = project.compute_last_active_us
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        _extra_branch(store, rng, project, main)
    # A deleted project cannot have had a protected branch: it would have blocked the delete.
    if rank >= COMMON_NEWEST and rank % PROTECTED_EVERY == PROTECTED_AT and not deleted:
        main.protected = True
        if rank % (2 * PROTECTED_EVERY) == PROTECTED_AT:
            if len(project.branches) == 1:
                _extra_branch(store, rng, project, main)
            for branch in project.branches.values():
                branch.protected = True
    if rng.random() < 0.3:
        db = rng.choice(EXTRA_DATABASES)
        owner = next(iter(main.roles))
        if rng.random() < 0.5:
            owner = rng.choice(EXTRA_ROLES)
            main.roles.setdefault(owner, (store.new_password(rng), created_us))
        main.databases.setdefault(db, (store.next_db_id(), owner, created_us))
    if rng.random() < 0.2:
        read_only = Endpoint(
            id=store.new_id("ep-", rng=rng),
            branch_id=main.id,
            type="read_only",
            created_us=created_us + HOUR_US,
            min_cu=min_cu,
            max_cu=max_cu,
            last_active_us=project.compute_last_active_us,
        )
        project.endpoints[read_only.id] = read_only
        store.add_operation(
            project,
            "start_compute",
            at_us=created_us + HOUR_US,
            branch_id=main.id,
            endpoint_id=read_only.id,
            done=True,
        )
    # The operations cursor needs them in time order with distinct times.
    project.operations.sort(key=lambda op: op.created_us)
    for before, after in zip(project.operations, project.operations[1:], strict=False):
        after.created_us = max(after.created_us, before.created_us + 1)
    return project


def _extra_branch(store: Store, rng: random.Random, project, parent: Branch) -> None:
    # Its compute follows the project's provisioner: k8s-pod runs fixed sizes only.
    parent_endpoint = next(iter(project.endpoints.values()))
    if project.provisioner == POD:
        min_cu = max_cu = parent_endpoint.min_cu
    else:
        min_cu, max_cu = limits.fit(0.25, 1, store.max_autoscaling_limit)
    taken = {b.name for b in project.branches.values()}
    names = [n for n in BRANCH_NAMES if n not in taken]
    created = min(parent.created_us + rng.randrange(HOUR_US, 30 * 24 * HOUR_US), ANCHOR_US)
    branch = Branch(
        id=store.new_id("br-", rng=rng),
        name=rng.choice(names),
        created_us=created,
        updated_us=created,
        parent_id=parent.id,
        logical_size=parent.logical_size,
    )
    for role, (password, _) in parent.roles.items():
        branch.roles[role] = (password, created)
    for db, (_, owner, _) in parent.databases.items():
        branch.databases[db] = (store.next_db_id(), owner, created)
    if rng.random() < 0.3:
        role = rng.choice(EXTRA_ROLES)
        branch.roles.setdefault(role, (store.new_password(rng), created))
    project.branches[branch.id] = branch
    store.add_operation(project, "create_timeline", at_us=created, branch_id=branch.id, done=True)
    if rng.random() < 0.7:
        endpoint = Endpoint(
            id=store.new_id("ep-", rng=rng),
            branch_id=branch.id,
            type="read_write",
            created_us=created,
            min_cu=min_cu,
            max_cu=max_cu,
            last_active_us=created,
        )
        project.endpoints[endpoint.id] = endpoint
        store.add_operation(
            project,
            "start_compute",
            at_us=created + 1,
            branch_id=branch.id,
            endpoint_id=endpoint.id,
            done=True,
        )


def seed_store(store: Store, count: int, *, seed: int = 20261128) -> None:
    """Fill an empty store with ``count`` live projects and a few deleted, recoverable ones."""
    rng = random.Random(seed)
    for org_id, name, handle, plan, allow_hipaa in ORGS:
        store.used_ids.add(org_id)
        created = ANCHOR_US - 700 * 24 * HOUR_US
        store.organizations[org_id] = Organization(
            org_id, name, handle, plan, created, allow_hipaa_projects=allow_hipaa
        )
    if count <= 0:
        return
    org_ids = [o[0] for o in ORGS]
    span = 2 * 365 * 24 * HOUR_US
    total = count + count // 25  # one in 26 gets deleted below, leaving exactly count live
    step = max(1, span // total)
    deleted = []
    live = index = 0
    while live < count:
        # Oldest first; the jitter varies the gaps while keeping creation times unique.
        created = ANCHOR_US - span + index * step + rng.randrange(0, max(1, step // 2))
        doomed = index % 26 == 25
        rank = total - 1 - index  # 0 is the newest
        project = _project(store, rng, index, rank, store.tick(created), org_ids, deleted=doomed)
        store.insert(project)
        if doomed:
            deleted.append(project)
        else:
            live += 1
        index += 1
    # Deleted a few hours before "now" so that they stay inside the 7-day recovery window.
    today = store.tick() // (24 * HOUR_US) * (24 * HOUR_US)
    for n, project in enumerate(deleted):
        store.soft_delete(project, max(project.created_us + HOUR_US, today - (n % 48) * HOUR_US))
