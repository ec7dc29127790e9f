"""In-memory state of one emulated Neon account.

Every public method expects the caller to hold ``Store.lock``; the WSGI app takes it once per
request so that a request sees and leaves a consistent state.

Projects are kept in ``_order``, a list sorted by ``created_us`` (creation time in integer
microseconds, unique per store). Listing walks it newest first from a cursor that is the
creation time of the last project returned, so paging stays correct while projects are added
or removed between pages, and a page costs O(limit), not a sort of everything.
"""

from __future__ import annotations

import bisect
import functools
import random
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from neon_emulator import ids, limits

RECOVERY_WINDOW_SECONDS = 7 * 24 * 3600
DEFAULT_OWNER_ID = "1232111"
DEFAULT_USER_EMAIL = "ada@example.com"

REGIONS = [
    # region_id, name, default, geo_lat, geo_long
    ("aws-us-east-1", "AWS US East (N. Virginia)", False, "38.9940541", "-77.4524237"),
    ("aws-us-east-2", "AWS US East (Ohio)", True, "39.9612", "-82.9988"),
    ("aws-us-west-2", "AWS US West (Oregon)", False, "45.5152", "-122.6784"),
    ("aws-eu-central-1", "AWS Europe (Frankfurt)", False, "50.1109", "8.6821"),
    ("aws-eu-west-2", "AWS Europe (London)", False, "51.5072", "-0.1276"),
    ("aws-ap-southeast-1", "AWS Asia Pacific (Singapore)", False, "1.3521", "103.8198"),
    ("aws-ap-southeast-2", "AWS Asia Pacific (Sydney)", False, "-33.8688", "151.2093"),
    ("aws-sa-east-1", "AWS South America (São Paulo)", False, "-23.5558", "-46.6396"),
    ("azure-eastus2", "Azure East US 2 (Virginia)", False, "36.6681", "-78.3889"),
    ("azure-westus3", "Azure West US 3 (Arizona)", False, "33.4484", "-112.0740"),
    ("azure-gwc", "Azure Germany West Central (Frankfurt)", False, "50.1109", "8.6821"),
]
REGION_IDS = {r[0] for r in REGIONS}
DEFAULT_REGION = next(r[0] for r in REGIONS if r[2])

PRELOAD_LIBRARIES = [
    ("timescaledb", "Time-series data", False, False, "2.17.1"),
    ("pg_cron", "Job scheduler", False, False, "1.6"),
    ("pg_partman_bgw", "Partition maintenance worker", False, False, "5.1.0"),
    ("rag_bge_small_en_v15", "Embeddings in Postgres", False, True, "0.0.1"),
    ("pg_stat_statements", "Query statistics", True, False, "1.11"),
    ("neon", "Neon storage extension", True, False, "1.5"),
]


def iso(us: int) -> str:
    """Neon's timestamp format: RFC 3339, UTC, whole seconds.

    A page of 400 projects has a thousand timestamps, nearly all different: strftime for
    each date, pieces from tables for the time of day."""
    day, second = divmod(us // 1_000_000, 86400)
    hour, rest = divmod(second, 3600)
    return _iso_date(day) + _ISO_HOURS[hour] + _ISO_MINUTES_SECONDS[rest]


@functools.lru_cache(maxsize=1 << 12)
def _iso_date(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")


_ISO_HOURS = [f"{hour:02d}:" for hour in range(24)]
_ISO_MINUTES_SECONDS = [
    f"{minute:02d}:{second:02d}Z" for minute in range(60) for second in range(60)
]


def iso_us(us: int) -> str:
    """Timestamp with microseconds, the shape of the spec's pagination cursor example."""
    return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_us(text: str) -> int | None:
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            dt = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(dt.timestamp()) * 1_000_000 + dt.microsecond
    return None


PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
# rng.choice(PASSWORD_ALPHABET) takes the top 6 bits of one 32-bit word, again while they are
# 57 or more: the top byte of the word, 228 or more. So a word's top byte gives its character,
# or none; PASSWORD_CHARS maps each top byte to it, and REJECTED lists those that give none.
PASSWORD_CHARS = bytes(
    ord(PASSWORD_ALPHABET[byte >> 2]) if byte >> 2 < len(PASSWORD_ALPHABET) else 0
    for byte in range(256)
)
REJECTED = bytes(byte for byte in range(256) if byte >> 2 >= len(PASSWORD_ALPHABET))


def draw_password(getrandbits) -> str:
    """``"npg_"`` and twelve ``rng.choice(PASSWORD_ALPHABET)``, drawn word for word as
    random.Random draws them, in a fraction of the time: the seed makes over a million.

    ``getrandbits(32 * n)`` gives the next n words, the first in the lowest bits; their top
    bytes are every fourth byte from the fourth of its little-endian bytes."""
    password = b"npg_"
    while len(password) < 16:
        missing = 16 - len(password)
        words = getrandbits(32 * missing).to_bytes(4 * missing, "little")
        password += words[3::4].translate(PASSWORD_CHARS, REJECTED)
    return password.decode()


@functools.lru_cache(maxsize=64)
def region_host(region_id: str) -> str:
    cloud, _, rest = region_id.partition("-")
    return f"{rest}.{cloud}.neon.tech"


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(slots=True)
class Operation:
    id: str
    project_id: str
    action: str
    created_us: int
    branch_id: str | None = None
    endpoint_id: str | None = None
    # Seeded history is finished whatever the clock says.
    done: bool = False


@dataclass(slots=True)
class Branch:
    id: str
    name: str
    created_us: int
    updated_us: int
    default: bool = False
    protected: bool = False
    parent_id: str | None = None
    logical_size: int = 0
    written_data_bytes: int = 0
    # role name -> (password, created_us); insertion-ordered
    roles: dict[str, tuple[str, int]] = field(default_factory=dict)
    # database name -> (id, owner, created_us)
    databases: dict[str, tuple[int, str, int]] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    expires_us: int | None = None
    # The time from when expires_at was last set to it (Branch.ttl_interval_seconds).
    ttl_interval_seconds: int | None = None
    # A branch made by restoreSnapshot: "restored" until finalizeRestoreBranch, then
    # "finalized"; restored_from is the snapshot, restored_as the branch it stands in for.
    restore_status: str | None = None
    restored_from: str | None = None
    restored_as: str | None = None
    # BackupSchedule items as the spec spells them: {"frequency": "daily", "hour": 3, ...}.
    backup_schedule: list[dict] = field(default_factory=list)


@dataclass(slots=True)
class Snapshot:
    id: str
    name: str
    source_branch_id: str
    created_us: int
    timestamp_us: int  # the point in time it holds
    lsn: str
    manual: bool = True  # false: taken by the branch's backup schedule
    expires_us: int | None = None
    full_size: int | None = None


# An idle compute was suspended this long after its last activity: Neon's default timeout.
SUSPEND_AFTER_US = 300_000_000


def lsn_at(created_us: int, at_us: int) -> str:
    """A Postgres LSN (``0/1F6D2B8``) for a point in a project's history: it grows with time, so
    that snapshots taken later have later LSNs."""
    value = 0x1000000 + max(0, at_us - created_us) // 1000 * 37
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass(slots=True)
class Endpoint:
    id: str
    branch_id: str
    type: str
    created_us: int
    min_cu: float
    max_cu: float
    suspend_timeout_seconds: int = 0
    last_active_us: int | None = None
    idle: bool = True
    # When it was suspended, if something other than its suspend timeout did it (a quota).
    suspended_us: int | None = None

    def suspended_at_us(self) -> int | None:
        """``suspended_at``: when an idle compute was suspended, None for an active one."""
        if not self.idle:
            return None
        if self.suspended_us is not None:
            return self.suspended_us
        if self.last_active_us is not None:
            return self.last_active_us + SUSPEND_AFTER_US
        return None


@dataclass(frozen=True)
class Owner:
    """A Neon account that owns projects: ``owner_id`` and ``owner`` of a project."""

    id: str
    email: str
    name: str
    subscription_type: str


# The emulated user. Projects owned by anyone else are shared with the user: they are listed
# by GET /projects/shared only, and the user may do anything with them but delete them.
ACCOUNT_OWNER = Owner(DEFAULT_OWNER_ID, DEFAULT_USER_EMAIL, "Ada Lovelace", "launch")


class BranchOutline(NamedTuple):
    """What consumption history needs of a branch, readable without building a seeded
    project (Project.branch_outline)."""

    id: str
    created_us: int
    logical_size: int
    default: bool
    root: bool  # no parent: its storage is root branch storage, the rest child storage
    compute: tuple[float, float] | None  # its read-write compute's (min CU, max CU), if any


class Unbuilt(Protocol):
    """What a seeded project keeps instead of its dicts and objects until they are read
    (``seed.SeededParts``). Each call builds them afresh, the same every time."""

    def outline(self) -> list[BranchOutline]: ...

    def settings(self) -> dict: ...

    def default_endpoint_settings(self) -> dict: ...

    def build(
        self, project: Project
    ) -> tuple[dict[str, Branch], dict[str, Endpoint], list[Operation]]: ...

    def snapshots(self, project: Project) -> dict[str, Snapshot]: ...


class Project:
    """One project. A million seeded ones must fit in memory, so the class has slots, and a
    seeded project keeps its settings, ``default_endpoint_settings``, branches (with their
    roles and databases), endpoints, operations and snapshots unbuilt (``parts``) until something
    reads them; from then on the built ones are the project's, and changes go to them.
    Listing reads the settings through ``settings_view()``, which builds nothing to keep, so
    that paging through every project leaves them as compact as it found them."""

    __slots__ = (
        "_branches",
        "_default_endpoint_settings",
        "_endpoints",
        "_operations",
        "_parts",
        "_settings",
        "_snapshots",
        "active_time",
        "compute_last_active_us",
        "compute_time_seconds",
        "created_us",
        "creation_source",
        "data_transfer_bytes",
        "deleted_us",
        "hipaa_enabled_us",  # set when settings.hipaa is turned on, which is for good
        "history_retention_seconds",
        "id",
        "name",
        "org_id",
        "owner",
        # The caller's effective_project_permission (CAN_VIEW, CAN_EDIT, CAN_MANAGE): set only
        # in organizations with per-project permissions; None sends nothing, allows everything.
        "permission",
        "pg_version",
        "provisioner",
        # When a PATCH put a quota at or below the usage (quotas.held_since); None otherwise.
        "quota_held_us",
        "region_id",
        "store_passwords",
        "synthetic_storage_size",
        "updated_us",
        "written_data_bytes",
    )

    def __init__(
        self,
        id: str,
        name: str,
        region_id: str,
        pg_version: int,
        provisioner: str,
        created_us: int,
        updated_us: int,
        store_passwords: bool = True,
        history_retention_seconds: int = 86400,
        org_id: str | None = None,
        settings: dict | None = None,
        default_endpoint_settings: dict | None = None,
        creation_source: str = "console",
        synthetic_storage_size: int = 0,
        active_time: int = 0,
        compute_time_seconds: int = 0,
        written_data_bytes: int = 0,
        data_transfer_bytes: int = 0,
        compute_last_active_us: int | None = None,
        hipaa_enabled_us: int | None = None,
        deleted_us: int | None = None,
        owner: Owner = ACCOUNT_OWNER,
        permission: str | None = None,
        parts: Unbuilt | None = None,
        quota_held_us: int | None = None,
    ) -> None:
        self.id = id
        self.name = name
        self.region_id = region_id
        self.pg_version = pg_version
        self.provisioner = provisioner
        self.created_us = created_us
        self.updated_us = updated_us
        self.store_passwords = store_passwords
        self.history_retention_seconds = history_retention_seconds
        self.org_id = org_id
        self.creation_source = creation_source
        self.synthetic_storage_size = synthetic_storage_size
        self.active_time = active_time
        self.compute_time_seconds = compute_time_seconds
        self.written_data_bytes = written_data_bytes
        self.data_transfer_bytes = data_transfer_bytes
        self.compute_last_active_us = compute_last_active_us
        self.hipaa_enabled_us = hipaa_enabled_us
        self.deleted_us = deleted_us
        self.owner = owner
        self.permission = permission
        self.quota_held_us = quota_held_us
        self._parts = parts
        if parts is None:
            self._settings = {} if settings is None else settings
            self._default_endpoint_settings = (
                {} if default_endpoint_settings is None else default_endpoint_settings
            )
            self._branches, self._endpoints, self._operations = {}, {}, []
            self._snapshots = {}
        else:
            self._settings = self._default_endpoint_settings = None
            self._branches = self._endpoints = self._operations = self._snapshots = None

    # ---- built on first read ---------------------------------------------------------------

    @property
    def settings(self) -> dict:
        if self._settings is None:
            self._settings = self._parts.settings()
        return self._settings

    @settings.setter
    def settings(self, value: dict) -> None:
        self._settings = value

    @property
    def default_endpoint_settings(self) -> dict:
        if self._default_endpoint_settings is None:
            self._default_endpoint_settings = self._parts.default_endpoint_settings()
        return self._default_endpoint_settings

    @default_endpoint_settings.setter
    def default_endpoint_settings(self, value: dict) -> None:
        self._default_endpoint_settings = value

    def settings_view(self) -> dict:
        """The settings for an answer serialized at once, to be read, never changed."""
        return self._settings if self._settings is not None else self._parts.settings()

    def default_endpoint_settings_view(self) -> dict:
        """``default_endpoint_settings`` for an answer serialized at once, to be read only."""
        if self._default_endpoint_settings is not None:
            return self._default_endpoint_settings
        return self._parts.default_endpoint_settings()

    @property
    def branches(self) -> dict[str, Branch]:
        if self._branches is None:
            self._build()
        return self._branches

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        if self._endpoints is None:
            self._build()
        return self._endpoints

    @property
    def operations(self) -> list[Operation]:
        if self._operations is None:
            self._build()
        return self._operations

    @property
    def snapshots(self) -> dict[str, Snapshot]:
        """Snapshot id -> Snapshot, oldest first."""
        if self._snapshots is None:
            self._snapshots = self._parts.snapshots(self)
        return self._snapshots

    @property
    def built(self) -> bool:
        """Whether anything was built from the seed's parts and kept: the settings, the
        compute settings, the branches, endpoints and operations, or the snapshots. Always
        true of a project made by a request."""
        return (
            self._parts is None
            or self._branches is not None
            or self._settings is not None
            or self._default_endpoint_settings is not None
            or self._snapshots is not None
        )

    def _build(self) -> None:
        self._branches, self._endpoints, self._operations = self._parts.build(self)

    # ---- derived ---------------------------------------------------------------------------

    @property
    def default_branch(self) -> Branch:
        return next(b for b in self.branches.values() if b.default)

    @property
    def shared(self) -> bool:
        # Equal, not identical: a kept state is a copy.
        return self.owner is not ACCOUNT_OWNER and self.owner != ACCOUNT_OWNER

    def branch_outline(self) -> list[BranchOutline]:
        """The branches as consumption history sees them. Builds nothing: paging through the
        consumption of every project must leave seeded ones as compact as listing does."""
        if self._branches is None:
            return self._parts.outline()
        computes = {
            e.branch_id: (e.min_cu, e.max_cu)
            for e in self._endpoints.values()
            if e.type == "read_write"
        }
        return [
            BranchOutline(
                b.id,
                b.created_us,
                b.logical_size,
                b.default,
                b.parent_id is None,
                computes.get(b.id),
            )
            for b in self._branches.values()
        ]


@dataclass
class Organization:
    id: str
    name: str
    handle: str
    plan: str
    created_us: int
    allow_hipaa_projects: bool = False
    # Per-project permissions turned on: its projects carry effective_project_permission.
    project_permissions: bool = False
    # The monthly spending cap in cents (billing/spending_limit), None when none is set.
    spending_limit_cents: int | None = None


class Store:
    def __init__(
        self,
        *,
        op_seconds: float = 2.0,
        rng_seed: int | None = None,
        max_autoscaling_limit: float = limits.DEFAULT_CEILING,
        org_only: bool = False,
    ) -> None:
        self.lock = threading.RLock()
        self.op_seconds = op_seconds
        # The account's plan ceiling in CU (0 = none): GET /users/me, and every compute size.
        self.max_autoscaling_limit = max_autoscaling_limit
        # A user who belongs only to organizations: no personal projects, and listing or
        # creating projects without org_id gets 400 ORG_ID_REQUIRED.
        self.org_only = org_only
        self.rng = random.Random(rng_seed if rng_seed is not None else secrets.randbits(64))
        self.reset()

    def reset(self) -> None:
        self.projects: dict[str, Project] = {}
        self.deleted: dict[str, Project] = {}
        self._order: list[tuple[int, str]] = []  # (created_us, id) ascending, live projects
        self._deleted_order: list[tuple[int, str]] = []
        self._last_us = 0
        self._db_id = 1000
        # Every project, branch and endpoint id given so far, as ids.draw's codes.
        self.used_ids: set[int] = set()
        self.organizations: dict[str, Organization] = {}

    # ---- clock and ids -------------------------------------------------------------------

    def tick(self, at_us: int | None = None) -> int:
        """A creation time later than every earlier one, so cursors never tie."""
        t = now_us() if at_us is None else at_us
        self._last_us = max(t, self._last_us + 1)
        return self._last_us

    def new_id(self, prefix: str = "", rng: random.Random | None = None) -> str:
        return ids.text(self.new_id_code(ids.TAGS[prefix], (rng or self.rng).getrandbits))

    def new_id_code(self, tag: int, getrandbits) -> int:
        """A new id as its code (``ids.text`` spells it), with the prefix of ``tag``
        (``ids.TAGS``): drawn again while already given."""
        return ids.new_code(getrandbits, tag, self.used_ids)

    def next_db_id(self) -> int:
        self._db_id += 1
        return self._db_id

    @staticmethod
    def new_password(rng: random.Random) -> str:
        return draw_password(rng.getrandbits)

    # ---- operations ----------------------------------------------------------------------

    def op_status(self, op: Operation, now: int) -> str:
        if op.done:
            return "finished"
        elapsed = (now - op.created_us) / 1_000_000
        if elapsed >= self.op_seconds:
            return "finished"
        if elapsed < self.op_seconds / 4:
            return "scheduling"
        return "running"

    def has_running_operations(self, project: Project) -> bool:
        # Every operation lasts op_seconds and they are appended in order, so the newest one
        # finishes last.
        return bool(project.operations) and (
            self.op_status(project.operations[-1], now_us()) != "finished"
        )

    def add_operation(
        self,
        project: Project,
        action: str,
        *,
        at_us: int,
        branch_id: str | None = None,
        endpoint_id: str | None = None,
        done: bool = False,
    ) -> Operation:
        op = Operation(
            id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            project_id=project.id,
            action=action,
            created_us=at_us,
            branch_id=branch_id,
            endpoint_id=endpoint_id,
            done=done,
        )
        project.operations.append(op)
        return op

    # ---- snapshots and restores ----------------------------------------------------------

    def new_snapshot_id(self, project: Project) -> str:
        # Seeded snapshots take their ids from a hash, not from used_ids: look in the project.
        snapshot_id = self.new_id("snap-")
        while snapshot_id in project.snapshots:
            snapshot_id = self.new_id("snap-")
        return snapshot_id

    def take_snapshot(
        self,
        project: Project,
        branch: Branch,
        *,
        name: str | None,
        at_us: int | None,
        lsn: str | None,
        expires_us: int | None,
    ) -> Snapshot:
        """A manual snapshot of ``branch`` at ``at_us`` (its head when None), or at ``lsn``."""
        created = self.tick()
        timestamp = created if at_us is None else at_us
        snapshot = Snapshot(
            id=self.new_snapshot_id(project),
            name=name if name is not None else f"{branch.name} {iso(timestamp)}",
            source_branch_id=branch.id,
            created_us=created,
            timestamp_us=timestamp,
            lsn=lsn if lsn is not None else lsn_at(project.created_us, timestamp),
            expires_us=expires_us,
            full_size=branch.logical_size,
        )
        project.snapshots[snapshot.id] = snapshot
        return snapshot

    def restore_snapshot(
        self,
        project: Project,
        snapshot: Snapshot,
        target: Branch,
        *,
        name: str,
        finalize_as: str | None,
    ) -> tuple[Branch, list[Operation]]:
        """A new branch with the snapshot's data, restored as ``target``; with ``finalize_as``
        (the name ``target`` then takes) it replaces ``target`` at once."""
        at = self.tick()
        source = project.branches.get(snapshot.source_branch_id, target)
        branch = Branch(
            id=self.new_id("br-"),
            name=name,
            created_us=at,
            updated_us=at,
            logical_size=snapshot.full_size or 0,
            restore_status="restored",
            restored_from=snapshot.id,
            restored_as=target.id,
        )
        # The roles and databases of the branch it was taken from, as they are now: the
        # emulator keeps no history of them.
        for role_name, (password, _) in source.roles.items():
            branch.roles[role_name] = (password, at)
        for database_name, (_, owner, _) in source.databases.items():
            branch.databases[database_name] = (self.next_db_id(), owner, at)
        project.branches[branch.id] = branch
        operations = [self.add_operation(project, "create_timeline", at_us=at, branch_id=branch.id)]
        if finalize_as is not None:
            operations += self.finalize_restore(project, branch, target, old_name=finalize_as)
        return branch, operations

    def finalize_restore(
        self, project: Project, restored: Branch, target: Branch, *, old_name: str
    ) -> list[Operation]:
        """``restored`` takes ``target``'s place: its name, its computes (restarted: one
        apply_config each) and what makes it the branch it was: default, protected, backup
        schedule. ``target`` stays, renamed ``old_name``."""
        at = self.tick()
        restored.name, target.name = target.name, old_name
        restored.default, target.default = target.default, False
        restored.protected, target.protected = target.protected, False
        restored.backup_schedule, target.backup_schedule = target.backup_schedule, []
        restored.restore_status = "finalized"
        restored.updated_us = target.updated_us = at
        operations = []
        for endpoint in project.endpoints.values():
            if endpoint.branch_id == target.id:
                endpoint.branch_id = restored.id
                operations.append(
                    self.add_operation(
                        project,
                        "apply_config",
                        at_us=self.tick(),
                        branch_id=restored.id,
                        endpoint_id=endpoint.id,
                    )
                )
        return operations

    # ---- projects ------------------------------------------------------------------------

    def insert(self, project: Project) -> None:
        """Add a project: a live one, or with ``deleted_us`` set, a deleted one."""
        if project.deleted_us is None:
            pool, order = self.projects, self._order
        else:
            pool, order = self.deleted, self._deleted_order
        pool[project.id] = project
        key = (project.created_us, project.id)
        if not order or order[-1] < key:
            order.append(key)
        else:
            bisect.insort(order, key)

    def soft_delete(self, project: Project, at_us: int) -> None:
        key = (project.created_us, project.id)
        i = bisect.bisect_left(self._order, key)
        if i < len(self._order) and self._order[i] == key:
            del self._order[i]
        del self.projects[project.id]
        project.deleted_us = at_us
        self.insert(project)

    def recover(self, project: Project) -> None:
        key = (project.created_us, project.id)
        i = bisect.bisect_left(self._deleted_order, key)
        if i < len(self._deleted_order) and self._deleted_order[i] == key:
            del self._deleted_order[i]
        del self.deleted[project.id]
        project.deleted_us = None
        self.insert(project)

    def recoverable(self, project_id: str) -> Project | None:
        project = self.deleted.get(project_id)
        if project is None or project.deleted_us is None:
            return None
        if now_us() - project.deleted_us > RECOVERY_WINDOW_SECONDS * 1_000_000:
            return None
        return project

    def page(
        self,
        *,
        deleted: bool,
        before_us: int | None,
        limit: int,
        search: str | None,
        org_id: str | None,
        shared: bool = False,
        deadline: float | None = None,
    ) -> tuple[list[Project], bool]:
        """Projects newest first, strictly older than ``before_us``; (items, more_may_follow).

        Only the projects owned by ``org_id``: ``None`` means the personal account's, those
        with no organization, as Neon lists for a personal key given no ``org_id``. With
        ``shared``, only the projects other users share with the account, whatever ``org_id``.
        """
        order = self._deleted_order if deleted else self._order
        pool = self.deleted if deleted else self.projects
        end = len(order) if before_us is None else bisect.bisect_left(order, (before_us, ""))
        needle = search.lower() if search else None
        out: list[Project] = []
        i = end - 1
        now = now_us()
        while i >= 0 and len(out) < limit:
            project = pool[order[i][1]]
            i -= 1
            if deleted and now - project.deleted_us > RECOVERY_WINDOW_SECONDS * 1_000_000:
                continue
            if project.shared != shared or (not shared and project.org_id != org_id):
                continue
            if needle and needle not in project.name.lower() and needle not in project.id:
                continue
            out.append(project)
            if deadline is not None and time.monotonic() > deadline:
                break
        return out, i >= 0
