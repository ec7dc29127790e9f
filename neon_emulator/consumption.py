"""What each project and branch consumed, hour by hour: a pure function of the project as the
store has it (its seeded counters, compute sizes, branches, creation and last activity), the
branch and the hour. Nothing is kept: a million seeded projects cost no memory here, and a
question about any hour gets the same answer every time.

The model, per branch and UTC day, draws a day's totals from a hash of (branch id, day), then
spreads compute and transfer over the day's hours with integer weights (a business-hours
pattern in the region's local time, flat-ish for always-on computes, one burst for bursty
projects). Storage is a number of bytes held all day. Every hour's value is a difference of
rounded cumulative shares, so the hours of a day sum exactly to the day, and days to a month:
any split of a range into buckets gives the same total (``ProjectUsage.totals``).

Units, as Neon's invoices count them (FACTS.md section 12): ``compute_unit_seconds`` in
CU-seconds; transfer in bytes; the ``*_bytes_month`` storage metrics in byte-hours (an hour's
value is the bytes held during it) and ``extra_branches_month`` in branch-hours, so that a sum
over any period divided by 744 (and by 10^9 for GB) gives the GB-months or branch-months billed.

How the consumption agrees with the project:

- Nothing before the project (or a branch) was created, nothing after it was deleted.
- Compute and transfer only while the project was in use. The seed's clock stopped at
  ``seed.ANCHOR_US``; a project last active within ``ONGOING_WITHIN_S`` of it (the seed's
  "recently active" band) or always on is taken to be still in use since then, the others
  stopped at ``compute_last_active_at`` and a project never seen active never computed. Idle
  projects keep their storage.
- A seeded project's average day is a thirtieth of its billing-period counters
  (``compute_time_seconds``, ``data_transfer_bytes``, ``written_data_bytes``), capped by its
  compute size; storage grows to the branch's logical size by the anchor (or by the last
  activity) and stays. A project created through the API computes a couple of hours a day at
  its minimum size and stores its 30 MiB default branch.
- Nothing computes while a quota holds the project (``quotas.held_since``): compute and
  transfer stop in the hour it was held.
- Data is complete up to the last whole hour that ended at least ``FRESHNESS_S`` ago: Neon
  refreshes consumption about every 15 minutes.
- ``snapshot_storage_bytes_month`` is 0: no project has snapshots in this emulator yet.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from neon_emulator import quotas
from neon_emulator.seed import ANCHOR_US, MONTH_S
from neon_emulator.store import BranchOutline, Project

METRICS = (
    "compute_unit_seconds",
    "root_branch_bytes_month",
    "child_branch_bytes_month",
    "instant_restore_bytes_month",
    "public_network_transfer_bytes",
    "private_network_transfer_bytes",
    "extra_branches_month",
    "snapshot_storage_bytes_month",
)
# Those the branches endpoint reports; the last two exist per project only.
BRANCH_METRICS = METRICS[:6]
COMPUTE, ROOT, CHILD, RESTORE, PUBLIC, PRIVATE, EXTRA, SNAPSHOT = range(len(METRICS))

HOUR_US = 3_600_000_000
FRESHNESS_S = 15 * 60
ONGOING_WITHIN_S = 3 * 24 * 3600
EMPTY_DATABASE_BYTES = 30 * 1024 * 1024  # api.build_project's default branch
_MASK = (1 << 64) - 1

# Local time of each region, for the business-hours pattern (standard time, no DST).
REGION_UTC_OFFSETS = {
    "aws-us-east-1": -5,
    "aws-us-east-2": -5,
    "aws-us-west-2": -8,
    "aws-eu-central-1": 1,
    "aws-eu-west-2": 0,
    "aws-ap-southeast-1": 8,
    "aws-ap-southeast-2": 10,
    "aws-sa-east-1": -3,
    "azure-eastus2": -5,
    "azure-westus3": -7,
    "azure-gwc": 1,
}
ALWAYS_ON, STEADY, BURSTY, DEV = "always_on", "steady", "bursty", "dev"
BURSTY_SHARE = 0.3  # of the projects that suspend
ALWAYS_ON_STORAGE = 512 * 2**30


def data_cutoff_hour(now_us: int) -> int:
    """The first hour without data: hours before it are final."""
    return (now_us // 1_000_000 - FRESHNESS_S) // 3600


def _mix(x: int) -> int:
    """splitmix64: a day's draws from (branch, day), cheaper than a cryptographic hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"consumption/{text}".encode(), digest_size=8).digest())


def _uniform(key: int) -> float:
    return (key >> 11) / 2**53


@lru_cache(maxsize=64)
def _pattern(kind: str, offset: int) -> tuple[int, ...]:
    """Cumulative hourly weights of a day (25 entries, from 0) in UTC hours."""
    weights = []
    for utc_hour in range(24):
        local = (utc_hour + offset) % 24
        if kind == ALWAYS_ON:
            weight = 14 if 9 <= local < 21 else 10
        elif 8 <= local < 18:
            weight = 20
        elif 6 <= local < 8 or 18 <= local < 22:
            weight = 6
        else:
            weight = 1
        weights.append(weight)
    return _cumulative(weights)


def _cumulative(weights) -> tuple[int, ...]:
    out, total = [0], 0
    for weight in weights:
        total += weight
        out.append(total)
    return tuple(out)


def _burst(start: int, length: int) -> tuple[int, ...]:
    return _cumulative(40 if start <= hour < start + length else 1 for hour in range(24))


def _share(total: int, cumulative: tuple[int, ...], lo: int, hi: int) -> int:
    """Hours [lo, hi) of a day's ``total``: rounded cumulative shares, so that adjacent ranges
    add up exactly."""
    whole = cumulative[24]
    return (total * cumulative[hi] * 2 + whole) // (2 * whole) - (
        total * cumulative[lo] * 2 + whole
    ) // (2 * whole)


@dataclass(slots=True)
class _Branch:
    id: str
    key: int  # seeds the branch's daily draws
    root: bool
    first_hour: int
    first_day: int
    size: int  # logical size: a root's final one, a child's at creation
    kind: str  # how its compute spreads over days and hours
    mean: float  # CU-seconds on an average day in use (0: no compute)
    floor: float  # CU-seconds a day at least (an always-on compute never goes below its min)
    cap: float  # CU-seconds a day at most (its max, all day)
    transfer_ratio: float  # bytes sent per CU-second


class ProjectUsage:
    """One project's consumption. Cheap to make (no history is built) and to ask: a bucket
    costs a few operations per branch and day it covers."""

    def __init__(self, project: Project, *, now_us: int, extra_branch_allowance: int) -> None:
        self.project_id = project.id
        self.allowance = extra_branch_allowance
        created_s = project.created_us // 1_000_000
        self.first_hour = project.created_us // HOUR_US
        end_hour = data_cutoff_hour(now_us)
        if project.deleted_us is not None:
            end_hour = min(end_hour, -(-project.deleted_us // HOUR_US))
        self.end_hour = end_hour  # no data from here on
        seeded = project.created_us <= ANCHOR_US
        last = project.compute_last_active_us
        if not seeded or (last is not None and last >= ANCHOR_US - ONGOING_WITHIN_S * 1_000_000):
            self.active_end_hour = end_hour
            self.activity = "in use"
        elif last is None:
            self.active_end_hour = self.first_hour
            self.activity = "never active"
        else:
            self.active_end_hour = min(end_hour, last // HOUR_US + 1)
            self.activity = "idle since compute_last_active_at"
        project_settings = project.settings_view()  # unbuilt projects build it per call
        held = quotas.held_since(project, project_settings)
        if held is not None and held // HOUR_US + 1 < self.active_end_hour:
            # Suspended by a quota it reached: no compute from the hour after.
            self.active_end_hour = max(self.first_hour, held // HOUR_US + 1)
            self.activity = "held by a quota since held_since"
        # Storage grows until the seed's clock stopped, or until the project went idle.
        self.grow_until_day = min(ANCHOR_US // HOUR_US, self.active_end_hour) // 24
        self.private = bool(project_settings.get("block_public_connections"))
        self.retention_s = project.history_retention_seconds
        self.created_s, self.active_end_s = created_s, self.active_end_hour * 3600
        self.offset = REGION_UTC_OFFSETS.get(project.region_id, 0)

        project_key = _key(project.id)
        settings = project.default_endpoint_settings_view()
        # Computes that never suspend, and the seed's very large projects, which run all month.
        always_on = settings.get("suspend_timeout_seconds") == -1 or (
            seeded and project.synthetic_storage_size >= ALWAYS_ON_STORAGE
        )
        if always_on:
            self.kind = ALWAYS_ON
        elif _uniform(project_key) < BURSTY_SHARE:
            self.kind = BURSTY
        else:
            self.kind = STEADY
        compute_time, transfer = project.compute_time_seconds, project.data_transfer_bytes
        self.writes_per_s = project.written_data_bytes / MONTH_S if seeded else 0.0
        self.branches: list[_Branch] = []
        for outline in project.branch_outline():
            self.branches.append(self._branch(outline, project_key, seeded, compute_time, transfer))
        self.branches.sort(key=lambda b: b.id)

    def _branch(
        self,
        outline: BranchOutline,
        project_key: int,
        seeded: bool,
        compute_time: int,
        transfer: int,
    ) -> _Branch:
        key = _key(outline.id)
        mean = floor = cap = 0.0
        kind = self.kind if outline.default else DEV
        if outline.compute is not None:
            min_cu, max_cu = outline.compute
            cap = max_cu * 86400
            if outline.default and seeded and compute_time > 0:
                mean = compute_time / 30  # the billing period's counter, a day's worth
            elif outline.default and seeded:
                mean = min_cu * 3600 * (1 + 4 * _uniform(_mix(project_key)))
            else:
                # A compute made through the API, or one on a development branch: an hour or
                # two a day at its minimum size.
                mean = min_cu * 3600 * (0.5 + 1.5 * _uniform(key))
            mean = min(mean, 0.9 * cap)
            if kind == ALWAYS_ON:
                floor = min_cu * 86400
        ratio = 20_000.0  # about 72 MB per CU-hour when the project says nothing
        if outline.default and seeded and compute_time > 0 and transfer > 0:
            ratio = transfer / compute_time
        return _Branch(
            id=outline.id,
            key=key,
            root=outline.root,
            first_hour=max(self.first_hour, outline.created_us // HOUR_US),
            first_day=outline.created_us // HOUR_US // 24,
            size=outline.logical_size,
            kind=kind,
            mean=mean,
            floor=floor,
            cap=cap,
            transfer_ratio=ratio,
        )

    # ---- one branch, one day -----------------------------------------------------------------

    def _day(self, branch: _Branch, day: int) -> tuple[int, int, int, int, int, tuple]:
        """The day's compute, transfer, root bytes, child bytes and instant-restore bytes, as
        whole-day totals (storage: bytes held), and the cumulative weights of its hours."""
        z = _mix(branch.key ^ (day * 0x2545F4914F6CDD1D & _MASK))
        u1, u2 = (z & 0xFFFF) / 65536, ((z >> 16) & 0xFFFF) / 65536
        weekday = (day + 3) % 7  # 0 is Monday: 1 January 1970 was a Thursday
        kind, mean = branch.kind, branch.mean
        if kind == ALWAYS_ON:
            compute = max(branch.floor, mean * (0.9 + 0.2 * u1))
        elif kind == STEADY:
            compute = mean * (1.26 if weekday < 5 else 0.35) * (0.75 + 0.5 * u1)
        elif kind == BURSTY:
            compute = mean * (3.2 + 2 * u2 if u1 < 0.2 else 0.3 * u2)
        else:  # DEV: weekdays only
            compute = mean * (0.5 + u1) if weekday < 5 else 0.0
        compute = int(min(compute, branch.cap))
        transfer = int(compute * branch.transfer_ratio)
        if kind == BURSTY:
            start = (z >> 32) % 24
            weights = _burst(start, 1 + (z >> 40) % 4)
        else:
            weights = _pattern(STEADY if kind == DEV else kind, self.offset)

        root = child = restore = 0
        grown = min(day, self.grow_until_day) - branch.first_day + 1
        if branch.root:
            empty = min(branch.size, EMPTY_DATABASE_BYTES)
            span = max(1, self.grow_until_day - branch.first_day + 1)
            root = empty + (branch.size - empty) * max(0, min(grown, span)) // span
            # Point-in-time history: what was written within the retention window, while the
            # project was in use.
            day_end = (day + 1) * 86400
            written = min(day_end, self.active_end_s) - max(
                day_end - self.retention_s, self.created_s
            )
            writes = self.writes_per_s or branch.size * 0.02 / 86400
            restore = int(min(max(0, written) * writes, 1.5 * branch.size))
        else:
            # A child stores what it changed since it branched: a little more each day.
            child = int(branch.size * min(0.5, 0.02 * max(0, grown)))
        return compute, transfer, root, child, restore, weights

    # ---- buckets ------------------------------------------------------------------------

    def branch_series(self, edges: list[int]) -> dict[str, list[list[int]]]:
        """Branch id -> BRANCH_METRICS' values in each bucket [edges[i], edges[i + 1]) of
        hours. Each branch's day is drawn once, whatever the buckets."""
        count = len(edges) - 1
        transfer_at = PRIVATE if self.private else PUBLIC
        out = {}
        for branch in self.branches:
            rows = [[0] * len(BRANCH_METRICS) for _ in range(count)]
            out[branch.id] = rows
            lo = max(edges[0], branch.first_hour)
            hi = min(edges[-1], self.end_hour)
            active_hi = min(hi, self.active_end_hour)
            if lo >= hi:
                continue
            i = bisect.bisect_right(edges, lo) - 1  # the bucket that holds hour lo
            for day in range(lo // 24, -(-hi // 24)):
                base = day * 24
                day_lo, day_hi = max(lo, base), min(hi, base + 24)
                compute, transfer, root, child, restore, weights = self._day(branch, day)
                while edges[i + 1] <= day_lo:
                    i += 1
                j = i
                while j < count and edges[j] < day_hi:
                    a, b = max(day_lo, edges[j]), min(day_hi, edges[j + 1])
                    row = rows[j]
                    row[ROOT] += root * (b - a)
                    row[CHILD] += child * (b - a)
                    row[RESTORE] += restore * (b - a)
                    b = min(b, active_hi)
                    if a < b and compute:
                        if b - a == 24:
                            row[COMPUTE] += compute
                            row[transfer_at] += transfer
                        else:
                            row[COMPUTE] += _share(compute, weights, a - base, b - base)
                            row[transfer_at] += _share(transfer, weights, a - base, b - base)
                    j += 1
                i = j - 1  # the last bucket may go on into the next day
        return out

    def extra_branch_hours(self, start_hour: int, end_hour: int) -> int:
        """Branch-hours beyond the plan's allowance of branches per project."""
        firsts = sorted(b.first_hour for b in self.branches)
        hi = min(end_hour, self.end_hour)
        # Beyond the allowance, each branch counts from its creation on.
        return sum(max(0, hi - max(start_hour, first)) for first in firsts[self.allowance :])

    def series(self, edges: list[int]) -> list[list[int]]:
        """METRICS' values for the project in each bucket [edges[i], edges[i + 1])."""
        rows = [[0] * len(METRICS) for _ in range(len(edges) - 1)]
        for branch_rows in self.branch_series(edges).values():
            for row, branch_row in zip(rows, branch_rows, strict=True):
                for k, value in enumerate(branch_row):
                    row[k] += value
        for k, row in enumerate(rows):
            row[EXTRA] = self.extra_branch_hours(edges[k], edges[k + 1])
        return rows

    def totals(self, start_hour: int, end_hour: int) -> list[int]:
        """METRICS' values for the project over the hours [start_hour, end_hour)."""
        return self.series([start_hour, end_hour])[0]

    def describe(self) -> dict:
        """The model's reading of the project, for the control route's raw answer."""
        return {
            "kind": self.kind,
            "activity": self.activity,
            "private_networking": self.private,
            "branches": [
                {"id": b.id, "root": b.root, "kind": b.kind, "mean_cu_seconds_per_day": b.mean}
                for b in self.branches
            ],
        }
