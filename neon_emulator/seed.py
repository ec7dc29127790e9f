"""Deterministic demo data: ``seed_store(store, n)`` gives the same n projects every time.

Two random streams. The main one draws what the seed always had (names, sizes, settings,
branches, consumption), always the same number of draws per project, so the projects a seed
of N gives stay the same from one version to the next, which the dashboard's tests count on
(``--seed 700`` has 422 personal projects). The fleet stream (``_spread``) draws the traits
a fleet inventory reports as findings, and the projects shared with the user: adding to it
changes nothing the main stream gives.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from neon_emulator import api, limits, permissions, render
from neon_emulator.store import (
    REGIONS,
    Branch,
    Endpoint,
    Organization,
    Owner,
    Project,
    Store,
)


def _us(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp()) * 1_000_000


# Creation times count back from here, so the seeded data does not depend on the clock.
ANCHOR_US = _us(2026, 11, 27, 12)
HOUR_US = 3600 * 1_000_000
DAY_US = 24 * HOUR_US
MONTH_S = 30 * 24 * 3600
GIB, TIB = 2**30, 2**40

# id, name, handle, plan, allow_hipaa_projects. GET /users/me/organizations lists them in
# this order.
ORGS = [
    ("org-acme-analytics-41502719", "Acme Analytics", "acme-analytics", "scale", False),
    ("org-borealis-labs-83920461", "Borealis Labs", "borealis-labs", "business", True),
    ("org-cedar-health-27064815", "Cedar Health", "cedar-health", "business", True),
]
ACME, BOREALIS, CEDAR = (org[0] for org in ORGS)
# Organizations with per-project permissions turned on: their projects carry the caller's
# effective_project_permission, drawn from the project id (permissions.seeded_level).
PROJECT_PERMISSION_ORGS = frozenset({BOREALIS})
# The main stream's draw in [0, 1) picks the owner: Cedar Health's share was cut from Acme's
# when it came, so the personal share (60%) and Borealis's (15%) stayed what they were.
OWNER_BANDS = ((0.10, CEDAR), (0.25, ACME), (0.40, BOREALIS))
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
# Postgres major versions a project created from a date on is given. A project keeps its
# version for life, so the older projects hold the old versions: 18 came out in September
# 2025, and 14 reached end of life on 12 November 2026 (new projects no longer get it).
PG_WEIGHTS_SINCE = (
    (0, {14: 26, 15: 24, 16: 28, 17: 22}),
    (_us(2025, 9, 25), {14: 6, 15: 10, 16: 18, 17: 40, 18: 26}),
    (_us(2026, 11, 12), {15: 6, 16: 16, 17: 44, 18: 34}),
)
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

# Users who share some of their projects with the emulated one (GET /projects/shared). Their
# plans allow every common size.
SHARED_OWNERS = (
    Owner("2940871", "grace@example.org", "Grace Hopper", "scale"),
    Owner("3318504", "alan@example.net", "Alan Turing", "launch"),
    Owner("4083916", "katherine@example.com", "Katherine Johnson", "business"),
)


def shared_count(count: int) -> int:
    """How many projects other users share with the account, beside its ``count`` own."""
    return 0 if count <= 0 else 2 + count // 200


def _pg_version(rng: random.Random, created_us: int) -> int:
    weights = next(w for since, w in reversed(PG_WEIGHTS_SINCE) if created_us >= since)
    # One draw whatever the table, as before the table had dates.
    return rng.choices(list(weights), list(weights.values()))[0]


def _name(rng: random.Random, index: int) -> str:
    base = rng.choice(PRODUCTS) + rng.choice(SUFFIXES)
    # Keep names readable but mostly unique across thousands of projects.
    return base if index < 40 else f"{base}-{index}"


def _settings(rng: random.Random, project: Project, home: str | None) -> None:
    """``home`` is the owner the main stream drew, before an org-only account moved a
    personal project into an organization: the draws depend on it, never on the move."""
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
    if home == BOREALIS and rng.random() < 0.3:
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
    frng: random.Random,
    index: int,
    rank: int,
    created_us: int,
    *,
    deleted: bool,
    shared_by: Owner | None = None,
) -> Project:
    """One project; ``shared_by`` makes it another user's, drawn from ``frng`` alone."""
    min_cu, max_cu, provisioner, suspend = _size(rng, rank, store.max_autoscaling_limit)
    spec = {
        "name": _name(rng, index),
        "region_id": rng.choices([r[0] for r in REGIONS], REGION_WEIGHTS)[0],
        "pg_version": _pg_version(rng, created_us),
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
    home = next((org for below, org in OWNER_BANDS if roll < below), None)
    if shared_by is not None:
        home = None  # another user's personal project
    elif home is not None:
        spec["org_id"] = home
    elif store.org_only:
        # No personal account: its share goes round the organizations.
        spec["org_id"] = ORGS[index % len(ORGS)][0]
    project, _ = api.build_project(
        store, spec, at_us=created_us, rng=rng, ops_done=True, creation_source="console"
    )
    if shared_by is not None:
        project.owner = shared_by
        project.name = f"{shared_by.name.split()[0].lower()}-{project.name}"
    _settings(rng, project, home)
    size = int(rng.lognormvariate(18, 2.2))
    project.synthetic_storage_size = min(size, 2 * 2**40)
    # Usage counters are the current billing period's: at most a month of wall-clock time.
    project.active_time = min(rng.randrange(0, 3_000_000), MONTH_S)
    project.compute_time_seconds = project.active_time // rng.randint(2, 8)
    project.written_data_bytes = project.synthetic_storage_size * rng.randint(1, 4)
    project.data_transfer_bytes = rng.randrange(0, 20 * 2**30)
    age = ANCHOR_US - created_us
    project.updated_us = created_us + rng.randrange(0, max(1, age))
    if rng.random() < 0.8:
        idle = _idle_gap(rng.randrange(0, max(1, age)) / max(1, age), age)
    else:
        # The fleet stream decides between never active and idle for a while.
        idle = None if frng.random() < 0.5 else _idle_gap(frng.random(), age)
    if idle is not None:
        project.compute_last_active_us = ANCHOR_US - idle
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
    _spread(frng, project, rank, suspend)
    if project.org_id in PROJECT_PERMISSION_ORGS:
        # From the id, not from rng or frng: no other seeded value moves.
        project.permission = permissions.seeded_level(project.id)
    # The operations cursor needs them in time order with distinct times.
    project.operations.sort(key=lambda op: op.created_us)
    for before, after in zip(project.operations, project.operations[1:], strict=False):
        after.created_us = max(after.created_us, before.created_us + 1)
    return project


def _idle_gap(x: float, age_us: int) -> int:
    """How long before the anchor a project was last active, from ``x`` in [0, 1): most
    were active in the last few days, one in five has been idle for three months or more.
    Never longer than the project's age."""
    bands = ((0.55, 0, 3), (0.7, 3, 30), (0.8, 30, 90), (1.0, 90, max(90, age_us // DAY_US)))
    low = 0.0
    for high, first_day, last_day in bands:
        if x < high:
            days = first_day + (x - low) / (high - low) * (last_day - first_day)
            return min(int(days * DAY_US), age_us)
        low = high
    return age_us


def _set_last_active(project: Project, at_us: int | None) -> None:
    for endpoint in project.endpoints.values():
        if endpoint.last_active_us == project.compute_last_active_us:
            endpoint.last_active_us = at_us
    project.compute_last_active_us = at_us


def _spread(frng: random.Random, project: Project, rank: int, suspend: int) -> None:
    """The traits a fleet inventory reports, from the fleet stream.

    The ten newest projects stay plain: none of these is forced on them.
    """
    plain = rank < COMMON_NEWEST
    settings = project.settings
    min_cu = project.default_endpoint_settings[limits.MIN_FIELD]
    max_cu = project.default_endpoint_settings[limits.MAX_FIELD]
    # Cedar Health is a health-care company; a few personal projects turned HIPAA on as well.
    hipaa_odds = {CEDAR: 0.4, None: 0.03}.get(project.org_id, 0.0)
    if frng.random() < hipaa_odds and not plain and not settings["hipaa"]:
        settings["hipaa"] = True
        project.hipaa_enabled_us = project.created_us
    # Neon lets a project leave the window to Neon; the settings then have none.
    if frng.random() < 0.15 and not plain:
        del settings["maintenance_window"]
    # Private Networking is for organizations on paid plans.
    if frng.random() < 0.12 and not plain and project.org_id is not None:
        settings["block_public_connections"] = True
    if suspend == limits.NEVER_SUSPEND:
        # An always-on compute is active now and has run the whole billing period.
        _set_last_active(project, ANCHOR_US - frng.randrange(0, 600) * 1_000_000)
        project.active_time = MONTH_S - frng.randrange(0, 3600)
        # Compute time is CU-seconds: an autoscaling compute spends most of it near its min.
        average_cu = min_cu + (max_cu - min_cu) * frng.uniform(0, 0.4)
        project.compute_time_seconds = int(project.active_time * average_cu)
    whale = frng.random() < 1 / 60 and not plain
    if whale:
        project.synthetic_storage_size = frng.randrange(600 * GIB, 4 * TIB)
        project.written_data_bytes = project.synthetic_storage_size * frng.randint(3, 12)
        project.data_transfer_bytes = frng.randrange(2 * TIB, 40 * TIB)
        project.active_time = MONTH_S - frng.randrange(0, 6 * 3600)
        average_cu = min_cu + (max_cu - min_cu) * frng.uniform(0.3, 0.9)
        project.compute_time_seconds = int(project.active_time * average_cu)
        _set_last_active(project, ANCHOR_US - frng.randrange(0, 3600) * 1_000_000)
        main = project.default_branch
        branch_limit = render.BRANCH_LOGICAL_SIZE_LIMIT_MIB * render.MIB
        main.logical_size = min(project.synthetic_storage_size // 2, branch_limit)
    last = project.compute_last_active_us
    if last is None or last < ANCHOR_US - MONTH_S * 1_000_000:
        # Idle since before this billing period: it used nothing in it, but still stores data.
        project.active_time = project.compute_time_seconds = 0
        project.written_data_bytes = project.data_transfer_bytes = 0


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
    """Fill an empty store with ``count`` live projects of the account (personal and its
    organizations'; only organizations' when ``store.org_only``), a few deleted, recoverable
    ones, and ``shared_count(count)`` projects other users share with it."""
    rng = random.Random(seed)
    frng = random.Random(f"{seed}/fleet")
    for org_id, name, handle, plan, allow_hipaa in ORGS:
        store.used_ids.add(org_id)
        created = ANCHOR_US - 700 * DAY_US
        store.organizations[org_id] = Organization(
            org_id,
            name,
            handle,
            plan,
            created,
            allow_hipaa_projects=allow_hipaa,
            project_permissions=org_id in PROJECT_PERMISSION_ORGS,
        )
    if count <= 0:
        return
    span = 2 * 365 * DAY_US
    total = count + count // 25  # one in 26 gets deleted below, leaving exactly count live
    step = max(1, span // total)
    shares = shared_count(count)
    share_gap = max(1, total // shares)
    deleted = []
    live = index = 0
    while live < count:
        # Oldest first; the jitter varies the gaps while keeping creation times unique.
        created = ANCHOR_US - span + index * step + rng.randrange(0, max(1, step // 2))
        doomed = index % 26 == 25
        rank = total - 1 - index  # 0 is the newest
        project = _project(store, rng, frng, index, rank, store.tick(created), deleted=doomed)
        store.insert(project)
        if doomed:
            deleted.append(project)
        else:
            live += 1
        # Shared projects come between the account's, the last ones after the newest. Each is
        # drawn from the fleet stream only; rank 0 keeps it plain.
        due = shares if live == count else int(index % share_gap == share_gap // 2)
        for _ in range(min(due, shares)):
            owner = SHARED_OWNERS[shares % len(SHARED_OWNERS)]
            at = store.tick(project.created_us + 1)
            store.insert(_project(store, frng, frng, index, 0, at, deleted=False, shared_by=owner))
            shares -= 1
        index += 1
    # Deleted a few hours before "now" so that they stay inside the 7-day recovery window.
    today = store.tick() // (24 * HOUR_US) * (24 * HOUR_US)
    for n, project in enumerate(deleted):
        store.soft_delete(project, max(project.created_us + HOUR_US, today - (n % 48) * HOUR_US))
