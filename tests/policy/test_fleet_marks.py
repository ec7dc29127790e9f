"""The fleet page after a policy has classed the fleet: class and drift as columns, facets and
filters, a chip and a filter per rule, in the page and in its exports, counted from the tally."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest
from django.urls import reverse

from fleet.models import InventoryProject
from policy.models import Drift

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


def _ids(response) -> set[str]:
    return {row["id"] for row in response.context["rows"]}


def test_the_fleet_offers_class_and_drift_with_counts(viewer_client, evaluated):
    page = viewer_client.get(reverse("fleet:list"))
    form = page.context["form"]
    assert form.classed and page.context["classed"]
    live = InventoryProject.objects.filter(gone_at__isnull=True)
    per_class = Counter(live.values_list("project_class", flat=True))
    assert set(per_class) <= {c.name for c in evaluated.classes} | {"unclassified"}
    shown = dict(form.fields["class"].choices)
    for name, n in per_class.items():
        assert shown[name] == f"{name} ({n:,})"
    drifting = live.filter(drift__gt=0).count()
    assert dict(form.fields["drift"].choices)["yes"] == f"Out of policy ({drifting:,})"
    html = page.content.decode()
    assert '<th scope="col">Class</th>' in html and 'data-label="Drift"' in html


def test_filtering_by_class_and_drift_gives_those_rows(viewer_client, evaluated):
    klass = evaluated.classes[0].name
    page = viewer_client.get(reverse("fleet:list"), {"class": klass, "drift": "yes"}, headers=HX)
    expected = set(
        InventoryProject.objects.filter(
            gone_at__isnull=True, project_class=klass, drift__gt=0
        ).values_list("project_id", flat=True)
    )
    assert expected and _ids(page) == expected
    assert page.context["page"].total == len(expected)
    assert "<html" not in page.content.decode()


def test_a_rule_chip_counts_and_filters_what_the_rule_caught(viewer_client, evaluated):
    page = viewer_client.get(reverse("fleet:list"))
    chips = {item.rule.id: item.count for item in page.context["rule_counts"]}
    assert set(chips) == {r.id for r in evaluated.rules}
    for rule_id, n in chips.items():
        assert n == Drift.objects.filter(rule_id=rule_id).count(), rule_id
    rule_id = max(chips, key=chips.get)
    filtered = viewer_client.get(reverse("fleet:list"), {"rule": rule_id})
    caught = set(Drift.objects.filter(rule_id=rule_id).values_list("project_id", flat=True))
    assert _ids(filtered) == caught and filtered.context["page"].total == len(caught)
    html = filtered.content.decode()
    assert f"Out of {filtered.context['rule'].label}" in html
    assert reverse("policy:rule", args=[rule_id]) in html


def test_an_unknown_rule_in_a_link_falls_back_to_any(viewer_client, evaluated):
    """As every hand-edited filter does: the page shows the view without it."""
    page = viewer_client.get(reverse("fleet:list"), {"rule": "nope.nothing"})
    everything = viewer_client.get(reverse("fleet:list"))
    assert page.context["rule"] is None
    assert page.context["page"].total == everything.context["page"].total


def test_the_exports_carry_class_and_drift_as_the_page_shows_them(viewer_client, evaluated):
    klass = evaluated.classes[0].name
    query = {"class": klass}
    shown = _ids(viewer_client.get(reverse("fleet:list"), query))
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(
                    viewer_client.get(reverse("fleet:export-csv"), query).streaming_content
                ).decode()
            )
        )
    )
    assert {r["project_id"] for r in rows} == shown
    assert {r["project_class"] for r in rows} == {klass}
    records = json.loads(
        b"".join(viewer_client.get(reverse("fleet:export-json"), query).streaming_content)
    )
    marked = dict(InventoryProject.objects.values_list("project_id", "drift"))
    assert all(r["drift"] == marked[r["project_id"]] for r in records)


def test_a_class_set_by_hand_moves_the_row_and_the_tally(admin_client_, evaluated):
    """The class set on the project page is the row's at once, and the fleet's counts follow
    without counting the inventory again."""
    row = InventoryProject.objects.filter(project_class="production", gone_at__isnull=True).first()
    admin_client_.post(
        reverse("policy:set-class", args=[row.project_id]),
        {"name": "staging", "reason": "load test"},
    )
    moved = InventoryProject.objects.get(pk=row.pk)
    assert moved.project_class == "staging"
    assert moved.drift == Drift.objects.filter(project_id=row.project_id).count()
    page = admin_client_.get(reverse("fleet:list"), {"class": "staging"})
    assert row.project_id in _ids(page)
    assert page.context["page"].counted_at is not None  # from the tally, not a count


# -- Classes set in bulk from the fleet --


def test_an_admin_sets_the_class_of_a_fleet_selection(admin_client_, evaluated):
    from audit.models import AuditEvent
    from policy.models import ClassOverride

    org = InventoryProject.objects.exclude(org_id="").values_list("org_id", flat=True).first()
    chosen = set(
        InventoryProject.objects.filter(org_id=org, gone_at__isnull=True, shared=False).values_list(
            "project_id", flat=True
        )
    )
    staging = set(
        InventoryProject.objects.filter(project_class="staging").values_list(
            "project_id", flat=True
        )
    )
    url = reverse("policy:bulk-class")
    asked = admin_client_.post(url, {"from_fleet": "1", "org": org})
    html = asked.content.decode()
    assert asked.status_code == 200 and f'data-selected="{len(chosen)}"' in html
    assert not ClassOverride.objects.exists()  # the first step only asks

    done = admin_client_.post(url, {"org": org, "class_name": "staging", "reason": "migrating"})
    assert done.status_code == 302 and done.url.endswith("?class=staging")
    assert set(ClassOverride.objects.values_list("project_id", flat=True)) == chosen
    records = AuditEvent.objects.filter(action="policy.class")
    assert set(records.values_list("project_id", flat=True)) == chosen
    assert all(r.request_data["selection"]["filters"] == {"org": org} for r in records)
    marked = InventoryProject.objects.filter(project_id__in=chosen)
    assert set(marked.values_list("project_class", flat=True)) == {"staging"}
    page = admin_client_.get(reverse("fleet:list"), {"class": "staging"})
    assert page.context["page"].total == len(chosen | staging)

    admin_client_.post(url, {"org": org, "class_name": "", "reason": "back"})
    assert not ClassOverride.objects.exists()  # back to the file's match


def test_a_bulk_class_refuses_a_class_the_policy_lacks(admin_client_, evaluated):
    from policy.models import ClassOverride

    pid = InventoryProject.objects.first().project_id
    refused = admin_client_.post(
        reverse("policy:bulk-class"), {"project": pid, "class_name": "nope", "reason": "x"}
    )
    assert "Choose one of the policy" in refused.content.decode()
    assert not ClassOverride.objects.exists()


def test_operators_may_not_set_classes_in_bulk(operator_client, evaluated):
    pid = InventoryProject.objects.first().project_id
    assert operator_client.post(reverse("policy:bulk-class"), {"project": pid}).status_code == 403


def test_a_selection_too_big_sets_nothing(admin_client_, evaluated, settings):
    from policy.models import ClassOverride

    settings.BULK_MAX_PROJECTS = 2
    done = admin_client_.post(
        reverse("policy:bulk-class"), {"class_name": "staging", "reason": "all"}
    )
    assert "a bulk job takes at most 2" in done.content.decode()
    assert not ClassOverride.objects.exists()


BUTTON = 'formaction="/policy/classes/"'


def test_the_fleet_offers_set_class_to_admins(admin_client_, evaluated):
    assert BUTTON in admin_client_.get(reverse("fleet:list")).content.decode()


def test_the_fleet_does_not_offer_set_class_to_operators(operator_client, evaluated):
    assert BUTTON not in operator_client.get(reverse("fleet:list")).content.decode()


def test_rule_counts_follow_a_change_of_drift_at_once(admin_client_, evaluated):
    """Counts kept per tally generation: any change of drift retires them."""
    admin_client_.get(reverse("fleet:list"))  # counted, and kept
    row = InventoryProject.objects.filter(project_class="production", drift__gt=0).first()
    admin_client_.post(
        reverse("policy:set-class", args=[row.project_id]), {"name": "preview", "reason": "x"}
    )
    page = admin_client_.get(reverse("fleet:list"))
    for item in page.context["rule_counts"]:
        assert item.count == Drift.objects.filter(rule_id=item.rule.id).count(), item.rule.id
