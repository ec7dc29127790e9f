"""The fleet page: every project of every organization from the inventory, and its refresh."""

from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from audit.services import Actor
from fleet import marks, selectors, tasks
from fleet.findings import BY_SLUG
from fleet.forms import FleetFilterForm
from fleet.presenters import fleet_rows
from governance.selectors import protected_ids
from neonadmin.exports import csv_response, json_response
from neonadmin.htmx import render_page_or_fragment
from neonadmin.roles import Role, has_role, role_required

TEMPLATE = "fleet/fleet.html"
# Sent when a refresh the page follows finishes: the results reload themselves.
REFRESHED_EVENT = "fleet-refreshed"
EXPORT_COLUMNS = (
    "project_id", "name", "org_id", "org_name", "region_id", "pg_version", "created_at",
    "last_active_at", "storage_bytes", "compute_time_seconds", "written_data_bytes",
    "data_transfer_bytes", "cu_min", "cu_max", "suspend_timeout_seconds",
    "history_retention_seconds", "allowed_ips_count", "block_public_connections",
    "has_maintenance_window", "compute_time_quota_seconds", "hipaa", "logical_replication",
    "permission", "read_at", "gone_at", "project_class", "drift", "cost_cents",
)  # fmt: skip


def _filters(request):
    form = FleetFilterForm(request.GET, choices=selectors.filter_choices())
    return form, form.filters()


@require_GET
@role_required(Role.VIEWER)
def fleet_list(request):
    form, filters = _filters(request)
    # "Load more" appends rows and shows no counts: it does not count them again.
    loading_more = bool(filters["cursor"])
    page = selectors.fleet_page(filters, counted=not loading_more)
    if not loading_more:
        form.show_counts(
            page.facets, approximate=page.approximate
        )  # each filter's choices say how many rows they give
    finding = BY_SLUG.get(filters["finding"])
    context = {
        "form": form,
        "filters": {k: v for k, v in request.GET.items() if k != "cursor"},
        "page": page,
        "rows": fleet_rows(
            page.rows,
            fix=finding.fix if finding else "",
            protected=protected_ids(project_ids=[row.project_id for row in page.rows]),
        ),
        "sort": filters["sort"],
        "finding": finding,
        "rule": marks.rule(filters["rule"]) if filters["rule"] else None,
        "rule_link": marks.rule_link(filters["rule"]) if filters["rule"] else "",
        "classed": form.classed,
        # The table's width, for "Load more": a tick box for those who may change projects.
        "columns": 13
        + 2 * form.classed
        + bool(finding and finding.fix)
        + has_role(request.user, Role.OPERATOR),
        "findings": selectors.finding_counts(),
        "finding_cents": selectors.view_cents(filters) if finding and finding.costed else None,
        "rule_counts": selectors.rule_counts(),
        "bulk_actions": marks.bulk_actions(admin=has_role(request.user, Role.ADMIN)),
        "status": selectors.inventory_status(),
    }
    # "Load more" appends rows; a changed filter or sort replaces the results.
    fragment = "rows" if loading_more else "results"
    return render_page_or_fragment(request, TEMPLATE, context, fragment=fragment)


def _export_rows(filters):
    rows = selectors.inventory_rows(filters).values_list(*EXPORT_COLUMNS)
    for row in rows.iterator(chunk_size=500):
        yield [value.isoformat() if hasattr(value, "isoformat") else value for value in row]


@require_GET
@role_required(Role.VIEWER)
def fleet_export_csv(request):
    """Every row of the current view (not only the page shown), streamed."""
    _form, filters = _filters(request)
    return csv_response("neon-fleet.csv", EXPORT_COLUMNS, _export_rows(filters))


@require_GET
@role_required(Role.VIEWER)
def fleet_export_json(request):
    _form, filters = _filters(request)
    records = (dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in _export_rows(filters))
    return json_response("neon-fleet.json", records)


@require_POST
@role_required(Role.OPERATOR)
def fleet_refresh(request):
    """Start a refresh now (or join the one under way) and show its progress."""
    run = tasks.start_refresh(trigger="manual", requested_by=Actor.from_request(request).username)
    return render_page_or_fragment(request, TEMPLATE, _progress(run), fragment="progress")


@require_GET
@role_required(Role.VIEWER)
def fleet_refresh_status(request, run_id: int):
    run = selectors.run_get(run_id)
    response = render_page_or_fragment(request, TEMPLATE, _progress(run), fragment="progress")
    if request.htmx and run.status == run.Status.FINISHED:
        trigger_client_event(response, REFRESHED_EVENT)  # the table shows the new inventory
    return response


def _progress(run) -> dict:
    return {"run": run, "status": selectors.inventory_status()}
