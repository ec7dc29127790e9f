"""Neon's compute size rules, as its documentation states them (the spec says only CU ≥ 0.25).

Sources, checked December 2026 (../shared/neon-api/FACTS.md, "Product limits"): neon.com/docs
"Enable Autoscaling in Neon" and "Compute size and autoscaling configuration":
- autoscaling ranges from 0.25 to 16 CU, and max - min is at most 8 CU;
- a fixed size (min = max) goes up to 56 CU, and above 16 CU a compute is always on;
- the account's plan ceiling is `GET /users/me` → `max_autoscaling_limit` (0 = none);
- autoscaling needs the k8s-neonvm provisioner: with k8s-pod, min = max.
The older rule "when max > 10, min ≥ max / 8" is implied by the 8 CU width within 16 CU
(max 16 needs min ≥ 8 ≥ 2), so it needs no check of its own.

Neon's answer wins where it ever disagrees: these checks only spare the operator a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_CU = 0.25
MAX_AUTOSCALING_CU = 16
MAX_RANGE_WIDTH_CU = 8
MAX_FIXED_CU = 56
# The sizes the selects offer; any other value Neon holds is shown as its own option.
CU_STEPS = (
    0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
    30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56,
)  # fmt: skip
NO_AUTOSCALING_PROVISIONERS = frozenset({"k8s-pod"})

MSG_CU_MIN_ABOVE_MAX = "The minimum compute size must not be larger than the maximum."
MSG_CU_BOTH = "Choose both a minimum and a maximum compute size, or neither."
MSG_CU_TOO_SMALL = "Neon's smallest compute is 0.25 CU."
MSG_CU_AUTOSCALING_MAX = (
    "Autoscaling goes up to 16 CU. For a larger compute choose a fixed size: the same minimum "
    "and maximum."
)
MSG_CU_RANGE_WIDTH = (
    "Neon allows at most 8 CU between the minimum and the maximum: with a minimum of "
    "%(min)s CU the maximum can be at most %(max)s CU."
)
MSG_CU_FIXED_MAX = "A fixed-size compute can be at most 56 CU."
MSG_CU_ALWAYS_ON = "Computes larger than 16 CU cannot scale to zero: choose “Never suspend”."
MSG_CU_PLAN = "This Neon account's plan allows computes up to %(limit)s CU."
MSG_CU_POD = (
    "Projects on the k8s-pod provisioner cannot autoscale: choose the same minimum and maximum."
)


@dataclass(frozen=True)
class ComputeLimits:
    """What this account may choose: the plan ceiling from `GET /users/me` (0 = none)."""

    plan_max_cu: float = 0

    @property
    def largest(self) -> float:
        """The largest size any compute of this account can have."""
        if self.plan_max_cu and self.plan_max_cu < MAX_AUTOSCALING_CU:
            return self.plan_max_cu
        return MAX_FIXED_CU

    def steps(self) -> list[float]:
        return [cu for cu in CU_STEPS if cu <= self.largest]

    def errors(
        self, low: float | None, high: float | None, *, suspend: int | None, provisioner: str
    ) -> list[tuple[str, str]]:
        """(field, message) for each rule the range breaks; the fields are the form's names."""
        if low is None and high is None:
            return []
        if low is None or high is None:
            return [("autoscaling_limit_max_cu", MSG_CU_BOTH)]
        if low < MIN_CU or high < MIN_CU:
            return [("autoscaling_limit_min_cu", MSG_CU_TOO_SMALL)]
        if low > high:
            return [("autoscaling_limit_max_cu", MSG_CU_MIN_ABOVE_MAX)]
        found: list[tuple[str, str]] = []
        fixed = low == high
        if fixed and high > MAX_FIXED_CU:
            found.append(("autoscaling_limit_max_cu", MSG_CU_FIXED_MAX))
        elif not fixed and high > MAX_AUTOSCALING_CU:
            found.append(("autoscaling_limit_max_cu", MSG_CU_AUTOSCALING_MAX))
        elif not fixed and high - low > MAX_RANGE_WIDTH_CU:
            widest = f"{low + MAX_RANGE_WIDTH_CU:g}"
            message = MSG_CU_RANGE_WIDTH % {"min": f"{low:g}", "max": widest}
            found.append(("autoscaling_limit_max_cu", message))
        if high > self.largest:  # only a plan below 16 CU is lower than the rules above
            found.append(("autoscaling_limit_max_cu", MSG_CU_PLAN % {"limit": f"{self.largest:g}"}))
        if not fixed and provisioner in NO_AUTOSCALING_PROVISIONERS:
            found.append(("autoscaling_limit_max_cu", MSG_CU_POD))
        if high > MAX_AUTOSCALING_CU and suspend is not None and suspend != -1:
            found.append(("suspend_mode", MSG_CU_ALWAYS_ON))
        return found
