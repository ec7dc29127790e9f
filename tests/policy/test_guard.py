"""Deny rules guard the settings form: a change that would break one is refused with the rule
named and nothing sent; an admin may apply it anyway with a reason, audited; warn rules and
untouched rules never block."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from fleet.models import InventoryDetail, InventoryProject
from policy.catalog import KINDS, STATE_OUT
from policy.guard import class_of
from tests.formdata import form_data

pytestmark = pytest.mark.django_db
PATCH = "PATCH /api/v2/projects/{project_id}"


@pytest.fixture
def policy(evaluated):
    return evaluated  # tests/policy/conftest.py: the example in force, the fleet evaluated


def production_within_autoscaling(policy) -> InventoryProject:
    """A production project inside the autoscaling bounds (0.25 to 8 CU, deny)."""
    for row in InventoryProject.objects.filter(cu_max__lte=8, cu_min__gte=0.25, permission=""):
        if class_of(policy, row.project_id) == "production":
            return row
    pytest.skip("the seed has no production project within the bounds")


def review_and_apply(client, project_id: str, *, django_capture_on_commit_callbacks, **extra):
    url = reverse("projects:settings", args=[project_id])
    page = client.get(url).content.decode()
    # 4 to 10 CU: within Neon's rules (8 CU at most between them), above the policy's 8.
    data = form_data(
        page, "settings-form", autoscaling_limit_min_cu="4", autoscaling_limit_max_cu="10"
    )
    review = client.post(url, data).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        return review, client.post(url, form_data(review, "settings-form", step="apply", **extra))


def patches(neon) -> int:
    return sum(n for route, n in neon.stats().items() if route.startswith("PATCH "))


def test_a_deny_rule_refuses_the_change_by_name_and_nothing_is_sent(
    operator_client, policy, neon, django_capture_on_commit_callbacks
):
    row = production_within_autoscaling(policy)
    neon.clear_stats()
    review, applied = review_and_apply(
        operator_client,
        row.project_id,
        django_capture_on_commit_callbacks=(django_capture_on_commit_callbacks),
    )
    assert "This change breaks the policy" in review and "policy_override" not in review
    html = applied.content.decode()
    assert applied.status_code == 200
    assert "The policy refuses this change" in html and "Autoscaling within 0.25 to 8 CU" in html
    assert patches(neon) == 0
    refused = AuditEvent.objects.get(action="project.update", project_id=row.project_id)
    assert refused.outcome == AuditEvent.Outcome.FAILURE and "policy" in refused.neon_message


def test_an_admin_overrides_it_with_a_reason_which_is_audited(
    admin_client_, policy, neon, django_capture_on_commit_callbacks
):
    row = production_within_autoscaling(policy)
    neon.clear_stats()
    review, applied = review_and_apply(
        admin_client_,
        row.project_id,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
        policy_override="load test this week",
    )
    assert 'name="policy_override"' in review
    assert applied.status_code == 302 and patches(neon) == 1
    override = AuditEvent.objects.get(action="policy.override", project_id=row.project_id)
    assert override.request_data["reason"] == "load test this week"
    assert override.request_data["rules"] == ["production.autoscaling"]


def test_an_admin_without_a_reason_is_refused_too(
    admin_client_, policy, neon, django_capture_on_commit_callbacks
):
    row = production_within_autoscaling(policy)
    neon.clear_stats()
    _, applied = review_and_apply(
        admin_client_,
        row.project_id,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
        policy_override="  ",
    )
    assert "The policy refuses this change" in applied.content.decode() and patches(neon) == 0


def test_a_project_out_of_a_rule_may_still_change_its_other_settings(
    operator_client, policy, neon, django_capture_on_commit_callbacks
):
    row = next(
        r
        for r in InventoryProject.objects.filter(cu_max__gt=8, permission="")
        if class_of(policy, r.project_id) == "production"
    )
    url = reverse("projects:settings", args=[row.project_id])
    data = form_data(operator_client.get(url).content.decode(), "settings-form", name="renamed")
    review = operator_client.post(url, data).content.decode()
    assert "This change breaks the policy" not in review
    with django_capture_on_commit_callbacks(execute=True):
        applied = operator_client.post(url, form_data(review, "settings-form", step="apply"))
    assert applied.status_code == 302


def test_each_rule_reads_a_state_as_the_inventory_query_reads_its_row(policy):
    """The guard's reading (a project state) and drift's (the inventory) agree on every seeded
    project, for every rule with a state reading and the example's values."""
    details = {d.project_id: d.state for d in InventoryDetail.objects.all()}
    live = InventoryProject.objects.filter(gone_at__isnull=True, project_id__in=list(details))
    for rule in policy.rules:
        if rule.kind not in STATE_OUT or rule.kind == "maintenance_window":
            continue  # the inventory keeps whether a window is set, the state which one
        by_query = set(
            live.filter(KINDS[rule.kind].drifting(rule.value)).values_list("pk", flat=True)
        )
        by_state = {
            pid
            for pid in live.values_list("pk", flat=True)
            if STATE_OUT[rule.kind](rule.value, details[pid])
        }
        assert by_query == by_state, rule.id
