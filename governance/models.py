"""What governance keeps in our own database: which projects are protected from deletion, and
the changes waiting for (or decided by) a second admin. The audit log keeps the history."""

from django.db import models


class Protection(models.Model):
    """One row per protected project; removing protection deletes the row (the audit log keeps
    who protected it, when and why)."""

    project_id = models.CharField(max_length=64, primary_key=True)
    project_name = models.CharField(max_length=256, blank=True)
    protected_by = models.CharField(max_length=254)
    protected_at = models.DateTimeField()
    reason = models.TextField()

    class Meta:
        ordering = ["project_name", "project_id"]

    def __str__(self) -> str:
        return f"{self.project_name or self.project_id} (protected by {self.protected_by})"


class ApprovalRequest(models.Model):
    """A change one admin asked for and a different admin must approve. `change` is exactly what
    approval executes; `before` is the project's state (projects.project_state) it was asked
    against, re-checked on approval."""

    class Kind(models.TextChoices):
        DELETE = "delete", "Delete project"
        IRREVERSIBLE = "irreversible", "Irreversible settings"
        BULK = "bulk", "Bulk change"
        UNPROTECT = "unprotect", "Remove deletion protection"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        EXECUTING = "executing", "Approved, being executed"
        APPROVED = "approved", "Approved"  # and executed
        FAILED = "failed", "Failed"  # approved, but not executed, or Neon refused
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"  # withdrawn by the requester
        EXPIRED = "expired", "Expired"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    project_id = models.CharField(max_length=64, blank=True, db_index=True)
    project_name = models.CharField(max_length=256, blank=True)
    change = models.JSONField(default=dict)
    before = models.JSONField(null=True, blank=True)
    summary = models.TextField()
    requested_by = models.CharField(max_length=254)
    # The requester as the IdP knows them (subject @ issuer), which never changes when their
    # email does: "never the requester" is checked on both.
    requested_by_subject = models.CharField(max_length=255, blank=True)
    requested_by_user_id = models.BigIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_by = models.CharField(max_length=254, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    result = models.TextField(blank=True)
    bulk_job_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="approval_due")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.project_name or self.project_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def asked_by(self, actor) -> bool:
        """Whether `actor` (audit.services.Actor) is the person who asked: the same email, the
        same IdP subject or the same account, under whatever email they have now."""
        return (
            self.requested_by == actor.username
            or (bool(self.requested_by_subject) and self.requested_by_subject == actor.subject)
            or (
                self.requested_by_user_id is not None and self.requested_by_user_id == actor.user_id
            )
        )
