"""Governance fixtures: a second admin, a plain project, and Actors for calling services."""

import pytest
from django.test import Client

from audit.services import Actor
from governance import registry
from neonadmin.roles import Role, user_role_set
from projects.neon import get_client


@pytest.fixture
def second_admin(django_user_model):
    user = django_user_model.objects.create_user(
        username="bea.admin@example.test", email="bea.admin@example.test"
    )
    user_role_set(user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def second_admin_client(second_admin):
    client = Client()
    client.force_login(second_admin)
    return client


@pytest.fixture
def ada():
    """The actor the admin_client_ fixture's user is (no email: the username)."""
    return Actor(username="ada.admin@example.test")


@pytest.fixture
def bea():
    return Actor(username="bea.admin@example.test")


@pytest.fixture
def project(neon):
    """A seeded project Neon would delete (no protected branch), with no irreversible setting
    on; the emulator's stats start at zero."""
    client = get_client()
    for item in client.list_projects(limit=25).projects[2:]:
        full = client.get_project(item.id)
        plain = not (full.settings.enable_logical_replication or full.settings.hipaa)
        if plain and not any(b.protected for b in client.list_branches(item.id)):
            neon.clear_stats()
            return full
    pytest.fail("the seed has no plain project")


def neon_writes(neon) -> int:
    return sum(n for route, n in neon.stats().items() if route.startswith(("POST", "PATCH", "DEL")))


@pytest.fixture(autouse=True)
def executors():
    """Tests may register their own executors (for "bulk"): the real ones come back after."""
    saved = dict(registry._EXECUTORS)
    yield registry._EXECUTORS
    registry._EXECUTORS.clear()
    registry._EXECUTORS.update(saved)
