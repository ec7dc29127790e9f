"""Django's flush, allowed past the audit table's DELETE trigger on SQLite (see audit.db).

Emptying the whole database is an operator's act on the database itself, like PostgreSQL's
TRUNCATE (which the triggers do not see); a row-by-row DELETE stays refused."""

from django.core.management.commands import flush

from audit.db import flushing


class Command(flush.Command):
    def handle(self, **options):
        with flushing():
            return super().handle(**options)
