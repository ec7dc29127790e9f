from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "fleet"

    def ready(self) -> None:
        # Models are loaded only now: the inventory module needs them.
        from fleet import inventory
        from projects.extensions import project_written

        project_written.connect(inventory.on_project_written, dispatch_uid="fleet.inventory")
