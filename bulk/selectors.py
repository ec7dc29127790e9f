"""Reads of bulk jobs, and the fleet selection a new job starts from."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Min, QuerySet, Value, When
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.http import urlencode

from bulk.models import BulkItem, BulkJob
from bulk.worker import HEARTBEAT_TIMEOUT, WORKER_WAIT
from fleet import selectors as fleet_selectors
from fleet.forms import FleetFilterForm
from fleet.models import InventoryProject

# The selected projects the new job's page names; a fleet-scale job has thousands.
SHOWN_AT_MOST = 500
# The fleet's filters that a selection keeps; paging and sorting do not select anything.
NOT_FILTERS = frozenset({"cursor", "sort", "project", "include_gone"})
MSG_NO_SELECTION = (
    "No project is selected: tick rows in the fleet, or filter it, then choose “Bulk change”."
)
MSG_TOO_MANY = (
    "%(count)s projects match: a bulk job takes at most %(max)s. Narrow the fleet's filters or "
    "tick the rows."
)


@dataclass(frozen=True)
class Selection:
    """The projects a bulk job would cover: the ticked rows, or every row the filters match."""

    query: QueryDict  # what the fleet page sent, to send again with the change
    filters: dict
    ticked: list[str]
    rows: list[InventoryProject]  # the first SHOWN_AT_MOST, to show
    total: int
    matching: QuerySet[InventoryProject] | None = None  # all of them, to make a job of
    # The filters as the fleet's form names them ("Organization: Borealis Labs").
    described: tuple[tuple[str, str], ...] = ()

    @property
    def too_many(self) -> bool:
        return self.total > settings.BULK_MAX_PROJECTS

    @property
    def problem(self) -> str:
        """Why no job can be made of this selection, or ""."""
        if not self.total:
            return MSG_NO_SELECTION
        if self.too_many:
            return MSG_TOO_MANY % {"count": self.total, "max": settings.BULK_MAX_PROJECTS}
        return ""

    @property
    def by_filters(self) -> dict:
        return {k: v for k, v in self.query.items() if k not in NOT_FILTERS and v}

    @property
    def fleet_query(self) -> str:
        """The fleet's view the selection came from (its filters and sort, not the ticks)."""
        kept = {k: v for k, v in self.query.items() if k not in NOT_FILTERS - {"sort"} and v}
        return urlencode(kept)

    def as_record(self) -> dict:
        return {"filters": self.by_filters, "ticked": self.ticked, "projects": self.total}

    def projects(self) -> list[tuple[str, str, str]]:
        """Every selected project as a job takes it: (ID, name, organization)."""
        if self.matching is None or self.too_many:
            return []
        return list(self.matching.values_list("project_id", "name", "org_name"))


def selection_get(query: QueryDict) -> Selection:
    form = FleetFilterForm(query, choices=fleet_selectors.filter_choices())
    filters = {**form.filters(), "include_gone": False, "cursor": ""}
    ticked = [pid for pid in query.getlist("project") if pid]
    rows = fleet_selectors.inventory_rows(filters)
    if ticked:
        rows = rows.filter(project_id__in=ticked)
    total = rows.count()
    shown = list(rows[:SHOWN_AT_MOST]) if total <= settings.BULK_MAX_PROJECTS else []
    kept = QueryDict(mutable=True)
    for key, values in query.lists():
        if key not in {"cursor", "csrfmiddlewaretoken", "from_fleet"}:
            kept.setlist(key, values)
    selection = Selection(
        query=kept, filters=filters, ticked=ticked, rows=shown, total=total, matching=rows
    )
    return dataclasses.replace(selection, described=_described(form, selection.by_filters))


def _described(form: FleetFilterForm, filters: dict) -> tuple[tuple[str, str], ...]:
    """Each filter by its label, and each chosen value by its choice's label, not its ID."""
    described = []
    for key, value in filters.items():
        field = form.fields.get(key)
        if field is None:
            continue
        choices = {str(v): label for v, label in getattr(field, "choices", ())}
        described.append((str(field.label or key), choices.get(str(value), str(value))))
    return tuple(described)


def job_get(*, job_id: int) -> BulkJob:
    try:
        return BulkJob.objects.get(pk=job_id)
    except BulkJob.DoesNotExist:
        raise Http404(f"No bulk job #{job_id}.") from None


def job_list(*, limit: int = 100) -> list[BulkJob]:
    return list(BulkJob.objects.all()[:limit])


@dataclass(frozen=True)
class Progress:
    total: int
    verdicts: Counter
    outcomes: Counter
    stalled: bool  # its worker went away in the middle of the dry run or the apply
    unclaimed: bool  # queued a while, and no worker has started it
    planning: bool  # the dry run is under way (else apply, or nothing)
    # The step's pace: when its worker started, and what was already done then.
    pace_since: datetime | None = None
    pace_done_before: int = 0
    now: datetime = dataclasses.field(default_factory=timezone.now)

    @property
    def read(self) -> int:
        return self.total - self.verdicts.get(BulkItem.Verdict.PENDING, 0)

    @property
    def to_change(self) -> int:
        return self.verdicts.get(BulkItem.Verdict.CHANGE, 0)

    @property
    def done(self) -> int:
        """Changes finished (whatever their outcome) of those the dry run planned."""
        waiting = self.outcomes.get(BulkItem.Outcome.PENDING, 0)
        waiting += self.outcomes.get(BulkItem.Outcome.SENDING, 0)
        return self.total - waiting

    @property
    def step_done(self) -> int:
        """Projects judged (during the dry run) or done (during apply)."""
        return self.read if self.planning else self.done

    @property
    def rate(self) -> float:
        """Projects a second since the step's worker started (0 before it has done any)."""
        done = self.step_done - self.pace_done_before
        if not self.pace_since or done <= 0:
            return 0.0
        elapsed = (self.now - self.pace_since).total_seconds()
        return done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> int | None:
        """How long the rest should take at the rate so far (None: nothing to estimate from,
        or nothing left)."""
        left = self.total - self.step_done
        if left <= 0 or not self.rate:
            return None
        return round(left / self.rate)

    def percent(self, job: BulkJob) -> int:
        if job.status == BulkJob.Status.PLANNING:
            return round(100 * self.read / self.total) if self.total else 100
        return round(100 * self.done / self.total) if self.total else 100


def job_progress(job: BulkJob) -> Progress:
    counts = job.items.values_list("verdict", "outcome").annotate(n=Count("id"))
    verdicts, outcomes = Counter(), Counter()
    for verdict, outcome, n in counts:
        verdicts[verdict] += n
        outcomes[outcome] += n
    silent = timezone.now() - (job.heartbeat_at or job.started_at or job.created_at)
    S = BulkJob.Status
    started = job.started_at if job.status == S.QUEUED else job.heartbeat_at
    stalled = job.status in (S.PLANNING, S.RUNNING, S.STOPPING) and silent > HEARTBEAT_TIMEOUT
    stalled = stalled and job.heartbeat_at is not None
    unclaimed = job.status in (S.PLANNING, S.QUEUED) and not started and silent > WORKER_WAIT
    return Progress(
        total=sum(verdicts.values()),
        verdicts=verdicts,
        outcomes=outcomes,
        stalled=stalled,
        unclaimed=unclaimed,
        planning=job.status == S.PLANNING,
        pace_since=job.pace_since,
        pace_done_before=job.pace_done_before,
    )


# The dry run's table lists first what the operator must look at: what will not go as asked.
VERDICT_ORDER = ("refused", "missing", "unread", "protected", "change", "unchanged", "pending")
ITEMS_PER_PAGE = 100  # a job of 10,000 projects is read a page at a time


def job_items(job: BulkJob, *, page: str | int | None = None) -> Page:
    """One page of the job's projects, what needs looking at first, then by name."""
    rank = Case(*[When(verdict=v, then=Value(i)) for i, v in enumerate(VERDICT_ORDER)])
    items = job.items.annotate(rank=rank).order_by("rank", "project_name", "project_id")
    return Paginator(items, ITEMS_PER_PAGE).get_page(page)


def job_read_since(job: BulkJob) -> datetime | None:
    """When Neon gave the oldest state the dry run judged (from the inventory, or read then)."""
    return job.items.aggregate(oldest=Min("read_at"))["oldest"]
