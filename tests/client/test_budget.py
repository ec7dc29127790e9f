"""The account budget: token buckets per process and shared through Redis, priorities, and the
pause after a 429. Counted, not timed: waits are bounded, never asserted as speeds."""

import logging
import threading

import pytest
from django.test import override_settings

from neonadmin.cache import redis_breaker
from projects.neon import Budget, NeonBudgetSpent, parse_rate
from projects.neon.budget import buckets_for, fallback

DEAD_REDIS = "redis://127.0.0.1:6390/0"


def redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "neonadmin.cache.ResilientRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "budget-tests",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }


def budget(rate="60/min", burst="10000/s", **kwargs) -> Budget:
    kwargs.setdefault("interactive_wait", 0.0)
    kwargs.setdefault("max_wait", 0.0)
    return Budget(rate=parse_rate(rate), route_burst=parse_rate(burst), **kwargs)


def granted(b: Budget, n: int, route: str = "GET /projects") -> int:
    count = 0
    for _ in range(n):
        try:
            b.acquire(route)
        except NeonBudgetSpent:
            continue
        count += 1
    return count


@pytest.mark.parametrize(
    ("text", "count", "seconds"),
    [("600/min", 600, 60), ("30/s", 30, 1), ("20000/h", 20000, 3600), (" 5 / second ", 5, 1)],
)
def test_rates_read_like_people_write_them(text, count, seconds):
    rate = parse_rate(text)
    assert (rate.count, rate.per_seconds) == (count, seconds)


@pytest.mark.parametrize("text", ["600", "0/min", "-1/s", "ten/min", "5/week", ""])
def test_bad_rates_are_refused_naming_the_setting(text):
    with pytest.raises(ValueError, match="NEON_RATE_LIMIT"):
        parse_rate(text, "NEON_RATE_LIMIT")


def test_no_window_can_carry_more_than_the_share():
    # Neon counts 700 a minute and 40 a second per route; a bucket that starts full may spend
    # its capacity at once, then its rate: neither window may go over the share.
    account, route = buckets_for(parse_rate("600/min"), parse_rate("30/s"))
    assert account.capacity + account.rate * 60 <= 700
    assert route.capacity + route.rate * 1 <= 30


def test_a_full_bucket_gives_its_capacity_then_refuses_without_sending():
    b = budget("60/min")  # capacity 6, one a second
    assert granted(b, 20) == 6


def test_the_route_bucket_limits_bursts_on_one_route_only():
    b = budget("6000/min", "9/s")  # route: capacity 3
    assert granted(b, 10, "GET /projects") == 3
    assert granted(b, 10, "GET /regions") == 3


def test_an_interactive_page_waits_briefly_for_the_next_token():
    b = budget("600/min", max_wait=1.0)  # capacity 60, ten a second
    assert granted(b, 60) == 60
    waited = b.acquire("GET /projects")  # the 61st waits for the refill
    assert 0 < waited <= 1.0


def test_calls_with_nothing_else_to_show_go_before_reads_that_have_a_last_answer():
    b = budget("600/min")  # capacity 60, of which 5 % (3) is kept from reads with a fallback
    assert granted(b, 56) == 56  # four left
    with fallback():
        assert granted(b, 5) == 1  # down to the three kept back
    assert granted(b, 5) == 3  # a first read, a write or a secret takes the last ones


def test_a_read_with_a_last_answer_gives_up_sooner_than_one_without():
    b = budget("600/min", interactive_wait=0.0, max_wait=1.0)
    assert granted(b, 60) == 60
    with fallback(), pytest.raises(NeonBudgetSpent):
        b.acquire("GET /projects")  # it can show its last answer at once
    assert 0 < b.acquire("GET /projects") <= 1.0  # this one has nothing else: it waits


def test_background_work_leaves_a_reserve_for_operators():
    b = budget("60/min")  # capacity 6, of which 30 % is kept for operators' pages
    background = sum(b._take("GET /projects", "background")[0] for _ in range(6))
    assert background == 4
    assert granted(b, 6) == 2  # operators may take what is left, to the last token


def test_background_work_waits_instead_of_failing():
    b = budget("600/min", interactive_wait=0.0)
    assert granted(b, 60) == 60
    with pytest.raises(NeonBudgetSpent):
        b.acquire("GET /projects")  # interactive: no room and no time to wait
    waited = b.acquire("GET /projects", priority="background")
    assert waited > 0


def test_a_pause_stops_every_caller_of_the_budget():
    b = budget("6000/min")
    b.pause(30)
    with pytest.raises(NeonBudgetSpent) as caught:
        b.acquire("GET /regions")
    assert caught.value.retry_after > 20


# --- Shared through Redis ---------------------------------------------------------------------


def test_two_instances_share_one_budget(shared_redis):
    one = budget("60/min", shared=True, prefix="neon:test-shared")
    two = budget("60/min", shared=True, prefix="neon:test-shared")
    results: list[int] = []

    def spend(b):
        results.append(granted(b, 10))

    threads = [threading.Thread(target=spend, args=(b,)) for b in (one, two, one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 6  # one bucket of six between them, not six each
    assert shared_redis.exists("neon:test-shared:account")


def test_a_429_on_one_instance_pauses_the_other(shared_redis):
    one = budget("6000/min", shared=True, prefix="neon:test-pause")
    two = budget("6000/min", shared=True, prefix="neon:test-pause")
    one.pause(5)
    with pytest.raises(NeonBudgetSpent) as caught:
        two.acquire("GET /projects")
    assert 3 < caught.value.retry_after <= 5


def test_without_redis_each_process_takes_its_local_share_and_warns_once(caplog):
    redis_breaker.reset()
    with override_settings(CACHES=redis_cache(DEAD_REDIS)), caplog.at_level(logging.WARNING):
        b = budget("600/min", shared=True, local_share=0.5, prefix="neon:test-dead")
        assert granted(b, 100) == 30  # half of the capacity of 60
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    redis_breaker.reset()


@pytest.mark.parametrize(("keep_last", "lane"), [(True, True), (False, False)])
def test_only_a_read_that_keeps_a_last_answer_waits_in_the_fallback_lane(keep_last, lane):
    from projects.neon import begin_request, end_request
    from projects.neon.budget import _fallback
    from projects.neon.gateway import Gateway

    seen = []
    _stats, token = begin_request()
    try:
        Gateway().read(
            "lane", (keep_last,), lambda: seen.append(_fallback.get()), keep_last=keep_last
        )
    finally:
        end_request(token)
    assert seen == [lane]  # a later page of a list has nothing to fall back on: no short wait
