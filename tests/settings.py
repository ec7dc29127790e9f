"""Test settings: the real settings module, fed an environment the way production feeds it."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("NEONADMIN_DEMO", "true")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-real")
os.environ.setdefault("NEON_API_KEY", "test-neon-key-not-real")
# Replaced by the emulator's address in every test that talks to Neon (tests/conftest.py).
os.environ.setdefault("NEON_API_URL", "http://127.0.0.1:9/api/v2")
# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from that
# thread are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from neonadmin.settings import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Fast retries in tests; the client tests set their own budgets where they measure retries.
NEON_RETRY_BUDGET = 3.0
NEON_READ_TIMEOUT = 5.0
# The suite calls the emulator far faster than any team browses; the budget tests set their own.
NEON_RATE_LIMIT = "100000/min"
NEON_ROUTE_BURST = "10000/s"
# Under the emulator's own 30 a minute for a test's few calls, without waiting between them
# (tests/cost holds the sync to the real limit where it counts).
NEON_CONSUMPTION_RATE_LIMIT = "600/min"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # An in-memory test database is shared by every thread of the live server, and the detail
    # page's lazy panels make concurrent requests: one SQLite connection used by three threads at
    # once returns rows of the wrong query. A file gives each thread its own connection.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"neonadmin-test-{os.getpid()}.sqlite3")
    }
WORKER_NICE = 0  # the worker command runs inside the test process
