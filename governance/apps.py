from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self) -> None:
        # Models are loaded only now: these modules (and the kinds they register) need them.
        from governance import checks, executors, presenters, services  # noqa: F401
        from projects import extensions

        executors.register_kinds()
        extensions.register_guard(services.protection_guard)
        extensions.register_decider(services.act)
        extensions.project_written.connect(
            services.protect_when_created, dispatch_uid="governance.protect_when_created"
        )
        presenters.register_page_extras()
