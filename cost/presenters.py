"""What the cost app adds to the project page: the last 60 days, compute against storage, as a
chart with its table."""

from __future__ import annotations

from cost import selectors
from cost.models import Budget, ProjectMonth
from projects import extensions

CARD = "cost/_project_card.html"


def chart_data(days: list[selectors.DayCost], series: dict[str, tuple[str, ...]]) -> dict:
    """What static/js/charts.js draws: labels and one dataset per series, in dollars."""
    return {
        "labels": [d.day.isoformat() for d in days],
        "series": [
            {"label": label, "values": [sum(d.lines[line] for line in lines) / 100 for d in days]}
            for label, lines in series.items()
        ],
    }


SERIES = {
    "Compute": ("compute",),
    "Storage": ("storage", "history", "snapshot"),
    "Transfer and branches": ("transfer", "branches"),
}


def project_card(*, request, project, **_) -> dict:
    days = selectors.project_days(project_id=project.id)
    month = ProjectMonth.objects.filter(project_id=project.id).order_by("-month").first()
    return {
        "cost_budget": Budget.objects.filter(project_id=project.id).first(),
        "cost_days": days,
        "cost_month": month,
        "cost_chart": chart_data(days, SERIES),
        "cards": [CARD],
    }


def register_page_extras() -> None:
    extensions.register_page_extra("detail", project_card)
