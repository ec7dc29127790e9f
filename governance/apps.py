from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self) -> None:
        from governance import checks, executors  # noqa: F401 - register the checks and kinds
