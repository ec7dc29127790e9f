from django.conf import settings
from django.views.decorators.http import require_GET

from neonadmin.htmx import render_page_or_fragment
from neonadmin.roles import Role, role_required
from projects import selectors
from projects.forms.listing import ProjectListFilterForm
from projects.presenters import project_rows


@require_GET
@role_required(Role.VIEWER)
def project_list(request):
    form = ProjectListFilterForm(
        request.GET,
        organizations=selectors.organization_list(),
        default_org_id=settings.NEON_ORG_ID,
    )
    filters = form.filters()
    page = selectors.project_page(**filters)
    context = {"form": form, "filters": filters, "page": page, "rows": project_rows(page.projects)}
    # "Load more" appends the next rows; a changed search or filter replaces the results.
    fragment = "rows" if filters["cursor"] else "results"
    return render_page_or_fragment(
        request, "projects/project_list.html", context, fragment=fragment
    )
