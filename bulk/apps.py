from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "bulk"
    verbose_name = "Bulk changes"

    def ready(self) -> None:
        from bulk import services  # the executor needs the apps loaded
        from governance.services import register_executor

        register_executor(
            "bulk",
            execute=services.job_approved,
            close=services.job_not_approved,
            describe=services.job_described,
        )
