"""Bulk changes: one change to many projects, planned (the dry run) before it is applied.

A job holds the change as the operator asked for it and one item per selected project. The dry
run judges each project (from the fleet inventory when it is fresh, else read from Neon) and
stores its verdict and the exact request body; apply sends that body (after re-reading the
project), and each item ends with an outcome. An item's outcome moves forward only (pending →
sending → an end), claimed with a conditional UPDATE, so no two workers and no restarted worker
ever send one project's change twice.
"""

from django.db import models
from django.utils import timezone


class BulkJob(models.Model):
    class Status(models.TextChoices):
        PLANNING = "planning", "Dry run under way"
        PLANNED = "planned", "Dry run ready"
        AWAITING_APPROVAL = "awaiting_approval", "Waiting for approval"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Applying"
        STOPPING = "stopping", "Stopping"
        FINISHED = "finished", "Finished"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"
        DISCARDED = "discarded", "Discarded"
        REJECTED = "rejected", "Not approved"

    kind = models.CharField(max_length=32)  # bulk.changes.KINDS
    params = models.JSONField(default=dict)  # the change form's cleaned values
    summary = models.CharField(max_length=300)  # "Maintenance window: Sun 02:00 to 03:00 UTC"
    selection = models.JSONField(default=dict)  # the fleet filters or ticked IDs it came from
    status = models.CharField(max_length=24, choices=Status, default=Status.PLANNING)
    created_by = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    applied_by = models.CharField(max_length=254, blank=True)
    approval_id = models.BigIntegerField(null=True, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The pace of the step under way (the dry run, or apply): when its worker started, and how
    # many projects were already done then (by a worker before it, or settled without Neon).
    pace_since = models.DateTimeField(null=True, blank=True)
    pace_done_before = models.PositiveIntegerField(default=0)
    stop_requested_by = models.CharField(max_length=254, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"bulk job {self.pk}: {self.summary}"

    @property
    def active(self) -> bool:
        return self.status in (
            self.Status.PLANNING,
            self.Status.QUEUED,
            self.Status.RUNNING,
            self.Status.STOPPING,
        )

    @property
    def applying(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING, self.Status.STOPPING)

    @property
    def ended(self) -> bool:
        return self.status in (
            self.Status.FINISHED,
            self.Status.STOPPED,
            self.Status.FAILED,
            self.Status.DISCARDED,
            self.Status.REJECTED,
        )


class BulkItem(models.Model):
    class Verdict(models.TextChoices):
        """What the dry run found."""

        PENDING = "pending", "Not read yet"
        CHANGE = "change", "Will change"
        UNCHANGED = "unchanged", "Needs no change"
        REFUSED = "refused", "Neon would refuse"
        PROTECTED = "protected", "Protected: skipped"
        MISSING = "missing", "Not found in Neon"
        UNREAD = "unread", "Could not be read"

    class Outcome(models.TextChoices):
        """What apply did."""

        PENDING = "pending", "Not done yet"
        SENDING = "sending", "Being sent"
        CHANGED = "changed", "Changed"
        UNCHANGED = "unchanged", "Unchanged"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        NOT_RUN = "not_run", "Not done (stopped)"
        # Sent, its answer lost, and Neon could not be read to tell whether it landed: never
        # sent again blindly; "Check again" reads it and settles it (bulk.services.job_recheck).
        UNKNOWN = "unknown", "Unknown: not sent again"

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    project_id = models.CharField(max_length=64)
    project_name = models.CharField(max_length=256)
    org_name = models.CharField(max_length=256, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict, default=Verdict.PENDING)
    # The project as the dry run read it (project_state), the request body it will send, and
    # each changed setting as the review shows it: [{path, label, before, after}].
    before = models.JSONField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    changes = models.JSONField(default=list, blank=True)
    messages = models.JSONField(default=list, blank=True)  # why refused / why skipped
    # When Neon gave the state the dry run judged: now, or the fleet inventory's last read of it.
    read_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome, default=Outcome.PENDING)
    outcome_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    request_id = models.CharField(max_length=128, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_name", "project_id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "project_id"], name="bulk_item_once_per_job")
        ]
        indexes = [models.Index(fields=["job", "outcome"]), models.Index(fields=["job", "verdict"])]

    def __str__(self) -> str:
        return f"{self.project_id} in job {self.job_id}: {self.verdict}/{self.outcome}"
