from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from neonadmin.roles import Role, role_required
from projects import selectors
from projects.forms.listing import ProjectListFilterForm
from projects.views import wants_fragment


@require_GET
@role_required(Role.VIEWER)
def project_list(request):
    partial = wants_fragment(request)
    form = ProjectListFilterForm(
        request.GET,
        organizations=selectors.organization_list(),
        default_org_id=settings.NEON_ORG_ID,
    )
    filters = form.filters()
    page = selectors.project_page(**filters)
    context = {"form": form, "filters": filters, "page": page}
    if partial and filters["cursor"]:
        template = "projects/project_list.html#rows"  # "Load more": append the next rows
    elif partial:
        template = "projects/project_list.html#results"  # search or filter changed
    else:
        template = "projects/project_list.html"
    return render(request, template, context)
