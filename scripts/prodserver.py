"""Boot the dashboard the way production runs it: DEBUG off, configuration from the environment
alone, migrate + collectstatic + `check --deploy`, then gunicorn (gthread) + WhiteNoise.

Used by tests/neonadmin/test_production.py and benchmarks/dashboard_bench.py. Identity comes from an
oauth2-proxy-style trusted proxy (plain headers from loopback), a real production mode, so callers
sign in by sending `PROXY_HEADERS`.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PROXY_HEADERS = {"X-Forwarded-Email": "pat@example.test", "X-Forwarded-Groups": "platform-admins"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The test process's own settings, which production never has.
DROPPED = {
    "DEBUG",
    "NEONADMIN_DEMO",
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # the test process's Playwright needs it; production never
}


def production_env(*, workdir: Path, neon_url: str, neon_key: str) -> dict[str, str]:
    """Production configuration from the environment alone, signed in through a trusted proxy;
    callers add what they vary (database, Redis, gunicorn's size)."""
    return {k: v for k, v in os.environ.items() if k not in DROPPED} | {
        "SECRET_KEY": "prod-shape-secret-key-not-real-" + "x" * 20,
        "NEON_API_KEY": neon_key,
        "NEON_API_URL": neon_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "STATIC_ROOT": str(workdir / "static"),
        "NEONADMIN_AUTH_MODE": "proxy",
        "NEONADMIN_PROXY_TRUST_PLAIN_HEADERS": "true",
        "NEONADMIN_TRUSTED_PROXIES": "127.0.0.1/32",
        "NEONADMIN_VIEWER_GROUPS": "engineering",
        "NEONADMIN_ADMIN_GROUPS": "platform-admins",
    }


def prepare(env: dict[str, str]) -> None:
    """What a deploy runs once before the servers start, whatever their number."""
    for command in (
        ["migrate", "--noinput"],
        ["collectstatic", "--noinput"],
        ["check", "--deploy"],
    ):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(command)} failed:\n{result.stderr}")


@contextmanager
def production_server(
    *, workdir: Path, neon_url: str, neon_key: str, workers: int = 1, threads: int = 8
) -> Iterator[str]:
    """Yield the base URL of a running production-shaped dashboard; stop it afterwards."""
    port = free_port()
    env = production_env(workdir=workdir, neon_url=neon_url, neon_key=neon_key) | {
        "DATABASE_URL": os.environ.get("PROD_DATABASE_URL", f"sqlite:///{workdir / 'db.sqlite3'}"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    prepare(env)
    # The server's log goes to a file: an unread pipe would fill up and stall the server.
    log_path = workdir / "gunicorn.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "neonadmin.wsgi"],
        cwd=ROOT,
        env=env | {"GUNICORN_ACCESSLOG": ""},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=1)
                break
            except requests.RequestException as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()}") from exc
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
