from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from projects import checks  # noqa: F401 - registers the gateway's settings checks
        from projects.neon import reset_client

        # Tests point the dashboard at a fresh emulator by overriding settings.
        setting_changed.connect(reset_client)
