from django.conf import settings
from django.views.decorators.http import require_GET

from neonadmin.htmx import render_page_or_fragment
from neonadmin.roles import Role, has_role, role_required
from projects import selectors
from projects.extensions import page_extras
from projects.forms.listing import ProjectListFilterForm
from projects.presenters import row_cells


def _listed(request, *, recoverable: bool = False, retried: bool = False):
    """The filter form, its filters and the page of projects they ask Neon for: live ones, or
    (`recoverable`) those deleted in the last 7 days. The configured organization is where the
    list starts; a key that belongs only to organizations has no personal list, so it starts at
    the first one."""
    organizations = selectors.organization_list()
    org_only = selectors.account_is_org_only() and bool(organizations)
    form = ProjectListFilterForm(
        request.GET,
        organizations=organizations,
        default_org_id=settings.NEON_ORG_ID or (organizations[0].id if org_only else ""),
        personal=not org_only,
    )
    filters = form.filters()
    try:
        page = selectors.project_page(**filters, recoverable=recoverable)
    except selectors.OrgRequired:
        if retried or not organizations:
            raise
        return _listed(request, recoverable=recoverable, retried=True)  # now known org-only
    return form, filters, page


@require_GET
@role_required(Role.VIEWER)
def project_list(request):
    form, filters, page = _listed(request)
    # What features say of the rows (governance: which are protected, for their badge).
    extras = page_extras("list", project_ids=[p.id for p in page.projects])
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": row_cells(page.projects, protected=extras.get("protected", frozenset())),
    }
    # "Load more" appends the next rows; a changed search or filter replaces the results.
    fragment = "rows" if filters["cursor"] else "results"
    return render_page_or_fragment(
        request, "projects/project_list.html", context, fragment=fragment
    )


@require_GET
@role_required(Role.VIEWER)
def project_recoverable_list(request):
    """Recently deleted projects, of the personal account or of any organization (Neon scopes
    them like the live list), each with the moment it stops being recoverable."""
    form, filters, page = _listed(request, recoverable=True)
    # The table's width, for "Load more": the Recover column is for admins.
    columns = 5 + has_role(request.user, Role.ADMIN)
    context = {"form": form, "filters": filters, "page": page, "columns": columns}
    fragment = "rows" if filters["cursor"] else "results"
    return render_page_or_fragment(
        request, "projects/project_recover.html", context, fragment=fragment
    )
