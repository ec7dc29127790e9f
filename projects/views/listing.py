from django.conf import settings
from django.views.decorators.http import require_GET

from neonadmin.htmx import render_page_or_fragment
from neonadmin.roles import Role, role_required
from projects import selectors
from projects.extensions import page_extras
from projects.forms.listing import ProjectListFilterForm
from projects.presenters import row_cells


@require_GET
@role_required(Role.VIEWER)
def project_list(request, *, retried: bool = False):
    organizations = selectors.organization_list()
    # A key that belongs only to organizations has no personal list: start at the first one.
    org_only = selectors.account_is_org_only() and bool(organizations)
    form = ProjectListFilterForm(
        request.GET,
        organizations=organizations,
        default_org_id=settings.NEON_ORG_ID or (organizations[0].id if org_only else ""),
        personal=not org_only,
    )
    filters = form.filters()
    try:
        page = selectors.project_page(**filters)
    except selectors.OrgRequired:
        if retried or not organizations:
            raise
        return project_list(request, retried=True)  # now known to be org-only
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
