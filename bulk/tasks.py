"""Bulk jobs run on Django's Tasks framework (django-tasks-db), beside the fleet refresh."""

from __future__ import annotations

from django.tasks import task

from bulk.apply import apply
from bulk.dry_run import plan
from bulk.models import BulkJob

QUEUE = "default"


@task(queue_name=QUEUE)
def plan_job(job_id: int) -> dict:
    job = plan(BulkJob.objects.get(pk=job_id))
    return {"status": job.status}


@task(queue_name=QUEUE)
def apply_job(job_id: int) -> dict:
    job = apply(BulkJob.objects.get(pk=job_id))
    return {"status": job.status}
