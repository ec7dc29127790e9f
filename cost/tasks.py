"""Background work of the cost app (Django's Tasks framework, as the fleet's refresh)."""

from django.tasks import task

from cost import sync
from cost.models import SyncRun


@task()
def sync_consumption(run_id: int) -> dict:
    """One consumption sync (a run interrupted before is resumed by the next one queued)."""
    run = sync.run(SyncRun.objects.get(pk=run_id))
    return {"status": run.status, "calls": run.calls, "projects": run.projects}


def start_sync(*, requested_by: str = "") -> SyncRun:
    """Queue a sync now, unless one is queued or running (that one is returned)."""
    run = sync.start_run(requested_by=requested_by)
    if run.status == SyncRun.Status.QUEUED and run.started_at is None:
        sync_consumption.enqueue(run.pk)
    return run
