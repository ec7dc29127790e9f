"""Redis is a helper, never a single point of failure.

`ResilientRedisCache` is Django's Redis cache that, when Redis cannot be reached or answers with
an error, behaves like an empty cache: reads miss, writes are dropped, `get_or_set` computes the
value, `incr` raises ValueError as for a missing key. Pages then read from Neon (or the gateway's
own fallbacks) instead of answering 500.

`redis_breaker` is the one circuit breaker for this process's Redis, shared by the cache and by
any other code that talks to Redis directly (the gateway's token bucket): one warning when Redis
goes away, one info when it is back, and in between Redis is tried once per back-off instead of
on every call, so a dead Redis does not add a timeout to every request.

For other code: `redis_client()` (the same Redis, pool and timeouts as the cache, or None when
no Redis is configured), `redis_breaker` (see RedisBreaker for how to use it), `redis_healthy()`.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 5.0
# Used when CACHES gives none (settings pass REDIS_TIMEOUT): redis-py's own default is 5 s.
SOCKET_TIMEOUT = 0.5


class RedisBreaker:
    """Whether Redis is currently considered down, shared by every thread of the process.

    The protocol for code that talks to Redis (redis-py's errors are all RedisError:
    ConnectionError, TimeoutError, and Redis answering an error such as OOM or READONLY)::

        if redis_breaker.is_open():
            ...  # do without Redis
        else:
            try:
                ...  # the Redis call
            except RedisError as exc:
                redis_breaker.failed(exc)
                ...  # do without Redis
            else:
                redis_breaker.succeeded()

    `is_open()` is the gate: True while Redis is down and its back-off runs. When a back-off has
    run out it answers False to exactly one caller, the trial, and True to the others until the
    next back-off, so only one call per back-off waits on a socket timeout. Call it only right
    before a Redis call; `is_down()` answers the same question without taking the trial.
    """

    def __init__(
        self, backoff: float = BACKOFF_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.backoff = backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0

    def is_open(self) -> bool:
        if self._down_since is None:
            return False
        with self._lock:
            if self._down_since is None:
                return False
            now = self._clock()
            if now < self._retry_at:
                return True
            self._retry_at = now + self.backoff
            return False

    def is_down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            now = self._clock()
            newly_down = self._down_since is None
            if newly_down:
                self._down_since = now
            self._retry_at = now + self.backoff
        if newly_down:
            logger.warning(
                "Redis is unavailable (%s: %s); working without it and retrying every %g s.",
                type(exc).__name__,
                exc,
                self.backoff,
            )
        else:
            logger.debug("Redis is still unavailable: %s", exc)

    def succeeded(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            down_for = self._clock() - self._down_since
            self._down_since = None
        logger.info("Redis is available again after %.1f s.", down_for)

    def reset(self) -> None:
        """Forget any failure, without logging (for tests)."""
        with self._lock:
            self._down_since = None
            self._retry_at = 0.0


redis_breaker = RedisBreaker()

_UNAVAILABLE = object()


class ResilientRedisCache(RedisCache):
    """Django's RedisCache, acting as an empty cache while Redis is unavailable (module doc)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        # redis-py's default of 5 s would hold a request that long whenever Redis hangs. The
        # breaker, not patience, is what copes with a Redis that is away.
        self._options = {
            "socket_connect_timeout": SOCKET_TIMEOUT,
            "socket_timeout": SOCKET_TIMEOUT,
            **self._options,
        }

    def _call(self, fallback: Any, method: Callable[..., Any], *args: Any) -> Any:
        if redis_breaker.is_open():
            return fallback
        try:
            result = method(*args)
        except RedisError as exc:
            redis_breaker.failed(exc)
            return fallback
        redis_breaker.succeeded()
        return result

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(False, super().add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call(default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._call(None, super().set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._call(False, super().delete, key, version)

    def get_many(self, keys, version=None):
        return self._call({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._call(False, super().has_key, key, version)

    def incr(self, key, delta=1, version=None):
        result = self._call(_UNAVAILABLE, super().incr, key, delta, version)
        if result is _UNAVAILABLE:
            raise ValueError(f"Key '{key}' not found (Redis is unavailable).")
        return result

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        # Django's contract: the keys that were not stored.
        return self._call(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys, version=None):
        self._call(None, super().delete_many, keys, version)

    def clear(self):
        return self._call(False, super().clear)


def redis_client() -> redis.Redis | None:
    """The client for this process's Redis, or None when none is configured.

    Redis is configured when the default cache is Redis, which settings make it exactly when
    REDIS_URL is set; tests that override CACHES therefore switch this along. Calls through it
    must follow `redis_breaker`'s protocol.
    """
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    # The primary server, through the cache's own pool and timeouts.
    return cache._cache.get_client(write=True)


def redis_healthy() -> bool | None:
    """Whether Redis answers a PING now (None when no Redis is configured).

    It always asks, even while the breaker is open: readiness probes want the truth, and an
    answer closes the breaker sooner than the next trial would.
    """
    client = redis_client()
    if client is None:
        return None
    try:
        client.ping()
    except RedisError as exc:
        redis_breaker.failed(exc)
        return False
    redis_breaker.succeeded()
    return True
