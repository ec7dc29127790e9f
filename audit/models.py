from django.db import models


class AuditEventQuerySet(models.QuerySet):
    """Audit records are append-only: the application never updates or deletes them."""

    def update(self, **kwargs):
        raise PermissionError("Audit records cannot be changed.")

    def delete(self):
        raise PermissionError("Audit records cannot be deleted.")


class AuditEvent(models.Model):
    class Outcome(models.TextChoices):
        SUCCESS = "success", "Succeeded"
        FAILURE = "failure", "Failed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=254, db_index=True, help_text="The SSO identity.")
    actor_subject = models.CharField(max_length=255, blank=True, help_text="IdP subject, if any.")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    project_id = models.CharField(max_length=64, blank=True, db_index=True)
    project_name = models.CharField(max_length=256, blank=True)
    request_data = models.JSONField(default=dict, blank=True, help_text="What was asked.")
    changes = models.JSONField(
        default=dict, blank=True, help_text="{setting: {before, after}} for each changed setting."
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    neon_code = models.CharField(max_length=128, blank=True)
    neon_message = models.TextField(blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    # The bulk job this record is one project of (bulk.models.BulkJob), if any. Nullable, so
    # adding it is an ALTER TABLE that keeps the append-only triggers on SQLite too.
    bulk_job_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    # The approval request (governance.models.ApprovalRequest) this record is a step of: its
    # request, decision, expiry, and the action that approving it ran. Nullable, as above.
    approval_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        # Django's internal queries (and AuditEvent._base_manager) use the guarded queryset
        # too; the database's triggers (migration 0003) refuse whatever gets past it.
        base_manager_name = "objects"
        ordering = ["-created_at", "-id"]
        # The audit page pages newest first by (created_at, id): one index walk per page.
        indexes = [models.Index(fields=["-created_at", "-id"], name="audit_newest_first")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Audit records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit records cannot be deleted.")
