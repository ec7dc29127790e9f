"""One project: its detail page (the hub), delete, recover and connection details."""

import shlex
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import Actor
from neonadmin.roles import Role, has_role, refuse, role_required
from projects import permissions, selectors, services
from projects.extensions import Refused, Requested, check_guards, page_extras, perform
from projects.forms.access import ConnectionForm, DeleteConfirmForm
from projects.forms.reason import ReasonForm
from projects.neon import NeonError
from projects.views import go, render_page_or_fragment, wants_fragment

RECOVERY_DAYS = 7
# Neon numbers maintenance weekdays 1 (Monday) to 7 (Sunday); fixed names, whatever the locale.
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MSG_REVEAL_FORBIDDEN = "Revealing connection passwords needs the operator role."
# Neon's words for why it refuses (FACTS.md section 11), shown before the operator tries.
MSG_PROTECTED_BLOCKS_DELETE = "Protected branches block deletion of the project."


def _operations(project_id: str) -> dict:
    operations = selectors.operation_list(project_id=project_id).operations
    return {"operations": operations, "operations_running": any(not o.done for o in operations)}


# Secondary panels of the detail page, each loaded on its own so a slow one holds nothing back.
PANELS = {
    "operations": _operations,
    "branches": lambda project_id: {"branches": selectors.branch_list(project_id=project_id)},
    "endpoints": lambda project_id: {"endpoints": selectors.endpoint_list(project_id=project_id)},
}


def _panel(project_id: str, name: str) -> dict:
    """A panel's context; a Neon error stays inside the panel and the page stays usable."""
    try:
        context = PANELS[name](project_id)
    except NeonError as exc:
        context = {f"{name}_error": exc}
    return {**context, f"{name}_loaded": True}


def mask_email(email: str | None) -> str:
    """An address recognisable to people who know it, not readable to those who do not."""
    if not email:
        return ""
    local, at, domain = email.partition("@")
    return f"{local[:1]}\N{BULLET}\N{BULLET}\N{BULLET}{at}{domain}"


def _owner(request, project) -> dict:
    """The spec marks the owner's email and name x-sensitive: operators and admins, who act
    for the owner, see them; viewers see the address masked and no name."""
    if has_role(request.user, Role.OPERATOR):
        return {"name": project.owner_name or "", "email": project.owner_email or ""}
    return {"name": "", "email": mask_email(project.owner_email)}


@require_GET
@role_required(Role.VIEWER)
def project_detail(request, project_id: str):
    panel = request.GET.get("panel", "")
    if wants_fragment(request) and panel in PANELS:
        context = {"project_id": project_id, **_panel(project_id, panel)}
        return render(request, f"projects/project_detail.html#{panel}", context)
    project = selectors.project_get(project_id=project_id)
    window = project.settings.maintenance_window
    context = {
        "project": project,
        "project_id": project.id,
        "organization": project.org_name or selectors.organization_name(org_id=project.org_id),
        "owner": _owner(request, project),
        "maintenance_days": [WEEKDAYS[d - 1] for d in window.weekdays if 1 <= d <= 7]
        if window
        else [],
    }
    # What features add to the page (governance: the protection card).
    context.update(page_extras("detail", request=request, project=project))
    # Without JavaScript the panels come inline: "?panel=all" (or one of them) asks for them,
    # all at once.
    names = list(PANELS) if panel == "all" else [panel] if panel in PANELS else []
    for panel_context in selectors.together(*[partial(_panel, project_id, n) for n in names]):
        context.update(panel_context)
    return render(request, "projects/project_detail.html", context)


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN, audit_action="project.delete")
def project_delete(request, project_id: str):
    if request.method == "POST":  # a guard's refusal (protected) comes before any Neon call
        try:
            check_guards(
                services.delete_attempt(actor=Actor.from_request(request), project_id=project_id)
            )
        except Refused as exc:
            messages.error(request, exc.message)
            return go(request, reverse("projects:delete", args=[project_id]))
    project = selectors.project_get(project_id=project_id)
    data = request.POST if request.method == "POST" else None
    form = DeleteConfirmForm(data, project_name=project.name)
    reason = ReasonForm(data, required=False)
    context = {
        "project": project,
        "form": form,
        "reason_form": reason,
        # Neon's per-project permission, said before the operator types the name.
        "permission_refusal": permissions.refusal(project.permission, "delete"),
        # What features add (governance: the protection card, whether it needs approval).
        **page_extras("delete", request=request, project=project),
    }
    if form.is_valid() and reason.is_valid():
        try:
            message, url = _delete(request, project, reason.cleaned_data["reason"])
        except NeonError as exc:
            context["neon_error"] = exc
        except Refused as exc:
            context["governance_error"] = exc.message
        else:
            messages.success(request, message)
            return go(request, url)
    if not wants_fragment(request):  # the confirm fragment shows none of what is read here
        context.update(_delete_page(project.id))
    return render_page_or_fragment(
        request, "projects/project_delete.html", context, fragment="confirm"
    )


def _delete(request, project, reason: str) -> tuple[str, str]:
    """Delete now, or leave a request for a second admin (the decider says which): the message
    to show and where to go next."""
    action = services.delete_action(
        actor=Actor.from_request(request), project=project, reason=reason
    )
    outcome = perform(action)
    if isinstance(outcome, Requested):
        return (
            f"Deleting “{project.name}” needs a second admin: request #{outcome.request_id} is "
            "waiting.",
            outcome.url,
        )
    return (
        format_html(
            "Project “{}” was deleted. Neon keeps it recoverable for {} days under "
            '<a href="{}">Recently deleted</a>.',
            project.name,
            RECOVERY_DAYS,
            _recoverable_url(project.org_id or ""),
        ),
        # Back to the list the project was in: its organization's, not the personal account's.
        reverse("projects:list")
        + (f"?{urlencode({'org_id': project.org_id})}" if project.org_id else ""),
    )


def _recoverable_url(org_id: str) -> str:
    """Recently deleted, in the organization the project was in (or the personal account)."""
    return f"{reverse('projects:recoverable')}?{urlencode({'org_id': org_id})}"


def _delete_page(project_id: str) -> dict:
    """What the delete takes with it. If Neon cannot list that, the page says so and keeps the
    form: the delete does not depend on this read, and Neon still checks for itself."""
    context = {
        "recoverable_until": timezone.now() + timedelta(days=RECOVERY_DAYS),
        "protected_blocks": MSG_PROTECTED_BLOCKS_DELETE,
    }
    try:
        context["summary"] = selectors.project_delete_summary(project_id=project_id)
    except NeonError as exc:
        context["summary_error"] = exc
    return context


@require_POST
@role_required(Role.ADMIN, audit_action="project.recover")
def project_recover(request, project_id: str):
    try:
        project = services.project_recover(
            actor=Actor.from_request(request),
            project_id=project_id,
            project_name=request.POST.get("name", ""),  # as the list of deleted projects showed it
        )
    except NeonError as exc:
        rid = f" (request ID {exc.request_id})" if exc.request_id else ""
        messages.error(request, f"Project {project_id} was not recovered: {exc.message}{rid}")
        # Back to the account the list showed ("" is the personal account's).
        if "org_id" in request.POST:
            return go(request, _recoverable_url(request.POST["org_id"]))
        return go(request, reverse("projects:recoverable"))
    messages.success(request, f"Project “{project.name}” was recovered.")
    return go(request, reverse("projects:detail", args=[project.id]))


@sensitive_variables("strings")
def _copied(context: dict, copying: str) -> JsonResponse:
    """The revealed string for the clipboard (audited like Reveal), or why not."""
    strings = context.get("strings")
    if strings is None:
        error = context.get("neon_error")
        if error is None:
            return JsonResponse({"error": "Choose a branch, database and role first."}, status=400)
        return JsonResponse({"error": error.message}, status=502)  # Neon's answer, not ours
    return JsonResponse({"text": getattr(strings, copying)})


@dataclass(frozen=True)
class ConnectionStrings:
    """One URI in the formats people paste: as is, as a psql command, as an env line."""

    uri: str = field(repr=False)  # holds the password

    @property
    def psql(self) -> str:
        return f"psql {shlex.quote(self.uri)}"

    @property
    def env(self) -> str:
        return f"DATABASE_URL={self.uri}"


# What Copy on a masked string may ask for: the string with its password, in one of the formats.
COPY_FORMATS = ("uri", "psql", "env")


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(Role.VIEWER, audit_action="connection.reveal")
@sensitive_variables("uri", "context")  # hidden from error reports (DEBUG off)
def project_connect(request, project_id: str):
    """GET shows the choices and the URI with its password masked; POST reveals it (audited)."""
    revealing = request.method == "POST"
    if revealing and not has_role(request.user, Role.OPERATOR):
        refuse(
            request, Role.OPERATOR, audit_action="connection.reveal",
            message=MSG_REVEAL_FORBIDDEN, project_id=project_id,
        )  # fmt: skip
    data = request.POST if revealing else request.GET
    options = selectors.connection_options(project_id=project_id, branch_id=data.get("branch"))
    form = ConnectionForm(data, options=options)
    # The project is still being read: ask for the URI first, look at the project after.
    context = {
        "form": form,
        "revealed": revealing,
        "reveal_forbidden": MSG_REVEAL_FORBIDDEN,
        # On the masked page, Copy asks for the real string (operators, audited like Reveal).
        "secret_copy": not revealing and has_role(request.user, Role.OPERATOR),
    }
    if form.is_valid():
        params = form.connection_params()
        try:
            if revealing:
                actor = Actor.from_request(request)
                uri = services.connection_reveal(actor=actor, project=options.project, **params)
            else:
                uri = selectors.connection_uri_masked(project_id=project_id, **params)
        except NeonError as exc:
            context["neon_error"] = exc
        else:
            context["strings"] = ConnectionStrings(uri)
    copying = request.POST.get("copy") if revealing else None
    if copying in COPY_FORMATS:  # Copy on the masked page: the string itself, nothing shown
        return _copied(context, copying)
    context["project"] = options.project
    return render_page_or_fragment(
        request, "projects/project_connect.html", context, fragment="connection"
    )
