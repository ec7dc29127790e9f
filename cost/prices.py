"""Neon's published prices (settings with these defaults, dated) and what a project's
consumption costs at them, per line item. Estimates: Neon's invoice is the truth.

Conversions, as Neon bills (FACTS.md section 12): CU-seconds / 3600 = CU-hours; storage is
reported in byte-hours, billed in decimal GB over a fixed 744-hour month (byte-hours / 744 /
10^9 = GB-months); extra branches in branch-hours, / 744 = branch-months; transfer in bytes,
/ 10^9 = GB. Public transfer is included up to 100 GB per organization a month: an allowance of
the organization, applied to its total, not to any one project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

HOURS_IN_MONTH = 744
GB = 10**9
LINES = ("compute", "storage", "history", "snapshot", "transfer", "branches")
LINE_LABELS = {
    "compute": "Compute",
    "storage": "Storage",
    "history": "Instant restore history",
    "snapshot": "Snapshots",
    "transfer": "Data transfer",
    "branches": "Extra branches",
}
# Plans whose compute is billed at Launch's rate; every other plan (Scale, Agent, Enterprise and
# older ones) at Scale's (FACTS.md 12: Agent and Enterprise use Scale rates).
LAUNCH_PLANS = ("launch",)


@dataclass(frozen=True)
class Prices:
    as_of: date
    compute_launch: Decimal  # USD per CU-hour
    compute_scale: Decimal
    storage: Decimal  # USD per GB-month (root and child branches)
    history: Decimal  # instant restore, per GB-month
    snapshot: Decimal  # per GB-month
    public_transfer: Decimal  # per GB beyond the organization's allowance
    public_allowance_gb: int  # per organization a month
    private_transfer: Decimal  # per GB
    extra_branch: Decimal  # per branch-month

    def compute_rate(self, plan: str) -> Decimal:
        base = plan.lower().split("_v")[0]
        return self.compute_launch if base in LAUNCH_PLANS else self.compute_scale


def current() -> Prices:
    c = settings.COST_PRICES
    return Prices(
        as_of=date.fromisoformat(c["as_of"]),
        **{k: Decimal(str(v)) for k, v in c.items() if k not in ("as_of", "public_allowance_gb")},
        public_allowance_gb=int(c["public_allowance_gb"]),
    )


def cents(usd: Decimal) -> int:
    return int((usd * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_items(metrics: dict[str, int], plan: str, prices: Prices) -> dict[str, Decimal]:
    """Dollars per line item for consumption `metrics` (Neon's units) on `plan`. Public
    transfer is priced in full here: the organization's allowance comes off its total."""

    def gb_month(byte_hours: int) -> Decimal:
        return Decimal(byte_hours) / HOURS_IN_MONTH / GB

    m = metrics.get
    storage = m("root_branch_bytes_month", 0) + m("child_branch_bytes_month", 0)
    return {
        "compute": Decimal(m("compute_unit_seconds", 0)) / 3600 * prices.compute_rate(plan),
        "storage": gb_month(storage) * prices.storage,
        "history": gb_month(metrics.get("instant_restore_bytes_month", 0)) * prices.history,
        "snapshot": gb_month(metrics.get("snapshot_storage_bytes_month", 0)) * prices.snapshot,
        "transfer": Decimal(metrics.get("public_network_transfer_bytes", 0)) / GB
        * prices.public_transfer
        + Decimal(metrics.get("private_network_transfer_bytes", 0)) / GB * prices.private_transfer,
        "branches": Decimal(metrics.get("extra_branches_month", 0)) / HOURS_IN_MONTH
        * prices.extra_branch,
    }  # fmt: skip


def allowance(public_bytes: int, prices: Prices) -> Decimal:
    """What the organization's included public transfer takes off its bill this month."""
    included = min(Decimal(public_bytes) / GB, Decimal(prices.public_allowance_gb))
    return included * prices.public_transfer
