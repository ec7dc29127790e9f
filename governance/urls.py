from django.urls import path

from governance import views
from projects import urls as _project_urls  # noqa: F401 - registers the project_id converter

app_name = "governance"

urlpatterns = [
    path("approvals/", views.approval_list, name="approvals"),
    path("approvals/<int:approval_id>/", views.approval_detail, name="approval"),
    path("approvals/<int:approval_id>/approve/", views.approval_approve, name="approve"),
    path("approvals/<int:approval_id>/reject/", views.approval_reject, name="reject"),
    path("projects/<project_id:project_id>/protect/", views.protection_add, name="protect"),
    path("projects/<project_id:project_id>/unprotect/", views.protection_remove, name="unprotect"),
]
