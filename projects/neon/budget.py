"""The account budget: every instance's calls to Neon draw from one pair of token buckets.

Neon limits an account (about 700 requests a minute, bursts of 40 a second per route) and the
Neon Console and scripts on the same account draw from the same allowance. The dashboard keeps
to its configured share (`NEON_RATE_LIMIT`, `NEON_ROUTE_BURST`) with two buckets per call: one
for the account, one for the route. The buckets are sized so that no window can exceed the
share, whichever way Neon counts: the account bucket holds a tenth of a minute's share (any 60 s
then carries at most 1.1 times the share), the route bucket a third of the burst and refills at
two thirds of it (any second carries at most the burst).

Three lanes share the buckets. A call for an operator's page with nothing else to show (a read
never answered before, a write, a secret) may take the last token and waits up to `max_wait`.
A read for a page that has a last known answer to show instead (inside `fallback()`, as the
gateway makes them) leaves a few tokens for those and waits `interactive_wait`, then the page
shows that answer with its age. Background work (fleet sync, bulk changes) leaves a larger
reserve and waits as long as it takes. So when operators ask for more than the budget holds, the
pages that would otherwise fail are served first, and the rest from their last answer. A 429
from Neon pauses every instance until its Retry-After.

With Redis (`REDIS_URL`) the buckets and the pause live there, updated atomically by one Lua
script on Redis's clock, so all instances share them. Without Redis, or while it cannot be
reached, each process keeps its own buckets at `NEON_BUDGET_LOCAL_SHARE` of the rates when Redis
was meant to share them (other instances are spending too), or the whole share when there is
only this process to think of.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from neonadmin.cache import redis_breaker, redis_client
from projects.neon.errors import NeonBudgetSpent
from projects.neon.metrics import BUDGET_SPENT, BUDGET_TOKENS, BUDGET_WAIT

logger = logging.getLogger(__name__)

BACKGROUND_RESERVE = 0.3  # of the account bucket, kept for operators' pages
FALLBACK_RESERVE = 0.05  # of the account bucket, kept for pages with nothing else to show
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$", re.I)
_PERIOD = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}


@dataclass(frozen=True)
class Rate:
    count: float
    per_seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.per_seconds

    def __str__(self) -> str:
        return f"{self.count:g}/{self.per_seconds:g}s"


def parse_rate(value: str, name: str = "rate") -> Rate:
    """'600/min' -> Rate(600, 60). Raises ValueError with a message naming the setting."""
    match = _RATE.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{name} must look like 600/min, 30/s or 20000/h, not {value!r}.")
    return Rate(float(match.group(1)), _PERIOD.get(match.group(2).lower(), 3600))


@dataclass(frozen=True)
class Bucket:
    rate: float  # tokens per second
    capacity: float

    def scaled(self, share: float) -> Bucket:
        return Bucket(self.rate * share, max(1.0, self.capacity * share))


def buckets_for(account: Rate, route: Rate) -> tuple[Bucket, Bucket]:
    return (
        Bucket(account.per_second, max(1.0, account.per_second * 6)),  # a tenth of a minute
        Bucket(route.per_second * 2 / 3, max(1.0, route.count / 3)),
    )


# KEYS: account bucket, route bucket, pause. ARGV: account rate, capacity, reserve, route rate,
# capacity. Returns {granted, wait_ms, account_tokens_left*1000}.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1e6
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return {0, paused, -1} end
local function level(key, rate, cap)
  local v = redis.call('HMGET', key, 't', 'ts')
  local t = tonumber(v[1]) or cap
  local ts = tonumber(v[2]) or now
  return math.min(cap, t + math.max(0, now - ts) * rate)
end
local ar, ac, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local rr, rc = tonumber(ARGV[4]), tonumber(ARGV[5])
local a = level(KEYS[1], ar, ac)
local r = level(KEYS[2], rr, rc)
local wait = 0
if a - 1 < reserve then wait = math.max(wait, (reserve + 1 - a) / ar) end
if r < 1 then wait = math.max(wait, (1 - r) / rr) end
local granted = 0
if wait == 0 then a = a - 1; r = r - 1; granted = 1 end
redis.call('HSET', KEYS[1], 't', tostring(a), 'ts', tostring(now))
redis.call('HSET', KEYS[2], 't', tostring(r), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
redis.call('EXPIRE', KEYS[2], 600)
return {granted, math.ceil(wait * 1000), math.floor(a * 1000)}
"""


class _LocalBuckets:
    """The same arithmetic in one process, for when there is no Redis to share it through."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._levels: dict[str, tuple[float, float]] = {}
        self._paused_until = 0.0

    def _level(self, key: str, bucket: Bucket, now: float) -> float:
        tokens, ts = self._levels.get(key, (bucket.capacity, now))
        return min(bucket.capacity, tokens + max(0.0, now - ts) * bucket.rate)

    def take(self, route: str, account: Bucket, per_route: Bucket, reserve: float):
        with self._lock:
            now = time.monotonic()
            if now < self._paused_until:
                return False, self._paused_until - now, None
            a = self._level("account", account, now)
            r = self._level(route, per_route, now)
            wait = 0.0
            if a - 1 < reserve:
                wait = max(wait, (reserve + 1 - a) / account.rate)
            if r < 1:
                wait = max(wait, (1 - r) / per_route.rate)
            if wait == 0:
                a, r = a - 1, r - 1
            self._levels["account"] = (a, now)
            self._levels[route] = (r, now)
            return wait == 0, wait, a

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


_fallback: contextvars.ContextVar[bool] = contextvars.ContextVar("neon_fallback", default=False)


@contextlib.contextmanager
def fallback() -> Iterator[None]:
    """Calls made inside may be refused sooner: the caller has a last known answer to show."""
    token = _fallback.set(True)
    try:
        yield
    finally:
        _fallback.reset(token)


class Budget:
    """`acquire(route)` before every HTTP request to Neon; `pause(s)` after a 429."""

    def __init__(
        self,
        *,
        rate: Rate,
        route_burst: Rate,
        shared: bool = False,
        local_share: float = 0.5,
        interactive_wait: float = 2.0,
        max_wait: float = 8.0,
        prefix: str = "neon:budget",
    ) -> None:
        self.account, self.route = buckets_for(rate, route_burst)
        self.interactive_wait = interactive_wait
        self.max_wait = max(max_wait, interactive_wait)
        self.prefix = prefix
        share = local_share if shared else 1.0
        self._local_account = self.account.scaled(share)
        self._local_route = self.route.scaled(share)
        self._local = _LocalBuckets()
        # Redis is the cache's (neonadmin/cache.py): same server, pool, timeouts and breaker,
        # so a dead Redis is noticed, and logged, once for both.
        self._shared = shared
        self._script = None

    def acquire(self, route: str, *, priority: str = "interactive") -> float:
        """Wait for room for one request on `route`; return the seconds waited. Interactive
        callers wait at most `max_wait`, or `interactive_wait` inside `fallback()`; background
        ones as long as it takes. Raises NeonBudgetSpent rather than send a request the budget
        has no room for."""
        lane = "background" if priority == "background" else "interactive"
        if lane == "interactive" and _fallback.get():
            lane = "fallback"
        started = time.monotonic()
        patience = {"interactive": self.max_wait, "fallback": self.interactive_wait}.get(lane)
        deadline = None if patience is None else started + patience
        while True:
            granted, wait = self._take(route, lane)
            if granted:
                waited = time.monotonic() - started
                BUDGET_WAIT.labels(lane).observe(waited)
                return waited
            now = time.monotonic()
            if deadline is not None and now + wait > deadline:
                BUDGET_SPENT.labels(lane).inc()
                raise NeonBudgetSpent(retry_after=wait)
            time.sleep(min(max(wait, 0.005), 1.0))

    def pause(self, seconds: float) -> None:
        """Neon said 429: nobody sends anything for `seconds`."""
        seconds = max(0.0, seconds)
        self._local.pause(seconds)
        client = self._redis()
        if client is not None:
            try:
                client.set(f"{self.prefix}:paused", "1", px=max(1, int(seconds * 1000)))
            except redis.RedisError as exc:
                redis_breaker.failed(exc)
            else:
                redis_breaker.succeeded()

    def _take(self, route: str, lane: str) -> tuple[bool, float]:
        share = {"background": BACKGROUND_RESERVE, "fallback": FALLBACK_RESERVE}.get(lane, 0.0)
        client = self._redis()
        if client is not None:
            reserve = self.account.capacity * share
            keys = [f"{self.prefix}:account", f"{self.prefix}:route:{route}"]
            keys.append(f"{self.prefix}:paused")
            args = [self.account.rate, self.account.capacity, reserve]
            args += [self.route.rate, self.route.capacity]
            try:
                if self._script is None:
                    self._script = client.register_script(_TAKE)
                granted, wait_ms, tokens = self._script(keys=keys, args=args, client=client)
            except redis.RedisError as exc:
                redis_breaker.failed(exc)
            else:
                redis_breaker.succeeded()
                if tokens >= 0:
                    BUDGET_TOKENS.set(tokens / 1000)
                return bool(granted), wait_ms / 1000
        reserve = self._local_account.capacity * share
        granted, wait, tokens = self._local.take(
            route, self._local_account, self._local_route, reserve
        )
        if tokens is not None:
            BUDGET_TOKENS.set(tokens)
        return granted, wait

    def _redis(self) -> redis.Redis | None:
        """The shared Redis, or None to do without it (none configured, or down for now)."""
        if not self._shared or redis_breaker.is_open():
            return None
        return redis_client()
