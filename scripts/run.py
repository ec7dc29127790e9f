"""`make run`: the dashboard on its embedded defaults.

Without NEON_API_KEY this is demo mode: start the Neon emulator with seeded projects, point the
dashboard at it, and create the local `demo` login. With NEON_API_KEY it talks to Neon itself.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent
DEMO_SEED = int(os.environ.get("DEMO_SEED", "300"))


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
    return proc


def main() -> None:
    # .env is where .env.example tells people to put their settings; the environment wins.
    environ.Env.read_env(ROOT / ".env")
    env = dict(os.environ)
    emulator = worker = None
    if not env.get("NEON_API_KEY"):
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
        subprocess.run([*manage, "runserver", f"127.0.0.1:{port}"], cwd=ROOT, env=env, check=False)
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=10)
        if emulator:
            emulator.send_signal(signal.SIGTERM)
            emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
