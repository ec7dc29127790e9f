"""What the policy found: drift per project and rule, and the classes set by hand."""

from django.db import models


class ClassOverride(models.Model):
    """A class set by hand on a project: it wins over the policy file's match rules."""

    project_id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=40)
    reason = models.TextField(blank=True)
    set_by = models.CharField(max_length=254)
    set_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.project_id} is {self.name} (set by {self.set_by})"


class Drift(models.Model):
    """A live project out of one rule of its class: since when (the first evaluation that found
    it), and when last found. A project back within the rule loses its row."""

    project_id = models.CharField(max_length=64)
    rule_id = models.CharField(max_length=80)  # "<class>.<rule>" (policy.document.Rule.id)
    klass = models.CharField(max_length=40)
    kind = models.CharField(max_length=40)
    severity = models.CharField(max_length=8)
    since = models.DateTimeField()
    # Grace periods (policy.grace): when the team was told, and the fix job opened for it.
    notified_at = models.DateTimeField(null=True, blank=True)
    fix_job_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule_id", "project_id"], name="policy_drift_once")
        ]
        indexes = [models.Index(fields=["project_id"], name="policy_drift_project")]

    def __str__(self) -> str:
        return f"{self.project_id} out of {self.rule_id} since {self.since:%Y-%m-%d}"


class Evaluation(models.Model):
    """One evaluation of the whole fleet against the policy in force: when, which file, and the
    counts the policy page shows (projects per class, drift per rule)."""

    finished_at = models.DateTimeField()
    digest = models.CharField(max_length=64)  # the policy file's sha256
    seconds = models.FloatField(default=0)
    classes = models.JSONField(default=dict)  # class -> live projects in it

    class Meta:
        ordering = ["-finished_at"]

    def __str__(self) -> str:
        return f"policy evaluation at {self.finished_at:%Y-%m-%d %H:%M}"
