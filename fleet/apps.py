from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "fleet"

    def ready(self) -> None:
        # Models are loaded only now: the inventory module needs them.
        from fleet import branches, inventory
        from projects.extensions import branch_written, project_written

        project_written.connect(inventory.on_project_written, dispatch_uid="fleet.inventory")
        branch_written.connect(branches.on_branch_written, dispatch_uid="fleet.branches")
