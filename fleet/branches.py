"""Default branches: what Neon's project list does not carry (whether the default branch is
protected, its annotation, its backup schedule), read project by project for the projects a
feature asks for, and kept beside the inventory (InventoryBranch, InventoryBackup).

Two calls a project (the branches, then the default branch's schedule), a few at once, at
background priority inside the account budget: operators' pages go first.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from fleet.models import InventoryBackup, InventoryBranch, InventoryProject
from projects.neon import (
    BACKUP_FREQUENCIES,
    BackupScheduleItem,
    Branch,
    NeonAuthError,
    NeonError,
    NeonNotFound,
    NeonRejected,
    begin_request,
    end_request,
    get_client,
)

logger = logging.getLogger(__name__)
READ_AT_ONCE = 8


@dataclass(frozen=True)
class Sweep:
    read: int  # default branches read and recorded
    failed: int  # projects Neon could not be read for (kept as they were)


def due(candidates: QuerySet[InventoryProject], *, read_before: datetime, limit: int) -> list[str]:
    """Of the live `candidates`, those whose default branch was never read first, then those
    read longest ago (before `read_before`): at most `limit` project IDs."""
    live = candidates.filter(gone_at__isnull=True)
    known = InventoryBranch.objects.filter(project_id=OuterRef("project_id"))
    never = live.filter(~Exists(known)).order_by("project_id").values_list("project_id", flat=True)
    found = list(never[:limit])
    if len(found) < limit:
        stale = (
            InventoryBranch.objects.filter(
                read_at__lt=read_before,
                project_id__in=live.values("project_id"),
            )
            .order_by("read_at")
            .values_list("project_id", flat=True)
        )
        found += list(stale[: limit - len(found)])
    return found


def sweep(project_ids: list[str]) -> Sweep:
    """Read and record the default branch of each project, a few at once, at background
    priority."""
    token = begin_request(priority="background", allow_stale=False)[1]
    read = failed = 0
    try:
        for chunk in itertools.batched(project_ids, READ_AT_ONCE):
            answers = get_client().together(*[partial(_read, pid) for pid in chunk])
            for pid, answer in zip(chunk, answers, strict=True):
                if isinstance(answer, NeonError):
                    logger.info("default branch of %s not read: %s", pid, answer)
                    failed += 1
                elif answer is not None:
                    record(pid, *answer)
                    read += 1
    finally:
        end_request(token)
    return Sweep(read=read, failed=failed)


def _read(project_id: str) -> tuple[Branch, list[BackupScheduleItem] | None] | NeonError | None:
    try:
        return read_default(project_id)
    except NeonError as exc:
        return exc


def read_default(
    project_id: str, *, fresh: bool = False
) -> tuple[Branch, list[BackupScheduleItem] | None] | None:
    """The project's default branch (None if it has none) and its schedule (None when Neon
    will not give it: no snapshots on the plan, or the Beta endpoint refused), from Neon;
    `fresh`: past the client's short cache. Raises NeonError for anything else."""
    client = get_client()
    if fresh:
        client.invalidate(project_id)
    branch = next((b for b in client.list_branches(project_id) if b.default), None)
    if branch is None:
        return None
    try:
        schedule = client.get_backup_schedule(project_id, branch.id)
    except (NeonAuthError, NeonRejected, NeonNotFound):
        schedule = None
    return branch, schedule


def record(
    project_id: str,
    branch: Branch,
    schedule: list[BackupScheduleItem] | None,
    *,
    annotated: bool = True,
) -> None:
    """The default branch as Neon gave it (read, or a write's answer), and its schedule's
    items as rows. `schedule` None keeps what was known of the schedule; `annotated` False (a
    write's answer, which carries no annotation) keeps what was known of the annotation."""
    with transaction.atomic():
        kept = InventoryBranch.objects.filter(project_id=project_id).first()
        known = (
            [item.as_api() for item in schedule]
            if schedule is not None
            else (kept.backup_schedule if kept else None)
        )
        InventoryBranch.objects.update_or_create(
            project_id=project_id,
            defaults={
                "branch_id": branch.id,
                "name": branch.name,
                "protected": branch.protected,
                "annotations": dict(branch.annotations)
                if annotated or kept is None
                else kept.annotations,
                "backup_schedule": known,
                "read_at": timezone.now(),
            },
        )
        if schedule is not None:
            InventoryBackup.objects.filter(project_id=project_id).delete()
            InventoryBackup.objects.bulk_create(
                InventoryBackup(
                    project_id=project_id,
                    rank=BACKUP_FREQUENCIES.index(item.frequency),
                    retention_seconds=item.retention_seconds,
                )
                for item in schedule
                if item.frequency in BACKUP_FREQUENCIES
            )


def on_branch_written(*, project_id: str, branch: Branch, schedule, **_) -> None:
    """projects.extensions.branch_written: a write to the default branch is its new state
    (the write's answer carries no annotation: the one known is kept)."""
    if branch.default:
        record(project_id, branch, schedule, annotated=False)
