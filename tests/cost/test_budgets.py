"""Budgets that stop spend: a class's budget becomes Neon's per-project quotas through a bulk
job's dry run and a second admin's approval, and the team hears once when a project passes
80 % and 100 %."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from bulk.models import BulkItem, BulkJob
from cost import budgets, sync
from cost.models import Budget, BudgetAlert
from fleet.models import InventoryProject
from governance.models import ApprovalRequest
from neonadmin.roles import Role, user_role_set
from projects.neon import get_client
from tests.bulk.jobs import run_worker

pytestmark = pytest.mark.django_db(transaction=True)
HX = {"HX-Request": "true"}


@pytest.fixture
def classed(evaluated, neon):
    """The example policy in force and the fleet refreshed (so classed), then a cost sync."""
    pinned = datetime.now(UTC).replace(minute=20, second=0, microsecond=0)
    neon.set_consumption_clock(pinned.strftime("%Y-%m-%dT%H:%M:%SZ"))
    sync.run(sync.start_run(), now=pinned)
    return evaluated


@pytest.fixture
def bea(django_user_model) -> Client:
    user = django_user_model.objects.create_user(
        username="bea.admin@example.test", email="bea.admin@example.test"
    )
    user_role_set(user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def test_the_quotas_are_the_budget_at_the_prices(classed):
    """$40 a project a month on Scale: 80 % of it is compute at $0.222 per CU-hour, CPU
    seconds; 10 % transfer at $0.10 per GB; 10 % a month's storage at $0.35 per GB-month."""
    price = budgets.prices.current()
    params = budgets.quotas(4000, compute_rate=Decimal("0.222"), price=price)
    assert params == {
        "quota_compute_time": int(Decimal(32) / Decimal("0.222") * 3600),  # 518,918 s
        "quota_data_transfer": 40 * 10**9,  # $4 at $0.10 per GB
        "quota_logical_size": int(Decimal(4) / Decimal("0.35") * 10**9),
    }


def test_a_class_budget_sets_neons_quotas_after_dry_run_and_approval(
    classed, admin_client_, bea, settings, neon
):
    settings.APPROVAL_REQUIRED_FOR = ["bulk"]
    production = set(budgets.class_projects("production").values_list("project_id", flat=True))
    response = admin_client_.post(
        reverse("cost:budget"), {"klass": "production", "dollars": "40.00"}
    )
    job = BulkJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("bulk:job", args=[job.pk])
    assert job.kind == "quota" and set(job.items.values_list("project_id", flat=True)) == production
    run_worker()  # the dry run
    job.refresh_from_db()
    assert job.status == BulkJob.Status.PLANNED
    changing = set(
        job.items.filter(verdict=BulkItem.Verdict.CHANGE).values_list("project_id", flat=True)
    )
    assert changing
    admin_client_.post(reverse("bulk:apply", args=[job.pk]), headers=HX)
    job.refresh_from_db()
    assert job.status == BulkJob.Status.AWAITING_APPROVAL
    approval = ApprovalRequest.objects.get()
    bea.post(reverse("governance:approve", args=[approval.pk]), {"note": "budget"})
    run_worker()  # apply
    job.refresh_from_db()
    assert job.status == BulkJob.Status.FINISHED
    expected = budgets.quotas(4000, compute_rate=Decimal("0.222"), price=budgets.prices.current())
    client = get_client()
    for project_id in changing:  # the emulator's copy holds the quotas
        quota = client.get_project(project_id).settings.quota
        assert quota.compute_time_seconds == expected["quota_compute_time"]
        assert quota.data_transfer_bytes == expected["quota_data_transfer"]
        assert quota.logical_size_bytes == expected["quota_logical_size"]
    assert AuditEvent.objects.filter(action="cost.budget").count() == 1
    assert Budget.objects.get().job_id == job.pk
    # A project already past its new compute quota is held by Neon, and says so.
    held = {
        h["project_id"]
        for h in neon.quota_holds()
        if any(r["quota"] == "compute_time_seconds" for r in h["reached"])
    }
    assert held & changing  # the seed's busiest production projects spend more than $32
    for project_id in changing:
        project = client.get_project(project_id)
        assert project.held_by_quota is (project_id in held)


def test_the_team_hears_once_when_projects_pass_80_and_100_percent(classed, settings):
    settings.APPROVAL_NOTIFY_EMAILS = ["platform@example.test"]
    costly = (
        InventoryProject.objects.filter(project_class="production", cost_cents__gt=100)
        .order_by("-cost_cents")
        .first()
    )
    # A budget the costliest production project is past, and some others are not.
    Budget.objects.create(klass="production", monthly_cents=costly.cost_cents, created_by="t")
    month = datetime.now(UTC).date().replace(day=1)
    found = budgets.check(month=month)
    over_100 = {a.project_id for a in found if a.level == 100}
    assert costly.project_id in over_100
    expected = set(
        InventoryProject.objects.filter(
            project_class="production", gone_at__isnull=True, cost_cents__gte=costly.cost_cents
        ).values_list("project_id", flat=True)
    )
    assert over_100 == expected
    run_worker()
    notices = [m for m in mail.outbox if "Budget:" in m.subject]
    assert {("100 %" in m.subject) for m in notices} == {True, False}  # one per level
    assert budgets.check(month=month) == []  # told once
    assert BudgetAlert.objects.filter(level=100).count() == len(over_100)


def test_a_budget_on_an_empty_class_says_so(classed, admin_client_):
    Budget.objects.all().delete()
    response = admin_client_.post(
        reverse("cost:budget"), {"klass": "nope", "dollars": "10"}, follow=True
    )
    assert "Select a valid choice" in response.content.decode()
    assert not BulkJob.objects.exists()


def test_viewers_may_not_set_budgets(classed, viewer_client):
    response = viewer_client.post(reverse("cost:budget"), {"klass": "production", "dollars": "1"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_project_at_its_compute_quota_shows_as_suspended_by_it(neon, viewer_client):
    client = get_client()
    project = next(p for p in client.list_projects(limit=20).projects if (p.cpu_used_sec or 0) > 60)
    client.update_project(project.id, {"settings": {"quota": {"compute_time_seconds": 60}}})
    page = viewer_client.get(reverse("projects:detail", args=[project.id])).content.decode()
    assert 'id="held-by-quota"' in page and "Suspended by its compute quota" in page
    client.update_project(project.id, {"settings": {"quota": {"compute_time_seconds": 0}}})
    page = viewer_client.get(reverse("projects:detail", args=[project.id])).content.decode()
    assert 'id="held-by-quota"' not in page


def test_a_projects_own_budget_wins_over_its_class(classed, operator_client, neon):
    project = budgets.class_projects("production").order_by("project_id").first()
    Budget.objects.create(klass="production", monthly_cents=4000, created_by="t")
    response = operator_client.post(
        reverse("cost:project-budget", args=[project.project_id]), {"dollars": "10"}
    )
    job = BulkJob.objects.get()
    assert response.url == reverse("bulk:job", args=[job.pk])
    assert list(job.items.values_list("project_id", flat=True)) == [project.project_id]
    expected = budgets.quotas(1000, compute_rate=Decimal("0.222"), price=budgets.prices.current())
    assert job.params == expected
    class_budget = Budget.objects.get(klass="production")
    assert project.project_id not in set(
        budgets.budget_projects(class_budget).values_list("project_id", flat=True)
    )
    page = operator_client.get(reverse("projects:detail", args=[project.project_id]))
    assert "Its own budget" in page.content.decode()
