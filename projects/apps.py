from django.apps import AppConfig
from django.core.signals import setting_changed


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        # Models are loaded only now: these modules need them.
        from neonadmin.health import register_check
        from projects import checks  # noqa: F401 - registers the gateway's settings checks
        from projects.health import neon_check
        from projects.neon import reset_client

        register_check("neon", neon_check)

        # Tests point the dashboard at a fresh emulator by overriding settings.
        setting_changed.connect(reset_client)
