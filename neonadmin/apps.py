from django.apps import AppConfig


class NeonAdminConfig(AppConfig):
    name = "neonadmin"
    verbose_name = "Neon Admin"

    def ready(self):
        from neonadmin.auth import checks  # noqa: F401 - registers the sign-in checks
