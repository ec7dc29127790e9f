"""projects.rules: what Neon would refuse, judged on project states; and the settings form and
the bulk dry run, which both ask these rules, agree."""

import copy

import pytest
from django import forms
from django.http import QueryDict

from projects import rules
from projects.compute import MSG_CU_POD, MSG_CU_RANGE_WIDTH, ComputeLimits
from projects.forms.project import ProjectSettingsForm
from projects.neon import get_client
from projects.permissions import MSG_VIEW_ONLY
from projects.project_state import SUSPEND_NEVER, project_state
from projects.selectors import compute_limits


def state(**settings) -> dict:
    return {
        "name": "p",
        "history_retention_seconds": 86400,
        "default_endpoint_settings": {
            "autoscaling_limit_min_cu": 0.25,
            "autoscaling_limit_max_cu": 2,
            "suspend_timeout_seconds": 0,
            "pg_settings": {},
        },
        "settings": {
            "quota": {"active_time_seconds": 0, "compute_time_seconds": 0},
            "maintenance_window": None,
            "enable_logical_replication": False,
            "hipaa": False,
            **settings,
        },
    }


def test_a_window_cannot_be_removed_half_given_or_empty():
    window = {"weekdays": [1], "start_time": "01:00", "end_time": "02:00"}
    assert rules.maintenance_window(window, current=None) == []
    assert rules.maintenance_window(None, current=None) == []
    assert rules.maintenance_window(None, current=window) == [
        rules.Violation("maintenance_weekdays", rules.MSG_WINDOW_REMOVE)
    ]
    half = {**window, "end_time": ""}
    assert rules.maintenance_window(half, current=None)[0].message == rules.MSG_WINDOW_INCOMPLETE
    empty = {**window, "end_time": "01:00"}
    assert rules.maintenance_window(empty, current=None) == [
        rules.Violation("maintenance_end_time", rules.MSG_WINDOW_EMPTY)
    ]


def test_what_is_on_for_good_stays_on():
    on, off = state(hipaa=True), state()
    assert rules.irreversible_kept(on, off) == [rules.Violation("hipaa", rules.MSG_HIPAA_OFF)]
    assert rules.irreversible_kept(off, on) == []


def test_ranges_on_a_state_no_field_produced():
    desired = state()
    assert rules.ranges(desired) == []
    desired["history_retention_seconds"] = rules.MAX_HISTORY_RETENTION_SECONDS + 1
    desired["default_endpoint_settings"]["suspend_timeout_seconds"] = 30
    desired["settings"]["quota"]["compute_time_seconds"] = -1
    assert [v.field for v in rules.ranges(desired)] == [
        "history_retention",
        "suspend_timeout_seconds",
        "quota_compute_time",
    ]
    desired = state()
    desired["default_endpoint_settings"]["suspend_timeout_seconds"] = SUSPEND_NEVER
    assert rules.ranges(desired) == []


def test_compute_rules_carry_the_forms_field_names():
    found = rules.compute(1, 12, suspend=0, provisioner="k8s-pod", limits=ComputeLimits())
    assert (
        rules.Violation("autoscaling_limit_max_cu", MSG_CU_RANGE_WIDTH % {"min": "1", "max": "9"})
        in found
    )
    assert rules.Violation("autoscaling_limit_max_cu", MSG_CU_POD) in found


def test_compute_values_neon_already_holds_do_not_count_as_touched():
    current = state()
    assert not rules.compute_touched(current, 0.25, 2, 0)
    assert rules.compute_touched(current, 0.25, 4, 0)


# --- Against the emulator's seeded projects -------------------------------------------------------


def _submission(form: forms.Form) -> QueryDict:
    """What a browser submits for `form` as shown: the oracle the rules must agree with."""
    data = QueryDict(mutable=True)
    for bound in form:
        widget, value = bound.field.widget, bound.value()
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, part in zip(widget.widgets_names, parts, strict=True):
                data[f"{bound.html_name}{suffix}"] = "" if part is None else str(part)
        elif isinstance(widget, forms.CheckboxInput):
            if widget.check_test(value):
                data[bound.html_name] = "on"
        elif getattr(widget, "allow_multiple_selected", False):
            data.setlist(bound.html_name, [str(v) for v in value or []])
        else:
            shown = widget.format_value(value)
            shown = (shown[0] if shown else "") if isinstance(shown, list) else shown
            data[bound.html_name] = "" if shown is None else str(shown)
    return data


def _form_messages(project, desired, limits) -> list[str]:
    shown = ProjectSettingsForm(project=project, libraries=[], state=desired, limits=limits)
    form = ProjectSettingsForm(_submission(shown), project=project, libraries=[], limits=limits)
    return [] if form.is_valid() else [str(e) for errors in form.errors.values() for e in errors]


CHANGES = {
    "wide autoscaling": lambda s: s["default_endpoint_settings"].update(
        autoscaling_limit_min_cu=1, autoscaling_limit_max_cu=12
    ),
    "a fixed 32 CU": lambda s: s["default_endpoint_settings"].update(
        autoscaling_limit_min_cu=32, autoscaling_limit_max_cu=32
    ),
    "a window": lambda s: s["settings"].update(
        maintenance_window={"weekdays": [2], "start_time": "03:00", "end_time": "04:00"}
    ),
    "an empty window": lambda s: s["settings"].update(
        maintenance_window={"weekdays": [2], "start_time": "03:00", "end_time": "03:00"}
    ),
    "no window": lambda s: s["settings"].update(maintenance_window=None),
    "never suspend": lambda s: s["default_endpoint_settings"].update(
        suspend_timeout_seconds=SUSPEND_NEVER
    ),
    "a new name": lambda s: s.update(name=s["name"] + "-2"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("change", list(CHANGES))
def test_the_rules_refuse_exactly_what_the_settings_form_refuses(neon, change):
    client, limits = get_client(), compute_limits()
    refused = 0
    for listed in client.list_projects(limit=60).projects:
        project = client.get_project(listed.id)
        desired = copy.deepcopy(project_state(project))
        CHANGES[change](desired)
        by_rules = [v.message for v in rules.judge(project=project, desired=desired, limits=limits)]
        by_form = _form_messages(project, desired, limits)
        assert sorted(by_rules) == sorted(by_form), (project.id, change)
        refused += bool(by_rules)
    if change in ("wide autoscaling", "an empty window"):
        assert refused  # the comparison is not only between empty lists


@pytest.mark.django_db
def test_a_view_only_project_is_refused_any_change_and_nothing_else(neon):
    client = get_client()
    listed = client.list_projects(limit=1).projects[0]
    neon.set_permission(listed.id, "CAN_VIEW")
    project = client.get_project(listed.id)
    desired = project_state(project)
    assert rules.judge(project=project, desired=desired, limits=ComputeLimits()) == []
    desired = {**desired, "name": "other"}
    assert rules.judge(project=project, desired=desired, limits=ComputeLimits()) == [
        rules.Violation(None, MSG_VIEW_ONLY)
    ]
