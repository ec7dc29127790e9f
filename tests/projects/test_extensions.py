"""projects.extensions in production's shape: views run in autocommit, so project_written
reaches the features at once (no test transaction holding it back)."""

import pytest
from django.urls import reverse

from audit.services import Actor
from fleet.models import InventoryProject
from fleet.tasks import refresh_inventory, start_refresh
from projects import extensions, services
from projects.neon import get_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_write_reaches_the_fleet_at_once_in_autocommit(neon):
    run = start_refresh(trigger="manual")
    refresh_inventory.call(run.pk)
    project = get_client().list_projects(limit=1).projects[0]
    services.project_delete(actor=Actor(username="ada"), project_id=project.id,
                            project_name=project.name)  # fmt: skip
    assert InventoryProject.objects.get(project_id=project.id).gone_at is not None


def test_without_features_the_core_runs_every_action_now(neon, monkeypatch):
    monkeypatch.setattr(extensions, "_decider", None)
    monkeypatch.setattr(extensions, "_guards", [])
    project = get_client().list_projects(limit=1).projects[0]
    action = services.delete_action(actor=Actor(username="ada"), project=project)
    outcome = extensions.perform(action)
    assert isinstance(outcome, extensions.Done) and outcome.result.id == project.id


def test_a_protection_change_on_the_delete_page_refreshes_its_confirmation(admin_client_, neon):
    project = get_client().list_projects(limit=1).projects[0]
    page = admin_client_.get(reverse("projects:delete", args=[project.id])).content.decode()
    assert 'hx-trigger="protection-changed from:body"' in page
    response = admin_client_.post(
        reverse("governance:protect", args=[project.id]),
        {"reason": "prod", "next": reverse("projects:delete", args=[project.id])},
        headers={"HX-Request": "true"},
    )
    assert "protection-changed" in response["HX-Trigger"]
    fragment = admin_client_.get(
        reverse("projects:delete", args=[project.id]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "This project is protected from deletion" in fragment and "<html" not in fragment
