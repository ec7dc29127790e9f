from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit.db import register_sqlite_function

        connection_created.connect(register_sqlite_function, dispatch_uid="audit_sqlite_function")
