from django.apps import AppConfig


class CostConfig(AppConfig):
    name = "cost"

    def ready(self) -> None:
        # Models are loaded only now; these register the receivers and the page extras.
        from cost import presenters, services
        from fleet import inventory

        presenters.register_page_extras()
        inventory.refreshed.connect(services.on_refreshed, dispatch_uid="cost.on_refreshed")
