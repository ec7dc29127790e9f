"""`make run`: the dashboard on its embedded defaults.

Without NEON_API_KEY this is demo mode: start the Neon emulator with seeded projects, point the
dashboard at it, and create the local demo logins. With NEON_API_KEY it talks to Neon itself.

The demo's Neon keeps its account in DEMO_STATE (var/demo/), so a restart shows the same
projects; the dashboard's SQLite database keeps the inventory, protections and audit log beside
it. The two are kept in step: a database left from a demo whose Neon state is gone (or from
before states were kept) is moved aside, so the fleet never lists projects the demo's Neon
never had. `make reset-demo` clears both.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent
DEMO_SEED = int(os.environ.get("DEMO_SEED", "300"))
DEMO_DIR = ROOT / "var" / "demo"
DEMO_STATE = DEMO_DIR / "neon-emulator.state"
DEMO_DATABASE = ROOT / "db.sqlite3"  # the settings' default, when DATABASE_URL is not set


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator(env: dict) -> subprocess.Popen:
    port = int(os.environ.get("EMULATOR_PORT") or free_port())
    key = f"demo-key-{secrets.token_hex(8)}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "neon_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--seed",
            str(DEMO_SEED),
            "--api-key",
            key,
            "--state",
            str(DEMO_STATE),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if proc.poll() is not None or "listening" not in line:
        sys.exit(f"The Neon emulator did not start: {line.strip()}")
    print(line.strip(), flush=True)
    env.update(
        NEON_API_URL=f"http://127.0.0.1:{port}/api/v2",
        NEON_API_KEY=key,
        NEONADMIN_DEMO="true",
        DEBUG="true",
    )
    # The demo's policy: the example, written for the demo's projects (unless one is set).
    env.setdefault("POLICY_FILE", str(ROOT / "policy" / "example-policy.yaml"))
    return proc


def keep_in_step(env: dict) -> None:
    """Move aside a demo database whose emulator state is gone: its inventory, protections and
    audit log are about projects the emulator will not have."""
    if env.get("DATABASE_URL") or DEMO_STATE.exists() or not DEMO_DATABASE.exists():
        return
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    aside = DEMO_DIR / f"db-{time.strftime('%Y%m%d-%H%M%S')}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        source = DEMO_DATABASE.with_name(DEMO_DATABASE.name + suffix)
        if source.exists():
            source.rename(aside.with_name(aside.name + suffix))
    print(f"The demo's Neon starts from its seed, so its old database moved to {aside}.")


def main() -> None:
    # .env is where .env.example tells people to put their settings; the environment wins.
    environ.Env.read_env(ROOT / ".env")
    # A `kill` stops everything this started, as Ctrl+C does (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    env = dict(os.environ)
    emulator = worker = server = None
    if not env.get("NEON_API_KEY"):
        keep_in_step(env)
        emulator = start_emulator(env)
    else:
        print(
            f"Using the Neon API at {env.get('NEON_API_URL', 'https://console.neon.tech/api/v2')}"
        )
    manage = [sys.executable, "manage.py"]
    try:
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True)
        if not environ.Env.parse_value(env.get("DEBUG", "false"), bool):
            # Without DEBUG the hashed, compressed static files must exist before serving.
            subprocess.run(
                [*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
            )
        if emulator:
            subprocess.run([*manage, "demo_user"], cwd=ROOT, env=env, check=True)
        # The background worker (fleet refreshes), beside the server: one command starts both.
        worker = subprocess.Popen([*manage, "fleet_worker"], cwd=ROOT, env=env)
        port = os.environ.get("PORT", "8000")
        print(f"Neon Admin at http://127.0.0.1:{port}/", flush=True)
        # In a session of its own: its autoreloader runs the server as a child, and stopping
        # the session stops both.
        server = subprocess.Popen(
            [*manage, "runserver", f"127.0.0.1:{port}"], cwd=ROOT, env=env, start_new_session=True
        )
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=10)
        if emulator:
            emulator.send_signal(signal.SIGTERM)
            emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
