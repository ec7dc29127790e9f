from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        # Models are loaded only now: the services need them.
        from audit.db import register_sqlite_function
        from audit.services import record_refusal
        from neonadmin.roles import write_refused

        connection_created.connect(register_sqlite_function, dispatch_uid="audit_sqlite_function")
        write_refused.connect(record_refusal, dispatch_uid="audit.record_refusal")
