import json
from urllib.parse import urlencode

from django.utils import timezone
from django.views.decorators.http import require_GET

from audit import selectors
from audit.forms import PAGE_SIZE, AuditFilterForm
from neonadmin.exports import csv_response
from neonadmin.htmx import render_page_or_fragment, wants_fragment
from neonadmin.roles import Role, role_required

CSV_COLUMNS = (
    "time", "actor", "actor_subject", "client_ip", "action", "project_id", "project_name",
    "outcome", "status", "neon_code", "neon_message", "request_id", "request_data", "changes",
    "bulk_job", "approval",
)  # fmt: skip


@require_GET
@role_required(Role.VIEWER)
def audit_list(request):
    """The audit log, newest first. It holds no secrets, so every role may read it."""
    # "Load more" appends rows only: it needs no action choices, so it skips their query.
    load_more = wants_fragment(request) and bool(request.GET.get("cursor"))
    actions = () if load_more else selectors.audit_action_list()
    form = AuditFilterForm(request.GET, actions=actions)
    filters = form.filters()
    page = selectors.audit_event_page(**filters, cursor=form.page_cursor(), limit=PAGE_SIZE)
    export_query = urlencode({k: v for k, v in filters.items() if v})
    context = {"form": form, "filters": filters, "page": page, "export_query": export_query}
    fragment = "rows" if load_more else "results"
    return render_page_or_fragment(request, "audit/audit_list.html", context, fragment=fragment)


def _row(event) -> tuple:
    return (
        event.created_at.isoformat(), event.actor, event.actor_subject, event.client_ip,
        event.action, event.project_id, event.project_name, event.outcome, event.status,
        event.neon_code, event.neon_message, event.request_id,
        json.dumps(event.request_data, sort_keys=True), json.dumps(event.changes, sort_keys=True),
        event.bulk_job_id, event.approval_id,
    )  # fmt: skip


@require_GET
@role_required(Role.VIEWER)
def audit_export(request):
    """The filtered log as CSV, streamed: the export of a long history never sits in memory."""
    filters = AuditFilterForm(request.GET).filters()
    rows = (_row(event) for event in selectors.audit_event_export(**filters))
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_response(f"neonadmin-audit-{stamp}.csv", CSV_COLUMNS, rows)
