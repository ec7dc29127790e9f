"""Consumption read from Neon, a day per project, and what the sync has done."""

from django.db import models

# One column per metric of Neon's consumption history v2 (projects.neon.CONSUMPTION_METRICS),
# in Neon's units: CU-seconds, bytes, byte-hours (storage) and branch-hours.
METRIC_FIELDS = (
    "compute_unit_seconds",
    "root_branch_bytes_month",
    "child_branch_bytes_month",
    "instant_restore_bytes_month",
    "public_network_transfer_bytes",
    "private_network_transfer_bytes",
    "extra_branches_month",
    "snapshot_storage_bytes_month",
)


class ConsumptionDay(models.Model):
    """One project's consumption over one UTC day, as Neon last reported it. `final`: the day
    is over and Neon's numbers for it will not change (the sync does not read it again)."""

    project_id = models.CharField(max_length=64)
    org_id = models.CharField(max_length=64)
    day = models.DateField()
    plan = models.CharField(max_length=32)  # the billing period's plan: which prices apply
    compute_unit_seconds = models.BigIntegerField(default=0)
    root_branch_bytes_month = models.BigIntegerField(default=0)
    child_branch_bytes_month = models.BigIntegerField(default=0)
    instant_restore_bytes_month = models.BigIntegerField(default=0)
    public_network_transfer_bytes = models.BigIntegerField(default=0)
    private_network_transfer_bytes = models.BigIntegerField(default=0)
    extra_branches_month = models.BigIntegerField(default=0)
    snapshot_storage_bytes_month = models.BigIntegerField(default=0)
    final = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project_id", "day"], name="cost_day_once")]
        indexes = [models.Index(fields=["day", "org_id"], name="cost_day_org")]

    def __str__(self) -> str:
        return f"{self.project_id} on {self.day}"


class ProjectMonth(models.Model):
    """A project's estimated cost for one month, in cents per line item, from its days and the
    prices in force (cost.prices); written whenever its days are. `hours`: the hours of the
    month the numbers cover, for the month-end projection."""

    project_id = models.CharField(max_length=64)
    org_id = models.CharField(max_length=64)
    month = models.DateField()  # the first day of the month
    plan = models.CharField(max_length=32)
    compute_cents = models.BigIntegerField(default=0)
    storage_cents = models.BigIntegerField(default=0)
    history_cents = models.BigIntegerField(default=0)
    snapshot_cents = models.BigIntegerField(default=0)
    transfer_cents = models.BigIntegerField(default=0)  # before the organization's allowance
    branches_cents = models.BigIntegerField(default=0)
    total_cents = models.BigIntegerField(default=0)
    public_transfer_bytes = models.BigIntegerField(default=0)  # for the allowance
    hours = models.PositiveIntegerField(default=0)
    synced_run = models.BigIntegerField(null=True)  # the sync that last stored it (resuming)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project_id", "month"], name="cost_month_once")
        ]
        indexes = [
            models.Index(fields=["month", "-total_cents"], name="cost_month_top"),
            models.Index(fields=["month", "org_id"], name="cost_month_org"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.month:%Y-%m}: {self.total_cents / 100:.2f} USD"


class OrgSync(models.Model):
    """Where the sync stands for one organization: whether its plan gives consumption history
    (a 403 says not, and the page says so), the days read final through, and the last run."""

    org_id = models.CharField(max_length=64, primary_key=True)
    org_name = models.CharField(max_length=256, blank=True)
    access = models.BooleanField(default=True)
    message = models.TextField(blank=True)  # Neon's words when it refused
    final_through = models.DateField(null=True)  # every day up to it is final here
    synced_at = models.DateTimeField(null=True)
    spending_limit_cents = models.BigIntegerField(null=True)
    spending_limit_known = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"consumption of {self.org_id}"


class SyncRun(models.Model):
    """One sync of every organization's consumption: resumable (`position`: per organization
    and range, the batches done) and counted (calls made, 429s met)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        FINISHED = "finished"
        FAILED = "failed"

    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    requested_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    position = models.JSONField(default=dict, blank=True)  # "org:range" -> batches done
    batches_total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)
    projects = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"consumption sync {self.pk} ({self.status})"


class Budget(models.Model):
    """A monthly budget in cents for each project of a class (fleet's project_class), or for
    one project: turned into Neon's per-project quotas through a bulk job, and watched against
    each project's month so far (warnings at 80 % and 100 %). A project's own budget wins
    over its class's."""

    klass = models.CharField(max_length=40, blank=True)  # "" for one project's budget
    project_id = models.CharField(max_length=64, blank=True)  # "" for a class's
    monthly_cents = models.BigIntegerField()
    created_by = models.CharField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)
    job_id = models.BigIntegerField(null=True)  # the bulk job that set its quotas, last

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["klass", "project_id"], name="cost_budget_once"),
            models.CheckConstraint(
                condition=(models.Q(klass="") ^ models.Q(project_id="")),
                name="cost_budget_class_or_project",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target}: {self.monthly_cents / 100:.2f} USD a project a month"

    @property
    def target(self) -> str:
        return self.klass or f"project {self.project_id}"


class BudgetAlert(models.Model):
    """A project of a budgeted class past 80 % or 100 % of its budget in a month: told once."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    project_id = models.CharField(max_length=64)
    month = models.DateField()
    level = models.PositiveSmallIntegerField()  # 80 or 100
    cents = models.BigIntegerField()  # the month so far when found
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "project_id", "month", "level"], name="cost_alert_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project_id} at {self.level} % of {self.budget.klass}'s budget"
