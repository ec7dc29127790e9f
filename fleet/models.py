"""The fleet inventory: every project the key can see, as Neon last listed it, and the runs that
refreshed it. Rows are never deleted when a project disappears from Neon: they are marked gone."""

from django.db import models
from django.utils import timezone


class InventoryProject(models.Model):
    project_id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=256)
    org_id = models.CharField(max_length=64, blank=True)  # "" = personal account
    org_name = models.CharField(max_length=256, blank=True)
    shared = models.BooleanField(default=False)  # another account's, shared with the key's user
    region_id = models.CharField(max_length=64)
    pg_version = models.PositiveSmallIntegerField()
    provisioner = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(null=True)
    last_active_at = models.DateTimeField(null=True)
    # Consumption this period. Storage and compute time are in Neon's list; written data and
    # data transfer only in a full project read, so they are known for projects the dashboard
    # has read one by one (after a write, say) and empty otherwise.
    storage_bytes = models.BigIntegerField(null=True)
    compute_time_seconds = models.BigIntegerField(null=True)
    written_data_bytes = models.BigIntegerField(null=True)
    data_transfer_bytes = models.BigIntegerField(null=True)
    cu_min = models.FloatField(null=True)
    cu_max = models.FloatField(null=True)
    suspend_timeout_seconds = models.IntegerField(null=True)
    history_retention_seconds = models.IntegerField(null=True)
    allowed_ips_count = models.PositiveIntegerField(default=0)
    block_public_connections = models.BooleanField(default=False)
    has_maintenance_window = models.BooleanField(default=False)
    compute_time_quota_seconds = models.BigIntegerField(null=True)
    hipaa = models.BooleanField(default=False)
    logical_replication = models.BooleanField(default=False)
    # The key's effective_project_permission (CAN_VIEW, CAN_EDIT, CAN_MANAGE); "" when Neon
    # sends none (personal projects, organizations without per-project permissions).
    permission = models.CharField(max_length=16, blank=True)
    # When Neon last listed it, by which run, and since when it is gone (None: still there).
    read_at = models.DateTimeField(default=timezone.now)
    seen_run = models.BigIntegerField(null=True)
    gone_at = models.DateTimeField(null=True)
    # What a feature above the fleet says of the project (fleet.marks): its class and how many
    # rules of that class it is out of. The policy app sets both after each evaluation; ""
    # means no policy has classed it. A refresh never writes them.
    project_class = models.CharField(max_length=40, blank=True, default="")
    drift = models.PositiveSmallIntegerField(default=0)
    # This month's estimated cost in cents, as the cost app last priced the project's
    # consumption (None: not synced; the personal account has no consumption history).
    cost_cents = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["name"]
        # The indexes the page's queries use. On PostgreSQL, migration 0005 adds one per sort
        # the page offers, in each direction (empty values last both ways, as the page sorts),
        # and trigram indexes for the search; tests/fleet/test_query_plans.py holds them to it.
        indexes = [
            models.Index(fields=["org_id", "pg_version"], name="fleet_inv_org_pg"),
            # A class is often a small part of the fleet: its rows, by name, without a scan.
            models.Index(fields=["project_class", "name", "project_id"], name="fleet_inv_class"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.project_id})"

    @property
    def exposure(self) -> str:
        if self.block_public_connections:
            return "private"
        return "allowlist" if self.allowed_ips_count else "public"


class InventoryRun(models.Model):
    """One refresh of the whole inventory: its progress, and how it ended."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        FINISHED = "finished"
        FAILED = "failed"

    trigger = models.CharField(max_length=16)  # schedule, manual
    requested_by = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    scheduled_for = models.DateTimeField(null=True)  # a scheduled run waits until then
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    heartbeat_at = models.DateTimeField(null=True)
    scopes_total = models.PositiveIntegerField(default=0)  # the personal account + organizations
    scopes_done = models.PositiveIntegerField(default=0)
    # The accounts read to the end ("personal", an organization's ID, "shared"): a refresh that
    # was interrupted resumes after them instead of reading them again.
    scopes_finished = models.JSONField(default=list, blank=True)
    # Taken by a worker (fleet.inventory.claim): each account is read by one worker only.
    scopes_claimed = models.JSONField(default=list, blank=True)
    # The accounts this run reads: key ("personal", an organization's ID, "shared") → name.
    accounts = models.JSONField(default=dict, blank=True)
    pages_read = models.PositiveIntegerField(default=0)
    projects_seen = models.PositiveIntegerField(default=0)
    expected = models.PositiveIntegerField(default=0)  # rows before it started, for progress
    gone = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"inventory run {self.pk} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def rate(self) -> float:
        """Projects read a second since it started (0 before it has read any)."""
        if not self.started_at or not self.projects_seen:
            return 0.0
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return self.projects_seen / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> int | None:
        """How long the rest should take at the rate so far, against the last inventory's size
        (None when there is nothing to estimate from)."""
        left = self.expected - self.projects_seen
        if not self.expected or left <= 0 or not self.rate:
            return None
        return round(left / self.rate)

    @property
    def percent(self) -> int:
        """How far it is. Neon's list has no total: against the last inventory's size, or, on
        a first refresh, by the accounts done (so always an estimate)."""
        if self.status == self.Status.FINISHED:
            return 100
        if self.expected:
            return min(99, round(100 * self.projects_seen / self.expected))
        if self.scopes_total:
            return min(99, round(100 * self.scopes_done / self.scopes_total))
        return 0


class InventoryTally(models.Model):
    """When the fleet's counts were last counted in full (one row): the groups below are that
    count, kept up to date since by every write the dashboard makes (fleet.tally)."""

    counted_at = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)  # inventory rows counted, gone ones included

    def __str__(self) -> str:
        return f"fleet tally of {self.rows} rows at {self.counted_at:%Y-%m-%d %H:%M}"


class InventoryGroup(models.Model):
    """How many inventory rows share one combination of the values the fleet page counts and
    filters by (fleet.tally.DIMS, as JSON in `key`): the page's totals, facets, findings and
    filter choices are sums over these, not scans of the inventory."""

    key = models.CharField(max_length=600, unique=True)
    n = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.n} rows: {self.key}"


class InventoryDetail(models.Model):
    """What a bulk dry run judges a project by, kept beside its inventory row so that the dry
    run asks Neon nothing while it is fresh: the project's state in the update request's shape
    (projects.project_state) and what Neon's rules read besides. A side table, not columns of
    InventoryProject, so the fleet page's table stays narrow at a million rows. Written with the
    row, from the same answer of Neon (a refresh's page, a write's answer, a dry run's read)."""

    project_id = models.CharField(max_length=64, primary_key=True)
    state = models.JSONField()
    permission = models.CharField(max_length=16, blank=True)  # as InventoryProject.permission
    provisioner = models.CharField(max_length=32, blank=True)
    read_at = models.DateTimeField()  # when Neon gave this answer
    # The owner's address, which only a full read of the project carries (x-sensitive in the
    # spec: shown to operators, used for the policy's drift notices); "" not known yet.
    owner_email = models.CharField(max_length=256, blank=True)

    def __str__(self) -> str:
        return f"detail of {self.project_id} read {self.read_at:%Y-%m-%d %H:%M}"

    @property
    def name(self) -> str:
        return self.state["name"]


class InventoryBranch(models.Model):
    """A project's default branch as the dashboard last read it (fleet.branches): whether Neon
    protects it, its annotation, and its backup schedule. Neon's project list carries none of
    this, and reading it costs two calls a project, so it is read only for the projects a
    feature asks for (the policy's branch rules and classes by annotation)."""

    project_id = models.CharField(max_length=64, primary_key=True)
    branch_id = models.CharField(max_length=64)
    name = models.CharField(max_length=256)
    protected = models.BooleanField(default=False)
    annotations = models.JSONField(default=dict, blank=True)
    # The schedule's items (BackupScheduleItem.as_api); None: Neon would not say (a plan
    # without snapshots, or the Beta endpoint refused), so no rule can judge it.
    backup_schedule = models.JSONField(null=True, blank=True)
    read_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.project_id}: default branch {self.name}"


class InventoryBackup(models.Model):
    """One item of a default branch's backup schedule, as rows, so that a rule ("daily or more
    often, kept a week") is one anti-join over the fleet."""

    project_id = models.CharField(max_length=64, db_index=True)
    rank = models.PositiveSmallIntegerField()  # projects.neon.BACKUP_FREQUENCIES index
    retention_seconds = models.BigIntegerField(null=True)  # None: kept until deleted

    def __str__(self) -> str:
        return f"{self.project_id}: backup rank {self.rank}"
