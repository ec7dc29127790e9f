"""Create a project (the result page follows its operations) and edit a project's settings."""

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import QueryDict
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods
from django_htmx.http import replace_url, reswap, retarget

from audit.services import Actor
from neonadmin.roles import Role, has_role, refuse, role_required
from projects import selectors, services
from projects.extensions import Refused, Requested, page_extras, perform
from projects.forms.project import (
    MSG_PAGE_ALTERED,
    MSG_STALE,
    ProjectCreateForm,
    ProjectSettingsForm,
)
from projects.neon import NeonError
from projects.views import go, render_page_or_fragment

CREATE = "projects/project_create.html"
CREATED = "projects/project_created.html"
SETTINGS = "projects/project_settings.html"
MSG_NOTHING_CHANGED = "Nothing changed, so nothing was sent to Neon."
MSG_IRREVERSIBLE_ADMIN_ONLY = "Only admins may turn on logical replication or HIPAA."
MSG_CONFIRM_NAME = "Type the project's exact name to apply a change that cannot be undone."


def _form_page(request, template, context):
    """The whole page, or for htmx its form partial (invalid input, or an error from Neon)."""
    return render_page_or_fragment(request, template, context, fragment="form")


def _check_irreversible(request, form, *, action: str, project=None) -> None:
    """Only admins may turn on what cannot be turned off, whether or not the rest of the form
    is valid. This is the one guard (the services trust it); a refusal is audited as `action`."""
    if not form.is_bound or _is_admin(request):
        return
    form.is_valid()  # fills cleaned_data with the fields that are valid
    if form.irreversible_changes():
        refuse(
            request, Role.ADMIN, audit_action=action, message=MSG_IRREVERSIBLE_ADMIN_ONLY,
            project_id=project.id if project else "",
            project_name=project.name if project else form.data.get("name", ""),
            data=form.data,
        )  # fmt: skip


def _is_admin(request) -> bool:
    return has_role(request.user, Role.ADMIN)


@never_cache  # the result page holds a password: no browser or proxy may keep it
@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR, audit_action="project.create")
@sensitive_variables("created", "context", "response")  # the password, in error reports
def project_create(request):
    regions, organizations, limits = selectors.project_create_choices()
    form = ProjectCreateForm(
        request.POST if request.method == "POST" else None,
        regions=regions,
        organizations=organizations,
        default_org_id=settings.NEON_ORG_ID,
        limits=limits,
        allow_irreversible=_is_admin(request),
    )
    context = {"form": form}
    _check_irreversible(request, form, action="project.create")
    if form.is_bound and form.is_valid():
        try:
            created = services.project_create(
                actor=Actor.from_request(request),
                data=form.payload(),
            )
        except NeonError as error:
            context["neon_error"] = error
        else:
            # The password is in this response only: never redirected, stored or logged.
            context = {"created": created, **_created_operations(created)}
            if request.htmx:  # the result replaces the whole page body, not the form
                response = render(request, f"{CREATED}#content", context)
                # The address becomes the new project's: a reload or a shared link shows the
                # project, never the create form again (the password is in this answer only).
                replace_url(response, reverse("projects:detail", args=[created.project.id]))
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
@role_required(Role.OPERATOR, audit_action="project.update")
def project_settings(request, project_id: str):
    """Edit → review → apply. Nothing reaches Neon before Apply, and Apply sends exactly what
    the review showed: the edit is carried through the review signed, and re-checked against
    the project Neon holds at that moment."""
    project, libraries, limits = selectors.project_settings_reads(project_id=project_id)
    data, step = _settings_submission(request, project_id)
    form = ProjectSettingsForm(
        data,
        project=project,
        libraries=libraries,
        limits=limits,
        allow_irreversible=_is_admin(request),
    )
    context = {"form": form, "project": project}
    if step == "altered":
        context["page_error"] = MSG_PAGE_ALTERED
    _check_irreversible(request, form, action="project.update", project=project)
    valid = form.is_bound and form.is_valid()  # also finds out whether the page was stale
    if form.stale:
        context.update(form=form.stale_form(), stale=form.stale, stale_message=MSG_STALE)
    if not valid or step == "edit":
        return _form_page(request, SETTINGS, context)
    _body, changes = services.project_changes(project=project, desired=form.payload())
    if not changes:
        messages.info(request, MSG_NOTHING_CHANGED)
        return go(request, reverse("projects:detail", args=[project_id]))
    context.update(changes=changes, carried=_carry(data, project.id))
    irreversible = any(change.irreversible for change in changes)
    # What features say before Apply (governance: the protection, whether it needs approval).
    context.update(
        page_extras(
            "settings_review",
            project=project,
            irreversible=irreversible,
            desired=form.payload(),
            admin=_is_admin(request),
        )
    )
    context["irreversible"] = irreversible
    if step == "apply":
        if irreversible and request.POST.get("confirm_name") != project.name:
            context["confirm_error"] = MSG_CONFIRM_NAME
        else:
            try:
                return _apply(request, project, form.payload())
            except NeonError as error:
                context["neon_error"] = error
            except Refused as error:
                context["governance_error"] = error.message
    context["reviewing"] = True
    return render_page_or_fragment(request, SETTINGS, context, fragment="review")


def _apply(request, project, desired: dict):
    """Send the change now, or, when the team asks a second admin for it, leave it as a request
    (exactly this body, against this state of the project): the decider says which."""
    # An admin may apply what a policy's deny rule refuses, with a reason (audited).
    override = request.POST.get("policy_override", "").strip() if _is_admin(request) else ""
    action = services.update_action(
        actor=Actor.from_request(request), project=project, desired=desired, override=override
    )
    outcome = perform(action)
    if isinstance(outcome, Requested):
        messages.success(
            request, f"This change needs a second admin: request #{outcome.request_id} is waiting."
        )
        return go(request, outcome.url)
    _report_update(request, outcome.result)
    return go(request, reverse("projects:detail", args=[project.id]))


_CARRY_SALT = "neonadmin.settings.carried"
_NOT_CARRIED = frozenset({"csrfmiddlewaretoken", "step", "carried", "confirm_name"})


def _carry(data, project_id: str) -> str:
    """The edit form's submission, signed, for the review page to hand back on Apply."""
    fields = [(k, v) for k, v in data.lists() if k not in _NOT_CARRIED]
    return signing.dumps({"project": project_id, "fields": fields}, salt=_CARRY_SALT)


def _settings_submission(request, project_id: str) -> tuple[QueryDict | None, str]:
    """The form data and the step asked for: the edit form posts its fields ("review"); the
    review posts them back signed ("apply", or "edit" to change them again)."""
    if request.method != "POST":
        return None, ""
    step = request.POST.get("step") or "review"
    carried = request.POST.get("carried")
    if not carried:
        return request.POST, step
    try:
        signed = signing.loads(carried, salt=_CARRY_SALT)
    except signing.BadSignature:
        signed = {}
    if signed.get("project") != project_id:
        return None, "altered"
    data = QueryDict(mutable=True)
    for key, values in signed["fields"]:
        data.setlist(key, values)
    return data, step


def _report_update(request, updated) -> None:
    if updated is None:
        messages.info(request, MSG_NOTHING_CHANGED)
        return
    running = [op for op in updated.operations if not op.done]
    count = len(running)
    suffix = (
        f" Neon is applying it to the computes ({count} operation{pluralize(count)})."
        if running
        else ""
    )
    messages.success(request, f"Settings of {updated.project.name} saved.{suffix}")
