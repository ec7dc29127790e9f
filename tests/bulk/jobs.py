"""Making and running bulk jobs in tests, on the real worker (django-tasks-db's db_worker)."""

from django.core.management import call_command
from django.urls import reverse

from bulk.models import BulkJob
from fleet import tasks as fleet_tasks

PATCH = "PATCH /api/v2/projects/{project_id}"
DELETE = "DELETE /api/v2/projects/{project_id}"
PROJECT = "/api/v2/projects/"  # the path prefix of faults on one project
# Two changes the tests make: a maintenance window, and a custom suspend timeout.
WINDOW = {
    "kind": "maintenance_window",
    "maintenance_weekdays": ["7"],
    "maintenance_start_time": "02:00",
    "maintenance_end_time": "03:00",
}
SUSPEND = {"kind": "suspend", "suspend_mode": "custom", "suspend_timeout_seconds": "1200"}


def refresh_inventory() -> None:
    """A fleet refresh, as the worker runs it: the dry run judges from what it read."""
    run = fleet_tasks.start_refresh(trigger="manual")
    fleet_tasks.refresh_inventory.call(run.pk)


def run_worker() -> None:
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)


def new_job(client, change: dict, selection: dict | None = None) -> BulkJob:
    response = client.post(reverse("bulk:new"), {**(selection or {}), **change})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = BulkJob.objects.latest("pk")
    run_worker()
    job.refresh_from_db()
    return job
