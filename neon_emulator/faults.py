"""Injected faults: what a flaky network, gateway or overloaded Neon would do to a request.

``POST /_emulator/faults`` takes ``{"faults": [FAULT, ...], "seed": N?}`` and replaces the whole
set. A FAULT is::

    {
      "method": "POST",                  # optional, matches any method when absent
      "path_prefix": "/api/v2/projects",  # optional, matches any /api/v2 path when absent
      # exactly one effect:
      "latency_ms": 300,                 # delay, then answer normally (latency faults add up)
      "status": 503,                     # one of 423 429 500 502 503 504, GeneralError body
      "hang": true,                      # no answer; the connection closes after hang_seconds
      "malformed": "non_json",           # or "truncated_json" or "html"
      # options:
      "count": 2,                        # affect only the next 2 matching requests
      "fraction": 0.5,                   # or a random share of them (default 1.0)
      "retry_after": 5,                  # with status: Retry-After header, in seconds
      "message": "...",                  # with status: the error message
      "hang_seconds": 30,                # with hang (default 30)
      "after_apply": false,              # status/hang/malformed only; see below
    }

By default (``after_apply`` false) a status, hang or malformed fault replaces the request before it
reaches the API: nothing is written, so an injected 503 or 423 on a POST left no project behind.
With ``after_apply: true`` the request is processed first and only then is its answer lost or
replaced: the shape of a read timeout after the server committed, which is what a client must
not blindly retry for POST. ``malformed`` with ``status`` sends that status (default 200 for
non_json/truncated_json, 502 for html). Faults apply only to /api/v2 requests, never to
/_emulator routes. The first matching non-latency fault that fires wins.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from neon_emulator.errors import ApiError

FAULT_STATUSES = (423, 429, 500, 502, 503, 504)
MALFORMED = ("non_json", "truncated_json", "html")
EFFECTS = ("latency_ms", "status", "hang", "malformed")
KNOWN_KEYS = {
    "method",
    "path_prefix",
    *EFFECTS,
    "count",
    "fraction",
    "retry_after",
    "message",
    "hang_seconds",
    "after_apply",
}


@dataclass
class Fault:
    method: str | None = None
    path_prefix: str | None = None
    latency_ms: int | None = None
    status: int | None = None
    hang: bool = False
    malformed: str | None = None
    count: int | None = None
    fraction: float = 1.0
    retry_after: int | None = None
    message: str | None = None
    hang_seconds: float = 30.0
    after_apply: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)

    def fires(self, rng: random.Random) -> bool:
        if self.count is not None:
            self.count -= 1
            return True
        return self.fraction >= 1.0 or rng.random() < self.fraction

    def as_json(self) -> dict:
        out = {}
        for key in (
            "method",
            "path_prefix",
            "latency_ms",
            "status",
            "malformed",
            "count",
            "retry_after",
            "message",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.latency_ms is None:
            out["after_apply"] = self.after_apply
        if self.hang:
            out["hang"] = True
            out["hang_seconds"] = self.hang_seconds
        if self.count is None:
            out["fraction"] = self.fraction
        return out


def _bad(index: int, message: str) -> ApiError:
    return ApiError(400, f"faults[{index}]: {message}")


def parse_fault(raw, index: int) -> Fault:
    if not isinstance(raw, dict):
        raise _bad(index, "expected object")
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise _bad(index, f"unknown field(s) {', '.join(sorted(unknown))}")
    effects = [key for key in EFFECTS if raw.get(key) not in (None, False)]
    if "malformed" in effects and "status" in effects:
        effects.remove("status")  # with malformed, status is the status line of the bad answer
    if len(effects) != 1:
        raise _bad(index, f"exactly one effect required, one of {', '.join(EFFECTS)}")
    fault = Fault()
    if "method" in raw:
        if not isinstance(raw["method"], str) or not raw["method"]:
            raise _bad(index, "method must be a string such as POST")
        fault.method = raw["method"].upper()
    if "path_prefix" in raw:
        if not isinstance(raw["path_prefix"], str) or not raw["path_prefix"].startswith("/"):
            raise _bad(index, "path_prefix must be a string starting with /")
        fault.path_prefix = raw["path_prefix"]
    effect = effects[0]
    if effect == "latency_ms":
        if type(raw["latency_ms"]) is not int or not 0 <= raw["latency_ms"] <= 600_000:
            raise _bad(index, "latency_ms must be an integer 0..600000")
        fault.latency_ms = raw["latency_ms"]
    elif effect == "status":
        if raw["status"] not in FAULT_STATUSES or type(raw["status"]) is not int:
            raise _bad(index, f"status must be one of {FAULT_STATUSES}")
        fault.status = raw["status"]
    elif effect == "hang":
        if raw["hang"] is not True:
            raise _bad(index, "hang must be true")
        fault.hang = True
    else:
        if raw["malformed"] not in MALFORMED:
            raise _bad(index, f"malformed must be one of {', '.join(MALFORMED)}")
        fault.malformed = raw["malformed"]
        if "status" in raw:
            if type(raw["status"]) is not int or raw["status"] not in (200, *FAULT_STATUSES):
                raise _bad(index, f"status with malformed must be 200 or one of {FAULT_STATUSES}")
            fault.status = raw["status"]
    if "count" in raw:
        if type(raw["count"]) is not int or raw["count"] < 1:
            raise _bad(index, "count must be a positive integer")
        fault.count = raw["count"]
    if "fraction" in raw:
        if "count" in raw:
            raise _bad(index, "give count or fraction, not both")
        if type(raw["fraction"]) not in (int, float) or not 0 <= raw["fraction"] <= 1:
            raise _bad(index, "fraction must be a number 0..1")
        fault.fraction = float(raw["fraction"])
    if "retry_after" in raw:
        if "status" not in raw:
            raise _bad(index, "retry_after goes with status")
        if type(raw["retry_after"]) is not int or raw["retry_after"] < 0:
            raise _bad(index, "retry_after must be a non-negative integer (seconds)")
        fault.retry_after = raw["retry_after"]
    if "message" in raw:
        if effect != "status" or not isinstance(raw["message"], str):
            raise _bad(index, "message must be a string and goes with status")
        fault.message = raw["message"]
    if "hang_seconds" in raw:
        if effect != "hang":
            raise _bad(index, "hang_seconds goes with hang")
        if type(raw["hang_seconds"]) not in (int, float) or not 0 <= raw["hang_seconds"] <= 600:
            raise _bad(index, "hang_seconds must be a number 0..600")
        fault.hang_seconds = float(raw["hang_seconds"])
    if "after_apply" in raw:
        if effect == "latency_ms":
            raise _bad(index, "after_apply goes with status, hang or malformed")
        if type(raw["after_apply"]) is not bool:
            raise _bad(index, "after_apply must be a boolean")
        fault.after_apply = raw["after_apply"]
    return fault


def parse_faults(body) -> tuple[list[Fault], int | None]:
    if not isinstance(body, dict) or not isinstance(body.get("faults"), list):
        raise ApiError(400, 'expected {"faults": [...]}')
    unknown = set(body) - {"faults", "seed"}
    if unknown:
        raise ApiError(400, f"unknown field(s) {', '.join(sorted(unknown))}")
    seed = body.get("seed")
    if seed is not None and type(seed) is not int:
        raise ApiError(400, "seed must be an integer")
    return [parse_fault(raw, i) for i, raw in enumerate(body["faults"])], seed
