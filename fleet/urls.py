from django.urls import path

from fleet import views

app_name = "fleet"

urlpatterns = [
    path("", views.fleet_list, name="list"),
    path("export.csv", views.fleet_export_csv, name="export-csv"),
    path("export.json", views.fleet_export_json, name="export-json"),
    path("refresh/", views.fleet_refresh, name="refresh"),
    path("refresh/<int:run_id>/", views.fleet_refresh_status, name="refresh-status"),
]
