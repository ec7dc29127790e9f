"""Sending one project's change again while Neon says it did nothing, and never when it may have.

The transport (projects.neon.transport) has already retried a few times within its own budget;
a bulk job can wait longer, since nobody is waiting on a page.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings

from bulk.models import BulkJob
from bulk.worker import pause
from projects.neon import (
    NeonAuthError,
    NeonBadResponse,
    NeonError,
    NeonLocked,
    NeonNotFound,
    NeonRateLimited,
    NeonRejected,
    NeonTimeout,
    NeonUnavailable,
    get_client,
)

MSG_STILL_LOCKED = (
    "Neon kept this project locked by running operations for %(seconds)s s; nothing was applied."
)
MSG_LANDED_UNKNOWN = (
    "Neon's answer to this change was lost, and the project could not be read afterwards to "
    "tell whether it landed (%(error)s). It was not sent again: check the project."
)


class LandedUnknown(NeonUnavailable):
    """A write's answer was lost and Neon could not be read back: whether it landed is unknown,
    so it is never sent again."""


def patiently[T](
    job: BulkJob,
    call: Callable[[], T],
    *,
    landed: Callable[[], bool] | None = None,
    project_id: str = "",
) -> T | None:
    """`call`, again while Neon says it did nothing and may say yes later. The transport has
    already retried a few times within its own budget; this waits longer:

    - 423, the project locked by running operations: follow the project's operations until they
      finish (up to BULK_LOCKED_WAIT_SECONDS), then send again;
    - 429: wait for Retry-After (every instance waits too: the budget is paused), then again;
    - 503 and other unavailability: back off, up to BULK_ITEM_ATTEMPTS tries in all;
    - but an answer that was lost (a timeout, a broken connection, an unreadable body, a 5xx
      other than 503) may follow an applied write: `landed` reads Neon to find out before
      anything is sent again (patiently too), and None is returned when it had; if Neon cannot
      be read, LandedUnknown is raised and nothing is sent again.
    """
    tries = settings.BULK_ITEM_ATTEMPTS
    attempt = 0
    locked_until = None
    while True:
        attempt += 1
        try:
            return call()
        except (NeonRejected, NeonAuthError, NeonNotFound):
            raise
        except NeonLocked:
            if not project_id:
                if attempt >= tries:
                    raise
                pause(job, settings.BULK_RETRY_SECONDS * attempt)
                continue
            now = time.monotonic()
            locked_until = locked_until or now + settings.BULK_LOCKED_WAIT_SECONDS
            if now >= locked_until:
                raise NeonLocked(
                    MSG_STILL_LOCKED % {"seconds": round(settings.BULK_LOCKED_WAIT_SECONDS)}
                ) from None
            _operations_finish(job, project_id, until=locked_until)
            attempt -= 1  # waiting on Neon's own work is not a failed try
            continue
        except (NeonTimeout, NeonBadResponse, NeonUnavailable) as exc:
            if attempt >= tries:
                raise
            if landed is not None and _answer_lost(exc) and _read_back(job, landed):
                return None  # the write had landed: never send it twice
            wait = settings.BULK_RETRY_SECONDS * attempt
        except NeonRateLimited as exc:
            if attempt >= tries:
                raise
            wait = max(exc.retry_after or 0, settings.BULK_RETRY_SECONDS)
        pause(job, wait)


def _answer_lost(exc: NeonError) -> bool:
    """Whether a write's failure may follow the write having been applied: a timeout, a broken
    connection, an unreadable body, or a 5xx other than 503 (Neon documents 503 alone as safe
    to retry). 503 and a connection never made mean nothing reached Neon's data."""
    if isinstance(exc, NeonTimeout | NeonBadResponse):
        return True
    return exc.status is not None and exc.status != 503


def _operations_finish(job: BulkJob, project_id: str, *, until: float) -> None:
    """Wait until none of the project's operations is still running (or `until`)."""
    while time.monotonic() < until:
        try:
            page = get_client().list_operations(project_id, limit=10)
        except NeonError:
            page = None
        if page is not None and all(op.done for op in page.operations):
            return
        pause(job, min(settings.BULK_RETRY_SECONDS, max(0.0, until - time.monotonic())))


def _read_back(job: BulkJob, landed: Callable[[], bool]) -> bool:
    """Whether a write whose answer was lost landed, read as patiently as a write is sent: a
    read that fails is no evidence that it did not (the 503 may be the read's own)."""
    for attempt in range(1, settings.BULK_ITEM_ATTEMPTS + 1):
        try:
            return landed()
        except NeonError as exc:
            error = exc
            if attempt < settings.BULK_ITEM_ATTEMPTS:
                pause(job, settings.BULK_RETRY_SECONDS * attempt)
    raise LandedUnknown(MSG_LANDED_UNKNOWN % {"error": error.message}) from error
