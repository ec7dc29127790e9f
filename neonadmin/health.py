"""What monitoring reads: /readyz (readiness) and /metrics (Prometheus). /healthz, the plain
liveness check, is in neonadmin/views.py.

None of these needs a login, none is audited, none may be cached.
"""

import ipaddress
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.signals import setting_changed
from django.db import DatabaseError, connection
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder

from neonadmin.auth.proxy import ip_networks
from neonadmin.cache import redis_healthy
from projects.neon import NeonError, get_client

logger = logging.getLogger(__name__)

# Probes come every few seconds from every load balancer; Neon's API budget is for people.
NEON_CHECK_SECONDS = 10.0
# A probe waits this long for Neon, then answers with the last result: a slow Neon (the client
# retries for up to NEON_RETRY_BUDGET) must not time out the probe and so every instance.
NEON_CHECK_WAIT = 2.0
NEON_NOT_ANSWERED = "Neon has not answered yet."
REDIS_NOT_CONFIGURED = "not configured: each process caches for itself"
REDIS_UNAVAILABLE = "unavailable: the cache acts as empty"


@login_not_required
@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 503 only when this instance cannot serve (its database is down). Redis or Neon
    down is "degraded" with 200: they are shared, so every instance would be taken out of the
    load balancer at once, and pages still work without Redis, or show Neon's errors."""
    checks = {"database": _database(), "redis": _redis(), "neon": _neon()}
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


@dataclass(frozen=True)
class _NeonCheck:
    result: dict
    checked_at: float


_clock = time.monotonic
_neon_lock = threading.Lock()
_neon_last: _NeonCheck | None = None
_neon_pending: Future | None = None
_neon_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz-neon")


def _neon() -> dict:
    """The last answer to one cheap Neon call, at most NEON_CHECK_SECONDS old when Neon answers
    in time; concurrent probes share one call."""
    global _neon_last, _neon_pending
    with _neon_lock:
        last = _neon_last
        if last and _clock() - last.checked_at < NEON_CHECK_SECONDS:
            return last.result
        if _neon_pending is None:
            _neon_pending = _neon_executor.submit(_ask_neon)
        pending = _neon_pending
    try:
        result = pending.result(timeout=NEON_CHECK_WAIT)
    except FutureTimeout:
        return last.result if last else {"ok": False, "message": NEON_NOT_ANSWERED}
    with _neon_lock:
        if _neon_pending is pending:
            _neon_last, _neon_pending = _NeonCheck(result, _clock()), None
    return result


def _ask_neon() -> dict:
    try:
        get_client().get_auth_details()
    except NeonError as exc:
        return {"ok": False, "error": type(exc).__name__, "message": exc.message}
    except Exception:
        # A bug here must not turn every instance's probe into a 500.
        logger.exception("Readiness: the Neon check failed unexpectedly")
        return {"ok": False, "error": "unexpected", "message": "The Neon check failed."}
    return {"ok": True}


@receiver(setting_changed)
def reset_neon_check(*, setting: str, **kwargs) -> None:
    """A new Neon address or key (tests) makes the last answer meaningless."""
    global _neon_last, _neon_pending
    if not setting.startswith("NEON_"):
        return
    with _neon_lock:
        _neon_last = _neon_pending = None


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
