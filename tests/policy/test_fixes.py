"""Fixing drift: a rule's drifting projects become one bulk job; its dry run, then apply,
through the bulk machinery; afterwards the emulator holds the fix and the drift is gone."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from bulk.models import BulkItem, BulkJob
from policy import fixes
from policy.catalog import KINDS
from policy.models import Drift
from projects.neon import get_client
from projects.project_state import project_state
from tests.bulk.jobs import run_worker

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture
def policy(evaluated):
    return evaluated  # tests/policy/conftest.py: the example in force, the fleet evaluated


@pytest.mark.django_db(transaction=True)
def test_a_rules_fix_runs_through_dry_run_and_apply_and_the_drift_is_gone(
    operator_client, policy, neon
):
    rule = next(r for r in policy.rules if r.id == "production.suspend_timeout_max")
    out = set(Drift.objects.filter(rule_id=rule.id).values_list("project_id", flat=True))
    assert out
    response = operator_client.post(reverse("policy:fix", args=[rule.id]))
    job = BulkJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("bulk:job", args=[job.pk])
    assert set(job.items.values_list("project_id", flat=True)) == out
    assert job.selection == {"policy_rule": rule.id}

    run_worker()  # the dry run
    job.refresh_from_db()
    assert job.status == BulkJob.Status.PLANNED
    changing = set(
        job.items.filter(verdict=BulkItem.Verdict.CHANGE).values_list("project_id", flat=True)
    )
    assert changing
    assert operator_client.post(reverse("bulk:apply", args=[job.pk]), headers=HX).status_code == 200
    run_worker()  # apply; each write evaluates its project (on commit)
    job.refresh_from_db()
    assert job.status == BulkJob.Status.FINISHED
    client = get_client()
    for project_id in changing:  # the emulator's copy holds the fix
        state = project_state(client.get_project(project_id))
        assert state["default_endpoint_settings"]["suspend_timeout_seconds"] == rule.value
    left = set(Drift.objects.filter(rule_id=rule.id).values_list("project_id", flat=True))
    assert left == out - changing


def test_a_rule_no_change_can_fix_says_why_and_offers_no_button(operator_client, policy):
    rule = next(
        r
        for r in policy.rules
        if not fixes.fixable(r) and Drift.objects.filter(rule_id=r.id).exists()
    )
    page = operator_client.get(reverse("policy:rule", args=[rule.id])).content.decode()
    assert "No settings change fixes this" in page and escape(KINDS[rule.kind].fix) in page
    assert operator_client.post(reverse("policy:fix", args=[rule.id])).status_code == 404
    assert not BulkJob.objects.exists()


def test_more_drift_than_a_job_may_hold_is_refused_with_the_setting_named(
    operator_client, policy, settings
):
    rule = max(
        (r for r in policy.rules if fixes.fixable(r)),
        key=lambda r: Drift.objects.filter(rule_id=r.id).count(),
    )
    settings.BULK_MAX_PROJECTS = 1
    response = operator_client.post(reverse("policy:fix", args=[rule.id]), follow=True)
    assert "BULK_MAX_PROJECTS" in response.content.decode() and not BulkJob.objects.exists()


def test_viewers_see_no_fix_button_and_may_not_post_it(viewer_client, policy):
    rule = next(r for r in policy.rules if r.id == "production.suspend_timeout_max")
    page = viewer_client.get(reverse("policy:rule", args=[rule.id])).content.decode()
    assert "Fix these" not in page
    assert viewer_client.post(reverse("policy:fix", args=[rule.id])).status_code == 403


def test_the_rules_a_change_fixes_are_the_ones_the_file_may_ask_to_fix_later():
    """fix_after is refused in the file for a rule no bulk change fixes (policy.document)."""
    assert {slug for slug, kind in KINDS.items() if kind.fixable} == set(fixes.FIXES)


@pytest.mark.django_db(transaction=True)
def test_the_report_names_each_projects_state_since_and_last_fix_with_its_approver(
    operator_client, policy, settings, second_admin
):
    import csv
    import io
    import json

    from governance.models import ApprovalRequest

    settings.APPROVAL_REQUIRED_FOR = ["bulk"]
    rule = next(r for r in policy.rules if r.id == "production.suspend_timeout_max")
    operator_client.post(reverse("policy:fix", args=[rule.id]))
    run_worker()
    job = BulkJob.objects.get()
    operator_client.post(reverse("bulk:apply", args=[job.pk]), headers=HX)
    approval = ApprovalRequest.objects.get()
    approved = second_admin.post(reverse("governance:approve", args=[approval.pk]), {"confirm": ""})
    assert approved.status_code in (200, 302)
    run_worker()
    fixed = set(
        job.items.filter(outcome=BulkItem.Outcome.CHANGED).values_list("project_id", flat=True)
    )
    assert fixed

    response = operator_client.get(reverse("policy:report-csv"), {"class": "production"})
    records = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_key = {(r["project_id"], r["rule"]): r for r in records}
    assert {r["rule"] for r in records} == {r.id for r in policy.rules_of("production")}
    drifts = {(d.project_id, d.rule_id): d for d in Drift.objects.filter(klass="production")}
    for key, record in by_key.items():
        assert record["state"] == ("out" if key in drifts else "within"), key
    for project_id in fixed:
        record = by_key[(project_id, rule.id)]
        assert record["state"] == "within" and record["last_fix_job"] == str(job.pk)
        assert record["approved_by"] == "bea.admin@example.test"
    as_json = json.loads(
        b"".join(
            operator_client.get(
                reverse("policy:report-json"), {"class": "production"}
            ).streaming_content
        )
    )
    assert len(as_json) == len(records)
    assert operator_client.get(reverse("policy:report-csv"), {"class": "nope"}).status_code == 404


@pytest.fixture
def second_admin(django_user_model):
    from django.test import Client

    from neonadmin.roles import Role, user_role_set

    user = django_user_model.objects.create_user(
        username="bea.admin@example.test", email="bea.admin@example.test"
    )
    user_role_set(user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def test_one_projects_drift_is_fixed_from_its_page(operator_client, policy):
    rule = next(r for r in policy.rules if r.id == "production.suspend_timeout_max")
    out = Drift.objects.filter(rule_id=rule.id).first()
    page = operator_client.get(reverse("projects:detail", args=[out.project_id])).content.decode()
    assert "Fix this drift" in page
    operator_client.post(reverse("policy:fix", args=[rule.id]), {"project": out.project_id})
    job = BulkJob.objects.get()
    assert list(job.items.values_list("project_id", flat=True)) == [out.project_id]


def test_everything_of_a_class_a_change_can_fix_is_one_job_per_rule(operator_client, policy):
    wanted = {
        r.id
        for r in policy.rules_of("production")
        if fixes.fixable(r) and Drift.objects.filter(rule_id=r.id).exists()
    }
    assert len(wanted) >= 2
    response = operator_client.post(reverse("policy:fix-class"), {"class": "production"})
    assert response.status_code == 302 and response.url == reverse("bulk:list")
    made = {job.selection["policy_rule"] for job in BulkJob.objects.all()}
    assert made == wanted
    for job in BulkJob.objects.all():
        drifting = set(
            Drift.objects.filter(rule_id=job.selection["policy_rule"]).values_list(
                "project_id", flat=True
            )
        )
        assert set(job.items.values_list("project_id", flat=True)) == drifting
