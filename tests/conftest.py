"""Fixtures shared by the whole suite: the emulator, signed-in users, and a browser."""

import os
import shutil
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.test import Client, override_settings

from fleet import tasks as fleet_tasks
from neon_emulator.testing import run_emulator
from neonadmin.auth.proxy import forget_known_users
from neonadmin.cache import redis_breaker
from neonadmin.roles import Role, user_role_set
from policy import loaded
from policy import tasks as policy_tasks

TEST_NEON_KEY = "test-neon-key-not-real"
SEED_PROJECTS = 25
CHROMIUM = "/usr/bin/chromium"
# Redis runs on every machine, CI included; the tests that share through it use this database.
LIVE_REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts from an empty cache: what pages show in passing (the pending count, the
    protected projects) and the people the proxy signed in are remembered, and the database they
    came from has rolled back since."""
    cache.clear()
    forget_known_users()


@pytest.fixture(scope="session")
def emulator():
    """One emulator for the session; `neon` resets it before each test that uses it."""
    with run_emulator(seed=SEED_PROJECTS, api_keys=[TEST_NEON_KEY], op_seconds=0.5) as emu:
        yield emu


@pytest.fixture
def neon(emulator, settings):
    """The dashboard pointed at a freshly seeded emulator with no faults."""
    emulator.reset(seed=SEED_PROJECTS)
    settings.NEON_API_URL = emulator.base_url
    settings.NEON_API_KEY = TEST_NEON_KEY
    cache.clear()
    yield emulator
    emulator.clear_faults()
    emulator.set_rate_limits()  # off again: a reset keeps them
    cache.clear()


@pytest.fixture
def shared_redis():
    """Django's cache on the machine's Redis, as instances sharing it see it: database 15,
    emptied before and after. Yields a client of that database."""
    client = redis.Redis.from_url(LIVE_REDIS)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Redis tests, but Redis at 127.0.0.1:6379 is down.")
        pytest.skip("no Redis at 127.0.0.1:6379")
    client.flushdb()
    redis_breaker.reset()
    caches = {
        "default": {
            "BACKEND": "neonadmin.cache.ResilientRedisCache",
            "LOCATION": LIVE_REDIS,
            "KEY_PREFIX": "tests",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    with override_settings(CACHES=caches):
        yield client
    client.flushdb()
    redis_breaker.reset()


def _user_with_role(django_user_model, role: Role | None, username: str):
    user = django_user_model.objects.create_user(username=username, password="not-a-real-pass")
    if role is not None:
        user_role_set(user=user, role=role)
    return user


@pytest.fixture
def viewer(django_user_model):
    return _user_with_role(django_user_model, Role.VIEWER, "vera.viewer@example.test")


@pytest.fixture
def operator(django_user_model):
    return _user_with_role(django_user_model, Role.OPERATOR, "otto.operator@example.test")


@pytest.fixture
def admin_user(django_user_model):
    return _user_with_role(django_user_model, Role.ADMIN, "ada.admin@example.test")


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


# --- Browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM) or shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but {CHROMIUM} is missing.")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def signed_in_page(browser, live_server, neon, admin_user, client):
    """A Chromium page signed in as an admin, on the live server, talking to the emulator."""
    client.force_login(admin_user)
    session_cookie = client.cookies["sessionid"]
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": session_cookie.value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def second_admin_page(browser, live_server, django_user_model):
    """Another admin, signed in in a browser of their own (the one who approves)."""
    user = django_user_model.objects.create_user(
        username="bea.admin@example.test", email="bea.admin@example.test"
    )
    user_role_set(user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


# -- The example policy in force, and the emulator's fleet refreshed and evaluated by the worker
# (tests/policy, tests/cost) --

EXAMPLE_POLICY = Path(__file__).resolve().parents[1] / "policy" / "example-policy.yaml"


@pytest.fixture
def in_force(settings):
    settings.POLICY_FILE = str(EXAMPLE_POLICY)
    return loaded.current().policy


@pytest.fixture
def evaluated(neon, in_force, django_capture_on_commit_callbacks):
    """The worker's refresh, whose end evaluates the fleet (on commit), then the task it queues
    to read the default branches the policy needs."""
    with django_capture_on_commit_callbacks(execute=True):
        run = fleet_tasks.start_refresh(trigger="manual")
        fleet_tasks.refresh_inventory.call(run.pk)
        policy_tasks.read_branches.call()
    return in_force
