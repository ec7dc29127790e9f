from django.urls import path

from policy import views
from projects import urls as _project_urls  # noqa: F401 - registers the project_id converter

app_name = "policy"

urlpatterns = [
    path("", views.policy_overview, name="overview"),
    path("evaluate/", views.policy_evaluate, name="evaluate"),
    path("fix-class/", views.policy_fix_class, name="fix-class"),
    path("classes/", views.policy_bulk_class, name="bulk-class"),
    path("report.csv", views.policy_report_csv, name="report-csv"),
    path("report.json", views.policy_report_json, name="report-json"),
    path("rules/<str:rule_id>/", views.policy_rule, name="rule"),
    path("rules/<str:rule_id>/fix/", views.policy_fix, name="fix"),
    path("projects/<project_id:project_id>/class/", views.policy_set_class, name="set-class"),
]
