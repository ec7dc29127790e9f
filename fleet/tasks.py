"""Background work of the fleet, on Django's Tasks framework (django-tasks-db in production)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from fleet import inventory
from fleet.models import InventoryRun

QUEUE = "default"


@task(queue_name=QUEUE)
def refresh_inventory(run_id: int) -> dict:
    """One refresh; a scheduled one books the next before it returns. Each account is also
    offered as a task of its own, so a second worker shares the reading (the task backend
    gives each task to one worker; fleet.inventory.claim gives each account to one reader)."""
    run = InventoryRun.objects.get(pk=run_id)
    try:
        run = inventory.refresh(run, share=lambda keys: _offer(run_id, keys))
    finally:
        if run.trigger == "schedule":
            schedule_next()
    return {"status": run.status, "projects": run.projects_seen, "pages": run.pages_read}


@task(queue_name=QUEUE)
def refresh_account(run_id: int, key: str) -> dict:
    """One account of a refresh, if no worker has taken it yet."""
    run = InventoryRun.objects.get(pk=run_id)
    return {"account": key, "read": inventory.refresh_account(run, key)}


def _offer(run_id: int, keys: list[str]) -> None:
    for key in keys:
        refresh_account.enqueue(run_id, key)


def start_refresh(*, trigger: str, requested_by: str = "") -> InventoryRun:
    """Queue a refresh now, unless one is already queued or running (that one is returned)."""
    run = inventory.run_start(trigger=trigger, requested_by=requested_by)
    if run.status == "queued" and not run.task_id:
        result = refresh_inventory.enqueue(run.pk)
        InventoryRun.objects.filter(pk=run.pk, task_id="").update(task_id=str(result.id))
        run.refresh_from_db()
    return run


def schedule_next() -> None:
    """Book the next scheduled refresh, FLEET_REFRESH_MINUTES from now."""
    when = timezone.now() + timedelta(minutes=settings.FLEET_REFRESH_MINUTES)
    run = InventoryRun.objects.create(trigger="schedule", scheduled_for=when)
    result = refresh_inventory.using(run_after=when).enqueue(run.pk)
    InventoryRun.objects.filter(pk=run.pk).update(task_id=str(result.id))


def ensure_scheduled() -> None:
    """The schedule exists once the worker starts: book one unless a refresh is waiting."""
    if not InventoryRun.objects.filter(status="queued").exists():
        start_refresh(trigger="schedule")
