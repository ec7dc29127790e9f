"""Production server: `gunicorn -c gunicorn.conf.py neonadmin.wsgi`.

gthread workers: most of a request's time is spent waiting on Neon, so threads, not processes,
carry the concurrency. Every knob can be overridden from the environment.

Metrics: each worker process keeps its own counters, so /metrics would show whichever worker
answered the scrape. prometheus_client's multiprocess mode has every worker write its metrics to
files in PROMETHEUS_MULTIPROC_DIR, which /metrics adds up. prometheus_client reads that variable
once, when it is first imported, so it must be in the environment before a worker imports the
app: this file (read by the master before any worker starts) sets it to a fresh directory of its
own when it is not set, empties the directory at start (files of an earlier run would be added
to this one's), and tells prometheus_client when a worker exits (its live gauges go with it).
"""

import os
import shutil
import tempfile
from pathlib import Path

# Set before prometheus_client is imported, here or in a worker. Named after the master's pid:
# two servers on one machine must not add up (or empty) each other's files; a HUP re-reads this
# file in the same master, so the name stays.
_own_metrics_dir = str(Path(tempfile.gettempdir()) / f"neonadmin-prometheus-{os.getpid()}")
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", _own_metrics_dir)

from prometheus_client import multiprocess  # noqa: E402 - needs the directory above

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Longer than the Neon client's read timeout plus its retry budget, so Neon's slowness surfaces
# as a readable error from the client rather than a killed worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
# Behind a TLS proxy: trust its X-Forwarded-* only from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Once per master start (not on a HUP reload, which keeps the workers' counts)."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if directory.is_dir():
        for entry in directory.iterdir():
            if entry.is_file():
                entry.unlink()
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if os.environ["PROMETHEUS_MULTIPROC_DIR"] == _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
