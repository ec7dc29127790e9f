from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "bulk"
    verbose_name = "Bulk changes"

    def ready(self) -> None:
        # Models are loaded only now: these modules need them.
        from bulk import services
        from governance.registry import register_executor

        register_executor(
            "bulk",
            execute=services.job_approved,
            close=services.job_not_approved,
            describe=services.job_described,
            confirmation=services.job_confirmation,
        )
