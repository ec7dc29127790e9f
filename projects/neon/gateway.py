"""What sits between the endpoint methods and the transport: a short shared cache, coalescing of
identical concurrent reads, the last known answer for when Neon fails, and fan-out.

- `read(name, args, fetch, ttl=, scope=)`: a cached read. A fresh copy (younger than `ttl`) is
  served without calling Neon; otherwise one thread per process calls and the others wait for
  its answer. Every successful answer is also kept as the last known one, for
  `NEON_STALE_SECONDS`: when Neon is unreachable, failing, or the budget has no room, a read
  made for an operator's page (never for a write) returns it, and the page says how old it is.
  Such a read waits only briefly for budget, behind calls with nothing to show instead; if it
  turns out to have no last known answer, it asks again at the head of the line.
- `invalidate(scope)`: after a write, every cached read of that project is forgotten at once
  (its generation changes), on every instance that shares the cache.
- `together(*calls)`: independent calls at once, on a shared pool, each in a copy of the
  caller's context so the page's stats and priority go along.

The cache is Django's default cache: Redis when `REDIS_URL` is set (shared by every instance;
a dead Redis reads as a miss, see neonadmin/cache.py), memory otherwise. Secrets never pass
through here: connection URIs and passwords are fetched directly.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.core.cache import cache

from projects.neon.budget import fallback
from projects.neon.errors import NeonBudgetSpent, NeonRateLimited, NeonUnavailable
from projects.neon.metrics import CACHE, current

# What a stale answer may stand in for: Neon not answering, or no room to ask it.
STALE_OK = (NeonUnavailable, NeonRateLimited)
PREFIX = "neon:gw"

# One pool per process, whichever client uses it: tests and settings changes make new clients,
# and each would otherwise leave its idle threads behind.
_pool_lock = threading.Lock()
_shared_pool: ThreadPoolExecutor | None = None
_in_pool = threading.local()


def _pool(threads: int) -> ThreadPoolExecutor:
    global _shared_pool
    with _pool_lock:
        if _shared_pool is None:
            _shared_pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="neon")
        return _shared_pool


class Gateway:
    def __init__(self, *, stale_seconds: int = 86400, threads: int = 16) -> None:
        self.stale_seconds = stale_seconds
        self._flights: dict[str, Future] = {}
        self._flights_lock = threading.Lock()
        self._threads = max(1, threads)
        self._in_pool = _in_pool

    # --- Reads -------------------------------------------------------------------------------

    def read[T](
        self,
        name: str,
        args: tuple[Hashable, ...],
        fetch: Callable[[], T],
        *,
        ttl: float = 0,
        scope: str = "account",
        keep_last: bool = True,
    ) -> T:
        """`keep_last=False`: no last known copy (a later page of a list, which costs a few ms
        to store at 400 rows and which nobody lands on after an outage)."""
        stats = current()
        # Hashed: arguments (a search, a cursor) may hold anything a cache key must not.
        arg_key = hashlib.sha256(repr(args).encode()).hexdigest()[:24]
        generation = cache.get(f"{PREFIX}:gen:{scope}") or "0"
        key = f"{PREFIX}:{scope}:{generation}:{name}:{arg_key}"
        if ttl > 0:
            cached = cache.get(key)
            if cached is not None:
                CACHE.labels("hit").inc()
                stats.add(hits=1)
                return cached[1]
        # Only a read that keeps a last known answer can have one to show instead.
        may_fall_back = stats.allow_stale and keep_last
        try:
            with fallback() if may_fall_back else contextlib.nullcontext():
                value, leader = self._coalesced(key, fetch)
        except STALE_OK as exc:
            last = cache.get(f"{PREFIX}:last:{name}:{arg_key}") if may_fall_back else None
            if last is None and isinstance(exc, NeonBudgetSpent) and may_fall_back:
                # Nothing to show instead: ask again at the head of the line, waiting longer.
                value, leader = self._coalesced(key, fetch)
            elif last is None:
                raise
            else:
                CACHE.labels("stale").inc()
                stats.went_stale(last[0], str(exc))
                return last[1]
        if not leader:
            CACHE.labels("coalesced").inc()
            stats.add(coalesced=1)
            return value
        CACHE.labels("miss").inc()
        entry = (time.time(), value)
        if ttl > 0:
            cache.set(key, entry, ttl)
        if keep_last:
            cache.set(f"{PREFIX}:last:{name}:{arg_key}", entry, self.stale_seconds)
        return value

    def _coalesced[T](self, key: str, fetch: Callable[[], T]) -> tuple[T, bool]:
        """Run `fetch` unless another thread of this process is already running it for `key`;
        then wait for that one's answer (or its error). Returns (value, whether we ran it)."""
        with self._flights_lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = Future()
        if not leader:
            return flight.result(), False
        try:
            value = fetch()
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(value)
            return value, True
        finally:
            with self._flights_lock:
                self._flights.pop(key, None)

    def invalidate(self, *scopes: str) -> None:
        """Forget every cached read of these scopes (project IDs, or "account")."""
        for scope in scopes:
            cache.set(f"{PREFIX}:gen:{scope}", uuid.uuid4().hex[:12], None)

    # --- Fan-out -----------------------------------------------------------------------------

    def together(self, *calls: Callable[[], Any]) -> list[Any]:
        """Run independent calls at once and return their results in order; the first error
        (in call order) is raised once all have finished. The caller's thread runs the first
        call itself. Inside a pool thread the calls run one after another, so a fan-out
        within a fan-out can never wait on a pool it has filled."""
        if len(calls) <= 1 or getattr(self._in_pool, "active", False):
            return [call() for call in calls]
        futures = [self.submit(call) for call in calls[1:]]
        outcomes: list[tuple[bool, Any]] = []
        try:
            outcomes.append((True, calls[0]()))
        except Exception as exc:
            outcomes.append((False, exc))
        for future in futures:
            try:
                outcomes.append((True, future.result()))
            except Exception as exc:
                outcomes.append((False, exc))
        for ok, outcome in outcomes:
            if not ok:
                raise outcome
        return [outcome for _, outcome in outcomes]

    def submit[T](self, call: Callable[[], T]) -> Future[T]:
        """Start `call` on the pool now; `.result()` later. Carries the caller's context."""
        context = contextvars.copy_context()

        def run() -> T:
            self._in_pool.active = True
            try:
                return context.run(call)
            finally:
                self._in_pool.active = False

        if getattr(self._in_pool, "active", False):
            done: Future[T] = Future()
            try:
                done.set_result(call())
            except Exception as exc:
                done.set_exception(exc)
            return done
        return _pool(self._threads).submit(run)
