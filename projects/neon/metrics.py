"""What the gateway measures, per process and, for Server-Timing, per dashboard request.

Prometheus metrics use the default registry (exposed at /metrics, aggregated across gunicorn's
workers in multiprocess mode). `RequestStats` is the one page's share: the middleware starts one
per request (`begin_request`), fan-out threads carry it along in their copied context, and the
response reports it in a `Server-Timing` header.
"""

from __future__ import annotations

import contextvars
import threading
import time
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

CALLS = Counter(
    "neonadmin_neon_requests",
    "HTTP requests sent to Neon, by route and outcome (status code or failure kind).",
    ["route", "outcome"],
)
LATENCY = Histogram(
    "neonadmin_neon_request_seconds",
    "Time for one HTTP request to Neon, by route.",
    ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0, 5.0, 15.0),
)
RATE_LIMITED = Counter(
    "neonadmin_neon_rate_limited", "429 answers from Neon (each pauses every instance)."
)
BUDGET_WAIT = Histogram(
    "neonadmin_neon_budget_wait_seconds",
    "Time a call waited for the account budget, by lane (interactive: nothing else to show; "
    "fallback: a last known answer to show instead; background).",
    ["lane"],
    buckets=(0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 30.0),
)
BUDGET_SPENT = Counter(
    "neonadmin_neon_budget_spent",
    "Calls not sent because the account budget had no room in time, by lane.",
    ["lane"],
)
BUDGET_TOKENS = Gauge(
    "neonadmin_neon_budget_tokens",
    "Requests left in the account-wide bucket when last looked at.",
    multiprocess_mode="mostrecent",
)
CACHE = Counter(
    "neonadmin_neon_cache",
    "Gateway reads by result: hit (cached), miss (sent to Neon), coalesced (shared another "
    "thread's call), stale (Neon failed, the last known answer was shown).",
    ["result"],
)


@dataclass
class RequestStats:
    """One dashboard request's dealings with Neon; threads of a fan-out add to the same one."""

    allow_stale: bool = True
    priority: str = "interactive"
    calls: int = 0
    neon_seconds: float = 0.0
    hits: int = 0
    coalesced: int = 0
    budget_seconds: float = 0.0
    stale_since: float | None = None  # wall-clock time of the oldest stale answer shown
    stale_reason: str = ""
    started: float = field(default_factory=time.perf_counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_call(self, seconds: float) -> None:
        with self._lock:
            self.calls += 1
            self.neon_seconds += seconds

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def went_stale(self, fetched_at: float, reason: str) -> None:
        with self._lock:
            if self.stale_since is None or fetched_at < self.stale_since:
                self.stale_since = fetched_at
            self.stale_reason = self.stale_reason or reason

    @property
    def stale_age(self) -> float | None:
        return None if self.stale_since is None else max(0.0, time.time() - self.stale_since)

    def server_timing(self) -> str:
        total = (time.perf_counter() - self.started) * 1000
        return ", ".join(
            [
                f'neon;dur={self.neon_seconds * 1000:.1f};desc="{self.calls} calls"',
                f'cache;desc="{self.hits} hits, {self.coalesced} coalesced"',
                f"budget;dur={self.budget_seconds * 1000:.1f}",
                f"total;dur={total:.1f}",
            ]
        )


_current: contextvars.ContextVar[RequestStats | None] = contextvars.ContextVar(
    "neon_request_stats", default=None
)


def begin_request(**options) -> tuple[RequestStats, contextvars.Token]:
    stats = RequestStats(**options)
    return stats, _current.set(stats)


def end_request(token: contextvars.Token) -> None:
    _current.reset(token)


def current() -> RequestStats:
    """This request's stats; outside a request (tasks, shells, tests) a throwaway one that
    allows no stale answers, since nobody would see the banner."""
    stats = _current.get()
    return stats if stats is not None else RequestStats(allow_stale=False)
