"""Readiness's Neon check: the last answer to one cheap Neon call (registered with
neonadmin.health in ProjectsConfig.ready)."""

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.core.signals import setting_changed
from django.dispatch import receiver

from projects.neon import NeonError, get_client

logger = logging.getLogger(__name__)

# Probes come every few seconds from every load balancer; Neon's API budget is for people.
NEON_CHECK_SECONDS = 10.0
# A probe waits this long for Neon, then answers with the last result: a slow Neon (the client
# retries for up to NEON_RETRY_BUDGET) must not time out the probe and so every instance.
NEON_CHECK_WAIT = 2.0
NEON_NOT_ANSWERED = "Neon has not answered yet."


@dataclass(frozen=True)
class _NeonCheck:
    result: dict
    checked_at: float


_clock = time.monotonic
_neon_lock = threading.Lock()
_neon_last: _NeonCheck | None = None
_neon_pending: Future | None = None
_neon_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz-neon")


def neon_check() -> dict:
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
