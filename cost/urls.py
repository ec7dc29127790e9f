from django.urls import path

from cost import views
from projects import urls as _project_urls  # noqa: F401 - registers the project_id converter

app_name = "cost"

urlpatterns = [
    path("", views.cost_overview, name="overview"),
    path("sync/", views.cost_sync, name="sync"),
    path("report.csv", views.cost_report_csv, name="report-csv"),
    path("report.json", views.cost_report_json, name="report-json"),
    path("organizations/<str:org_id>/spending-limit/", views.cost_spending_limit, name="limit"),
    path("budgets/", views.cost_budget, name="budget"),
    path("projects/<project_id:project_id>/hours/", views.cost_project_hours, name="hours"),
    path(
        "projects/<project_id:project_id>/budget/",
        views.cost_project_budget,
        name="project-budget",
    ),
    path("budgets/<int:budget_id>/delete/", views.cost_budget_delete, name="budget-delete"),
]
