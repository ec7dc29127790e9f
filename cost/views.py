"""The cost page: this month's estimate, its trend, where it goes, the sync, and the exports."""

from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.services import Actor
from cost import budgets, presenters, selectors, services
from cost.forms import BudgetForm, ProjectBudgetForm, SpendingLimitForm
from cost.models import Budget
from neonadmin.exports import csv_response, json_response
from neonadmin.htmx import render_page_or_fragment
from neonadmin.roles import Role, role_required
from projects.neon import NeonError


@require_GET
@role_required(Role.VIEWER)
def cost_overview(request):
    overview = selectors.overview()
    context = {
        "o": overview,
        "chart": presenters.chart_data(overview.days, presenters.SERIES),
        "limit_form": SpendingLimitForm(),
        "budgets": selectors.budget_states(),
        "budget_form": BudgetForm(classes=selectors.class_choices()),
    }
    return render(request, "cost/overview.html", context)


@require_POST
@role_required(Role.OPERATOR)
def cost_sync(request):
    run = services.sync_start(actor=Actor.from_request(request))
    messages.success(request, f"The consumption sync #{run.pk} runs in the background.")
    return redirect("cost:overview")


@require_POST
@role_required(Role.ADMIN)
def cost_spending_limit(request, org_id: str):
    form = SpendingLimitForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("cost:overview")
    try:
        services.spending_limit_set(
            actor=Actor.from_request(request), org_id=org_id, cents=form.cents()
        )
    except NeonError as exc:
        messages.error(request, f"The spending limit was not changed: {exc.message}")
    else:
        messages.success(request, "The spending limit is saved.")
    return redirect("cost:overview")


def _month(request) -> date:
    text = request.GET.get("month") or timezone.now().date().strftime("%Y-%m")
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise Http404("The month is YYYY-MM.") from None


@require_GET
@role_required(Role.VIEWER)
def cost_report_csv(request):
    """Per project, per day, per line item: the month's estimate for finance."""
    month = _month(request)
    rows = ([r[c] for c in selectors.REPORT_COLUMNS] for r in selectors.report_rows(month=month))
    return csv_response(f"neon-cost-{month:%Y-%m}.csv", selectors.REPORT_COLUMNS, rows)


@require_GET
@role_required(Role.VIEWER)
def cost_report_json(request):
    month = _month(request)
    return json_response(f"neon-cost-{month:%Y-%m}.json", selectors.report_rows(month=month))


@require_POST
@role_required(Role.OPERATOR)
def cost_budget(request):
    """A class's budget: kept, then its quotas as a bulk job (dry run first, on its page)."""
    form = BudgetForm(request.POST, classes=selectors.class_choices())
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("cost:overview")
    try:
        budget, job = budgets.budget_set(
            actor=Actor.from_request(request),
            klass=form.cleaned_data["klass"],
            monthly_cents=form.cents(),
        )
    except budgets.NoJob as exc:
        messages.error(request, exc.message)
        return redirect("cost:overview")
    messages.success(
        request,
        f"Budget kept for {budget.klass}. Its quotas are a bulk job: check its dry run, "
        "then apply.",
    )
    return redirect("bulk:job", job_id=job.pk)


@require_POST
@role_required(Role.OPERATOR)
def cost_budget_delete(request, budget_id: int):
    budget = Budget.objects.filter(pk=budget_id).first()
    if budget is None:
        raise Http404("No such budget.")
    budgets.budget_delete(actor=Actor.from_request(request), budget=budget)
    messages.success(
        request, f"The budget of {budget.klass} is no longer watched; its quotas stay."
    )
    return redirect("cost:overview")


@require_GET
@role_required(Role.VIEWER)
def cost_project_hours(request, project_id: str):
    """One project's last 24 hours, hour by hour, read from Neon on demand (a fragment of the
    project page's cost card; the whole page without htmx)."""
    try:
        hours = selectors.project_hours(project_id=project_id)
        error = None
    except NeonError as exc:
        hours, error = None, exc
    context = {"project_id": project_id, "hours": hours, "error": error}
    return render_page_or_fragment(request, "cost/hours.html", context, fragment="hours")


@require_POST
@role_required(Role.OPERATOR)
def cost_project_budget(request, project_id: str):
    """One project's own budget (it wins over its class's): its quotas as a bulk job."""
    form = ProjectBudgetForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("projects:detail", project_id=project_id)
    try:
        _, job = budgets.budget_set(
            actor=Actor.from_request(request), project_id=project_id, monthly_cents=form.cents()
        )
    except budgets.NoJob as exc:
        messages.error(request, exc.message)
        return redirect("projects:detail", project_id=project_id)
    messages.success(request, "Budget kept. Its quotas are a bulk job: check its dry run.")
    return redirect("bulk:job", job_id=job.pk)
