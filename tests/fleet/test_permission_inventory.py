"""The inventory keeps the key's per-project permission: from the list in a refresh, and from
a write's answer (`record_project`)."""

import pytest

from fleet import inventory
from fleet.models import InventoryProject
from projects.neon import get_client
from tests.fleet.test_fleet import refreshed

pytestmark = pytest.mark.django_db


def levels() -> dict[str, str]:
    return dict(InventoryProject.objects.values_list("project_id", "permission"))


def test_a_refresh_stores_each_projects_level(neon):
    client = get_client()
    org = next(o.id for o in client.list_organizations() if o.name == "Borealis Labs")
    borealis = {p.id: p.permission for p in client.list_projects(limit=400, org_id=org).projects}
    assert len(set(borealis.values())) > 1  # the seed spreads them

    assert refreshed().status == "finished"

    stored = levels()
    assert {pid: stored[pid] for pid in borealis} == borealis
    others = {pid: level for pid, level in stored.items() if pid not in borealis}
    assert others and set(others.values()) == {""}  # sent for Borealis Labs only


def test_a_later_refresh_follows_a_changed_level(neon):
    assert refreshed().status == "finished"
    pid = InventoryProject.objects.filter(org_id="", shared=False).first().project_id
    assert levels()[pid] == ""
    neon.set_permission(pid, "CAN_VIEW")
    assert refreshed().status == "finished"
    assert levels()[pid] == "CAN_VIEW"
    neon.set_permission(pid, None)
    assert refreshed().status == "finished"
    assert levels()[pid] == ""


def test_record_project_takes_the_level_from_a_read(neon):
    client = get_client()
    project = client.list_projects(limit=1).projects[0]
    inventory.record_project(client.get_project(project.id))
    assert levels()[project.id] == ""
    neon.set_permission(project.id, "CAN_EDIT")
    client.invalidate(project.id)
    inventory.record_project(client.get_project(project.id))
    assert levels()[project.id] == "CAN_EDIT"
