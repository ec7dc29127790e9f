"""Neon's API rate limits, enforced only when asked (``--rate-limit``, ``--burst``).

Neon documents two limits on its API: an account budget (700 requests a minute) and a burst
limit per route (40 requests a second). The emulator can enforce both, each given as ``N/s``,
``N/min`` or ``N/h``:

- ``rate_limit``: per API key, over every ``/api/v2`` route together;
- ``burst``: per API key and per route, a route being the method and the path template, the
  key ``/_emulator/stats`` counts under (``GET /api/v2/projects/{project_id}``).

Both are sliding windows (1 s, 60 s or 3600 s): a request is accepted when fewer than N
requests were accepted in the window before it, for every limit that applies. A refused request
counts against nothing, so a client that keeps retrying too fast is not locked out for longer.
Its ``Retry-After`` is the whole seconds until enough accepted requests leave the window (the
ceiling, at least 1). The API key is the bearer token as sent, so requests without a key share
one budget (they get 401 anyway, when they are not refused first).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from neon_emulator.errors import ApiError

WINDOWS = {"s": 1.0, "min": 60.0, "h": 3600.0}
_RATE = re.compile(r"([1-9][0-9]{0,8})/(s|min|h)")


@dataclass(frozen=True)
class Rate:
    """At most ``count`` accepted requests in any ``window`` seconds."""

    count: int
    unit: str

    @property
    def window(self) -> float:
        return WINDOWS[self.unit]

    def __str__(self) -> str:
        return f"{self.count}/{self.unit}"


def parse_rate(value, name: str) -> Rate | None:
    """``"700/min"`` → Rate(700, "min"); None (or absent) means no limit; anything else is a 400."""
    if value is None:
        return None
    if isinstance(value, Rate):
        return value
    match = _RATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ApiError(
            400,
            f"{name}: expected N/s, N/min or N/h with N a positive integer "
            f"(such as 700/min), got {value!r}",
        )
    return Rate(int(match.group(1)), match.group(2))


class RateLimiter:
    """The windows of accepted requests, per key and per (key, route). Thread-safe."""

    def __init__(
        self,
        rate_limit: Rate | None = None,
        burst: Rate | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.rate_limit = rate_limit
        self.burst = burst
        self._accounts: dict[str, deque[float]] = {}
        self._routes: dict[tuple[str, str], deque[float]] = {}

    @property
    def enabled(self) -> bool:
        return self.rate_limit is not None or self.burst is not None

    def configure(self, rate_limit: Rate | None, burst: Rate | None) -> None:
        """Set both limits; every window starts empty."""
        with self._lock:
            self.rate_limit = rate_limit
            self.burst = burst
            self._accounts.clear()
            self._routes.clear()

    def clear(self) -> None:
        """Empty every window, keeping the limits."""
        with self._lock:
            self._accounts.clear()
            self._routes.clear()

    def as_json(self) -> dict:
        with self._lock:
            return {
                "rate_limit": None if self.rate_limit is None else str(self.rate_limit),
                "burst": None if self.burst is None else str(self.burst),
            }

    def check(self, key: str, route: str) -> int | None:
        """Accept (and record) a request, returning None, or refuse it: seconds to wait."""
        with self._lock:
            if self.rate_limit is None and self.burst is None:
                return None
            now = self._clock()
            windows = []
            if self.rate_limit is not None:
                windows.append((self.rate_limit, self._accounts.setdefault(key, deque())))
            if self.burst is not None:
                windows.append((self.burst, self._routes.setdefault((key, route), deque())))
            wait = 0.0
            for rate, accepted in windows:
                while accepted and accepted[0] <= now - rate.window:
                    accepted.popleft()
                if len(accepted) >= rate.count:
                    # Room comes back when the Nth newest accepted request leaves the window.
                    wait = max(wait, accepted[-rate.count] + rate.window - now)
            if wait > 0:
                return max(1, math.ceil(wait))
            for _, accepted in windows:
                accepted.append(now)
            return None
