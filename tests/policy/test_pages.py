"""The policy pages, evaluated from a refresh of the emulator's fleet, and drift following a
change made through the dashboard."""

from __future__ import annotations

from django.urls import reverse

from policy import drift
from policy.catalog import KINDS
from policy.models import Drift, Evaluation
from tests.formdata import form_data

HX = {"HX-Request": "true"}


def test_without_a_policy_the_page_says_how_to_set_one(viewer_client, settings):
    settings.POLICY_FILE = ""
    page = viewer_client.get(reverse("policy:overview")).content.decode()
    assert "No policy is in force" in page and "POLICY_FILE" in page


def test_a_file_with_problems_is_shown_not_used(viewer_client, settings, tmp_path):
    bad = tmp_path / "policy.yaml"
    bad.write_text("rules: {unclassified: [{rule: suspend_timeout_max, value: 5}]}")
    settings.POLICY_FILE = str(bad)
    page = viewer_client.get(reverse("policy:overview")).content.decode()
    assert "is not in force" in page and "A custom suspend timeout is from 60" in page


def test_a_refresh_evaluates_the_fleet_and_the_page_counts_what_drifted(viewer_client, evaluated):
    evaluation = Evaluation.objects.get()
    assert evaluation.digest == evaluated.digest and sum(evaluation.classes.values()) > 0
    overview = viewer_client.get(reverse("policy:overview"))
    classes = {c.name: c for c in overview.context["overview"].classes}
    assert [c.name for c in evaluated.classes] + ["unclassified"] == list(classes)
    for klass in classes.values():
        for state in klass.rules:  # the page's count is the inventory's truth, rule by rule
            assert state.drift == drift.drifting(evaluated, state.rule).count(), state.rule.id
    caught = [s for c in classes.values() for s in c.rules if s.drift]
    assert len(caught) >= 5  # the demo's projects miss several rules
    html = overview.content.decode()
    assert evaluated.digest[:12] in html and "fleet evaluated" in html


def test_a_rules_page_lists_its_projects_and_loads_more(viewer_client, evaluated, monkeypatch):
    from policy import selectors

    rule = max(evaluated.rules, key=lambda r: Drift.objects.filter(rule_id=r.id).count())
    total = Drift.objects.filter(rule_id=rule.id).count()
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    url = reverse("policy:rule", args=[rule.id])
    first = viewer_client.get(url)
    assert len(first.context["rows"]) == 2 and first.context["next_after"]
    more = viewer_client.get(url, {"after": first.context["next_after"]}, headers=HX)
    assert "<html" not in more.content.decode()
    assert len(more.context["rows"]) == min(2, total - 2)
    seen = {r.project_id for r in first.context["rows"]} | {
        r.project_id for r in more.context["rows"]
    }
    assert len(seen) == min(4, total) and total > 2
    assert viewer_client.get(reverse("policy:rule", args=["nope.rule"])).status_code == 404


def test_a_change_through_the_dashboard_brings_its_project_back_within_the_rule(
    operator_client, evaluated, django_capture_on_commit_callbacks
):
    out = Drift.objects.filter(rule_id="production.history_retention_min").first()
    assert out is not None
    url = reverse("projects:settings", args=[out.project_id])
    page = operator_client.get(url)
    assert page.status_code == 200, (page.status_code, page.content.decode()[:500])
    fields = {"history_retention_0": "7", "history_retention_1": "days"}
    data = form_data(page.content.decode(), "settings-form", **fields)
    reviewed = operator_client.post(url, data)
    review = reviewed.content.decode()
    assert reviewed.status_code == 200 and "settings-form" in review, review[:3000]
    with django_capture_on_commit_callbacks(execute=True):
        applied = operator_client.post(url, form_data(review, "settings-form", step="apply"))
    assert applied.status_code == 302, applied.content.decode()[-3000:]
    assert not Drift.objects.filter(pk=out.pk).exists()


def test_viewers_may_not_evaluate(viewer_client, in_force):
    assert viewer_client.post(reverse("policy:evaluate")).status_code == 403
    assert not Evaluation.objects.exists()


def test_evaluate_now_is_for_operators_and_is_audited(operator_client, in_force):
    from audit.models import AuditEvent

    response = operator_client.post(reverse("policy:evaluate"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="policy.evaluate").count() == 1


def test_the_project_page_shows_its_class_and_drift(viewer_client, evaluated):
    out = Drift.objects.filter(klass="production").first()
    page = viewer_client.get(reverse("projects:detail", args=[out.project_id])).content.decode()
    assert 'id="policy"' in page and "Class <strong>production</strong>" in page
    assert KINDS[out.kind].label in page and "Set its class by hand" not in page


def test_an_admin_sets_a_class_by_hand_audited_and_the_drift_follows(admin_client_, evaluated):
    from audit.models import AuditEvent

    out = Drift.objects.filter(klass="production").first()
    url = reverse("policy:set-class", args=[out.project_id])
    response = admin_client_.post(url, {"name": "staging", "reason": "a load-test copy"})
    assert response.status_code == 302
    assert not Drift.objects.filter(project_id=out.project_id, klass="production").exists()
    assert set(Drift.objects.filter(project_id=out.project_id).values_list("klass", flat=True)) <= {
        "staging"
    }
    record = AuditEvent.objects.get(action="policy.class")
    assert record.request_data["class"] == "staging" and record.project_id == out.project_id
    admin_client_.post(url, {"name": ""})  # back to the file's match
    assert Drift.objects.filter(project_id=out.project_id, klass="production").exists()
    assert admin_client_.post(url, {"name": "nope"}).status_code == 302
    assert AuditEvent.objects.filter(action="policy.class").count() == 2


def test_operators_may_not_set_a_class(operator_client, evaluated):
    out = Drift.objects.first()
    url = reverse("policy:set-class", args=[out.project_id])
    assert operator_client.post(url, {"name": "staging"}).status_code == 403
