"""The settings page: edit, review, apply. Only what changed is sent, audited with before and
after; nothing reaches Neon before Apply."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.html import escape

from audit.models import AuditEvent
from neonadmin.roles import Role, user_role_set
from projects.forms import project as f
from projects.neon import (
    MSG_LOCKED,
    MSG_NOT_FOUND,
    MSG_RATE_LIMITED,
    MSG_TIMEOUT,
    MSG_UNAVAILABLE,
    get_client,
)
from projects.project_state import QUOTA_KEYS
from projects.views.edit import MSG_CONFIRM_NAME, MSG_NOTHING_CHANGED
from tests.formdata import form_data

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def writes(neon) -> int:
    return sum(n for route, n in neon.stats().items() if route.startswith(("POST", "PATCH")))


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def project(neon):
    """A seeded project with a maintenance window and no irreversible setting on."""
    client = get_client()
    for item in client.list_projects(limit=25).projects:
        full = client.get_project(item.id)
        s = full.settings
        if s.maintenance_window and not (s.enable_logical_replication or s.hipaa):
            neon.clear_stats()
            return full
    pytest.fail("the seed has no plain project")


def url(project) -> str:
    return f"/projects/{project.id}/settings/"


def untouched(project) -> dict:
    """The settings form as a browser submits it, untouched: read from the page an admin sees."""
    user, _ = get_user_model().objects.get_or_create(username="form.reader@example.test")
    user_role_set(user=user, role=Role.ADMIN)
    reader = Client()
    reader.force_login(user)
    page = reader.get(url(project))
    assert page.status_code == 200
    return {k: v if len(v) > 1 else v[0] for k, v in form_data(html(page), "settings-form").items()}


def review(client, project, data, headers=None):
    """Post the edit form: the review page (or the form again, when invalid)."""
    return client.post(url(project), data, headers=headers or {})


def apply(client, project, reviewed, headers=None, **extra):
    """Press Apply on a review page."""
    data = {**form_data(html(reviewed), "settings-form"), "step": ["apply"], **extra}
    return client.post(url(project), data, headers=headers or {})


def save(client, project, data, headers=None, **extra):
    reviewed = review(client, project, data, headers)
    assert reviewed.status_code == 200 and "Review " in html(reviewed), html(reviewed)[:3000]
    return apply(client, project, reviewed, headers, **extra)


# --- Pages -----------------------------------------------------------------------------------


def test_page_and_htmx_partial(project, operator_client):
    page = operator_client.get(url(project))
    assert page.status_code == 200 and "<html" in html(page)
    assert f'value="{project.name}"' in html(page)
    partial = operator_client.get(url(project), headers=HX)
    assert "<html" not in html(partial) and html(partial).lstrip().startswith("<form")


def test_htmx_history_restore_gets_the_whole_page(project, operator_client):
    headers = {**HX, "HX-History-Restore-Request": "true"}
    assert "<html" in html(operator_client.get(url(project), headers=headers))


def test_viewers_cannot_edit(project, viewer_client, neon):
    assert viewer_client.get(url(project)).status_code == 403
    assert viewer_client.post(url(project), {"name": "x"}).status_code == 403
    assert writes(neon) == 0


def test_unknown_project_is_a_clear_404(neon, operator_client):
    response = operator_client.get("/projects/no-such-project-1/settings/")
    assert response.status_code == 404
    body = html(response)
    assert "not found" in body.lower() or MSG_NOT_FOUND in body
    assert "Back to projects" in body


def test_preload_choices_come_from_the_project(project, operator_client):
    libraries = get_client().available_preload_libraries(project.id)
    body = html(operator_client.get(url(project)))
    for library in libraries:
        assert f'value="{library.name}"' in body


# --- Only what changed is sent ---------------------------------------------------------------


def test_untouched_form_sends_nothing(project, operator_client, neon):
    response = operator_client.post(url(project), untouched(project), follow=True)
    assert MSG_NOTHING_CHANGED in html(response)
    assert writes(neon) == 0
    assert AuditEvent.objects.count() == 0


def test_only_changed_fields_are_sent_and_audited(project, operator_client, neon):
    data = untouched(project)
    data.update(
        name="renamed",
        history_retention_0="78",
        history_retention_1="hours",
        quota_active_time_0="5",
        quota_active_time_1="hours",
        allowed_ips="192.0.2.0/24",
    )
    reviewed = review(operator_client, project, data)
    assert writes(neon) == 0  # the review sends nothing
    body = html(reviewed)
    assert "Review 4 changes" in body and "78 hours" in body and "5 hours" in body
    response = apply(operator_client, project, reviewed)
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.id}/"
    assert neon.stats()["PATCH /api/v2/projects/{project_id}"] == 1

    event = AuditEvent.objects.get()
    assert event.action == "project.update" and event.outcome == "success"
    assert event.request_data == {
        "name": "renamed",
        "history_retention_seconds": 3 * 86400 + 6 * 3600,
        "settings": {
            # Sent whole, so Neon never has to guess what a half-object means.
            "quota": {
                **{key: getattr(project.settings.quota, key) or 0 for key in QUOTA_KEYS},
                "active_time_seconds": 5 * 3600,
            },
            "allowed_ips": {
                "ips": ["192.0.2.0/24"],
                "protected_branches_only": project.settings.protected_branches_only,
            },
        },
    }
    assert event.changes["name"] == {"before": project.name, "after": "renamed"}
    assert event.changes["settings.quota.active_time_seconds"]["after"] == 18000
    assert event.changes["settings.allowed_ips.ips"] == {
        "before": list(project.settings.allowed_ips),
        "after": ["192.0.2.0/24"],
    }
    after = get_client().get_project(project.id)
    assert after.name == "renamed" and after.history_retention_seconds == 3 * 86400 + 6 * 3600
    assert after.settings.allowed_ips == ("192.0.2.0/24",)


def test_endpoint_defaults_change_and_htmx_redirects(project, operator_client, neon):
    data = untouched(project)
    data.update(
        autoscaling_limit_min_cu="1",
        autoscaling_limit_max_cu="8",
        suspend_mode="custom",
        suspend_timeout_seconds="1234",
        maintenance_weekdays=["2"],
        maintenance_start_time="03:00",
        maintenance_end_time="04:00",
    )
    response = save(operator_client, project, data, headers=HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/projects/{project.id}/"
    sent = AuditEvent.objects.get().request_data
    assert sent["default_endpoint_settings"]["autoscaling_limit_max_cu"] == 8.0
    assert sent["default_endpoint_settings"]["suspend_timeout_seconds"] == 1234
    assert sent["settings"]["maintenance_window"] == {
        "weekdays": [2],
        "start_time": "03:00",
        "end_time": "04:00",
    }
    after = get_client().get_project(project.id)
    assert after.endpoint_defaults.autoscaling_limit_max_cu == 8
    assert after.settings.maintenance_window.start_time == "03:00"


# --- Invalid input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"history_retention_0": "721", "history_retention_1": "hours"}, "history_retention"),
        ({"autoscaling_limit_min_cu": "4", "autoscaling_limit_max_cu": "2"},
         "autoscaling_limit_max_cu"),
        ({"suspend_mode": "custom", "suspend_timeout_seconds": "59"}, "suspend_timeout_seconds"),
        ({"quota_written_data_0": "-1"}, "quota_written_data"),
        ({"autoscaling_limit_min_cu": "1", "autoscaling_limit_max_cu": "10"},
         "autoscaling_limit_max_cu"),
        ({"autoscaling_limit_min_cu": "4", "autoscaling_limit_max_cu": "18"},
         "autoscaling_limit_max_cu"),
        ({"allowed_ips": "1.2.3.4/40"}, "allowed_ips"),
        ({"maintenance_end_time": "24:00"}, "maintenance_end_time"),
        ({"preload_libraries": ["not_offered"]}, "preload_libraries"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_sends_nothing(project, operator_client, neon, changes, field, htmx):
    data = {**untouched(project), "block_vpc_connections": "on", **changes}
    response = operator_client.post(url(project), data, headers=HX if htmx else {})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    body = html(response)
    assert ("<html" in body) is not htmx
    assert 'name="block_vpc_connections" id="id_block_vpc_connections" checked' in body
    assert writes(neon) == 0 and AuditEvent.objects.count() == 0


# --- Neon errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_locked_project_keeps_the_form(project, operator_client, neon, settings, htmx):
    settings.NEON_RETRY_BUDGET = 0.2  # a 423 is retried; one short retry is enough here
    neon.set_faults({"method": "PATCH", "status": 423})
    data = {**untouched(project), "name": "typed-by-hand"}
    response = save(operator_client, project, data, headers=HX if htmx else {})
    assert response.status_code == 200
    body = html(response)
    assert MSG_LOCKED in body and "typed-by-hand" in body and 'name="carried"' in body
    event = AuditEvent.objects.get()
    assert event.outcome == "failure" and event.status == 423 and event.request_id in body
    assert event.changes["name"]["after"] == "typed-by-hand"


@pytest.mark.parametrize(
    ("status", "message"),
    [(429, MSG_RATE_LIMITED), (500, MSG_UNAVAILABLE), (502, MSG_UNAVAILABLE)],
)
def test_other_neon_errors_keep_the_form(project, operator_client, neon, status, message):
    neon.set_faults({"method": "PATCH", "status": status, "message": "upstream trouble"})
    response = save(operator_client, project, {**untouched(project), "name": "kept"})
    assert response.status_code == 200
    body = html(response)
    assert f"Neon answered with an error (HTTP {status})." in body
    assert message in body
    assert "kept" in body and 'name="carried"' in body  # still the review, Apply again
    assert AuditEvent.objects.get().request_id in body


# --- Irreversible settings -----------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["enable_logical_replication", "hipaa"])
@pytest.mark.parametrize("confirmed", [True, False])
def test_operator_cannot_turn_on_irreversible(project, operator_client, neon, flag, confirmed):
    data = {**untouched(project), flag: "on"}
    if confirmed:
        data["confirm_name"] = project.name
    assert operator_client.post(url(project), data).status_code == 403
    assert writes(neon) == 0
    event = AuditEvent.objects.get()  # refused before Neon, and still recorded once
    assert (event.action, event.outcome, event.status) == ("project.update", "failure", 403)
    assert (event.project_id, event.project_name) == (project.id, project.name)
    assert event.neon_message == "Refused: needs the admin role."
    assert event.request_data[flag] == "on"


def test_operators_see_irreversible_settings_disabled(project, operator_client):
    body = html(operator_client.get(url(project)))
    assert '<input type="checkbox" name="hipaa" disabled' in body
    assert "Only admins can turn it on" in body


def test_admins_are_told_the_review_asks_for_the_name(project, admin_client_):
    admin_body = html(admin_client_.get(url(project)))
    assert "type the project's name in the review step" in admin_body
    assert "Only admins can turn it on" not in admin_body


@pytest.mark.parametrize("flag", ["enable_logical_replication", "hipaa"])
def test_admin_turns_on_irreversible_with_confirmation(project, admin_client_, neon, flag):
    data = {**untouched(project), flag: "on"}
    reviewed = review(admin_client_, project, data)
    assert "cannot be undone" in html(reviewed) and 'name="confirm_name"' in html(reviewed)
    refused = apply(admin_client_, project, reviewed, confirm_name=["not the name"])
    assert escape(MSG_CONFIRM_NAME) in html(refused) and writes(neon) == 0
    done = apply(admin_client_, project, reviewed, confirm_name=[project.name])
    assert done.status_code == 302
    assert AuditEvent.objects.get().request_data == {"settings": {flag: True}}
    # From now on the box shows it on and cannot be unticked.
    page = html(admin_client_.get(url(project)))
    assert f'name="{flag}" id="id_{flag}" disabled checked' in page or (
        f'id="id_{flag}"' in page and "disabled" in page
    )


@pytest.mark.parametrize("who", ["operator_client", "admin_client_"])
def test_a_change_made_elsewhere_before_review_is_not_undone(project, neon, request, who):
    # Admins too: their submissions skip the irreversible guard, which validates the form.
    operator_client = request.getfixturevalue(who)
    data = {**untouched(project), "block_vpc_connections": "on"}
    get_client().update_project(project.id, {"name": "renamed-by-a-colleague"})
    neon.clear_stats()

    warned = review(operator_client, project, data)
    body = html(warned)
    assert warned.status_code == 200 and escape(f.MSG_STALE) in body
    assert "Project name" in body and "renamed-by-a-colleague" in body  # what moved, shown
    # The fresh form holds the colleague's name and the operator's edit, ready to save again.
    assert 'value="renamed-by-a-colleague"' in body
    assert 'name="block_vpc_connections" id="id_block_vpc_connections" checked' in body
    assert writes(neon) == 0
    again = {k: v if len(v) > 1 else v[0] for k, v in form_data(body, "settings-form").items()}
    reviewed = review(operator_client, project, again)
    assert "Review 1 change" in html(reviewed)
    assert apply(operator_client, project, reviewed).status_code == 302
    after = get_client().get_project(project.id)
    assert after.name == "renamed-by-a-colleague" and after.settings.block_vpc_connections


def test_a_change_made_elsewhere_between_review_and_apply_is_refused(
    project, operator_client, neon
):
    reviewed = review(operator_client, project, {**untouched(project), "name": "mine"})
    assert "Review 1 change" in html(reviewed)
    get_client().update_project(
        project.id, {"default_endpoint_settings": {"suspend_timeout_seconds": 600}}
    )
    neon.clear_stats()
    refused = apply(operator_client, project, reviewed)
    body = html(refused)
    assert escape(f.MSG_STALE) in body and "Suspend computes" in body and "after 10 minutes" in body
    assert writes(neon) == 0 and AuditEvent.objects.count() == 0
    assert get_client().get_project(project.id).name == project.name


def test_an_altered_review_is_refused(project, operator_client, neon):
    reviewed = review(operator_client, project, {**untouched(project), "name": "mine"})
    data = {**form_data(html(reviewed), "settings-form"), "step": ["apply"]}
    data["carried"] = [data["carried"][0][:-3] + "xyz"]
    response = operator_client.post(url(project), data)
    assert response.status_code == 200 and f.MSG_PAGE_ALTERED in html(response)
    assert writes(neon) == 0


def test_back_to_edit_keeps_what_was_typed(project, operator_client, neon):
    reviewed = review(operator_client, project, {**untouched(project), "name": "typed"})
    data = {**form_data(html(reviewed), "settings-form"), "step": ["edit"]}
    for headers in ({}, HX):
        back = operator_client.post(url(project), data, headers=headers)
        assert 'name="name" value="typed"' in html(back) and "Review changes" in html(back)
    assert writes(neon) == 0


@pytest.mark.parametrize("htmx", [False, True])
def test_review_is_a_page_and_a_fragment(project, operator_client, neon, htmx):
    reviewed = review(
        operator_client, project, {**untouched(project), "name": "x"}, HX if htmx else {}
    )
    body = html(reviewed)
    assert ("<html" in body) is not htmx
    assert body.lstrip().startswith("<form") is htmx
    assert "Nothing has been sent to Neon yet" in body and writes(neon) == 0


def test_out_of_range_compute_gets_a_message_and_no_call(project, operator_client, neon):
    data = {
        **untouched(project),
        "autoscaling_limit_min_cu": "0.25",
        "autoscaling_limit_max_cu": "16",
    }
    response = review(operator_client, project, data)
    assert "at most 8 CU between the minimum and the maximum" in html(response)
    assert neon.stats().get("PATCH /api/v2/projects/{project_id}", 0) == 0


def test_timeout_warns_that_the_change_may_have_been_applied(
    project, operator_client, neon, settings
):
    settings.NEON_READ_TIMEOUT = 0.3
    neon.set_faults({"method": "PATCH", "hang": True, "hang_seconds": 2, "count": 1})
    response = save(operator_client, project, {**untouched(project), "name": "slow-name"})
    assert response.status_code == 200
    body = html(response)
    assert MSG_TIMEOUT in body and "slow-name" in body
    assert neon.stats()["PATCH /api/v2/projects/{project_id}"] == 1  # never repeated
    assert AuditEvent.objects.get().outcome == "failure"


def test_the_audit_log_shows_the_review_s_words_and_units(project, operator_client, neon):
    data = {**untouched(project), "quota_logical_size_0": "512", "quota_logical_size_1": "MiB"}
    reviewed = review(operator_client, project, data)
    assert "Logical size quota" in html(reviewed) and "512 MiB" in html(reviewed)
    assert apply(operator_client, project, reviewed).status_code == 302
    event = AuditEvent.objects.get()
    assert event.changes["settings.quota.logical_size_bytes"]["after"] == 512 * 2**20
    audit = html(operator_client.get("/audit/"))
    assert "Logical size quota" in audit and "→ 512 MiB" in audit
