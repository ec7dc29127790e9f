"""Deterministic demo data: ``seed_store(store, n)`` gives the same n projects every time.

Two random streams. The main one draws what the seed always had (names, sizes, settings,
branches, consumption), always the same number of draws per project, so the projects a seed
of N gives stay the same from one version to the next, which the dashboard's tests count on
(``--seed 700`` has 422 personal projects). The fleet stream (``_spread``) draws the traits
a fleet inventory reports as findings, and the projects shared with the user: adding to it
changes nothing the main stream gives.

A seed of a million projects must start in seconds and fit in a few GiB. So each draw is
written out as random.Random's methods make it, without their Python layers (the draws
section below), and a project keeps only the values drawn for its settings, branches, roles,
databases, endpoints and operations (SeededParts) until something reads them: listing builds
none of them. Building them late gives what building them at once gave.
"""

from __future__ import annotations

import bisect
import functools
import gc
import hashlib
import itertools
import math
import random
import uuid
from datetime import UTC, datetime, timedelta

from neon_emulator import ids, limits, permissions, render
from neon_emulator.store import (
    REGIONS,
    Branch,
    BranchOutline,
    Endpoint,
    Operation,
    Organization,
    Owner,
    Project,
    Snapshot,
    Store,
    draw_password,
    iso,
    lsn_at,
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
# this order. Two usage-based plans and a legacy one: the spec opens project consumption
# history to Business but branch consumption history and the spending limit only to
# usage-based plans (billing.py), so the seed has both sides.
ORGS = [
    ("org-acme-analytics-41502719", "Acme Analytics", "acme-analytics", "scale", False),
    ("org-borealis-labs-83920461", "Borealis Labs", "borealis-labs", "business", True),
    ("org-cedar-health-27064815", "Cedar Health", "cedar-health", "scale", True),
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
# Backup schedules and snapshots come from a hash of the project's id, as per-project
# permissions do: neither random stream draws for them, so every other seeded value stays what
# it was; a project builds them when first read, as it does its branches. A fifth of the
# default branches have a schedule, the others none; one project in eight has a manual snapshot
# or two. Scheduled snapshots are the last two each item took before ANCHOR_US and kept then.
SCHEDULE_SHARE = 0.2
MANUAL_SNAPSHOT_SHARE = 0.12
DAY_S = 24 * 3600
# Schedules as (frequency, hour, day, retention_seconds) items, None where an item has none.
SEEDED_SCHEDULES = (
    (("daily", 3, None, 7 * DAY_S),),
    (("daily", 1, None, DAY_S),),
    (("daily", 23, None, 3600),),  # kept an hour, the least the spec allows
    (("weekly", 2, 1, 28 * DAY_S),),
    (("monthly", 4, 1, 35 * DAY_S),),  # kept 35 days, the most Neon keeps
    (("daily", 4, None, 7 * DAY_S), ("weekly", 4, 7, 35 * DAY_S)),
    (("daily", 2, None, None),),  # no retention: kept indefinitely, says the spec
    (("daily", 0, None, 14 * DAY_S), ("weekly", 0, 1, 35 * DAY_S), ("monthly", 0, 1, 35 * DAY_S)),
)
MANUAL_SNAPSHOT_NAMES = ("pre-migration", "before-upgrade", "release-2026-11", "quarter-close")
SNAPSHOT = ids.TAGS["snap-"]

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


# ---- draws -----------------------------------------------------------------------------------
# A million projects take a hundred million draws. random.Random's choice, randrange and randint
# all come down to _randbelow(n): getrandbits(k), k = n.bit_length(), again while the value is n
# or more. The seed calls getrandbits and random() as they would, in the same order, so every
# value and every word drawn is the one the methods would give (test_seed_scale.py compares
# them, and holds the seed to a fingerprint of what it gave before), without their layers of
# Python calls: on the seed's path a function call costs more than the draw. There, a draw is
# written out:
#
#     x = TABLE[getrandbits(BITS)]  # rng.choice(population), TABLE, BITS = _table(population)
#     while x is AGAIN:
#         x = TABLE[getrandbits(BITS)]
#
#     x = getrandbits(BITS)  # rng.randrange(N), BITS = N.bit_length()
#     while x >= N:
#         x = getrandbits(BITS)

AGAIN = object()  # where _randbelow draws again


def _below(getrandbits, n: int) -> int:
    """``rng._randbelow(n)``: ``rng.choice(seq)`` is ``seq[_below(len(seq))]``,
    ``rng.randrange(a, b)`` is ``a + _below(b - a)``, ``rng.randint(a, b)`` is
    ``a + _below(b - a + 1)``."""
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


def _table(population) -> tuple[tuple, int]:
    """``population`` and AGAIN up to 2**k entries, k = len(population).bit_length(), and k:
    ``table[getrandbits(k)]`` is rng.choice(population)'s value, or AGAIN where it draws again."""
    bits = len(population).bit_length()
    return (*population, *[AGAIN] * ((1 << bits) - len(population))), bits


def _cumulative(weights) -> tuple[list[int], float]:
    """What ``rng.choices(population, weights)`` computes before its one ``random()``."""
    cumulative = list(itertools.accumulate(weights))
    return cumulative, cumulative[-1] + 0.0


_NV_MAGICCONST = 4 * math.exp(-0.5) / math.sqrt(2.0)  # random.NV_MAGICCONST
REGION_IDS = tuple(r[0] for r in REGIONS)
_REGION_CUMULATIVE = _cumulative(REGION_WEIGHTS)
_PG_CUMULATIVE = tuple(
    (since, tuple(weights), _cumulative(weights.values()))
    for since, weights in reversed(PG_WEIGHTS_SINCE)
)
SUSPEND_CHOICES = (0, 0, 300, 3600, -1)
HISTORY_CHOICES = (0, 3600, 86400, 86400, 604800, 2592000)
EXTRA_BRANCH_COUNTS = (0, 0, 1, 1, 2)
QUOTA_FIELDS = (
    ("active_time_seconds", (0, 360_000, 720_000)),
    ("compute_time_seconds", (0, 180_000, 360_000)),
    ("written_data_bytes", (0, 50 * 2**30)),
    ("data_transfer_bytes", (0, 100 * 2**30)),
    ("logical_size_bytes", (0, 10 * 2**30, 50 * 2**30)),
)
AUDIT_LOG_LEVELS = ("base", "extended", "full")
# Cedar Health is a health-care company; a few personal projects turned HIPAA on as well.
HIPAA_ODDS = {CEDAR: 0.4, None: 0.03}
DATABASE, OWNER_ROLE = "neondb", "neondb_owner"  # api.build_project's defaults
PROJECT, BRANCH, ENDPOINT = ids.TAGS[""], ids.TAGS["br-"], ids.TAGS["ep-"]
MAIN_LOGICAL_SIZE_CAP = 2**40
IDLE_BANDS = ((0.55, 0, 3), (0.7, 3, 30), (0.8, 30, 90))  # (below x, first day, last day)
# api.default_settings' maintenance window, by weekday (1-7) and start hour (0-22).
DEFAULT_WINDOWS = (
    None,
    *(tuple(((day,), start, start + 1) for start in range(23)) for day in range(1, 8)),
)
_HOURS = tuple(f"{hour:02d}:00" for hour in range(25))
_COMMON_SIZES, _COMMON_SIZES_BITS = _table(COMMON_SIZES)
_OLDER_SIZES, _OLDER_SIZES_BITS = _table(OLDER_SIZES)
_SUSPENDS, _SUSPENDS_BITS = _table(SUSPEND_CHOICES)
_PRODUCTS, _PRODUCTS_BITS = _table(PRODUCTS)
_SUFFIXES, _SUFFIXES_BITS = _table(SUFFIXES)
_HISTORIES, _HISTORIES_BITS = _table(HISTORY_CHOICES)
_EXTRA_BRANCH_COUNTS, _EXTRA_BRANCH_COUNTS_BITS = _table(EXTRA_BRANCH_COUNTS)
_BRANCH_NAMES, _BRANCH_NAMES_BITS = _table(BRANCH_NAMES)
_WEEKDAYS, _WEEKDAYS_BITS = _table(DEFAULT_WINDOWS[1:])  # rng.randint(1, 7)
ACTIVE_TIME_DRAW = 3_000_000  # rng.randrange(0, ACTIVE_TIME_DRAW) seconds
TRANSFER_DRAW = 20 * 2**30  # rng.randrange(0, TRANSFER_DRAW) bytes
BRANCH_AGE_DRAW = 30 * 24 * HOUR_US - HOUR_US  # rng.randrange(HOUR_US, 30 * 24 * HOUR_US)
_ACTIVE_TIME_BITS = ACTIVE_TIME_DRAW.bit_length()
_TRANSFER_BITS = TRANSFER_DRAW.bit_length()
_BRANCH_AGE_BITS = BRANCH_AGE_DRAW.bit_length()
# Small immutable values many projects share: one object each instead of one per project.
# One table per kind, so that no value meets an equal one of another type (1 == True).
_QUOTAS: dict = {}
_ALLOWED_IPS: dict = {}
_WINDOWS: dict = {}


def _one(table: dict, value):
    return table.setdefault(value, value)


def _lognormvariate(random, mu: float, sigma: float) -> float:
    """``rng.lognormvariate(mu, sigma)``: Kinderman and Monahan's method, as random.py has it."""
    while True:
        u1 = random()
        u2 = 1.0 - random()
        z = _NV_MAGICCONST * (u1 - 0.5) / u2
        if z * z / 4.0 <= -math.log(u2):
            return math.exp(mu + z * sigma)


@functools.lru_cache(maxsize=256, typed=True)
def _size_fits(min_cu: float, max_cu: float, ceiling: float) -> tuple[float, float]:
    return limits.fit(min_cu, max_cu, ceiling)


@functools.lru_cache(maxsize=256, typed=True)
def _checked(min_cu: float, max_cu: float, provisioner: str, suspend: int, ceiling: float):
    """The compute (min, max, suspend) of a seeded size, after the check api.build_project
    makes of every new project; the seed has a few dozen sizes, so each is checked once."""
    limits.check(limits.Compute(min_cu, max_cu, suspend), provisioner=provisioner, ceiling=ceiling)
    return (min_cu, max_cu, suspend)


# ---- a seeded project, unbuilt ---------------------------------------------------------------


class SeededParts:
    """What a seeded project keeps of its settings, compute settings, branches (with roles and
    databases), endpoints and operations: the values the seed drew, a few bytes each, built
    into dicts and objects only when something reads them (store.Unbuilt). Building twice
    gives equal objects, so building late gives what building at once would have given."""

    __slots__ = (
        "allowed_ips",  # settings: (ips, protected_branches_only), or None for none
        "audit_log_level",  # settings, or None
        "block_public_connections",  # settings
        "branch",  # the default branch's id, an ids.draw code
        "compute",  # default_endpoint_settings: (min CU, max CU, suspend_timeout_seconds)
        "created_us",
        "db_id",  # the first database's; the others follow in creation order
        "endpoint",  # the read-write endpoint's id code
        "extra_branches",  # tuple of _extra_branch's tuples, or None
        "extra_database",  # (name, owner, the owner's password if new), or None
        "hipaa",  # settings
        "last_active_us",
        "logical_replication",  # settings
        "logical_size",  # the default branch's
        "password",  # the default role's
        "protected",  # 0: no branch, 1: the default branch, 2: every branch
        "quota",  # settings: values in QUOTA_FIELDS order, or None
        "read_only",  # the read-only endpoint's id code, or None
        "window",  # settings: (weekdays, start hour, end hour), or None when Neon picks
    )

    def settings(self) -> dict:
        # Keys in the order the seed always gave them: api.default_settings', then the rest.
        ips = self.allowed_ips
        out: dict = {
            "allowed_ips": {"ips": [], "protected_branches_only": False}
            if ips is None
            else {"ips": list(ips[0]), "protected_branches_only": ips[1]},
            "enable_logical_replication": self.logical_replication,
        }
        if self.window is not None:
            weekdays, start, end = self.window
            out["maintenance_window"] = {
                "weekdays": list(weekdays),
                "start_time": _HOURS[start],
                "end_time": _HOURS[end],
            }
        out["block_public_connections"] = self.block_public_connections
        out["block_vpc_connections"] = False
        out["hipaa"] = self.hipaa
        if self.quota is not None:
            quota = zip(QUOTA_FIELDS, self.quota, strict=True)
            out["quota"] = {name: value for (name, _), value in quota}
        if self.audit_log_level is not None:
            out["audit_log_level"] = self.audit_log_level
        return out

    def default_endpoint_settings(self) -> dict:
        min_cu, max_cu, suspend = self.compute
        return {
            limits.MIN_FIELD: min_cu,
            limits.MAX_FIELD: max_cu,
            limits.SUSPEND_FIELD: suspend,
        }

    def outline(self) -> list[BranchOutline]:
        """The branches as build() makes them, in its order, without making them."""
        min_cu, max_cu, _ = self.compute
        out = [
            BranchOutline(
                ids.text(self.branch),
                self.created_us,
                self.logical_size,
                True,
                True,
                (min_cu, max_cu),
            )
        ]
        for extra in self.extra_branches or ():
            at, code, _, size, _, _, endpoint, ep_min, ep_max, _ = extra
            compute = None if endpoint is None else (ep_min, ep_max)
            out.append(BranchOutline(ids.text(code), at, size, False, False, compute))
        return out

    def build(self, project: Project):
        """The branches, endpoints and operations, as api.build_project and the seed made them."""
        created = self.created_us
        min_cu, max_cu, suspend = self.compute
        main = Branch(
            id=ids.text(self.branch),
            name="main",
            created_us=created,
            updated_us=created,
            default=True,
            protected=self.protected > 0,
            logical_size=self.logical_size,
            backup_schedule=_schedule_items(seeded_schedule(project.id)),
        )
        main.roles[OWNER_ROLE] = (self.password, created)
        main.databases[DATABASE] = (self.db_id, OWNER_ROLE, created)
        endpoint = Endpoint(
            id=ids.text(self.endpoint),
            branch_id=main.id,
            type="read_write",
            created_us=created,
            min_cu=min_cu,
            max_cu=max_cu,
            suspend_timeout_seconds=suspend,
            last_active_us=self.last_active_us,
        )
        branches, endpoints = {main.id: main}, {endpoint.id: endpoint}
        # (action, created_us, branch, endpoint) in the order the seed made them
        history = [
            ("create_timeline", created, main.id, None),
            ("start_compute", created + 1, main.id, endpoint.id),
        ]
        db_id = self.db_id
        for extra in self.extra_branches or ():
            at, code, name, size, role, password, ep, ep_min, ep_max, ep_last = extra
            db_id += 1
            branch = Branch(
                id=ids.text(code),
                name=name,
                created_us=at,
                updated_us=at,
                protected=self.protected == 2,
                parent_id=main.id,
                logical_size=size,
            )
            branch.roles[OWNER_ROLE] = (self.password, at)
            branch.databases[DATABASE] = (db_id, OWNER_ROLE, at)
            if role is not None:
                branch.roles[role] = (password, at)
            branches[branch.id] = branch
            history.append(("create_timeline", at, branch.id, None))
            if ep is not None:
                extra_endpoint = Endpoint(
                    id=ids.text(ep),
                    branch_id=branch.id,
                    type="read_write",
                    created_us=at,
                    min_cu=ep_min,
                    max_cu=ep_max,
                    last_active_us=ep_last,
                )
                endpoints[extra_endpoint.id] = extra_endpoint
                history.append(("start_compute", at + 1, branch.id, extra_endpoint.id))
        if self.extra_database is not None:
            name, owner, password = self.extra_database
            if password is not None:
                main.roles[owner] = (password, created)
            main.databases[name] = (db_id + 1, owner, created)
        if self.read_only is not None:
            read_only = Endpoint(
                id=ids.text(self.read_only),
                branch_id=main.id,
                type="read_only",
                created_us=created + HOUR_US,
                min_cu=min_cu,
                max_cu=max_cu,
                last_active_us=self.last_active_us,
            )
            endpoints[read_only.id] = read_only
            history.append(("start_compute", created + HOUR_US, main.id, read_only.id))
        # The operations cursor needs them in time order with distinct times.
        history.sort(key=lambda op: op[1])
        operations, last = [], None
        for n, (action, at, branch_id, endpoint_id) in enumerate(history):
            at = at if last is None else max(at, last + 1)
            operations.append(
                Operation(
                    id=_operation_id(project.id, n),
                    project_id=project.id,
                    action=action,
                    created_us=at,
                    branch_id=branch_id,
                    endpoint_id=endpoint_id,
                    done=True,
                )
            )
            last = at
        return branches, endpoints, operations

    def snapshots(self, project: Project) -> dict[str, Snapshot]:
        """The default branch's snapshots, oldest first: those its backup schedule took, and
        manual ones (both from the project id's hash, like the schedule)."""
        created, digest = self.created_us, _backup_digest(project.id)
        taken = []  # (at, name, manual, expires)
        for frequency, hour, day, retention in seeded_schedule(project.id) or ():
            for at in _last_runs(frequency, hour, day):
                expires = None if retention is None else at + retention * 1_000_000
                if at >= created and (expires is None or expires > ANCHOR_US):
                    taken.append((at, f"{frequency} {iso(at)}", False, expires))
        if int.from_bytes(digest[5:9], "big") / 2**32 < MANUAL_SNAPSHOT_SHARE:
            for n in range(1 + digest[9] % 2):
                at = max(created + HOUR_US, ANCHOR_US - (1 + digest[10 + n] % 60) * DAY_US)
                name = MANUAL_SNAPSHOT_NAMES[(digest[12] + n) % len(MANUAL_SNAPSHOT_NAMES)]
                # Kept 90 days (past ANCHOR_US: taken at most 60 days before), or for good.
                expires = at + 90 * DAY_US if (digest[13] + n) % 2 == 0 else None
                taken.append((at, name, True, expires))
        taken.sort()
        main, out = ids.text(self.branch), {}
        for n, (at, name, manual, expires) in enumerate(taken):
            key = hashlib.blake2b(f"{project.id}/snapshot/{n}".encode(), digest_size=8).digest()
            snapshot = Snapshot(
                id=ids.text(ids.from_digest(key, SNAPSHOT)),
                name=name,
                source_branch_id=main,
                created_us=at,
                timestamp_us=at,
                lsn=lsn_at(created, at),
                manual=manual,
                expires_us=expires,
                full_size=self.logical_size,
            )
            out[snapshot.id] = snapshot
        return out


def _backup_digest(project_id: str) -> bytes:
    return hashlib.blake2b(f"{project_id}/backups".encode(), digest_size=16).digest()


def seeded_schedule(project_id: str) -> tuple | None:
    """The default branch's backup schedule (SEEDED_SCHEDULES), or None for none."""
    digest = _backup_digest(project_id)
    if int.from_bytes(digest[:4], "big") / 2**32 >= SCHEDULE_SHARE:
        return None
    return SEEDED_SCHEDULES[digest[4] % len(SEEDED_SCHEDULES)]


def _schedule_items(schedule: tuple | None) -> list[dict]:
    keys = ("frequency", "hour", "day", "retention_seconds")
    return [
        {key: value for key, value in zip(keys, item, strict=True) if value is not None}
        for item in schedule or ()
    ]


def _last_runs(frequency: str, hour: int, day: int | None, count: int = 2) -> list[int]:
    """When a schedule item last ran before ANCHOR_US, newest first: daily at ``hour``, weekly
    on weekday ``day`` (1 is Monday), monthly on day ``day`` of the month."""
    anchor = datetime.fromtimestamp(ANCHOR_US // 1_000_000, UTC)
    runs = []
    for back in range(0, 100):
        date = anchor.date() - timedelta(days=back)
        if (frequency == "weekly" and date.isoweekday() != day) or (
            frequency == "monthly" and date.day != day
        ):
            continue
        at = int(datetime(date.year, date.month, date.day, hour, tzinfo=UTC).timestamp())
        if at * 1_000_000 <= ANCHOR_US:
            runs.append(at * 1_000_000)
            if len(runs) == count:
                break
    return runs


def _operation_id(project_id: str, n: int) -> str:
    """A seeded operation's id: from its project's id, so the same whenever it is built."""
    digest = hashlib.blake2b(f"{project_id}/operation/{n}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


# ---- the seed --------------------------------------------------------------------------------


def _weekdays(getrandbits) -> tuple[int, ...]:
    """``sorted(rng.sample(range(1, 8), rng.randint(1, 3)))``: a sample that small from a
    population that small takes _randbelow(7 - i) for its i-th pick from a shrinking pool."""
    pool, weekdays = list(range(1, 8)), []
    for i in range(1 + _below(getrandbits, 3)):
        j = _below(getrandbits, 7 - i)
        weekdays.append(pool[j])
        pool[j] = pool[6 - i]
    return tuple(sorted(weekdays))


def _settings(getrandbits, random, project: Project, parts: SeededParts, home: str | None) -> None:
    """``home`` is the owner the main stream drew, before an org-only account moved a
    personal project into an organization: the draws depend on it, never on the move."""
    if random() < 0.25:
        quota = [values[_below(getrandbits, len(values))] for _, values in QUOTA_FIELDS]
        parts.quota = _one(_QUOTAS, tuple(quota))
    if random() < 0.2:
        octet = 1 + _below(getrandbits, 254)
        ips = (f"203.0.113.{octet}", "198.51.100.0/24")[: 1 + _below(getrandbits, 2)]
        parts.allowed_ips = _one(_ALLOWED_IPS, (ips, random() < 0.3))
    if random() < 0.3:
        start = _below(getrandbits, 22)
        parts.window = _one(_WINDOWS, (_weekdays(getrandbits), start, start + 2))
    if random() < 0.1:
        parts.logical_replication = True
    if random() < 0.15:
        parts.audit_log_level = AUDIT_LOG_LEVELS[_below(getrandbits, len(AUDIT_LOG_LEVELS))]
    if home == BOREALIS and random() < 0.3:
        parts.hipaa = True
        # No extra draw from rng: the rest of the seeded data stays the same.
        project.hipaa_enabled_us = project.created_us


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
    """One project; ``shared_by`` makes it another user's, drawn from ``frng`` alone.

    The draws are the ones api.build_project and the seed have always made, in the same order
    (the draws section above says how they are written); what they give goes into the
    project's fields and its SeededParts."""
    getrandbits, random, used = rng.getrandbits, rng.random, store.used_ids
    ceiling = store.max_autoscaling_limit
    # The compute size of the project `rank` from the newest, lowered to the plan ceiling.
    older = rank - COMMON_NEWEST
    if older >= 0 and older % BIG_EVERY == 0:
        size = BIG_SIZE
    else:
        sizes, bits = (_OLDER_SIZES, _OLDER_SIZES_BITS)
        if older < 0:
            sizes, bits = _COMMON_SIZES, _COMMON_SIZES_BITS
        size = sizes[getrandbits(bits)]
        while size is AGAIN:
            size = sizes[getrandbits(bits)]
    suspend = _SUSPENDS[getrandbits(_SUSPENDS_BITS)]
    while suspend is AGAIN:
        suspend = _SUSPENDS[getrandbits(_SUSPENDS_BITS)]
    min_cu, max_cu = _size_fits(size[0], size[1], ceiling)
    provisioner = size[2]
    if max_cu > limits.MAX_AUTOSCALING_CU:
        suspend = limits.NEVER_SUSPEND
    # The name: readable, and mostly unique across thousands of projects.
    product = _PRODUCTS[getrandbits(_PRODUCTS_BITS)]
    while product is AGAIN:
        product = _PRODUCTS[getrandbits(_PRODUCTS_BITS)]
    suffix = _SUFFIXES[getrandbits(_SUFFIXES_BITS)]
    while suffix is AGAIN:
        suffix = _SUFFIXES[getrandbits(_SUFFIXES_BITS)]
    name = product + suffix if index < 40 else f"{product}{suffix}-{index}"
    cumulative, total = _REGION_CUMULATIVE  # rng.choices(REGION_IDS, REGION_WEIGHTS)
    region_id = REGION_IDS[bisect.bisect(cumulative, random() * total, 0, len(REGION_IDS) - 1)]
    # Postgres versions by creation date: one draw whatever the table, as before it had dates.
    for since, versions, (cumulative, total) in _PG_CUMULATIVE:
        if created_us >= since:
            pg_version = versions[bisect.bisect(cumulative, random() * total, 0, len(versions) - 1)]
            break
    history_retention = _HISTORIES[getrandbits(_HISTORIES_BITS)]
    while history_retention is AGAIN:
        history_retention = _HISTORIES[getrandbits(_HISTORIES_BITS)]
    store_passwords = random() > 0.05
    roll, home, org_id = random(), None, None
    for below, org in OWNER_BANDS:
        if roll < below:
            home = org
            break
    if shared_by is not None:
        home = None  # another user's personal project
    elif home is not None:
        org_id = home
    elif store.org_only:
        # No personal account: its share goes round the organizations.
        org_id = ORGS[index % len(ORGS)][0]
    # api.build_project's draws: checked compute, id, default maintenance window, default
    # branch, its role's password, its database, its read-write endpoint.
    parts = SeededParts()
    parts.compute = _checked(min_cu, max_cu, provisioner, suspend, ceiling)
    project_code = ids.new_code(getrandbits, PROJECT, used)
    weekday = _WEEKDAYS[getrandbits(_WEEKDAYS_BITS)]
    while weekday is AGAIN:
        weekday = _WEEKDAYS[getrandbits(_WEEKDAYS_BITS)]
    parts.window = weekday[_below(getrandbits, 23)]
    parts.branch = ids.new_code(getrandbits, BRANCH, used)
    parts.password = draw_password(getrandbits)
    parts.db_id = store.next_db_id()
    parts.endpoint = ids.new_code(getrandbits, ENDPOINT, used)
    parts.created_us = created_us
    parts.quota = parts.allowed_ips = parts.audit_log_level = None
    parts.logical_replication = parts.hipaa = parts.block_public_connections = False
    parts.protected = 0
    parts.extra_branches = parts.extra_database = parts.read_only = None
    # Positional: the seed makes a million, and keywords would cost a fifth of the seed's time.
    project = Project(
        ids.text(project_code),
        name,
        region_id,
        pg_version,
        provisioner,
        created_us,
        created_us,  # updated_us, drawn below
        store_passwords,
        history_retention,
        org_id,
        parts=parts,
    )
    if shared_by is not None:
        project.owner = shared_by
        project.name = f"{shared_by.name.split()[0].lower()}-{project.name}"
    _settings(getrandbits, random, project, parts, home)
    storage = min(int(_lognormvariate(random, 18, 2.2)), 2 * 2**40)
    project.synthetic_storage_size = storage
    # Usage counters are the current billing period's: at most a month of wall-clock time.
    active = getrandbits(_ACTIVE_TIME_BITS)
    while active >= ACTIVE_TIME_DRAW:
        active = getrandbits(_ACTIVE_TIME_BITS)
    project.active_time = active = min(active, MONTH_S)
    project.compute_time_seconds = active // (2 + _below(getrandbits, 7))  # rng.randint(2, 8)
    project.written_data_bytes = storage * (1 + _below(getrandbits, 4))  # rng.randint(1, 4)
    transfer = getrandbits(_TRANSFER_BITS)
    while transfer >= TRANSFER_DRAW:
        transfer = getrandbits(_TRANSFER_BITS)
    project.data_transfer_bytes = transfer
    age = ANCHOR_US - created_us
    project.updated_us = created_us + _below(getrandbits, max(1, age))
    if random() < 0.8:
        idle = _idle_gap(_below(getrandbits, max(1, age)) / max(1, age), age)
    else:
        # The fleet stream decides between never active and idle for a while.
        idle = None if frng.random() < 0.5 else _idle_gap(frng.random(), age)
    if idle is not None:
        project.compute_last_active_us = ANCHOR_US - idle
    parts.logical_size = min(storage, MAIN_LOGICAL_SIZE_CAP)
    # Other branches' computes follow the project's provisioner: k8s-pod runs fixed sizes only.
    extra_compute = (min_cu, min_cu) if provisioner == POD else _size_fits(0.25, 1, ceiling)
    extras: list[tuple] = []
    count = _EXTRA_BRANCH_COUNTS[getrandbits(_EXTRA_BRANCH_COUNTS_BITS)]
    while count is AGAIN:
        count = _EXTRA_BRANCH_COUNTS[getrandbits(_EXTRA_BRANCH_COUNTS_BITS)]
    for _ in range(count):
        extras.append(_extra_branch(store, rng, parts, extras, extra_compute))
    # A deleted project cannot have had a protected branch: it would have blocked the delete.
    if rank >= COMMON_NEWEST and rank % PROTECTED_EVERY == PROTECTED_AT and not deleted:
        parts.protected = 1
        if rank % (2 * PROTECTED_EVERY) == PROTECTED_AT:
            if not extras:
                extras.append(_extra_branch(store, rng, parts, extras, extra_compute))
            parts.protected = 2
    if random() < 0.3:
        database = EXTRA_DATABASES[_below(getrandbits, len(EXTRA_DATABASES))]
        owner, password = OWNER_ROLE, None
        if random() < 0.5:
            owner = EXTRA_ROLES[_below(getrandbits, len(EXTRA_ROLES))]
            password = draw_password(getrandbits)
        store.next_db_id()
        parts.extra_database = (database, owner, password)
    if random() < 0.2:
        parts.read_only = ids.new_code(getrandbits, ENDPOINT, used)
    parts.extra_branches = tuple(extras) if extras else None
    _spread(frng, project, parts, rank, suspend)
    parts.last_active_us = project.compute_last_active_us
    if project.org_id in PROJECT_PERMISSION_ORGS:
        # From the id, not from rng or frng: no other seeded value moves.
        project.permission = permissions.seeded_level(project.id)
    return project


def _idle_gap(x: float, age_us: int) -> int:
    """How long before the anchor a project was last active, from ``x`` in [0, 1): most
    were active in the last few days, one in five has been idle for three months or more.
    Never longer than the project's age."""
    low = 0.0
    for high, first_day, last_day in IDLE_BANDS:
        if x < high:
            days = first_day + (x - low) / (high - low) * (last_day - first_day)
            return min(int(days * DAY_US), age_us)
        low = high
    if x >= 1.0:
        return age_us
    # The last band, from 90 days to the project's age.
    first_day, last_day = 90, max(90, age_us // DAY_US)
    days = first_day + (x - low) / (1.0 - low) * (last_day - first_day)
    return min(int(days * DAY_US), age_us)


def _set_last_active(project: Project, parts: SeededParts, at_us: int | None) -> None:
    """The project's last activity, and its computes' that had the same one: the default
    branch's and the read-only one always, another branch's only by chance."""
    before = project.compute_last_active_us
    if parts.extra_branches is not None:
        parts.extra_branches = tuple(
            (*extra[:9], at_us) if extra[6] is not None and extra[9] == before else extra
            for extra in parts.extra_branches
        )
    project.compute_last_active_us = at_us


def _spread(frng: random.Random, project: Project, parts: SeededParts, rank: int, suspend: int):
    """The traits a fleet inventory reports, from the fleet stream.

    The ten newest projects stay plain: none of these is forced on them.
    """
    plain = rank < COMMON_NEWEST
    min_cu, max_cu, _ = parts.compute
    hipaa_odds = HIPAA_ODDS.get(project.org_id, 0.0)
    if frng.random() < hipaa_odds and not plain and not parts.hipaa:
        parts.hipaa = True
        project.hipaa_enabled_us = project.created_us
    # Neon lets a project leave the window to Neon; the settings then have none.
    if frng.random() < 0.15 and not plain:
        parts.window = None
    # Private Networking is for organizations on paid plans.
    if frng.random() < 0.12 and not plain and project.org_id is not None:
        parts.block_public_connections = True
    if suspend == limits.NEVER_SUSPEND:
        # An always-on compute is active now and has run the whole billing period.
        getrandbits = frng.getrandbits
        # frng.randrange(0, 600), frng.randrange(0, 3600), frng.uniform(0, 0.4)
        _set_last_active(project, parts, ANCHOR_US - _below(getrandbits, 600) * 1_000_000)
        project.active_time = MONTH_S - _below(getrandbits, 3600)
        # Compute time is CU-seconds: an autoscaling compute spends most of it near its min.
        average_cu = min_cu + (max_cu - min_cu) * (0.4 * frng.random())
        project.compute_time_seconds = int(project.active_time * average_cu)
    whale = frng.random() < 1 / 60 and not plain
    if whale:
        project.synthetic_storage_size = frng.randrange(600 * GIB, 4 * TIB)
        project.written_data_bytes = project.synthetic_storage_size * frng.randint(3, 12)
        project.data_transfer_bytes = frng.randrange(2 * TIB, 40 * TIB)
        project.active_time = MONTH_S - frng.randrange(0, 6 * 3600)
        average_cu = min_cu + (max_cu - min_cu) * frng.uniform(0.3, 0.9)
        project.compute_time_seconds = int(project.active_time * average_cu)
        _set_last_active(project, parts, ANCHOR_US - frng.randrange(0, 3600) * 1_000_000)
        branch_limit = render.BRANCH_LOGICAL_SIZE_LIMIT_MIB * render.MIB
        parts.logical_size = min(project.synthetic_storage_size // 2, branch_limit)
    last = project.compute_last_active_us
    if last is None or last < ANCHOR_US - MONTH_S * 1_000_000:
        # Idle since before this billing period: it used nothing in it, but still stores data.
        project.active_time = project.compute_time_seconds = 0
        project.written_data_bytes = project.data_transfer_bytes = 0


def _extra_branch(
    store: Store,
    rng: random.Random,
    parts: SeededParts,
    extras: list[tuple],
    compute: tuple[float, float],
) -> tuple:
    """Another branch of the default one, as the tuple SeededParts.build reads: (created_us,
    id code, name, logical size, extra role or None, its password, endpoint code or None,
    its min CU, max CU, last activity)."""
    getrandbits, used = rng.getrandbits, store.used_ids
    age = getrandbits(_BRANCH_AGE_BITS)
    while age >= BRANCH_AGE_DRAW:
        age = getrandbits(_BRANCH_AGE_BITS)
    created = min(parts.created_us + HOUR_US + age, ANCHOR_US)
    code = ids.new_code(getrandbits, BRANCH, used)
    if extras:
        taken = {extra[2] for extra in extras}
        names = [n for n in BRANCH_NAMES if n not in taken]
        name = names[_below(getrandbits, len(names))]
    else:
        name = _BRANCH_NAMES[getrandbits(_BRANCH_NAMES_BITS)]
        while name is AGAIN:
            name = _BRANCH_NAMES[getrandbits(_BRANCH_NAMES_BITS)]
    store.next_db_id()  # its copy of the default branch's database
    role = password = None
    if rng.random() < 0.3:
        role = EXTRA_ROLES[_below(getrandbits, len(EXTRA_ROLES))]
        password = draw_password(getrandbits)
    endpoint = ids.new_code(getrandbits, ENDPOINT, used) if rng.random() < 0.7 else None
    min_cu, max_cu = compute
    size = parts.logical_size
    return (created, code, name, size, role, password, endpoint, min_cu, max_cu, created)


def seed_store(store: Store, count: int, *, seed: int = 20261128) -> None:
    """Fill an empty store with ``count`` live projects of the account (personal and its
    organizations'; only organizations' when ``store.org_only``), a few deleted, recoverable
    ones, and ``shared_count(count)`` projects other users share with it."""
    # Millions of objects and no cycle among them: the cyclic collector would only walk them
    # again and again (a tenth of the time at 300,000 projects).
    collecting = gc.isenabled()
    gc.disable()
    try:
        _seed(store, count, seed)
    finally:
        if collecting:
            gc.enable()


def _seed(store: Store, count: int, seed: int) -> None:
    rng = random.Random(seed)
    frng = random.Random(f"{seed}/fleet")
    for org_id, name, handle, plan, allow_hipaa in ORGS:
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
    getrandbits = rng.getrandbits
    while live < count:
        # Oldest first; the jitter varies the gaps while keeping creation times unique.
        created = ANCHOR_US - span + index * step + _below(getrandbits, max(1, step // 2))
        doomed = index % 26 == 25
        rank = total - 1 - index  # 0 is the newest
        project = _project(store, rng, frng, index, rank, store.tick(created), deleted=doomed)
        if doomed:
            deleted.append(project)  # inserted once deleted: removing from _order is O(n)
        else:
            store.insert(project)
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
        project.deleted_us = max(project.created_us + HOUR_US, today - (n % 48) * HOUR_US)
        store.insert(project)
