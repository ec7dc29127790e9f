"""Create a project (the result page follows its operations) and edit a project's settings."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from audit.services import Actor
from neonadmin.roles import Role, has_role, role_required
from projects import selectors, services
from projects.forms.project import ProjectCreateForm, ProjectSettingsForm
from projects.neon import NeonError
from projects.views import wants_fragment

CREATE = "projects/project_create.html"
CREATED = "projects/project_created.html"
SETTINGS = "projects/project_settings.html"
MSG_NOTHING_CHANGED = "Nothing changed, so nothing was sent to Neon."


def _form_page(request, template, context):
    """The whole page, or for htmx its form partial (invalid input, or an error from Neon)."""
    return render(request, f"{template}#form" if wants_fragment(request) else template, context)


def _check_irreversible(request, form) -> None:
    """Only admins may turn on what cannot be turned off, whether or not the rest of the form
    is valid; the service checks again."""
    if not form.is_bound or _is_admin(request):
        return
    form.is_valid()  # fills cleaned_data with the fields that are valid
    if form.irreversible_changes():
        raise PermissionDenied(services.MSG_IRREVERSIBLE_ADMIN_ONLY)


def _is_admin(request) -> bool:
    return has_role(request.user, Role.ADMIN)


@never_cache  # the result page holds a password: no browser or proxy may keep it
@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
@sensitive_variables("created", "context", "response")  # the password, in error reports
def project_create(request):
    form = ProjectCreateForm(
        request.POST if request.method == "POST" else None,
        regions=selectors.region_list(),
        organizations=selectors.organization_list(),
        default_org_id=settings.NEON_ORG_ID,
        allow_irreversible=_is_admin(request),
    )
    context = {"form": form}
    _check_irreversible(request, form)
    if form.is_bound and form.is_valid():
        try:
            created = services.project_create(
                actor=Actor.from_request(request),
                data=form.payload(),
                allow_irreversible=_is_admin(request),
            )
        except NeonError as error:
            context["neon_error"] = error
        else:
            # The password is in this response only: never redirected, stored or logged.
            context = {"created": created, **_created_operations(created)}
            if request.htmx:  # the result replaces the whole page body, not the form
                response = render(request, f"{CREATED}#content", context)
                return reswap(retarget(response, "#main"), "innerHTML")
            return render(request, CREATED, context, status=201)
    return _form_page(request, CREATE, context)


def _created_operations(created) -> dict:
    """The operations the create started, in the shape of the detail page's operations panel,
    which the created page reuses: it polls `?panel=operations` (every recent operation of the
    project, on a new project the create's own) until none runs, and stops on an error."""
    operations = created.operations
    return {
        "project_id": created.project.id,
        "operations": operations,
        "operations_running": any(not op.done for op in operations),
        "operations_loaded": True,
    }


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
def project_settings(request, project_id: str):
    project = selectors.project_get(project_id=project_id)
    libraries = selectors.preload_library_list(project_id=project_id)
    form = ProjectSettingsForm(
        request.POST if request.method == "POST" else None,
        project=project,
        libraries=libraries,
        allow_irreversible=_is_admin(request),
    )
    context = {"form": form, "project": project}
    _check_irreversible(request, form)
    if form.is_bound and form.is_valid():
        try:
            updated = services.project_update(
                actor=Actor.from_request(request),
                project=project,
                changes=form.payload(),
                allow_irreversible=_is_admin(request),
            )
        except NeonError as error:
            context["neon_error"] = error
        else:
            _report_update(request, updated)
            url = reverse("projects:detail", args=[project_id])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _form_page(request, SETTINGS, context)


def _report_update(request, updated) -> None:
    if updated is None:
        messages.info(request, MSG_NOTHING_CHANGED)
        return
    running = [op for op in updated.operations if not op.done]
    suffix = f" Neon is applying it to the computes ({len(running)} operations)." if running else ""
    messages.success(request, f"Settings of {updated.project.name} saved.{suffix}")
