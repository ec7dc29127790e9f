"""Production server: `gunicorn -c gunicorn.conf.py neonadmin.wsgi`.

gthread workers: most of a request's time is spent waiting on Neon, so threads, not processes,
carry the concurrency. Every knob can be overridden from the environment.
"""

import os

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
