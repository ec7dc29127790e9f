"""Redis is a helper: while it is unavailable the cache acts as empty, pages still answer, one
warning says so, and the breaker keeps a dead Redis from costing every call a timeout."""

import ast
import logging
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCacheClient
from django.test import override_settings

from neonadmin.cache import redis_breaker, redis_client, redis_healthy

ROOT = Path(__file__).resolve().parents[2]
LIVE_REDIS = "redis://127.0.0.1:6379/15"  # running on every machine and in CI (.ci/run)
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def redis_caches(url: str, backend: str = "neonadmin.cache.ResilientRedisCache") -> dict:
    # A prefix of its own: the suite may share database 15 with the rest of CI's run.
    return {
        "default": {
            "BACKEND": backend,
            "LOCATION": url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


@pytest.fixture(autouse=True)
def closed_breaker():
    """The breaker is process-wide: no test may leave Redis looking down for the next."""
    redis_breaker.reset()
    yield
    redis_breaker.reset()


@pytest.fixture
def dead_redis_url():
    """A port that is bound but not listening: connecting is refused, and nothing else can
    take the port while the test runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


@pytest.fixture
def dead_cache(dead_redis_url):
    with override_settings(CACHES=redis_caches(dead_redis_url)):
        yield cache


@pytest.fixture
def live_cache():
    with override_settings(CACHES=redis_caches(LIVE_REDIS)):
        yield cache
        cache.delete_many(["k", "n", "many-1", "many-2"])


@pytest.fixture
def clock(monkeypatch):
    """The breaker's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(redis_breaker, "_clock", lambda: now[0])
    return now


@pytest.fixture
def redis_calls(monkeypatch):
    """How many cache calls reached redis-py."""
    calls = []
    real = RedisCacheClient.get_client

    def counted(self, *args, **kwargs):
        calls.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RedisCacheClient, "get_client", counted)
    return calls


# Each operation, tried against a Redis that refuses connections, and what it answers.
MISSES = [
    ("get", lambda c: c.get("k", "fallback"), "fallback"),
    ("get_many", lambda c: c.get_many(["k", "j"]), {}),
    ("has_key", lambda c: c.has_key("k"), False),
    ("add", lambda c: c.add("k", 1), False),
    ("set", lambda c: c.set("k", 1), None),
    ("set_many", lambda c: c.set_many({"k": 1, "j": 2}), ["k", "j"]),
    ("touch", lambda c: c.touch("k"), False),
    ("delete", lambda c: c.delete("k"), False),
    ("delete_many", lambda c: c.delete_many(["k", "j"]), None),
    ("clear", lambda c: c.clear(), False),
    ("get_or_set", lambda c: c.get_or_set("k", lambda: "computed"), "computed"),
]


@pytest.mark.parametrize(("operation", "call", "expected"), MISSES, ids=[m[0] for m in MISSES])
@pytest.mark.parametrize("breaker", ["trying", "open"])
def test_a_dead_redis_acts_as_an_empty_cache(dead_cache, operation, call, expected, breaker):
    if breaker == "open":
        dead_cache.get("first")  # fails and opens the breaker
        assert redis_breaker.is_down()
    assert call(dead_cache) == expected
    assert redis_breaker.is_down()


@pytest.mark.parametrize("breaker", ["trying", "open"])
def test_incr_on_a_dead_redis_is_a_missing_key(dead_cache, breaker):
    if breaker == "open":
        dead_cache.get("first")
    with pytest.raises(ValueError, match="not found"):
        dead_cache.incr("n")
    with pytest.raises(ValueError, match="not found"):
        dead_cache.decr("n")


def test_a_dead_redis_is_one_warning_not_one_per_call(dead_cache, caplog, redis_calls, monkeypatch):
    monkeypatch.setattr(redis_breaker, "backoff", 0)  # every call really tries Redis, and fails
    with caplog.at_level(logging.INFO, logger="neonadmin.cache"):
        for i in range(30):
            assert dead_cache.get_or_set(f"k{i}", lambda i=i: i) == i
    assert len(redis_calls) >= 30
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Redis is unavailable" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.levelno == logging.INFO]


def test_the_breaker_skips_redis_during_the_back_off(dead_cache, clock, redis_calls):
    dead_cache.get("k")
    assert len(redis_calls) == 1

    for _ in range(20):
        assert dead_cache.get("k", "miss") == "miss"
        dead_cache.set("k", 1)
    clock[0] += redis_breaker.backoff - 0.1
    dead_cache.get("k")
    assert len(redis_calls) == 1

    clock[0] += 0.2  # the back-off is over: one trial, which fails and starts another
    assert dead_cache.get("k", "miss") == "miss"
    assert dead_cache.get("k", "miss") == "miss"
    assert len(redis_calls) == 2


def test_after_a_back_off_only_one_caller_tries(clock):
    redis_breaker.failed(redis.ConnectionError("refused"))
    assert redis_breaker.is_open()
    clock[0] += redis_breaker.backoff
    assert [redis_breaker.is_open() for _ in range(5)] == [False, True, True, True, True]


def test_a_live_redis_is_a_cache(live_cache):
    live_cache.set("k", {"a": 1})
    assert live_cache.get("k") == {"a": 1}
    assert live_cache.has_key("k")
    assert live_cache.get_or_set("k", lambda: pytest.fail("must come from Redis")) == {"a": 1}
    live_cache.set("n", 1)
    assert live_cache.incr("n", 2) == 3
    assert live_cache.set_many({"many-1": 1, "many-2": 2}) == []
    assert live_cache.get_many(["many-1", "many-2"]) == {"many-1": 1, "many-2": 2}
    assert live_cache.delete("k")
    assert live_cache.get("k") is None
    assert not redis_breaker.is_down()


def test_the_cache_recovers_when_redis_comes_back(live_cache, clock, caplog, monkeypatch):
    def refused(self, *args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting. Connection refused.")

    live_cache.set("k", "before")
    with caplog.at_level(logging.INFO, logger="neonadmin.cache"):
        with monkeypatch.context() as down:
            down.setattr(RedisCacheClient, "get_client", refused)
            assert live_cache.get("k", "miss") == "miss"
            live_cache.set("k", "while down")  # dropped
        # Redis is back, but the breaker waits out its back-off before trying again.
        assert live_cache.get("k", "miss") == "miss"
        clock[0] += redis_breaker.backoff
        assert live_cache.get("k", "miss") == "before"
        assert live_cache.get("k", "miss") == "before"
    assert not redis_breaker.is_down()
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert "available again" in caplog.records[1].getMessage()


def test_redis_healthy_says_whether_redis_answers(dead_redis_url):
    with override_settings(CACHES=LOCMEM):
        assert redis_client() is None
        assert redis_healthy() is None
    with override_settings(CACHES=redis_caches(dead_redis_url)):
        assert redis_healthy() is False
        assert redis_breaker.is_down()
    with override_settings(CACHES=redis_caches(LIVE_REDIS)):
        assert redis_healthy() is True  # asks even while the breaker is open, and closes it
        assert not redis_breaker.is_down()


def test_redis_url_selects_the_resilient_backend_with_short_timeouts():
    script = "import neonadmin.settings as s; print(repr(s.CACHES['default']))"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | {
        "DEBUG": "true",
        "REDIS_URL": "redis://cache.example.test:6379/0",
        "REDIS_TIMEOUT": "0.25",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert ast.literal_eval(result.stdout) == {
        "BACKEND": "neonadmin.cache.ResilientRedisCache",
        "LOCATION": "redis://cache.example.test:6379/0",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }


def test_overriding_caches_leaves_the_suites_own_cache_behind(dead_redis_url):
    before = type(caches["default"])
    with override_settings(CACHES=redis_caches(dead_redis_url)):
        assert type(caches["default"]).__name__ == "ResilientRedisCache"
    assert type(caches["default"]) is before


# --- Pages ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/projects/", "/projects/new/"])
def test_pages_answer_with_redis_down(neon, operator_client, dead_redis_url, url):
    with override_settings(CACHES=redis_caches(dead_redis_url)):
        response = operator_client.get(url)
    assert response.status_code == 200
    assert redis_breaker.is_down()


@pytest.mark.django_db
def test_without_the_resilient_backend_the_same_page_fails(neon, operator_client, dead_redis_url):
    """Why the backend exists: Django's own RedisCache turns a dead Redis into a 500."""
    plain = redis_caches(dead_redis_url, backend="django.core.cache.backends.redis.RedisCache")
    with override_settings(CACHES=plain), pytest.raises(redis.ConnectionError):
        operator_client.get("/projects/new/")
