import csv
import json
from urllib.parse import urlencode

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit import selectors
from audit.forms import PAGE_SIZE, AuditFilterForm
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


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    """Text a spreadsheet shows as text: a leading =, +, - or @ would make it a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _row(event) -> list[str]:
    values = (
        event.created_at.isoformat(), event.actor, event.actor_subject, event.client_ip,
        event.action, event.project_id, event.project_name, event.outcome, event.status,
        event.neon_code, event.neon_message, event.request_id,
        json.dumps(event.request_data, sort_keys=True), json.dumps(event.changes, sort_keys=True),
        event.bulk_job_id, event.approval_id,
    )  # fmt: skip
    return [_cell(v) for v in values]


@require_GET
@role_required(Role.VIEWER)
def audit_export(request):
    """The filtered log as CSV, streamed: the export of a long history never sits in memory."""
    filters = AuditFilterForm(request.GET).filters()
    writer = csv.writer(_Echo())
    rows = (writer.writerow(_row(e)) for e in selectors.audit_event_export(**filters))
    response = StreamingHttpResponse(
        (r for part in ([writer.writerow(CSV_COLUMNS)], rows) for r in part),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="neonadmin-audit-{stamp}.csv"'
    return response
