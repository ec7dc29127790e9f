"""Readable units: the filters every page uses for Neon's raw numbers."""

import random
from datetime import UTC, datetime, timedelta
from datetime import timezone as fixed_offset

import pytest
from django.utils import timezone
from django.utils.timesince import timesince

from projects.templatetags.neon_format import (
    bytes_iec,
    duration,
    largest_unit_between,
    reltime,
    time_element,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3 * 1024**4, "3.0 TiB"),
        (2 * 1024**6, "2048.0 PiB"),
    ],
)
def test_bytes_iec(value, text):
    assert bytes_iec(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (0, "0 s"),
        (45, "45 s"),
        (90, "1 min 30 s"),
        (3600, "1 h"),
        (86400 + 4 * 3600 + 59, "1 d 4 h"),
        (2592000, "30 d"),
    ],
)
def test_duration_shows_the_two_largest_units(value, text):
    assert duration(value) == text


def test_reltime_past_future_and_now_with_the_exact_utc_time_on_hover():
    now = timezone.now()
    past = str(reltime(now - timedelta(hours=3, minutes=5)))
    assert ">3\xa0hours ago</time>" in past
    assert 'title="' in past and ' UTC"' in past
    assert ">in 2\xa0days</time>" in str(reltime(now + timedelta(days=2, hours=1)))
    assert ">just now</time>" in str(reltime(now - timedelta(seconds=5)))
    assert reltime(None) == "—"


def test_time_element_is_reltime_at_a_given_moment():
    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    earlier = datetime(2026, 2, 28, 10, 0, 7, 123456, tzinfo=fixed_offset(timedelta(hours=2)))
    assert time_element(earlier, now) == (
        '<time datetime="2026-02-28T10:00:07.123456+02:00" title="2026-02-28 08:00:07 UTC">'
        "1\xa0day ago</time>"
    )
    assert ">in 3\xa0weeks</time>" in time_element(now + timedelta(days=22), now)
    assert ">just now</time>" in time_element(now + timedelta(seconds=59), now)
    assert time_element(None, now) == "—"


def pairs_to_compare():
    """Random spans from seconds to decades, and the calendar's corners: month ends, leap days,
    the same day of a later month a second either side."""
    rng = random.Random(20261202)
    base = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)
    for _ in range(20000):
        start = base + timedelta(seconds=rng.randint(-(10**9), 10**9))
        span = rng.choice([120, 10**5, 10**7, 10**9])
        yield (
            start,
            start + timedelta(seconds=rng.randint(0, span), microseconds=rng.randint(0, 999999)),
        )
    corners = [datetime(2024, 1, 31), datetime(2024, 2, 29), datetime(2023, 12, 31, 23, 59, 59)]
    for corner in (c.replace(tzinfo=UTC) for c in corners):
        for months in range(0, 30):
            later = corner + timedelta(days=30.44 * months)
            for nudge in (-1, 0, 1):
                yield corner, later + timedelta(seconds=nudge)


def test_largest_unit_between_says_what_django_s_timesince_says():
    """The list page's fast relative time must read exactly as Django's, calendar months too."""
    differ = [
        (earlier, later)
        for earlier, later in pairs_to_compare()
        if later >= earlier
        and largest_unit_between(earlier, later) != timesince(earlier, later, depth=1)
    ]
    assert differ == []
