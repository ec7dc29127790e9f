"""Readable units: the filters every page uses for Neon's raw numbers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from projects.templatetags.neon_format import bytes_iec, duration, reltime


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
