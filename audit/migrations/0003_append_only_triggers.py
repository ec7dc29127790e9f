"""Database triggers that refuse UPDATE and DELETE on audit records (see audit.db for the one
deletion SQLite allows: a whole-database flush).

Note for later migrations on SQLite: altering a column of AuditEvent makes Django rebuild the
table, which drops these triggers; such a migration must create them again (run `_forward`).
"""

from django.db import migrations

from audit.db import SQLITE_FLUSHING_FUNCTION

POSTGRESQL = (
    """
    CREATE FUNCTION audit_auditevent_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- No format placeholder here: Django hands this SQL to the driver's parameter parsing.
        RAISE EXCEPTION USING
            MESSAGE = 'audit records are append-only: ' || TG_OP || ' refused',
            ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only()
    """,
)
POSTGRESQL_REVERSE = (
    "DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent",
    "DROP FUNCTION IF EXISTS audit_auditevent_append_only()",
)
SQLITE = (
    """
    CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
    WHEN NOT {SQLITE_FLUSHING_FUNCTION}()
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only: DELETE refused'); END
    """,
)
SQLITE_REVERSE = (
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
)
BY_VENDOR = {"postgresql": (POSTGRESQL, POSTGRESQL_REVERSE), "sqlite": (SQLITE, SQLITE_REVERSE)}


def _run(schema_editor, which: int) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in BY_VENDOR:
        raise NotImplementedError(f"No append-only triggers for {vendor}; add them here.")
    for statement in BY_VENDOR[vendor][which]:
        schema_editor.execute(statement)


def _forward(apps, schema_editor) -> None:
    _run(schema_editor, 0)


def _reverse(apps, schema_editor) -> None:
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_newest_first_index")]

    operations = [
        migrations.AlterModelOptions(
            name="auditevent",
            options={"base_manager_name": "objects", "ordering": ["-created_at", "-id"]},
        ),
        migrations.RunPython(_forward, _reverse),
    ]
