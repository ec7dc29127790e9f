from django.urls import path, register_converter

from projects.views import branches, detail, edit, listing


class ProjectIdConverter:
    """Neon's project ID format; never one of the fixed words, whatever order routes come in."""

    regex = r"(?!(?:new|deleted)/)[a-z0-9-]{1,60}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class BranchIdConverter(ProjectIdConverter):
    """Neon's branch ID format (br-…), as the spec's path parameter pattern allows it."""

    regex = r"[a-z0-9-]{1,60}"


register_converter(ProjectIdConverter, "project_id")
register_converter(BranchIdConverter, "branch_id")

app_name = "projects"

urlpatterns = [
    path("", listing.project_list, name="list"),
    path("new/", edit.project_create, name="create"),
    path("<project_id:project_id>/settings/", edit.project_settings, name="settings"),
    path("deleted/", listing.project_recoverable_list, name="recoverable"),
    path("<project_id:project_id>/", detail.project_detail, name="detail"),
    path("<project_id:project_id>/delete/", detail.project_delete, name="delete"),
    path("<project_id:project_id>/connect/", detail.project_connect, name="connect"),
    path("<project_id:project_id>/recover/", detail.project_recover, name="recover"),
    path(
        "<project_id:project_id>/branches/<branch_id:branch_id>/protect/",
        branches.branch_protect,
        name="branch-protect",
    ),
    path(
        "<project_id:project_id>/branches/<branch_id:branch_id>/backups/",
        branches.branch_backups,
        name="branch-backups",
    ),
]
