from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "policy"

    def ready(self) -> None:
        # Models are loaded only now; these register the system check and the receivers.
        from fleet import inventory
        from policy import checks, guard, presenters, receivers, services  # noqa: F401
        from projects import extensions

        extensions.register_guard(guard.policy_guard)
        extensions.register_page_extra("settings_review", guard.review_extra)
        presenters.register_page_extras()
        presenters.register_fleet_rules()

        inventory.refreshed.connect(receivers.on_refreshed, dispatch_uid="policy.on_refreshed")
        # After the fleet's own receiver (its app is ready first): the inventory row is new.
        extensions.project_written.connect(
            services.on_project_written, dispatch_uid="policy.on_project_written"
        )
        extensions.branch_written.connect(
            services.on_project_written, dispatch_uid="policy.on_branch_written"
        )
