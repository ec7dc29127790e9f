"""A bulk job's worker: alive or not, asked to stop or not, and waiting without missing either.

The worker beats (BulkJob.heartbeat_at) after each project and while it waits, so a job whose
worker has been silent past HEARTBEAT_TIMEOUT is one whose worker died: it can be resumed.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from bulk.models import BulkJob

HEARTBEAT_TIMEOUT = timedelta(minutes=2)
# A job queued this long that no worker has started points at a missing worker.
WORKER_WAIT = timedelta(seconds=30)
MSG_STOPPED_WAITING = "Stopped while waiting for Neon; nothing was applied."


class Stopped(Exception):
    """The operator stopped the job while this item was still waiting for Neon."""


def beat(job: BulkJob) -> None:
    job.heartbeat_at = timezone.now()
    BulkJob.objects.filter(pk=job.pk).update(heartbeat_at=job.heartbeat_at)


def stop_asked(job: BulkJob) -> bool:
    status = BulkJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    return status == BulkJob.Status.STOPPING


def pause(job: BulkJob, seconds: float) -> None:
    """Wait, but give up at once when the operator stops the job."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if stop_asked(job):
            raise Stopped(MSG_STOPPED_WAITING)
        beat(job)  # alive while waiting, so nobody resumes a job still at work
        time.sleep(min(left, 0.5))


def pace_start(job: BulkJob, *, done: int) -> None:
    """A worker starts the dry run or apply: its rate (projects a second, on the job's page)
    counts from now, over the projects done after the `done` already done."""
    now = timezone.now()
    job.pace_since, job.pace_done_before, job.heartbeat_at = now, done, now
    BulkJob.objects.filter(pk=job.pk).update(
        pace_since=now, pace_done_before=done, heartbeat_at=now
    )
