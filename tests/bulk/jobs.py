"""Making and running bulk jobs in tests, on the real worker (django-tasks-db's db_worker)."""

from django.core.management import call_command
from django.urls import reverse

from bulk.models import BulkJob

PATCH = "PATCH /api/v2/projects/{project_id}"


def run_worker() -> None:
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)


def new_job(client, change: dict, selection: dict | None = None) -> BulkJob:
    response = client.post(reverse("bulk:new"), {**(selection or {}), **change})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = BulkJob.objects.latest("pk")
    run_worker()
    job.refresh_from_db()
    return job
