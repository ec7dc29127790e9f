"""The database's own guard on the audit table (migration 0003): UPDATE and DELETE are refused by
triggers, whatever the client, so the log stays append-only even for raw SQL or a shell.

One deletion is allowed: `manage.py flush`, which empties the whole database (the test suite
flushes between transactional tests). On PostgreSQL flush is a TRUNCATE, which row-level
triggers never see. On SQLite flush is a DELETE, so SQLite's DELETE trigger asks
`neonadmin_audit_flushing()`, a function each of our connections registers and that answers
yes only inside `flushing()` (our `flush` command). Any other client — the sqlite3 shell, a
script — lacks the function, so its DELETE fails too.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SQLITE_FLUSHING_FUNCTION = "neonadmin_audit_flushing"
_flushing = ContextVar("audit_flushing", default=False)


@contextmanager
def flushing() -> Iterator[None]:
    """Let SQLite's DELETE trigger pass while the whole database is emptied."""
    token = _flushing.set(True)
    try:
        yield
    finally:
        _flushing.reset(token)


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """connection_created receiver: give each SQLite connection the function its trigger asks."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_FLUSHING_FUNCTION, 0, lambda: int(_flushing.get())
        )
