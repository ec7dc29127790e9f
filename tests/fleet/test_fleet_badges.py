"""The fleet page marks protected projects and the key's per-project permission."""

import pytest
from django.urls import reverse

from audit.services import Actor
from fleet.models import InventoryProject
from governance.services import protection_create

pytestmark = pytest.mark.django_db


def row(**fields) -> InventoryProject:
    values = {"name": fields["project_id"], "region_id": "aws-us-east-2", "pg_version": 17}
    return InventoryProject.objects.create(**{**values, **fields})


def test_protected_and_view_only_rows_say_so_with_one_protection_query(
    viewer_client, django_assert_max_num_queries
):
    row(project_id="plain-one")
    row(project_id="guarded-one")
    row(project_id="watched-one", permission="CAN_VIEW", org_id="org-b", org_name="B")
    protection_create(
        actor=Actor(username="ada@example.test"),
        project_id="guarded-one",
        project_name="guarded-one",
        reason="production",
    )
    html = viewer_client.get(reverse("fleet:list")).content.decode()
    rows = {r.split('"')[0]: r for r in html.split('data-project="')[1:]}
    assert "protected" in rows["guarded-one"].split("</tr>")[0]
    assert "protected" not in rows["plain-one"].split("</tr>")[0]
    assert "view only" in rows["watched-one"].split("</tr>")[0]
    assert 'form="bulk-select"' not in html  # viewers get no tick boxes
    with django_assert_max_num_queries(20) as queries:
        viewer_client.get(reverse("fleet:list"))
    assert sum("governance_protection" in q["sql"] for q in queries.captured_queries) == 1
