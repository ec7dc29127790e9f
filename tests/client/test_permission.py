"""`Project.permission`: the key's `effective_project_permission`, from lists and reads alike."""

import pytest

from projects.neon import NeonBadResponse, Project

MINIMAL = {"id": "p-1", "name": "p", "region_id": "aws-us-east-2", "pg_version": 17}


def _borealis(client) -> str:
    return next(o.id for o in client.list_organizations() if o.name == "Borealis Labs")


def test_list_items_and_reads_carry_the_level(neon_client):
    listed = neon_client.list_projects(limit=400, org_id=_borealis(neon_client)).projects
    assert listed and {p.permission for p in listed} <= {"CAN_VIEW", "CAN_EDIT", "CAN_MANAGE"}
    assert None not in {p.permission for p in listed}
    for item in listed[:3]:
        read = neon_client.get_project(item.id)
        assert read.permission == item.permission
        assert read.effective_permission == read.permission  # the detail page's name


def test_a_level_set_in_neon_reaches_the_client(emu, neon_client):
    personal = neon_client.list_projects(limit=1).projects[0]
    assert personal.permission is None  # personal projects omit it
    emu.set_permission(personal.id, "CAN_VIEW")
    neon_client.invalidate(personal.id)
    assert neon_client.get_project(personal.id).permission == "CAN_VIEW"


def test_shared_projects_have_none(neon_client):
    shared = neon_client.list_shared_projects(limit=400).projects
    assert shared and all(p.permission is None for p in shared)


@pytest.mark.parametrize(
    ("sent", "parsed"), [({}, None), ({"effective_project_permission": None}, None),
                         ({"effective_project_permission": "CAN_EDIT"}, "CAN_EDIT")]
)  # fmt: skip
def test_from_api(sent, parsed):
    assert Project.from_api({**MINIMAL, **sent}).permission == parsed


def test_a_level_that_is_not_a_string_is_a_bad_response():
    with pytest.raises(NeonBadResponse, match="effective_project_permission"):
        Project.from_api({**MINIMAL, "effective_project_permission": 2})
