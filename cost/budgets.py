"""Budgets that stop spend: a monthly budget for each project of a class, turned into the one
lever Neon enforces, per-project quotas (a project at its compute quota has its computes
suspended), through the bulk path (dry run, approval when the team asks for it, apply); and
watched after each sync, the team told once when a project passes 80 % and 100 %.

The budget is split between the quotas by fixed shares (`SHARES`): compute, the line that runs
away, takes most of it. Each quota is the share's dollars at the price in force: CPU seconds
(`compute_time_seconds`; one CU is one vCPU, so CU-hours are CPU-hours) at the highest compute
rate among the class's projects' plans, data transfer at the public price (no organization
allowance counted), and a logical size held all month at the storage price.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.tasks import task

from audit.services import Actor, audited
from bulk import services as bulk_services
from bulk.models import BulkJob
from cost import prices
from cost.models import Budget, BudgetAlert, ProjectMonth
from fleet.models import InventoryProject
from governance import notify

SHARES = {"compute": Decimal("0.8"), "transfer": Decimal("0.1"), "storage": Decimal("0.1")}
LEVELS = (80, 100)
SYSTEM = Actor(username="system (cost)")
MSG_TOO_MANY = (
    "%(count)s projects are in %(klass)s, more than a bulk job may change (BULK_MAX_PROJECTS, "
    "%(max)s)."
)
MSG_EMPTY = "No live project is in %(klass)s: there is nothing to set quotas on."


class NoJob(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def class_projects(klass: str):
    return InventoryProject.objects.filter(project_class=klass, gone_at__isnull=True, shared=False)


def budget_projects(budget: Budget):
    """The live projects a budget covers: its project, or its class's projects but those with
    a budget of their own (a project's own budget wins)."""
    if budget.project_id:
        return InventoryProject.objects.filter(project_id=budget.project_id, gone_at__isnull=True)
    own = Budget.objects.exclude(project_id="").values("project_id")
    return class_projects(budget.klass).exclude(project_id__in=own)


def quotas(monthly_cents: int, *, compute_rate: Decimal, price: prices.Prices) -> dict[str, int]:
    """The bulk quota change's params for a monthly budget (the settings form's field names)."""
    budget = Decimal(monthly_cents) / 100
    return {
        "quota_compute_time": int(budget * SHARES["compute"] / compute_rate * 3600),
        "quota_data_transfer": int(budget * SHARES["transfer"] / price.public_transfer * prices.GB),
        "quota_logical_size": int(budget * SHARES["storage"] / price.storage * prices.GB),
    }


def compute_rate(projects, price: prices.Prices) -> Decimal:
    """The highest compute rate among the plans the projects were last billed on (Scale's when
    none is known): the quota then never allows more than the budget."""
    ids = projects.values("project_id")
    plans = set(ProjectMonth.objects.filter(project_id__in=ids).values_list("plan", flat=True))
    rates = [price.compute_rate(plan) for plan in plans if plan] or [price.compute_scale]
    return max(rates)


def budget_set(
    *, actor: Actor, monthly_cents: int, klass: str = "", project_id: str = ""
) -> tuple[Budget, BulkJob]:
    """Keep the budget of a class (or of one project: `project_id`), audited, and open the bulk
    job that sets its quotas on every live project it covers; its dry run is queued (approval,
    if asked for, comes at apply)."""
    pending = Budget(klass=klass, project_id=project_id, monthly_cents=monthly_cents)
    rows = budget_projects(pending).order_by("name", "project_id")
    count = rows.count()
    if not count:
        raise NoJob(MSG_EMPTY % {"klass": pending.target})
    if count > settings.BULK_MAX_PROJECTS:
        raise NoJob(
            MSG_TOO_MANY
            % {"count": count, "klass": pending.target, "max": settings.BULK_MAX_PROJECTS}
        )
    price = prices.current()
    params = quotas(monthly_cents, compute_rate=compute_rate(rows, price), price=price)
    asked = {"class": klass, "project_id": project_id, "monthly_cents": monthly_cents}
    with transaction.atomic():
        with audited(
            actor=actor,
            action="cost.budget",
            project_id=project_id,
            request_data={**asked, "quotas": params},
        ):
            budget, _ = Budget.objects.update_or_create(
                klass=klass,
                project_id=project_id,
                defaults={"monthly_cents": monthly_cents, "created_by": actor.username},
            )
        job = bulk_services.job_create(
            actor=actor,
            kind="quota",
            params=params,
            selection={"cost_budget": budget.target},
            projects=list(rows.values_list("project_id", "name", "org_name")),
        )
        Budget.objects.filter(pk=budget.pk).update(job_id=job.pk)
    budget.job_id = job.pk
    return budget, job


def budget_delete(*, actor: Actor, budget: Budget) -> None:
    """Stop watching the class (the quotas set stay in Neon until changed)."""
    asked = {"class": budget.klass, "project_id": budget.project_id, "monthly_cents": None}
    with audited(
        actor=actor, action="cost.budget", project_id=budget.project_id, request_data=asked
    ):
        budget.delete()


def check(*, month) -> list[BudgetAlert]:
    """After a sync: each budgeted project past a level for the first time this month is
    recorded and the team told (one notice per budget and level), audited."""
    found = []
    for budget in Budget.objects.all():
        for level in LEVELS:
            threshold = budget.monthly_cents * level // 100
            over = budget_projects(budget).filter(cost_cents__gte=threshold)
            told = BudgetAlert.objects.filter(budget=budget, month=month, level=level)
            new = list(
                over.exclude(project_id__in=told.values("project_id")).values_list(
                    "project_id", "name", "cost_cents"
                )
            )
            if not new:
                continue
            with transaction.atomic():
                alerts = BudgetAlert.objects.bulk_create(
                    BudgetAlert(budget=budget, project_id=pid, month=month, level=level, cents=c)
                    for pid, _, c in new
                )
                text = _notice(budget, level, [(name, cents) for _, name, cents in new])
                with audited(
                    actor=SYSTEM,
                    action="cost.budget_alert",
                    request_data={"budget": budget.target, "level": level, "projects": len(new)},
                ):
                    transaction.on_commit(lambda t=text: budget_notify.enqueue(t))
            found += alerts
    return found


def _notice(budget: Budget, level: int, projects: list[tuple[str, int]]) -> str:
    names = ", ".join(f"{name} (${cents / 100:,.2f})" for name, cents in projects[:20])
    more = f" and {len(projects) - 20} more" if len(projects) > 20 else ""
    return (
        f"[Neon Admin] Budget: {len(projects)} project{'s' if len(projects) != 1 else ''} of "
        f"{budget.target} past {level} % of ${budget.monthly_cents / 100:,.2f} this month: "
        f"{names}{more}."
    )


@task()
def budget_notify(text: str) -> dict:
    """A budget warning, by the team's channels (governance's: mail and the webhook)."""
    return {"email": notify.send_email(text), "webhook": notify.send_webhook(text)}
