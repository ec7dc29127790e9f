"""Bad gateway settings stop the start with a message naming the setting."""

import pytest

from projects.checks import gateway_configured


def ids(settings) -> list[str]:
    return [error.id for error in gateway_configured(None)]


def test_the_defaults_pass(settings):
    assert ids(settings) == []


@pytest.mark.parametrize("name", ["NEON_RATE_LIMIT", "NEON_ROUTE_BURST"])
def test_an_unreadable_rate_names_itself(settings, name):
    setattr(settings, name, "lots")
    [error] = gateway_configured(None)
    assert error.id == "projects.E001" and name in error.msg and "600/min" in error.msg


@pytest.mark.parametrize("share", [0, -0.5, 1.5])
def test_the_local_share_is_a_fraction(settings, share):
    settings.NEON_BUDGET_LOCAL_SHARE = share
    assert ids(settings) == ["projects.E002"]


def test_negative_waits_and_no_threads_are_refused(settings):
    settings.NEON_CACHE_SECONDS = -1
    settings.NEON_FANOUT_THREADS = 0
    assert ids(settings) == ["projects.E003", "projects.E003"]
