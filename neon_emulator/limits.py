"""Neon's documented compute limits: what the service refuses beyond the published spec.

The spec says only that a compute unit (CU) is at least 0.25. Neon's documentation ("Compute
size and autoscaling configuration", "Enable Autoscaling in Neon") gives the rules its service
enforces, and the emulator enforces them the same way, with a 400 whose message names the rule:

- min CU ≤ max CU;
- the ``k8s-pod`` provisioner cannot autoscale: min = max;
- autoscaling (min < max) goes from 0.25 to 16 CU, and max - min is at most 8 CU;
- a fixed size (min = max) goes up to 56 CU;
- above 16 CU a compute cannot scale to zero: ``suspend_timeout_seconds`` must be -1 (never);
- the account's plan ceiling, ``max_autoscaling_limit`` of ``GET /users/me`` (0 = none).

They apply to the compute a request would leave behind: on create, to the values sent with the
defaults filled in; on update, to the stored settings merged with the sent ones, so a PATCH that
sends only a max is checked against the stored min.

There is no step rule. Neon's console offers 0.25, 0.5, 1, 2, ..., but the API takes any value
of at least 0.25 (0.75, 7.5, 11 and 13 are all valid). Not enforced either: older docs' "when
max > 10, min ≥ max / 8", which current docs no longer state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from neon_emulator.errors import ApiError

MIN_CU = 0.25
MAX_AUTOSCALING_CU = 16
MAX_SPREAD_CU = 8
MAX_FIXED_CU = 56
NEVER_SUSPEND = -1
# The plan ceiling of the emulated account ("launch", a paid plan): Neon's paid plans autoscale
# to 16 CU, the Free plan to 2.
DEFAULT_CEILING = 16
DEFAULT_MIN_CU = 0.25
DEFAULT_MAX_CU = 2

MIN_FIELD = "autoscaling_limit_min_cu"
MAX_FIELD = "autoscaling_limit_max_cu"
SUSPEND_FIELD = "suspend_timeout_seconds"


@dataclass(frozen=True)
class Compute:
    """The size and suspend setting a project's computes get."""

    min_cu: float
    max_cu: float
    suspend_timeout_seconds: int = 0

    @property
    def fixed(self) -> bool:
        return self.min_cu == self.max_cu


def _cu(value: float) -> str:
    return f"{value:g}"


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def ceiling_value(value, where: str) -> float:
    """A plan ceiling as the control API and the command line take it: 0 (none) or ≥ 0.25."""
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _bad(f"{where}: expected a number of CU (0 means no limit)")
    if value != 0 and value < MIN_CU:
        raise _bad(f"{where}: must be 0 (no limit) or at least {MIN_CU} CU")
    return int(value) if float(value).is_integer() else float(value)


def fixed_sizes_capped(ceiling: float) -> bool:
    """Whether the plan ceiling also caps fixed sizes.

    The ceiling always caps an autoscaling max. Fixed sizes above 16 CU are a paid-plan feature
    that Neon offers whatever the autoscaling ceiling, so a ceiling of 16 CU or more (a paid
    plan) leaves fixed sizes to the 56 CU rule; a lower one (the Free plan's 2 CU) caps them too,
    as no plan that cannot autoscale to 16 CU runs a bigger fixed compute.
    """
    return bool(ceiling) and ceiling < MAX_AUTOSCALING_CU


def allowed_max(compute_fixed: bool, ceiling: float) -> float:
    """The largest max CU the account may set for a fixed or an autoscaling compute."""
    hard = MAX_FIXED_CU if compute_fixed else MAX_AUTOSCALING_CU
    if ceiling and (not compute_fixed or fixed_sizes_capped(ceiling)):
        return min(hard, ceiling)
    return hard


def for_create(spec: dict, *, provisioner: str, ceiling: float) -> Compute:
    """The compute a validated create body asks for, with Neon's defaults filled in.

    ``default_endpoint_settings`` wins over the deprecated top-level fields. Defaults: min
    0.25 CU; max 2 CU (lowered to the plan ceiling) or the min when that is larger. With
    ``k8s-pod``, which only runs fixed sizes, a missing side copies the other (0.25 CU when
    neither is given).
    """
    des = spec.get("default_endpoint_settings") or {}
    lo = des.get(MIN_FIELD, spec.get(MIN_FIELD))
    hi = des.get(MAX_FIELD, spec.get(MAX_FIELD))
    if provisioner == "k8s-pod" and lo is None:
        lo = hi
    if lo is None:
        lo = DEFAULT_MIN_CU
    if provisioner == "k8s-pod" and hi is None:
        hi = lo
    if hi is None:
        default_max = min(DEFAULT_MAX_CU, ceiling) if ceiling else DEFAULT_MAX_CU
        hi = max(default_max, lo)
    return Compute(lo, hi, des.get(SUSPEND_FIELD, 0))


def for_update(current: dict, update: dict) -> Compute:
    """Stored ``default_endpoint_settings`` merged with the ones a PATCH sends."""
    merged = {**current, **update}
    return Compute(merged[MIN_FIELD], merged[MAX_FIELD], merged.get(SUSPEND_FIELD, 0))


def check(compute: Compute, *, provisioner: str, ceiling: float) -> None:
    """Refuse, with a 400 naming the rule, a compute Neon would not run."""
    lo, hi = compute.min_cu, compute.max_cu
    if lo > hi:
        raise _bad(f"{MIN_FIELD} ({_cu(lo)}) must be less than or equal to {MAX_FIELD} ({_cu(hi)})")
    if provisioner == "k8s-pod" and not compute.fixed:
        raise _bad(
            f"the k8s-pod provisioner cannot autoscale: {MIN_FIELD} ({_cu(lo)}) must equal "
            f"{MAX_FIELD} ({_cu(hi)}); autoscaling needs k8s-neonvm"
        )
    if compute.fixed and hi > MAX_FIXED_CU:
        raise _bad(
            f"{MAX_FIELD}: a fixed-size compute ({MIN_FIELD} = {MAX_FIELD}) can be at most "
            f"{MAX_FIXED_CU} CU, got {_cu(hi)}"
        )
    if not compute.fixed:
        if hi > MAX_AUTOSCALING_CU:
            raise _bad(
                f"{MAX_FIELD}: autoscaling goes from {MIN_CU} to {MAX_AUTOSCALING_CU} CU, got "
                f"{_cu(hi)}; above {MAX_AUTOSCALING_CU} CU only a fixed size ({MIN_FIELD} = "
                f"{MAX_FIELD}) of up to {MAX_FIXED_CU} CU is possible"
            )
        # Decimal: 8.3 - 0.3 is 8.000000000000002 in binary floating point.
        spread = Decimal(str(hi)) - Decimal(str(lo))
        if spread > MAX_SPREAD_CU:
            raise _bad(
                f"{MAX_FIELD} - {MIN_FIELD} can be at most {MAX_SPREAD_CU} CU, got "
                f"{_cu(hi)} - {_cu(lo)} = {spread.normalize():f}"
            )
    if hi > allowed_max(compute.fixed, ceiling):
        raise _bad(
            f"{MAX_FIELD} ({_cu(hi)}) exceeds the plan's limit of {_cu(ceiling)} CU "
            "(max_autoscaling_limit in GET /users/me)"
        )
    if hi > MAX_AUTOSCALING_CU and compute.suspend_timeout_seconds != NEVER_SUSPEND:
        got = compute.suspend_timeout_seconds
        what = "0 (the default: suspend after 300 s)" if got == 0 else str(got)
        raise _bad(
            f"{SUSPEND_FIELD}: a compute above {MAX_AUTOSCALING_CU} CU cannot scale to zero; "
            f"set it to -1 (never suspend), got {what}"
        )


def fit(min_cu: float, max_cu: float, ceiling: float) -> tuple[float, float]:
    """A seeded size lowered to fit the plan ceiling, so that every seeded project is valid."""
    top = allowed_max(min_cu == max_cu, ceiling)
    if max_cu <= top:
        return min_cu, max_cu
    return min(min_cu, top), top
