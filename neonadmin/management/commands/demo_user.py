from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from neonadmin.roles import Role, user_role_set

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - the documented local demo login, refused outside demo mode


class Command(BaseCommand):
    help = "Create (or reset) the local demo login. Only in demo mode."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE or not settings.DEBUG:
            raise CommandError("The demo login exists only in demo mode (NEONADMIN_DEMO, DEBUG).")
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"first_name": "Demo", "last_name": "Admin"}
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        user_role_set(user=user, role=Role.ADMIN)
        self.stdout.write(f"Demo login: user {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r} (admin)")
