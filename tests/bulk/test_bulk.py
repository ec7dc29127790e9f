"""Bulk changes against the emulator: the dry run's verdicts, apply, stop, roles and approval.

Jobs run on the real worker (django-tasks-db's db_worker, in the test's thread), as in production.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AuditEvent
from audit.services import Actor
from bulk.dry_run import refusals
from bulk.models import BulkItem, BulkJob
from fleet.inventory import detail_from_project
from governance.models import ApprovalRequest
from governance.services import protection_create
from neonadmin.roles import Role, user_role_set
from projects.compute import MSG_CU_POD
from projects.neon import get_client
from projects.permissions import MSG_DELETE_NEEDS_MANAGE, MSG_VIEW_ONLY
from projects.selectors import compute_limits
from tests.bulk.jobs import DELETE, PATCH, WINDOW, new_job, refresh_inventory, run_worker

pytestmark = pytest.mark.django_db(transaction=True)

HX = {"HX-Request": "true"}


def test_an_untouched_settings_form_refuses_nothing_for_any_seeded_project(neon):
    """The dry run's check submits the settings form as a browser would: a project's own state
    must come back valid and unchanged, or every dry run would invent refusals."""
    client, limits = get_client(), compute_limits()
    projects = client.list_projects(limit=400).projects
    assert projects
    for listed in projects:
        known = detail_from_project(client.get_project(listed.id), read_at=timezone.now())
        assert refusals(known=known, desired=known.state, limits=limits) == []


def test_dry_run_then_apply_changes_each_project_once(operator_client, fleet, neon):
    org = fleet.exclude(org_id="").values_list("org_id", flat=True).first()
    chosen = list(fleet.filter(org_id=org, shared=False))
    job = new_job(operator_client, WINDOW, {"org": org})
    assert job.status == BulkJob.Status.PLANNED
    items = {i.project_id: i for i in job.items.all()}
    assert set(items) == {p.project_id for p in chosen}
    neon.clear_stats()
    assert neon.stats().get(PATCH, 0) == 0  # a dry run only reads

    to_change = [i for i in items.values() if i.verdict == BulkItem.Verdict.CHANGE]
    assert to_change
    response = operator_client.post(reverse("bulk:apply", args=[job.pk]), headers=HX)
    assert response.status_code == 200
    run_worker()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.FINISHED
    assert neon.stats().get(PATCH, 0) == len(to_change)
    client = get_client()
    for item in job.items.all():
        project = client.get_project(item.project_id)
        window = project.settings.maintenance_window
        if item.verdict in (BulkItem.Verdict.CHANGE, BulkItem.Verdict.UNCHANGED):
            assert (window.weekdays, window.start_time, window.end_time) == ((7,), "02:00", "03:00")
        expected = {"change": "changed", "unchanged": "unchanged", "refused": "refused"}
        assert item.outcome == expected[item.verdict]
    records = AuditEvent.objects.filter(bulk_job_id=job.pk, action="project.update")
    assert records.count() == len(to_change)
    assert {r.project_id for r in records} == {i.project_id for i in to_change}
    assert all(r.changes["settings.maintenance_window"]["after"]["weekdays"] == [7]
               for r in records)  # fmt: skip


def test_the_dry_run_names_what_neon_would_refuse(operator_client, fleet, neon):
    """Autoscaling on k8s-pod projects: the settings form's rule, before any PATCH."""
    job = new_job(
        operator_client,
        {"kind": "autoscaling", "autoscaling_limit_min_cu": "0.5", "autoscaling_limit_max_cu": "2"},
    )
    client = get_client()
    pods = {p.id for p in client.list_projects(limit=400).projects if p.provisioner == "k8s-pod"}
    refused = job.items.filter(verdict=BulkItem.Verdict.REFUSED)
    assert pods and pods <= {i.project_id for i in refused}
    pod = refused.get(project_id=sorted(pods)[0])
    assert any(MSG_CU_POD in message for message in pod.messages)
    page = operator_client.get(reverse("bulk:job", args=[job.pk])).content.decode()
    assert MSG_CU_POD in page


def test_a_project_changed_in_neon_after_the_dry_run_is_skipped_not_overwritten(
    operator_client, fleet, neon
):
    job = new_job(operator_client, {**WINDOW, "maintenance_start_time": "04:00",
                                    "maintenance_end_time": "05:00"})  # fmt: skip
    item = job.items.filter(verdict=BulkItem.Verdict.CHANGE).first()
    other = {"weekdays": [1], "start_time": "10:00", "end_time": "11:00"}
    get_client().update_project(item.project_id, {"settings": {"maintenance_window": other}})
    operator_client.post(reverse("bulk:apply", args=[job.pk]))
    run_worker()
    item.refresh_from_db()
    assert item.outcome == BulkItem.Outcome.SKIPPED
    assert "Maintenance window" in item.outcome_message
    window = get_client().get_project(item.project_id).settings.maintenance_window
    assert window.start_time == "10:00"


def test_a_stopped_job_reports_what_it_did_and_did_not_do(operator_client, fleet, neon):
    job = new_job(operator_client, {"kind": "suspend", "suspend_mode": "custom",
                                    "suspend_timeout_seconds": "900"})  # fmt: skip
    planned = job.items.filter(verdict=BulkItem.Verdict.CHANGE).count()
    assert planned >= 4
    operator_client.post(reverse("bulk:apply", args=[job.pk]))
    operator_client.post(reverse("bulk:stop", args=[job.pk]))  # before the worker starts
    run_worker()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.STOPPED
    assert job.items.filter(outcome=BulkItem.Outcome.NOT_RUN).count() == planned
    assert neon.stats().get(PATCH, 0) == 0
    assert AuditEvent.objects.filter(action="bulk.stop", bulk_job_id=job.pk).exists()


def test_viewers_see_jobs_but_act_on_none(viewer, operator_client, fleet):
    job = new_job(operator_client, WINDOW)
    viewer_client = Client()
    viewer_client.force_login(viewer)
    assert viewer_client.get(reverse("bulk:job", args=[job.pk])).status_code == 200
    assert viewer_client.get(reverse("bulk:list")).status_code == 200
    for name in ("apply", "stop", "discard"):
        assert viewer_client.post(reverse(f"bulk:{name}", args=[job.pk])).status_code == 403
    assert viewer_client.post(reverse("bulk:new"), WINDOW).status_code == 403
    assert AuditEvent.objects.filter(action="bulk.apply", status=403).exists()


def test_operators_may_not_delete_in_bulk(operator_client, fleet, neon):
    response = operator_client.post(reverse("bulk:new"), {"kind": "delete"})
    assert response.status_code == 403
    assert not BulkJob.objects.exists()
    assert AuditEvent.objects.filter(action="bulk.create", status=403).exists()


def test_bulk_delete_needs_the_typed_count_and_skips_protected_projects(
    admin_client_, admin_user, fleet, neon
):
    rows = list(fleet.filter(org_id="", shared=False).order_by("name")[:3])
    protection_create(
        actor=Actor(username="ada.admin@example.test"),
        project_id=rows[0].project_id,
        project_name=rows[0].name,
        reason="production",
    )
    ticked = {"project": [r.project_id for r in rows]}
    job = new_job(admin_client_, {"kind": "delete"}, ticked)
    verdicts = dict(job.items.values_list("project_id", "verdict"))
    assert verdicts[rows[0].project_id] == BulkItem.Verdict.PROTECTED
    to_delete = [pid for pid, v in verdicts.items() if v == BulkItem.Verdict.CHANGE]
    wrong = admin_client_.post(reverse("bulk:apply", args=[job.pk]), {"confirm_count": "3"})
    assert wrong.status_code == 200 and "to confirm" in wrong.content.decode()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.PLANNED
    admin_client_.post(reverse("bulk:apply", args=[job.pk]), {"confirm_count": len(to_delete)})
    run_worker()
    assert neon.stats().get(DELETE, 0) == len(to_delete)
    job.refresh_from_db()
    assert job.items.get(project_id=rows[0].project_id).outcome == BulkItem.Outcome.SKIPPED
    assert get_client().get_project(rows[0].project_id).id == rows[0].project_id


def test_with_approval_required_a_second_admin_starts_the_job(
    admin_client_, fleet, neon, settings, django_user_model
):
    settings.APPROVAL_REQUIRED_FOR = ["bulk"]
    job = new_job(admin_client_, WINDOW)
    admin_client_.post(reverse("bulk:apply", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == BulkJob.Status.AWAITING_APPROVAL
    run_worker()
    assert neon.stats().get(PATCH, 0) == 0
    request = ApprovalRequest.objects.get(pk=job.approval_id)
    assert request.kind == "bulk" and request.bulk_job_id == job.pk
    # The approver sees each project the job would change, as the dry run found it.
    page = admin_client_.get(reverse("governance:approval", args=[request.pk])).content.decode()
    planned = job.items.filter(verdict=BulkItem.Verdict.CHANGE)
    assert all(escape(item.project_name) in page for item in planned)
    assert page.count('<td class="after">Maintenance window: Sun, 02:00') == planned.count()
    own = admin_client_.post(reverse("governance:approve", args=[request.pk]))
    assert own.status_code in (403, 409)
    job.refresh_from_db()
    assert job.status == BulkJob.Status.AWAITING_APPROVAL

    second = django_user_model.objects.create_user(username="bea.admin@example.test")
    user_role_set(user=second, role=Role.ADMIN)
    admin_client_.force_login(second)
    admin_client_.post(reverse("governance:approve", args=[request.pk]))
    job.refresh_from_db()
    assert job.status == BulkJob.Status.QUEUED
    run_worker()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.FINISHED
    changed = job.items.filter(outcome=BulkItem.Outcome.CHANGED).count()
    assert changed and neon.stats().get(PATCH, 0) == changed


def test_the_new_page_carries_the_fleet_selection(operator_client, fleet):
    org = fleet.exclude(org_id="").values_list("org_id", flat=True).first()
    count = fleet.filter(org_id=org, shared=False).count()
    page = operator_client.get(reverse("bulk:new"), {"org": org, "sort": "-storage"})
    html = page.content.decode()
    assert f'data-selected="{count}"' in html
    fragment = operator_client.post(reverse("bulk:new"), {"org": org}, headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert "Choose the change to make." in fragment.content.decode()


def test_projects_the_key_may_only_view_are_refused_before_any_patch(operator_client, fleet, neon):
    """Per-project permissions (Neon's effective_project_permission): the settings form's rule."""
    rows = list(fleet.filter(org_id="", shared=False).order_by("name")[:4])
    neon.set_permission(rows[0].project_id, "CAN_VIEW")
    neon.set_permission(rows[1].project_id, "CAN_EDIT")
    refresh_inventory()  # the dry run judges from the inventory: it must have seen them
    ticked = {"project": [r.project_id for r in rows]}
    job = new_job(operator_client, {**WINDOW, "maintenance_start_time": "05:00",
                                    "maintenance_end_time": "06:00"}, ticked)  # fmt: skip
    verdicts = dict(job.items.values_list("project_id", "verdict"))
    assert verdicts[rows[0].project_id] == BulkItem.Verdict.REFUSED
    assert verdicts[rows[1].project_id] == BulkItem.Verdict.CHANGE  # editing is allowed
    assert MSG_VIEW_ONLY in job.items.get(project_id=rows[0].project_id).messages[0]
    neon.clear_stats()
    operator_client.post(reverse("bulk:apply", args=[job.pk]))
    run_worker()
    assert neon.stats().get(PATCH, 0) == 3
    refused = job.items.get(project_id=rows[0].project_id)
    assert refused.outcome == BulkItem.Outcome.REFUSED


def test_bulk_delete_names_projects_the_key_may_not_delete(admin_client_, fleet, neon):
    rows = list(fleet.filter(org_id="", shared=False).order_by("name")[:2])
    neon.set_permission(rows[0].project_id, "CAN_EDIT")
    refresh_inventory()
    job = new_job(admin_client_, {"kind": "delete"}, {"project": [r.project_id for r in rows]})
    item = job.items.get(project_id=rows[0].project_id)
    assert item.verdict == BulkItem.Verdict.REFUSED
    assert item.messages == [MSG_DELETE_NEEDS_MANAGE]


def test_the_audit_log_shows_a_jobs_records_and_links_back(operator_client, fleet, neon):
    job = new_job(operator_client, {**WINDOW, "maintenance_weekdays": ["3"]})
    operator_client.post(reverse("bulk:apply", args=[job.pk]))
    run_worker()
    changed = job.items.filter(outcome=BulkItem.Outcome.CHANGED)
    page = operator_client.get(reverse("audit:list"), {"bulk_job": job.pk}).content.decode()
    assert page.count('class="audit-event"') == changed.count() + 2  # + bulk.create, bulk.apply
    assert f'href="/bulk/{job.pk}/"' in page
    export = operator_client.get(reverse("audit:export"), {"bulk_job": job.pk})
    lines = b"".join(export.streaming_content).decode().strip().splitlines()
    assert len(lines) == 1 + changed.count() + 2


def test_only_a_stalled_job_can_be_resumed_and_a_dry_run_is_never_applied_by_it(
    operator_client, fleet, neon
):
    job = new_job(operator_client, WINDOW)
    response = operator_client.post(reverse("bulk:resume", args=[job.pk]))
    assert response.status_code == 302
    run_worker()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.PLANNED
    assert neon.stats().get(PATCH, 0) == 0


def test_a_stopped_job_whose_worker_died_mid_send_settles_without_sending(
    operator_client, fleet, neon
):
    """A worker died while sending two changes; one had landed. Resuming the stopping job
    reads both back: the landed one is reported changed, the other not done, nothing sent."""
    job = new_job(operator_client, {"kind": "suspend", "suspend_mode": "never"})
    landed, lost = job.items.filter(verdict=BulkItem.Verdict.CHANGE)[:2]
    get_client().update_project(landed.project_id, landed.body)
    stale = timezone.now() - timedelta(minutes=5)
    job.items.filter(pk__in=[landed.pk, lost.pk]).update(outcome=BulkItem.Outcome.SENDING)
    BulkJob.objects.filter(pk=job.pk).update(
        status=BulkJob.Status.STOPPING, started_at=stale, heartbeat_at=stale
    )
    neon.clear_stats()
    operator_client.post(reverse("bulk:resume", args=[job.pk]))
    run_worker()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.STOPPED
    outcomes = dict(job.items.values_list("pk", "outcome"))
    assert outcomes[landed.pk] == BulkItem.Outcome.CHANGED
    assert outcomes[lost.pk] == BulkItem.Outcome.NOT_RUN
    assert neon.stats().get(PATCH, 0) == 0


def test_a_job_no_worker_has_started_says_so(operator_client, fleet):
    response = operator_client.post(reverse("bulk:new"), {**WINDOW})
    job = BulkJob.objects.latest("pk")  # queued; no worker runs here
    assert response.status_code == 302
    BulkJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    page = operator_client.get(reverse("bulk:job", args=[job.pk])).content.decode()
    assert "No worker has started this job yet" in page


def test_a_dry_run_whose_worker_died_goes_on_where_it_stopped(operator_client, fleet, neon):
    job = new_job(operator_client, WINDOW)
    first = job.items.order_by("pk").first()
    job.items.filter(pk=first.pk).update(messages=["judged before the worker died"])
    job.items.exclude(pk=first.pk).update(verdict=BulkItem.Verdict.PENDING)
    stale = timezone.now() - timedelta(minutes=5)
    BulkJob.objects.filter(pk=job.pk).update(status=BulkJob.Status.PLANNING, heartbeat_at=stale)
    page = operator_client.get(reverse("bulk:job", args=[job.pk])).content.decode()
    assert "has said nothing for over two minutes" in page
    neon.clear_stats()
    operator_client.post(reverse("bulk:resume", args=[job.pk]))
    run_worker()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.PLANNED
    assert not job.items.filter(verdict=BulkItem.Verdict.PENDING).exists()
    first.refresh_from_db()
    assert first.messages == ["judged before the worker died"]  # not judged again
    assert "GET /api/v2/projects/{project_id}" not in neon.stats()  # a fresh inventory


def test_stop_before_any_worker_took_the_job_shows_stopped_at_once(operator_client, fleet, neon):
    job = new_job(operator_client, WINDOW)
    planned = job.items.filter(verdict=BulkItem.Verdict.CHANGE).count()
    operator_client.post(reverse("bulk:apply", args=[job.pk]))
    panel = operator_client.post(reverse("bulk:stop", args=[job.pk]), headers=HX)
    html = panel.content.decode()
    job.refresh_from_db()
    assert job.status == BulkJob.Status.STOPPED and job.finished_at  # no worker needed
    assert 'data-status="stopped"' in html and "every 2s" not in html
    assert job.items.filter(outcome=BulkItem.Outcome.NOT_RUN).count() == planned
    run_worker()  # a worker coming later sends nothing
    assert neon.stats().get(PATCH, 0) == 0


def test_an_apply_refused_for_its_state_is_audited(operator_client, fleet, neon):
    job = new_job(operator_client, WINDOW)
    operator_client.post(reverse("bulk:apply", args=[job.pk]))
    operator_client.post(reverse("bulk:apply", args=[job.pk]))  # already queued: refused
    refused = AuditEvent.objects.filter(action="bulk.apply", bulk_job_id=job.pk, outcome="failure")
    assert refused.count() == 1 and "only a finished dry run" in refused.get().neon_message
