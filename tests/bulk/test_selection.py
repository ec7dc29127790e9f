"""The fleet's selection reaches the bulk change page by POST: 500 ticked rows (a job's most)
would make a URL of about 18 KB, past what gunicorn accepts (4,094 bytes) — 414, not a job."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from fleet.models import InventoryProject

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(settings):
    settings.BULK_MAX_PROJECTS = 500
    now = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [
        InventoryProject(
            project_id=f"tenant-{n:04d}-12345678",
            name=f"tenant-{n:04d}",
            region_id="aws-us-east-2",
            pg_version=17,
            created_at=now,
            read_at=now,
        )
        for n in range(600)
    ]
    InventoryProject.objects.bulk_create(rows)
    return [row.project_id for row in rows]


def test_five_hundred_ticked_rows_are_one_selection(operator_client, many, neon):
    ticked = many[:500]
    response = operator_client.post(
        reverse("bulk:new"), {"from_fleet": "1", "org": "", "project": ticked}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-selected="500"' in html and "ticked in the fleet" in html
    assert "Choose the change to make." not in html  # the change is not asked for yet
    assert html.count('name="project"') == 500  # carried on, in the body, with the change
    assert 'name="from_fleet"' not in html
    assert len(f"/fleet/?{'&'.join('project=' + p for p in ticked)}") > 4094


def test_the_fleet_posts_its_selection(operator_client, many):
    page = operator_client.get(reverse("fleet:list")).content.decode()
    assert '<form id="bulk-select" method="post"' in page
    assert 'name="from_fleet"' in page


def test_the_selection_names_its_filters_as_the_fleet_does(operator_client, neon):
    InventoryProject.objects.create(
        project_id="tenant-a-12345678", name="tenant-a", org_id="org-x", org_name="Borealis Labs",
        region_id="aws-us-east-2", pg_version=17, created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    html = operator_client.get(reverse("bulk:new"), {"org": "org-x"}).content.decode()
    assert "Filters: Organization: <strong>Borealis Labs</strong>" in html
