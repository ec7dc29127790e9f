"""What monitoring reads: /readyz (readiness) and /metrics (Prometheus). /healthz, the plain
liveness check, is in neonadmin/views.py.

None of these needs a login, none is audited, none may be cached.
"""

import ipaddress
import logging
import os
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder

from neonadmin.auth.proxy import ip_networks
from neonadmin.cache import redis_healthy

logger = logging.getLogger(__name__)

# The apps' own checks (projects: Neon), registered at start-up: name -> a function returning
# {"ok": bool, ...}. None of them can fail the probe: only this instance's database can.
_checks: dict[str, Callable[[], dict]] = {}


def register_check(name: str, check: Callable[[], dict]) -> None:
    _checks[name] = check


REDIS_NOT_CONFIGURED = "not configured: each process caches for itself"
REDIS_UNAVAILABLE = "unavailable: the cache acts as empty"


@login_not_required
@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 503 only when this instance cannot serve (its database is down). Redis or Neon
    down is "degraded" with 200: they are shared, so every instance would be taken out of the
    load balancer at once, and pages still work without Redis, or show Neon's errors."""
    checks = {"database": _database(), "redis": _redis()}
    checks.update((name, check()) for name, check in _checks.items())
    if not checks["database"]["ok"]:
        status, code = "failing", 503
    elif all(check["ok"] for check in checks.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The detail (host names, users) is for the log, not for whoever can reach /readyz.
        logger.warning("Readiness: the database is unavailable: %s", exc)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def _redis() -> dict:
    healthy = redis_healthy()
    if healthy is None:
        return {"ok": True, "configured": False, "message": REDIS_NOT_CONFIGURED}
    if not healthy:
        return {"ok": False, "configured": True, "message": REDIS_UNAVAILABLE}
    return {"ok": True, "configured": True}


@login_not_required
@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, for METRICS_ALLOWED_NETWORKS only; to anyone else it does not
    exist. Under gunicorn every worker writes to PROMETHEUS_MULTIPROC_DIR and this adds them up
    (prometheus_client reads that variable itself, at import: see gunicorn.conf.py)."""
    if not metrics_allowed(request.client_ip):
        raise Http404
    registry = REGISTRY
    if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type)


def metrics_allowed(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
    return any(ip in net for net in ip_networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))
