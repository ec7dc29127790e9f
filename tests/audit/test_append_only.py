"""Append-only below the ORM: the database refuses UPDATE and DELETE on audit records, for the
ORM's back doors and for raw SQL, on whichever database the suite runs (CI: PostgreSQL, local:
SQLite). Only a whole-database flush empties the table."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import Actor, audited

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> AuditEvent:
    with audited(actor=Actor(username="kim@example.test"), action="project.delete") as entry:
        entry.status = 200
    return AuditEvent.objects.get()


def test_the_base_manager_is_the_guarded_one(event):
    with pytest.raises(PermissionError):
        AuditEvent._base_manager.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent._base_manager.update(actor="someone-else")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET actor = 'someone-else'",
        "DELETE FROM audit_auditevent",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
)
def test_raw_sql_cannot_change_or_delete_a_record(event, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():  # noqa: SIM117
        with connection.cursor() as cursor:
            cursor.execute(sql, [event.pk] if "%s" in sql else None)
    assert AuditEvent.objects.get().actor == "kim@example.test"


def test_the_orms_raw_delete_is_refused_by_the_database(event):
    query = AuditEvent.objects.filter(pk=event.pk)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        query._raw_delete(query.db)
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_flushing_the_whole_database_still_empties_it(event):
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
