from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from neonadmin.roles import Role, user_role_set

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - the documented local demo logins, refused outside demo mode
# Everyone the demo needs to try every role, and approval by a second admin
# (APPROVAL_REQUIRED_FOR): (username, password, first name, role).
DEMO_USERS = (
    (DEMO_USERNAME, DEMO_PASSWORD, "Demo", Role.ADMIN),
    ("admin2", "admin2", "Second", Role.ADMIN),
    ("operator", "operator", "Demo", Role.OPERATOR),
    ("viewer", "viewer", "Demo", Role.VIEWER),
)


class Command(BaseCommand):
    help = "Create (or reset) the local demo logins, one per role and a second admin. Demo only."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE or not settings.DEBUG:
            raise CommandError("The demo login exists only in demo mode (NEONADMIN_DEMO, DEBUG).")
        users = get_user_model().objects
        for username, password, first_name, role in DEMO_USERS:
            user, _ = users.get_or_create(
                username=username, defaults={"first_name": first_name, "last_name": role.label}
            )
            user.set_password(password)
            user.save()
            user_role_set(user=user, role=role)
            self.stdout.write(
                f"Demo login: user {username!r}, password {password!r} ({role.label.lower()})"
            )
