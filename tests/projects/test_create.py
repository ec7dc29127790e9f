"""The create page, its result page and the operations it follows, against the emulator."""

import re
import time

import pytest
from django.core.cache import cache

from audit.models import AuditEvent
from projects import compute, selectors
from projects.forms import project as f
from projects.forms.listing import PERSONAL_ACCOUNT
from projects.neon import (
    MSG_LOCKED,
    MSG_RATE_LIMITED,
    MSG_TIMEOUT,
    MSG_UNAVAILABLE,
    NeonRejected,
    Region,
    get_client,
)

pytestmark = pytest.mark.django_db

URL = "/projects/new/"
HX = {"HX-Request": "true"}
VALID = {
    "name": "orders-db",
    "pg_version": "16",
    "region_id": "aws-eu-central-1",
    "org_id": "",
    "store_passwords": "on",
    "history_retention_0": "60",
    "history_retention_1": "hours",
    "autoscaling_limit_min_cu": "0.5",
    "autoscaling_limit_max_cu": "4",
    "suspend_mode": "custom",
    "suspend_timeout_seconds": "900",
    "quota_compute_time_0": "10",
    "quota_compute_time_1": "hours",
    "allowed_ips": "203.0.113.0/24\n198.51.100.7",
    "maintenance_weekdays": ["6", "7"],
    "maintenance_start_time": "01:00",
    "maintenance_end_time": "03:00",
    "branch_name": "production",
    "database_name": "orders",
    "role_name": "orders_owner",
}


def writes(neon) -> int:
    return sum(n for route, n in neon.stats().items() if route.startswith(("POST", "PATCH")))


def html(response) -> str:
    return response.content.decode()


# --- Pages -----------------------------------------------------------------------------------


def test_page_and_htmx_partial(neon, operator_client):
    page = operator_client.get(URL)
    assert page.status_code == 200
    assert "<html" in html(page) and 'id="project-form"' in html(page)
    partial = operator_client.get(URL, headers=HX)
    assert partial.status_code == 200
    assert "<html" not in html(partial) and html(partial).lstrip().startswith("<form")


def test_htmx_history_restore_gets_the_whole_page(neon, operator_client):
    headers = {**HX, "HX-History-Restore-Request": "true"}
    assert "<html" in html(operator_client.get(URL, headers=headers))


def test_page_offers_regions_defaults_and_collapsed_sections(neon, operator_client):
    body = html(operator_client.get(URL))
    assert '<option value="aws-us-east-2" selected>' in body  # the region Neon marks default
    assert '<option value="17" selected>' in body
    assert '<details class="section" id="section-compute">' in body  # collapsed
    assert "open>" not in body
    for label in ("Project name", "Postgres version", "Region", "Allowed IP addresses"):
        assert f">{label}</label>" in body


@pytest.mark.parametrize("client_name", ["client", "viewer_client"])
def test_viewers_and_strangers_cannot_create(neon, request, client_name):
    client = request.getfixturevalue(client_name)
    response = client.post(URL, VALID)
    assert response.status_code in (302, 403)
    assert writes(neon) == 0


# --- Success ----------------------------------------------------------------------------------


def test_create_shows_the_secret_once_and_audits_without_it(neon, operator_client):
    response = operator_client.post(URL, VALID)
    assert response.status_code == 201
    body = html(response)
    assert "Project orders-db created" in body
    created = response.context["created"]
    secret = created.connection_details[0]
    assert secret.password and f'value="{secret.password}"' in body
    assert 'type="password"' in body and "data-reveal" in body and "data-copy" in body
    assert neon.stats()["POST /api/v2/projects"] == 1

    event = AuditEvent.objects.get()
    assert event.action == "project.create" and event.outcome == "success"
    assert event.project_id == created.project.id and event.status == 201
    assert event.actor == "otto.operator@example.test"
    stored = str(event.request_data) + str(event.changes)
    assert secret.password not in stored and secret.uri not in stored
    sent = event.request_data
    assert sent["pg_version"] == 16 and sent["history_retention_seconds"] == 2 * 86400 + 12 * 3600
    assert sent["default_endpoint_settings"] == {
        "autoscaling_limit_min_cu": 0.5,
        "autoscaling_limit_max_cu": 4.0,
        "suspend_timeout_seconds": 900,
    }
    assert sent["settings"]["quota"] == {"compute_time_seconds": 36000}
    assert sent["branch"] == {
        "name": "production",
        "role_name": "orders_owner",
        "database_name": "orders",
    }
    # What Neon now holds is what the operator chose.
    from projects.neon import get_client

    project = get_client().get_project(created.project.id)
    assert project.settings.allowed_ips == ("203.0.113.0/24", "198.51.100.7")
    assert project.settings.maintenance_window.weekdays == (6, 7)


def test_htmx_create_replaces_the_page_with_the_result(neon, operator_client):
    response = operator_client.post(URL, VALID, headers=HX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#main" and response["HX-Reswap"] == "innerHTML"
    body = html(response)
    assert "<html" not in body and "Project orders-db created" in body
    assert 'id="flash"' in body  # later error fragments still have somewhere to go
    # The address is the new project's: a reload shows it, not the create form again.
    created = response.context["created"].project
    assert response["HX-Replace-Url"] == f"/projects/{created.id}/"


def test_operations_are_followed_until_they_finish(neon, operator_client):
    response = operator_client.post(URL, VALID)
    created = response.context["created"]
    ops = created.operations
    assert ops and any(not op.done for op in ops)
    # The result page carries the detail page's operations panel, polling while they run.
    panel_url = f"/projects/{created.project.id}/?panel=operations"
    assert f'hx-get="{panel_url}" hx-trigger="every 2s"' in html(response)
    deadline = time.monotonic() + 20
    body = html(operator_client.get(panel_url, headers=HX))
    assert body.lstrip().startswith('<section id="operations"')
    while "hx-trigger" in body:
        assert time.monotonic() < deadline, "operations never finished"
        time.sleep(0.2)
        body = html(operator_client.get(panel_url, headers=HX))
    assert "All operations have ended" in body
    assert body.count("status-finished") == len(ops)
    # Without JavaScript the panel's refresh link is the detail page, without any secret.
    assert f'href="/projects/{created.project.id}/?panel=all#operations"' in html(response)
    page = html(operator_client.get(f"/projects/{created.project.id}/", {"panel": "all"}))
    assert "All operations have ended" in page
    assert created.connection_details[0].password not in page


def test_a_failing_poll_shows_the_error_and_stops_polling(neon, operator_client, settings):
    settings.NEON_RETRY_BUDGET = 0.2
    result = html(operator_client.post(URL, VALID))
    poll_url = re.search(r'hx-get="([^"]+)" hx-trigger="every', result).group(1)
    project_id = re.search(r"/projects/([a-z0-9-]+)/", poll_url).group(1)
    neon.set_faults(
        {"status": 500, "method": "GET", "message": "operations are down",
         "path_prefix": f"/api/v2/projects/{project_id}/operations"}
    )  # fmt: skip
    response = operator_client.get(poll_url.replace("&amp;", "&"), headers=HX)
    body = html(response)
    assert response.status_code == 200
    assert "HX-Retarget" not in response.headers  # the polled element itself shows the error
    assert body.lstrip().startswith('<section id="operations"')
    assert MSG_UNAVAILABLE in body and "Request ID" in body
    assert "hx-trigger" not in body  # and polling stops


def test_the_old_polling_url_is_gone(neon, operator_client):
    """`?operations_of=` was a second polling path that kept polling through errors."""
    response = operator_client.get(f"{URL}?operations_of=abc", headers=HX)
    assert html(response).lstrip().startswith("<form")
    assert sum(n for route, n in neon.stats().items() if "operations" in route) == 0


# --- Invalid input: nothing is sent, input is kept --------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"pg_version": "13"}, "pg_version", None),
        ({"pg_version": "19"}, "pg_version", None),
        ({"history_retention_0": "31", "history_retention_1": "days"}, "history_retention",
         f.MSG_RETENTION_TOO_LONG),
        ({"history_retention_0": "721", "history_retention_1": "hours"},
         "history_retention", f.MSG_RETENTION_TOO_LONG),
        ({"autoscaling_limit_min_cu": "8", "autoscaling_limit_max_cu": "4"},
         "autoscaling_limit_max_cu", compute.MSG_CU_MIN_ABOVE_MAX),
        ({"autoscaling_limit_min_cu": "0.1"}, "autoscaling_limit_min_cu", None),
        ({"suspend_timeout_seconds": "59"}, "suspend_timeout_seconds", None),
        ({"suspend_timeout_seconds": "604801"}, "suspend_timeout_seconds", None),
        ({"quota_compute_time_0": "-1"}, "quota_compute_time", None),
        ({"allowed_ips": "10.0.0.300"}, "allowed_ips", None),
        ({"maintenance_end_time": ""}, "maintenance_weekdays", f.MSG_WINDOW_INCOMPLETE),
        ({"maintenance_start_time": "25:00"}, "maintenance_start_time", f.MSG_TIME),
        ({"name": "x" * 257}, "name", None),
        ({"role_name": "r" * 64}, "role_name", f.MSG_TOO_LONG_BYTES),
    ],
)  # fmt: skip
@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_form_sends_nothing_and_keeps_input(
    neon, operator_client, changes, field, message, htmx
):
    response = operator_client.post(URL, {**VALID, **changes}, headers=HX if htmx else {})
    assert response.status_code == 200
    body = html(response)
    assert ("<html" in body) is not htmx
    form = response.context["form"]
    assert field in form.errors
    if message:
        assert message in body
    assert f'<ul class="errorlist" id="id_{field}_error">' in body
    typed_name = changes.get("name", VALID["name"])
    assert f'name="name" value="{typed_name}"' in body
    assert "203.0.113.0/24" in body or "allowed_ips" in changes
    assert " open>" in body  # the section holding the error is open
    assert writes(neon) == 0
    assert AuditEvent.objects.count() == 0


# --- Neon errors: a clear message with Neon's request id, the input kept ----------------------


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"status": 423}, MSG_LOCKED),
        ({"status": 429, "message": "slow down"}, MSG_RATE_LIMITED),
        ({"status": 500, "message": "internal"}, MSG_UNAVAILABLE),
        ({"status": 503}, MSG_UNAVAILABLE),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_neon_errors_keep_the_form(neon, operator_client, settings, fault, expected, htmx):
    settings.NEON_RETRY_BUDGET = 0.2  # 423 and 503 are retried; one short retry is enough here
    neon.set_faults({"method": "POST", "path_prefix": "/api/v2/projects", **fault})
    response = operator_client.post(URL, VALID, headers=HX if htmx else {})
    assert response.status_code == 200
    body = html(response)
    assert expected in body
    event = AuditEvent.objects.get()
    assert event.outcome == "failure" and event.status == fault["status"]
    assert event.request_id and event.request_id in body  # Neon's request id, shown and kept
    assert 'value="orders-db"' in body and "198.51.100.7" in body
    assert "Project orders-db created" not in body


def test_neon_rejection_shows_neons_message(neon, operator_client, monkeypatch):
    # A region Neon stopped offering after the dashboard cached its list: Neon answers 400.
    retired = [Region(id="aws-retired-1", name="Retired", default=False)]
    monkeypatch.setattr(selectors, "region_list", lambda: retired)
    response = operator_client.post(URL, {**VALID, "region_id": "aws-retired-1"})
    assert response.status_code == 200
    body = html(response)
    assert "unsupported region" in body
    event = AuditEvent.objects.get()
    assert event.status == 400 and event.request_id in body


def test_timeout_says_the_project_may_exist(neon, operator_client, settings):
    settings.NEON_READ_TIMEOUT = 0.3
    neon.set_faults({"method": "POST", "hang": True, "hang_seconds": 2, "count": 1})
    response = operator_client.post(URL, VALID)
    assert response.status_code == 200
    assert MSG_TIMEOUT in html(response)
    assert neon.stats()["POST /api/v2/projects"] == 1  # a write is never repeated after a timeout
    assert AuditEvent.objects.get().outcome == "failure"


# --- Irreversible settings: admins only, and only with the confirmation -----------------------


@pytest.mark.parametrize("flag", ["enable_logical_replication", "hipaa"])
def test_operators_cannot_create_with_irreversible_settings(neon, operator_client, flag):
    response = operator_client.post(URL, {**VALID, flag: "on", "confirm_irreversible": "on"})
    assert response.status_code == 403
    assert writes(neon) == 0
    event = AuditEvent.objects.get()  # the refused attempt is recorded, once, by the view
    assert (event.action, event.outcome, event.status) == ("project.create", "failure", 403)
    assert event.neon_message == "Refused: needs the admin role."
    assert event.project_name == VALID["name"]
    assert event.request_data[flag] == "on"


def test_admin_needs_the_confirmation(neon, admin_client_):
    response = admin_client_.post(URL, {**VALID, "enable_logical_replication": "on"})
    assert response.status_code == 200
    assert f.MSG_CONFIRM_IRREVERSIBLE in html(response)
    assert writes(neon) == 0
    response = admin_client_.post(
        URL, {**VALID, "enable_logical_replication": "on", "confirm_irreversible": "on"}
    )
    assert response.status_code == 201
    project = response.context["created"].project
    assert project.settings.enable_logical_replication is True


def test_result_page_is_never_cached(neon, operator_client):
    response = operator_client.post(URL, VALID)
    assert "no-store" in response["Cache-Control"]


def test_configured_organization_is_preselected_and_personal_stays_a_choice(
    neon, operator_client, settings
):
    from projects.selectors import organization_list

    settings.NEON_ORG_ID = organization_list()[0].id
    response = operator_client.get(URL)
    field = response.context["form"].fields["org_id"]
    assert field.choices[0] == ("", PERSONAL_ACCOUNT)
    assert f'<option value="{settings.NEON_ORG_ID}" selected>' in html(response)
    created = operator_client.post(URL, {**VALID, "org_id": ""}).context["created"]
    assert created.project.org_id is None


def test_create_with_preloaded_libraries(neon, operator_client):
    page = html(operator_client.get(URL))
    assert 'name="preload_libraries"' in page and 'name="preload_skip_defaults"' in page
    data = {**VALID, "preload_libraries": "pg_cron\ntimescaledb", "preload_skip_defaults": "on"}
    created = operator_client.post(URL, data).context["created"]
    settings = get_client().get_project(created.project.id).settings
    assert sorted(settings.preload_libraries) == ["pg_cron", "timescaledb"]
    assert settings.preload_use_defaults is False


def test_the_accounts_plan_ceiling_shapes_the_form_and_refuses_before_neon(neon, operator_client):
    neon.reset(seed=5, max_autoscaling_limit=2)  # a Free-plan account: computes up to 2 CU
    cache.clear()  # the ceiling is cached with the other account facts
    page = html(operator_client.get(URL))
    assert '<option value="2">2 CU</option>' in page and ">4 CU</option>" not in page
    neon.clear_stats()
    data = {**VALID, "autoscaling_limit_min_cu": "1", "autoscaling_limit_max_cu": "4"}
    refused = operator_client.post(URL, data)
    assert refused.status_code == 200
    assert "autoscaling_limit_max_cu" in refused.context["form"].errors
    assert writes(neon) == 0
    # Neon (the emulator, its own reading of the same rule) refuses it too.
    with pytest.raises(NeonRejected):
        get_client().create_project(
            {
                "default_endpoint_settings": {
                    "autoscaling_limit_min_cu": 1,
                    "autoscaling_limit_max_cu": 4,
                }
            }
        )


def data_cu(low: float, high: float) -> dict:
    return {"autoscaling_limit_min_cu": low, "autoscaling_limit_max_cu": high}
