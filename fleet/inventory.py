"""Keeping the inventory: read every project the key can see from Neon, at background priority.

A refresh pages through the personal account and every organization at 400 a page (Neon's
largest), upserting each page as it comes, so a refresh of 10,000 projects in three
organizations is about 25 list calls plus one per organization. Rows a finished refresh did not
see are marked gone; a refresh that fails or is interrupted marks nothing and keeps every row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

from fleet import tally
from fleet.models import InventoryDetail, InventoryProject, InventoryRun
from projects.neon import (
    NeonError,
    NeonRejected,
    Project,
    ProjectPage,
    begin_request,
    end_request,
    get_client,
)
from projects.project_state import project_state
from projects.selectors import org_required

logger = logging.getLogger(__name__)

# Sent when a refresh has read every account and its rows are committed (kwargs: run): what
# is worked out from the whole inventory (policy drift) is worked out again.
refreshed = Signal()

PAGE_SIZE = 400  # Neon's maximum for GET /projects
SHARED = "shared"  # the scope of GET /projects/shared
PERSONAL = "personal"  # the scope of GET /projects without org_id
# An interrupted refresh younger than this resumes; an older one starts again from the top.
RESUME_WITHIN = timedelta(hours=6)
# A run whose worker has said nothing for this long died with it.
HEARTBEAT_TIMEOUT = timedelta(minutes=2)
MSG_INTERRUPTED = "The refresh stopped before it finished (its worker went away)."
UPDATED_FIELDS = [
    "name",
    "org_id",
    "org_name",
    "shared",
    "region_id",
    "pg_version",
    "provisioner",
    "created_at",
    "last_active_at",
    "storage_bytes",
    "compute_time_seconds",
    "cu_min",
    "cu_max",
    "suspend_timeout_seconds",
    "history_retention_seconds",
    "allowed_ips_count",
    "block_public_connections",
    "has_maintenance_window",
    "compute_time_quota_seconds",
    "hipaa",
    "logical_replication",
    "permission",
    "read_at",
    "seen_run",
    "gone_at",
]


def row_from_project(
    project: Project, *, org_names: dict[str, str], run_id: int | None = None, shared: bool = False
):
    settings = project.settings
    defaults = project.endpoint_defaults
    return InventoryProject(
        project_id=project.id,
        name=project.name,
        org_id=project.org_id or "",
        org_name=project.org_name or org_names.get(project.org_id or "", ""),
        shared=shared,
        region_id=project.region_id,
        pg_version=project.pg_version,
        provisioner=project.provisioner,
        created_at=project.created_at,
        last_active_at=project.compute_last_active_at,
        storage_bytes=project.synthetic_storage_size,
        compute_time_seconds=(
            project.compute_time_seconds
            if project.compute_time_seconds is not None
            else project.cpu_used_sec
        ),
        written_data_bytes=project.written_data_bytes,
        data_transfer_bytes=project.data_transfer_bytes,
        cu_min=defaults.autoscaling_limit_min_cu,
        cu_max=defaults.autoscaling_limit_max_cu,
        suspend_timeout_seconds=defaults.suspend_timeout_seconds,
        history_retention_seconds=project.history_retention_seconds,
        allowed_ips_count=len(settings.allowed_ips),
        block_public_connections=settings.block_public_connections,
        has_maintenance_window=settings.maintenance_window is not None,
        compute_time_quota_seconds=settings.quota.compute_time_seconds or None,
        hipaa=settings.hipaa or project.hipaa_enabled_at is not None,
        logical_replication=settings.enable_logical_replication,
        permission=project.permission or "",
        read_at=timezone.now(),
        seen_run=run_id,
        gone_at=None,
    )


def detail_from_project(project: Project, *, read_at: datetime) -> InventoryDetail:
    """What a bulk dry run judges `project` by (see InventoryDetail)."""
    return InventoryDetail(
        project_id=project.id,
        state=project_state(project),
        permission=project.permission or "",
        provisioner=project.provisioner,
        read_at=read_at,
        owner_email=project.owner_email or "",
    )


def _upsert(
    rows: list[InventoryProject],
    *,
    full: bool,
    projects: Sequence[Project],
    keep_seen_run: bool = False,
) -> list[InventoryDetail]:
    """The rows, and the details of the `projects` they were made from, in one transaction.
    `keep_seen_run`: written outside a refresh, so a row keeps the run that last saw it, even
    one a refresh running now wrote since it was read. Returns the details."""
    fields = UPDATED_FIELDS + (["written_data_bytes", "data_transfer_bytes"] if full else [])
    if keep_seen_run:
        fields = [field for field in fields if field != "seen_run"]
    details = [
        detail_from_project(p, read_at=row.read_at) for p, row in zip(projects, rows, strict=True)
    ]
    with transaction.atomic():
        InventoryProject.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["project_id"], update_fields=fields
        )
        InventoryDetail.objects.bulk_create(
            details,
            update_conflicts=True,
            unique_fields=["project_id"],
            # A list's page carries no owner: only a full read replaces the one known.
            update_fields=["state", "permission", "provisioner", "read_at"]
            + (["owner_email"] if full else []),
        )
    return details


def run_start(*, trigger: str, requested_by: str = "") -> InventoryRun:
    """The one already queued or running (one refresh at a time); else an interrupted one,
    resumed after the accounts it finished; else a new run."""
    with transaction.atomic():
        active = run_active()
        if active is not None:
            return active
        interrupted = _resumable()
        if interrupted is not None:
            InventoryRun.objects.filter(pk=interrupted.pk).update(
                status="queued", error="", task_id="", finished_at=None, scheduled_for=None
            )
            interrupted.refresh_from_db()
            return interrupted
        return InventoryRun.objects.create(
            trigger=trigger,
            requested_by=requested_by,
            expected=InventoryProject.objects.filter(gone_at__isnull=True).count(),
        )


def _resumable() -> InventoryRun | None:
    """The last run, if it failed part-way (its worker died, or Neon failed) within
    RESUME_WITHIN, after finishing at least one account, and nothing finished since."""
    last = InventoryRun.objects.exclude(status="queued").order_by("-created_at").first()
    if last is None or last.status != "failed" or not last.scopes_finished:
        return None
    return last if last.created_at > timezone.now() - RESUME_WITHIN else None


def run_active() -> InventoryRun | None:
    """The refresh running or due to run now (not one booked for later), after marking one
    whose worker died as failed."""
    due = Q(status="running") | Q(status="queued", scheduled_for__isnull=True)
    due |= Q(status="queued", scheduled_for__lte=timezone.now())
    run = InventoryRun.objects.filter(due).first()
    if run is None:
        return None
    if run.status == "running" and run.heartbeat_at < timezone.now() - HEARTBEAT_TIMEOUT:
        run.status, run.error, run.finished_at = "failed", MSG_INTERRUPTED, timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        return None
    return run


def run_last_finished() -> InventoryRun | None:
    return InventoryRun.objects.filter(status="finished").order_by("-finished_at").first()


def refresh(run: InventoryRun, *, share=None) -> InventoryRun:
    """Read everything from Neon into the inventory. Background priority: operators' pages go
    first within the account budget, and this waits for room instead of failing.

    The work is one piece per account, each claimed before it is read (`claim`), so a second
    worker can take some: `share`, given the accounts, offers them to other workers (the
    worker's task queues one task per account, fleet.tasks.refresh_account). This process then
    reads every account nobody else has claimed; whoever finishes the last one closes the run.
    """
    stats_token = begin_request(priority="background", allow_stale=False)[1]
    try:
        accounts = _begin(run)
        if share is not None:
            share([key for key in accounts if key not in run.scopes_finished])
        for key in accounts:
            if claim(run, key):
                _read_account(run, key)
    except (NeonError, OSError) as exc:
        _fail(run, exc)
    finally:
        end_request(stats_token)
    run.refresh_from_db()
    return run


def refresh_account(run: InventoryRun, key: str) -> bool:
    """Another worker's share of a refresh: one account, unless it is claimed already or the
    run is over. True if this call read it."""
    run.refresh_from_db()
    if run.status != "running" or not claim(run, key):
        return False
    stats_token = begin_request(priority="background", allow_stale=False)[1]
    try:
        _read_account(run, key)
    except (NeonError, OSError) as exc:
        _fail(run, exc)
    finally:
        end_request(stats_token)
    return True


def _begin(run: InventoryRun) -> dict[str, str]:
    """List the organizations (one call) and record the run's accounts: key → name."""
    now = timezone.now()
    organizations = get_client().list_organizations()
    accounts = {PERSONAL: "", **{org.id: org.name for org in organizations}, SHARED: ""}
    with transaction.atomic():
        locked = InventoryRun.objects.select_for_update().get(pk=run.pk)
        # A resumed run: what was claimed but never finished is free again.
        locked.scopes_claimed = list(locked.scopes_finished)
        locked.accounts, locked.scopes_total = accounts, len(accounts)
        locked.status, locked.started_at, locked.heartbeat_at = "running", now, now
        locked.save(
            update_fields=[
                "scopes_claimed", "accounts", "scopes_total", "status", "started_at",
                "heartbeat_at",
            ]
        )  # fmt: skip
    run.refresh_from_db()
    return accounts


def claim(run: InventoryRun, key: str) -> bool:
    """Take one account of the run for this worker: of two asking, only one gets it (the
    run's row is locked while its claims are read and written)."""
    with transaction.atomic():
        locked = InventoryRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != "running" or key in locked.scopes_claimed:
            return False
        locked.scopes_claimed = [*locked.scopes_claimed, key]
        locked.save(update_fields=["scopes_claimed"])
    return True


def _read_account(run: InventoryRun, key: str) -> None:
    org_id = None if key == PERSONAL else key
    org_names = {k: name for k, name in run.accounts.items() if k not in (PERSONAL, SHARED)}
    _refresh_scope(run, get_client(), org_id, org_names)
    with transaction.atomic():
        locked = InventoryRun.objects.select_for_update().get(pk=run.pk)
        if key not in locked.scopes_finished:
            locked.scopes_finished = [*locked.scopes_finished, key]
        locked.scopes_done = len(locked.scopes_finished)
        locked.save(update_fields=["scopes_finished", "scopes_done"])
        last = locked.status == "running" and set(locked.accounts) <= set(locked.scopes_finished)
        if last:
            _finish(locked)  # under the lock: the run is closed once


def _finish(run: InventoryRun) -> None:
    """Every account read: what this run did not see is gone, and the page's counts are
    tallied again (once per refresh)."""
    run.gone = (
        InventoryProject.objects.filter(gone_at__isnull=True)
        .exclude(seen_run=run.pk)
        .update(gone_at=timezone.now())
    )
    # Counted from the rows, so an account read again after an interruption counts once.
    run.projects_seen = InventoryProject.objects.filter(seen_run=run.pk).count()
    _analyze()
    tally.rebuild()
    run.status, run.finished_at = "finished", timezone.now()
    run.save(update_fields=["gone", "projects_seen", "status", "finished_at"])
    transaction.on_commit(lambda: refreshed.send(sender=InventoryRun, run=run))


def _analyze() -> None:
    """PostgreSQL's statistics of the inventory, renewed now that a refresh has rewritten it:
    the planner picks the page's indexes from them, and autovacuum may take many minutes to get
    to a table a first refresh filled (measured: a million rows, never analyzed 17 minutes on,
    and the fleet page sorted by storage scanning the table, 700 ms instead of 40)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {InventoryProject._meta.db_table}")


def _fail(run: InventoryRun, exc: Exception) -> None:
    logger.warning("fleet refresh %s failed: %s", run.pk, exc)
    InventoryRun.objects.filter(pk=run.pk, status__in=["queued", "running"]).update(
        status="failed", error=str(exc), finished_at=timezone.now()
    )


def _refresh_scope(run, client, org_id: str | None, org_names: dict[str, str]) -> None:
    """One account's projects (org_id None: the personal account; SHARED: shared with us)."""
    cursor = None
    shared = org_id == SHARED
    while True:
        try:
            if shared:
                page = client.list_shared_projects(limit=PAGE_SIZE, cursor=cursor)
            else:
                page = client.list_projects(limit=PAGE_SIZE, cursor=cursor, org_id=org_id)
        except NeonRejected as exc:
            if org_id is None and org_required(exc):
                return  # an account that lives only in organizations: nothing personal to list
            raise
        _upsert(
            [
                row_from_project(p, org_names=org_names, run_id=run.pk, shared=shared)
                for p in page.projects
            ],
            full=False,
            projects=page.projects,
        )
        # Counters, not values: two workers may be adding to them at once.
        InventoryRun.objects.filter(pk=run.pk).update(
            pages_read=F("pages_read") + 1,
            projects_seen=F("projects_seen") + len(page.projects),
            heartbeat_at=timezone.now(),
        )
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def record_project(project: Project) -> None:
    """A write's answer is the project as it now is: the inventory takes it at once, with no
    further call to Neon (and written data and transfer, which only full reads carry)."""
    record_projects([project], full=True)


def record_projects(projects: Sequence[Project], *, full: bool) -> list[InventoryDetail]:
    """Projects Neon gave outside a refresh (a write's answer, a bulk dry run's reads): their
    rows and details now, each keeping the refresh that last saw it, its account's name and
    whether it is shared, and the tally following each row that changed group. `full`: read
    one by one, so written data and transfer are known. Returns the details, as recorded."""
    if not projects:
        return []
    existing = InventoryProject.objects.in_bulk([project.id for project in projects])
    rows = []
    for project in projects:
        before = existing.get(project.id)
        rows.append(
            row_from_project(
                project,
                org_names={project.org_id or "": before.org_name} if before else {},
                shared=before.shared if before else False,
            )
        )
    for row in rows:  # the upsert keeps the marks (fleet.marks): so does the row's group
        if before := existing.get(row.project_id):
            row.project_class, row.drift = before.project_class, before.drift
    details = _upsert(rows, full=full, projects=projects, keep_seen_run=True)
    for row in rows:
        before = existing.get(row.project_id)
        tally.move(tally.group_of(before) if before else None, tally.group_of(row))
    return details


def record_gone(project_id: str) -> None:
    row = InventoryProject.objects.filter(project_id=project_id, gone_at__isnull=True).first()
    if row is None:
        return
    before = tally.group_of(row)
    row.gone_at = timezone.now()
    row.save(update_fields=["gone_at"])
    tally.move(before, tally.group_of(row))


def on_project_written(*, project_id: str, project: Project | None, deleted: bool, **_) -> None:
    """The core's `project_written`: the inventory follows every write the dashboard makes."""
    if deleted:
        record_gone(project_id)
    elif project is not None:
        record_project(project)


def account_key(*, org_id: str, shared: bool) -> str:
    """The account a row was listed from, as a refresh names it (PERSONAL, an organization's
    ID, SHARED)."""
    return SHARED if shared else (org_id or PERSONAL)


def account_pages(key: str) -> Iterator[ProjectPage]:
    """Every project of one account (named as by `account_key`), listed as a refresh lists it
    (the same calls as `_refresh_scope`): 400 a call, at the caller's priority. Stop iterating
    to stop listing."""
    client = get_client()
    org_id = None if key == PERSONAL else key
    cursor = None
    while True:
        try:
            if key == SHARED:
                page = client.list_shared_projects(limit=PAGE_SIZE, cursor=cursor)
            else:
                page = client.list_projects(limit=PAGE_SIZE, cursor=cursor, org_id=org_id)
        except NeonRejected as exc:
            if org_id is None and org_required(exc):
                return  # an account that lives only in organizations
            raise
        yield page
        if not page.next_cursor:
            return
        cursor = page.next_cursor
