"""A project's branches: protection in Neon, and the backup schedule (scheduled snapshots)."""

from django.contrib import messages
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import Actor
from neonadmin.roles import Role, has_role, refuse, role_required
from projects import selectors, services
from projects.extensions import Refused
from projects.forms.branch import BackupScheduleForm
from projects.neon import NeonError
from projects.views import go, render_page_or_fragment

BACKUPS = "projects/branch_backups.html"


def _detail(project_id: str) -> str:
    return reverse("projects:detail", args=[project_id]) + "#branches"


@require_POST
@role_required(Role.OPERATOR)
def branch_protect(request, project_id: str, branch_id: str):
    """Protect the branch in Neon (protected=1), or take its protection away (protected=0)."""
    protected = request.POST.get("protected") == "1"
    try:
        branch = selectors.branch_get(project_id=project_id, branch_id=branch_id)
        services.branch_protect(
            actor=Actor.from_request(request),
            branch=branch,
            project_name=request.POST.get("name", ""),
            protected=protected,
        )
    except Refused as exc:
        messages.error(request, exc.message)
    except NeonError as exc:
        messages.error(request, f"The branch was not changed: {exc.message}")
    else:
        done = "protected" if protected else "no longer protected"
        messages.success(request, f"Branch “{branch.name}” is {done}.")
    return go(request, _detail(project_id))


@require_http_methods(["GET", "POST"])
@role_required(Role.VIEWER)
def branch_backups(request, project_id: str, branch_id: str):
    """The branch's backup schedule; operators change it."""
    if request.method == "POST" and not has_role(request.user, Role.OPERATOR):
        refuse(request, Role.OPERATOR, audit_action="branch.backup_schedule", project_id=project_id)
    branch = selectors.branch_get(project_id=project_id, branch_id=branch_id)
    schedule = selectors.backup_schedule_get(project_id=project_id, branch_id=branch_id)
    form = BackupScheduleForm(request.POST or None, schedule=schedule)
    context = {"project_id": project_id, "branch": branch, "schedule": schedule, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            services.backup_schedule_set(
                actor=Actor.from_request(request),
                branch=branch,
                project_name=request.POST.get("name", ""),
                before=schedule,
                schedule=form.schedule(),
            )
        except Refused as exc:
            context["refused"] = exc.message
        except NeonError as exc:
            context["neon_error"] = exc
        else:
            messages.success(request, f"The backup schedule of “{branch.name}” is saved.")
            return go(request, _detail(project_id))
    return render_page_or_fragment(request, BACKUPS, context, fragment="form")
