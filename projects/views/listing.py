from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from neonadmin.roles import Role, role_required
from projects import selectors
from projects.forms.listing import ProjectListFilterForm


@require_GET
@role_required(Role.VIEWER)
def project_list(request):
    htmx: HtmxDetails = request.htmx
    # A history restore after a cache miss needs the whole page, not a fragment.
    partial = bool(htmx) and not htmx.history_restore_request
    form = ProjectListFilterForm(request.GET, organizations=selectors.organization_list())
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
