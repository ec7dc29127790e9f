"""`manage.py demo_user`: the demo's logins, one per role and a second admin, so approval by a
second admin can be tried in `make run`."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from neonadmin.management.commands.demo_user import DEMO_USERS
from neonadmin.roles import Role, user_role

pytestmark = pytest.mark.django_db


def test_each_role_and_a_second_admin_can_sign_in(settings, client):
    settings.DEMO_MODE, settings.DEBUG, settings.NEONADMIN_AUTH_MODE = True, True, "demo"
    call_command("demo_user", stdout=io.StringIO())
    users = get_user_model().objects
    roles = {username: user_role(users.get(username=username)) for username, *_ in DEMO_USERS}
    assert roles == {"demo": Role.ADMIN, "admin2": Role.ADMIN, "operator": Role.OPERATOR,
                     "viewer": Role.VIEWER}  # fmt: skip
    for username, password, *_ in DEMO_USERS:
        assert client.login(username=username, password=password)


def test_outside_demo_mode_there_are_no_demo_logins(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError):
        call_command("demo_user")
    assert not get_user_model().objects.exists()
