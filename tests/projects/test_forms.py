"""The create and settings forms at every documented boundary: just inside and just outside.

Whether invalid input reaches Neon is checked through the views (test_create / test_settings);
here each rule is checked where it is written.
"""

from dataclasses import replace

import pytest
from django.http import QueryDict
from django.template.loader import render_to_string

from projects import compute, services
from projects.forms import project as f
from projects.forms.project import (
    GIB,
    INT64_MAX,
    ProjectCreateForm,
    ProjectSettingsForm,
)
from projects.neon import (
    EndpointDefaults,
    MaintenanceWindow,
    Organization,
    PreloadLibrary,
    Project,
    ProjectSettings,
    Quota,
    Region,
)
from projects.project_state import QUOTA_KEYS, project_state
from tests.formdata import form_data

REGIONS = [
    Region(id="aws-us-east-2", name="AWS US East (Ohio)", default=True),
    Region(id="aws-eu-central-1", name="AWS Europe (Frankfurt)", default=False),
]
ORGS = [Organization(id="org-quiet-sea-12345678", name="Quiet Sea")]
LIBRARIES = [
    PreloadLibrary(
        name="timescaledb", description="", is_default=False, is_experimental=False, version="2"
    ),
    PreloadLibrary(
        name="pg_cron", description="", is_default=False, is_experimental=False, version="1.6"
    ),
]
BASE = {
    "name": "orders",
    "pg_version": "17",
    "region_id": "aws-us-east-2",
    "org_id": "",
    "store_passwords": "on",
    "history_retention_0": "1",
    "history_retention_1": "days",
    "suspend_mode": "default",
}


def create_form(**changes) -> ProjectCreateForm:
    data = {**BASE, **{k: v for k, v in changes.items() if v is not None}}
    for key in [k for k, v in changes.items() if v is None]:
        data.pop(key, None)
    return ProjectCreateForm(data, regions=REGIONS, organizations=ORGS)


def assert_valid(form) -> None:
    assert form.is_valid(), form.errors.as_json()


def assert_invalid(form, field: str, message: str | None = None) -> None:
    assert not form.is_valid()
    assert field in form.errors, form.errors.as_json()
    if message:
        assert message in form.errors[field]


# --- Create: single-field ranges -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("pg_version", "13", False),
        ("pg_version", "14", True),
        ("pg_version", "18", True),
        ("pg_version", "19", False),
        ("name", "x" * 256, True),
        ("name", "x" * 257, False),
        ("history_retention_0", "-1", False),
        ("history_retention_0", "0", True),
        ("history_retention_0", "30", True),
        ("history_retention_0", "31", False),
        ("history_retention_1", "fortnights", False),
        ("region_id", "aws-eu-central-1", True),
        ("region_id", "aws-mars-1", False),
        ("org_id", "org-quiet-sea-12345678", True),
        ("org_id", "org-someone-else", False),
        ("provisioner", "k8s-neonvm", True),
        ("provisioner", "k8s-anything", False),
        ("provisioner", "k8s-pod", True),
        ("provisioner", "serverless-platform", False),  # shown only on projects that have it
        ("audit_log_level", "full", True),
        ("audit_log_level", "verbose", False),
        ("branch_name", "b" * 256, True),
        ("branch_name", "b" * 257, False),
        ("role_name", "r" * 63, True),
        ("role_name", "r" * 64, False),
        ("role_name", "é" * 31 + "r", True),  # 63 bytes
        ("role_name", "é" * 32, False),  # 64 bytes in 32 characters
        ("database_name", "d" * 63, True),
        ("database_name", "d" * 64, False),
        ("maintenance_start_time", "24:00", False),
        ("maintenance_end_time", "12:60", False),
        ("maintenance_end_time", "9:00", False),
    ],
)
def test_create_field_boundaries(field, value, ok):
    extra = {}
    if field.startswith("maintenance_"):
        extra = {"maintenance_weekdays": ["1"], "maintenance_start_time": "01:00"}
        extra["maintenance_end_time"] = "02:00"
    form = create_form(**{**extra, field: value})
    if ok:
        assert_valid(form)
    else:
        assert_invalid(form, field.removesuffix("_0").removesuffix("_1"))


@pytest.mark.parametrize(
    ("seconds", "ok"), [("59", False), ("60", True), ("604800", True), ("604801", False)]
)
def test_custom_suspend_timeout_range(seconds, ok):
    form = create_form(suspend_mode="custom", suspend_timeout_seconds=seconds)
    if ok:
        assert_valid(form)
        endpoint = form.payload()["default_endpoint_settings"]
        assert endpoint["suspend_timeout_seconds"] == int(seconds)
    else:
        assert_invalid(form, "suspend_timeout_seconds")


def test_custom_suspend_needs_seconds():
    assert_invalid(create_form(suspend_mode="custom"), "suspend_timeout_seconds")


@pytest.mark.parametrize(("mode", "sent"), [("never", -1), ("default", None)])
def test_suspend_never_and_default(mode, sent):
    form = create_form(suspend_mode=mode, suspend_timeout_seconds="600")  # ignored unless custom
    assert_valid(form)
    endpoint = form.payload().get("default_endpoint_settings", {})
    assert endpoint.get("suspend_timeout_seconds") == sent


@pytest.mark.parametrize("field", list(f.QUOTAS))
@pytest.mark.parametrize("where", ["below", "zero", "top", "above"])
def test_quota_boundaries(field, where):
    key = f.QUOTAS[field]
    unit = "seconds" if key.endswith("_seconds") else "bytes"
    value = {"below": -1, "zero": 0, "top": INT64_MAX, "above": INT64_MAX + 1}[where]
    form = create_form(**{f"{field}_0": str(value), f"{field}_1": unit})
    if where in ("below", "above"):
        assert_invalid(form, field)
        return
    assert_valid(form)
    quota = form.payload().get("settings", {}).get("quota", {})
    # 0 means unlimited, which is what leaving it out says; the top is sent exactly.
    assert quota.get(key) == (value or None)


@pytest.mark.parametrize("unit", ["hours", "days"])
def test_quota_above_int64_in_a_larger_unit_is_refused(unit):
    form = create_form(quota_active_time_0=str(INT64_MAX // 3600), quota_active_time_1=unit)
    if unit == "hours":
        assert_valid(form)
    else:
        assert_invalid(form, "quota_active_time")


def test_quota_units_convert_exactly():
    form = create_form(
        quota_active_time_0="2", quota_active_time_1="hours",
        quota_compute_time_0="30", quota_compute_time_1="minutes",
        quota_logical_size_0="512", quota_logical_size_1="MiB",
        quota_written_data_0="3", quota_written_data_1="GiB",
    )  # fmt: skip
    assert_valid(form)
    quota = form.payload()["settings"]["quota"]
    assert quota == {
        "active_time_seconds": 7200,
        "compute_time_seconds": 1800,
        "logical_size_bytes": 512 * 2**20,
        "written_data_bytes": 3 * GIB,
    }


# --- Create: cross-field rules -------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "unit", "seconds"),
    [
        ("30", "days", 2_592_000), ("720", "hours", 2_592_000), ("721", "hours", None),
        ("2592000", "seconds", 2_592_000), ("2592001", "seconds", None), ("0", "days", 0),
        ("90", "minutes", 5400), ("5401", "seconds", 5401),
    ],
)  # fmt: skip
def test_history_retention_total_is_at_most_30_days(count, unit, seconds):
    form = create_form(history_retention_0=count, history_retention_1=unit)
    if seconds is not None:
        assert_valid(form)
        assert form.payload()["history_retention_seconds"] == seconds
    else:
        assert_invalid(form, "history_retention", f.MSG_RETENTION_TOO_LONG)


@pytest.mark.parametrize(
    ("low", "high", "ok"),
    [("0.25", "0.25", True), ("2", "2", True), ("2", "3", True), ("3", "2", False)],
)
def test_min_cu_at_most_max_cu(low, high, ok):
    form = create_form(autoscaling_limit_min_cu=low, autoscaling_limit_max_cu=high)
    if ok:
        assert_valid(form)
        endpoint = form.payload()["default_endpoint_settings"]
        assert endpoint["autoscaling_limit_min_cu"] == float(low)
    else:
        assert_invalid(form, "autoscaling_limit_max_cu", compute.MSG_CU_MIN_ABOVE_MAX)


@pytest.mark.parametrize(
    ("window", "ok"),
    [
        ({}, True),
        ({"maintenance_weekdays": ["1", "7"], "maintenance_start_time": "00:00",
          "maintenance_end_time": "23:59"}, True),
        ({"maintenance_weekdays": ["6"], "maintenance_start_time": "22:00",
          "maintenance_end_time": "02:00"}, True),  # across midnight
        ({"maintenance_weekdays": ["1"]}, False),
        ({"maintenance_start_time": "01:00", "maintenance_end_time": "02:00"}, False),
        ({"maintenance_weekdays": ["1"], "maintenance_start_time": "01:00"}, False),
        ({"maintenance_weekdays": ["0"], "maintenance_start_time": "01:00",
          "maintenance_end_time": "02:00"}, False),
        ({"maintenance_weekdays": ["8"], "maintenance_start_time": "01:00",
          "maintenance_end_time": "02:00"}, False),
        ({"maintenance_weekdays": ["2"], "maintenance_start_time": "03:00",
          "maintenance_end_time": "03:00"}, False),
    ],
)  # fmt: skip
def test_maintenance_window_all_three_or_none(window, ok):
    form = ProjectCreateForm({**BASE, **window}, regions=REGIONS, organizations=ORGS)
    if ok:
        assert_valid(form)
        sent = form.payload().get("settings", {}).get("maintenance_window")
        if window:
            assert sent == {
                "weekdays": sorted(int(d) for d in window["maintenance_weekdays"]),
                "start_time": window["maintenance_start_time"],
                "end_time": window["maintenance_end_time"],
            }
        else:
            assert sent is None
    else:
        assert not form.is_valid()
        assert "maintenance" in form.open_sections()


# --- IP allowlist --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "normalised"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("10.0.0.1-10.0.0.9", "10.0.0.1-10.0.0.9"),
        ("10.0.0.1 - 10.0.0.9", "10.0.0.1-10.0.0.9"),
        ("10.0.0.5-10.0.0.5", "10.0.0.5-10.0.0.5"),
        ("::1-::ff", "::1-::ff"),
    ],
)
def test_allowlist_accepts(entry, normalised):
    form = create_form(allowed_ips=f"\n  {entry}  \n\n")
    assert_valid(form)
    assert form.payload()["settings"]["allowed_ips"]["ips"] == [normalised]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("256.1.1.1", "not an IPv4 or IPv6"),
        ("1.2.3", "not an IPv4 or IPv6"),
        ("example.com", "not an IPv4 or IPv6"),
        ("10.0.0.1/24", "did you mean 10.0.0.0/24"),
        ("10.0.0.0/33", "not a valid CIDR"),
        ("10.0.0.9-10.0.0.1", "starts after it ends"),
        ("10.0.0.1-::1", "cannot mix"),
        ("10.0.0.1-", "two IP addresses"),
    ],
)
def test_allowlist_refuses(entry, reason):
    form = create_form(allowed_ips=f"203.0.113.7\n{entry}")
    assert_invalid(form, "allowed_ips")
    message = " ".join(form.errors["allowed_ips"])
    assert f"Entry 2, “{entry.strip()}”" in message or "Entry 2" in message
    assert reason in message


def test_allowlist_reports_every_bad_line_and_drops_repeats():
    form = create_form(allowed_ips="nope\n1.1.1.1\n1.1.1.1\nbad")
    assert_invalid(form, "allowed_ips")
    assert len(form.errors["allowed_ips"]) == 2
    good = create_form(allowed_ips="1.1.1.1\n1.1.1.1\n2.2.2.2", protected_branches_only="on")
    assert_valid(good)
    assert good.payload()["settings"]["allowed_ips"] == {
        "ips": ["1.1.1.1", "2.2.2.2"],
        "protected_branches_only": True,
    }


# --- Key=value fields ----------------------------------------------------------------------


@pytest.mark.parametrize(("count", "ok"), [(50, True), (51, False)])
def test_branch_annotations_at_most_50(count, ok):
    text = "\n".join(f"key{i}=value{i}" for i in range(count))
    form = create_form(branch_annotations=text)
    if ok:
        assert_valid(form)
        assert len(form.payload()["branch"]["annotations"]) == 50
    else:
        assert_invalid(form, "branch_annotations")


def test_key_value_lines_need_an_equals_sign():
    assert_invalid(create_form(pg_settings="work_mem=64MB\nshared_buffers"), "pg_settings")
    form = create_form(pg_settings="work_mem = 64MB\n\nlog_min_duration_statement=500")
    assert_valid(form)
    assert form.payload()["default_endpoint_settings"]["pg_settings"] == {
        "work_mem": "64MB",
        "log_min_duration_statement": "500",
    }


# --- Irreversible settings -----------------------------------------------------------------


@pytest.mark.parametrize("flag", ["enable_logical_replication", "hipaa"])
def test_irreversible_needs_the_confirmation(flag):
    assert_invalid(create_form(**{flag: "on"}), "confirm_irreversible", f.MSG_CONFIRM_IRREVERSIBLE)
    form = create_form(**{flag: "on", "confirm_irreversible": "on"})
    assert_valid(form)
    assert form.irreversible_changes() == [flag]
    assert form.payload()["settings"][flag] is True


def test_minimal_create_sends_only_what_was_chosen():
    form = create_form(name="")
    assert_valid(form)
    assert form.payload() == {
        "pg_version": 17,
        "region_id": "aws-us-east-2",
        "store_passwords": True,
        "history_retention_seconds": 86400,
    }


def test_create_form_offers_html_limits():
    html = str(create_form())
    assert 'name="history_retention_0"' in html and 'name="history_retention_1"' in html
    assert 'min="60"' in html and 'max="604800"' in html
    assert 'maxlength="256"' in html
    assert f'pattern="{f.HH_MM}"' in html


# --- Settings form -------------------------------------------------------------------------

PROJECT = Project(
    id="quiet-sea-12345678",
    name="orders",
    region_id="aws-us-east-2",
    platform_id="aws",
    pg_version=17,
    provisioner="k8s-neonvm",
    proxy_host="us-east-2.aws.neon.tech",
    store_passwords=True,
    created_at=None,
    updated_at=None,
    history_retention_seconds=86400 + 1800 + 7,  # not a whole minute
    settings=ProjectSettings(
        quota=Quota(active_time_seconds=7200, written_data_bytes=GIB + 1),
        allowed_ips=("10.0.0.0/24",),
        maintenance_window=MaintenanceWindow(weekdays=(3,), start_time="04:00", end_time="05:00"),
        audit_log_level="base",
        preload_libraries=("pg_cron",),
    ),
    endpoint_defaults=EndpointDefaults(
        autoscaling_limit_min_cu=0.25, autoscaling_limit_max_cu=2, suspend_timeout_seconds=300
    ),
)


def settings_form(changes=None, project=PROJECT) -> ProjectSettingsForm:
    """The settings form as a browser submits it for `project`, with `changes` applied
    (None removes a field, as unticking a box does)."""
    shown = ProjectSettingsForm(project=project, libraries=LIBRARIES)
    html = render_to_string(
        "projects/project_settings.html#form",
        {"form": shown, "project": project, "access": {"can_admin": True}},
    )
    data = form_data(html, "settings-form")
    for key, value in (changes or {}).items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value if isinstance(value, list) else [value]
    query = QueryDict(mutable=True)
    for key, values in data.items():
        query.setlist(key, values)
    return ProjectSettingsForm(query, project=project, libraries=LIBRARIES)


def test_settings_unchanged_form_keeps_exact_values():
    form = settings_form()
    assert_valid(form)
    assert form.changed_data == []
    desired = form.payload()
    assert desired == project_state(PROJECT)
    assert desired["history_retention_seconds"] == 86400 + 1800 + 7
    assert desired["settings"]["quota"]["written_data_bytes"] == GIB + 1
    assert desired["settings"]["quota"]["active_time_seconds"] == 7200
    assert desired["default_endpoint_settings"]["suspend_timeout_seconds"] == 300


@pytest.mark.parametrize(("name", "ok"), [("", False), ("x", True), ("x" * 256, True),
                                         ("x" * 257, False)])  # fmt: skip
def test_settings_name_is_required_and_bounded(name, ok):
    form = settings_form({"name": name})
    if ok:
        assert_valid(form)
    else:
        assert_invalid(form, "name")


def test_settings_cannot_remove_the_maintenance_window():
    form = settings_form(
        {"maintenance_weekdays": None, "maintenance_start_time": "", "maintenance_end_time": ""}
    )
    assert_invalid(form, "maintenance_weekdays", f.MSG_WINDOW_REMOVE)


def test_settings_audit_level_cannot_go_back_to_unset():
    assert_invalid(settings_form({"audit_log_level": ""}), "audit_log_level")


def test_settings_preload_choices_are_the_projects_libraries():
    form = settings_form({"preload_libraries": ["timescaledb", "pg_cron"]})
    assert_valid(form)
    assert form.payload()["settings"]["preload_libraries"]["enabled_libraries"] == [
        "pg_cron",
        "timescaledb",
    ]
    assert_invalid(settings_form({"preload_libraries": ["pg_nope"]}), "preload_libraries")


def test_settings_irreversible_already_on_cannot_be_turned_off():
    on = replace(
        PROJECT, settings=replace(PROJECT.settings, enable_logical_replication=True, hipaa=True)
    )
    form = settings_form({"enable_logical_replication": None, "hipaa": None}, project=on)
    assert_valid(form)  # disabled fields keep their value whatever is posted
    assert form.payload()["settings"]["enable_logical_replication"] is True
    assert form.payload()["settings"]["hipaa"] is True
    assert form.irreversible_changes() == []


@pytest.mark.parametrize(("count", "unit", "ok"), [("30", "days", True), ("721", "hours", False)])
def test_settings_history_retention_boundary(count, unit, ok):
    form = settings_form({"history_retention_0": count, "history_retention_1": unit})
    if ok:
        assert_valid(form)
        assert form.payload()["history_retention_seconds"] == 2_592_000
    else:
        assert_invalid(form, "history_retention", f.MSG_RETENTION_TOO_LONG)


def test_settings_history_retention_cannot_be_emptied():
    assert_invalid(settings_form({"history_retention_0": ""}), "history_retention")


def test_every_neon_quota_has_exactly_one_form_field():
    assert sorted(f.QUOTAS.values()) == sorted(QUOTA_KEYS)


def test_settings_offers_no_no_op_compute_size():
    """Leaving the key out changes nothing, so 'Neon's default' cannot reset a size."""
    form = settings_form({"autoscaling_limit_min_cu": "", "autoscaling_limit_max_cu": "4"})
    for key in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"):
        assert "" not in dict(form.fields[key].choices)
        assert form.fields[key].required
    assert_invalid(form, "autoscaling_limit_min_cu")
    form = settings_form({"autoscaling_limit_min_cu": "1", "autoscaling_limit_max_cu": "4"})
    assert_valid(form)
    endpoint = form.payload()["default_endpoint_settings"]
    assert endpoint["autoscaling_limit_min_cu"] == 1 and endpoint["autoscaling_limit_max_cu"] == 4


def test_settings_without_a_compute_size_says_the_empty_choice_keeps_it_unset():
    unset = replace(PROJECT, endpoint_defaults=EndpointDefaults(suspend_timeout_seconds=300))
    form = settings_form(project=unset)
    assert dict(form.fields["autoscaling_limit_min_cu"].choices)[""] == f.MSG_CU_UNSET
    assert_valid(form)
    assert form.payload()["default_endpoint_settings"]["autoscaling_limit_min_cu"] is None
    assert services.project_changes(project=unset, desired=form.payload()) == ({}, [])


@pytest.mark.parametrize(
    ("changes", "sent"),
    [
        ({}, None),  # left alone: Neon's defaults, nothing sent
        (
            {"preload_libraries": "pg_cron\n\ntimescaledb\npg_cron"},
            {"use_defaults": True, "enabled_libraries": ["pg_cron", "timescaledb"]},
        ),
        ({"preload_skip_defaults": "on"}, {"use_defaults": False, "enabled_libraries": []}),
    ],
)
def test_create_preload_libraries(changes, sent):
    form = create_form(**changes)
    assert_valid(form)
    assert form.payload().get("settings", {}).get("preload_libraries") == sent


@pytest.mark.parametrize("name", ["pg-cron", "1lib", "pg cron", "x" * 64, "lib;drop"])
def test_create_preload_libraries_must_be_names(name):
    form = create_form(preload_libraries=f"pg_cron\n{name}")
    assert_invalid(form, "preload_libraries")
    assert f"“{name}” is not a library name" in form.errors["preload_libraries"][0]


# --- Neon's compute rules (projects/compute.py) -------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "extra", "message"),
    [
        ("0.25", "8", {}, None),
        ("1", "9", {}, None),  # exactly 8 CU wide
        ("0.25", "9", {}, compute.MSG_CU_RANGE_WIDTH % {"min": "0.25", "max": "8.25"}),
        ("8", "16", {}, None),
        ("10", "18", {}, compute.MSG_CU_AUTOSCALING_MAX),
        ("56", "56", {"suspend_mode": "never"}, None),
        ("18", "18", {}, compute.MSG_CU_ALWAYS_ON),  # default suspend: cannot scale to zero
        ("16", "16", {}, None),
        ("1", "2", {"provisioner": "k8s-pod"}, compute.MSG_CU_POD),
        ("2", "2", {"provisioner": "k8s-pod"}, None),
        ("1", "", {}, compute.MSG_CU_BOTH),
    ],
)
def test_create_compute_rules(low, high, extra, message):
    form = create_form(autoscaling_limit_min_cu=low, autoscaling_limit_max_cu=high, **extra)
    if message is None:
        assert_valid(form)
    else:
        assert not form.is_valid()
        assert message in str(form.errors), form.errors.as_json()


def test_the_plan_ceiling_limits_what_the_create_form_offers():
    limits = compute.ComputeLimits(plan_max_cu=2)
    form = ProjectCreateForm(
        {**BASE, "autoscaling_limit_min_cu": "0.25", "autoscaling_limit_max_cu": "2"},
        regions=REGIONS, organizations=ORGS, limits=limits,
    )  # fmt: skip
    offered = [v for v, _ in form.fields["autoscaling_limit_max_cu"].choices if v]
    assert offered == ["0.25", "0.5", "1", "2"]
    assert_valid(form)
    assert compute.MSG_CU_PLAN % {"limit": "2"} in str(
        dict(limits.errors(0.25, 2.5, suspend=0, provisioner=""))
    )


def test_settings_rules_apply_only_when_compute_changes():
    wide = replace(
        PROJECT,
        endpoint_defaults=EndpointDefaults(
            autoscaling_limit_min_cu=0.25, autoscaling_limit_max_cu=20, suspend_timeout_seconds=300
        ),
    )
    assert_valid(settings_form({"name": "renamed"}, project=wide))  # what Neon holds stays
    form = settings_form({"autoscaling_limit_max_cu": "16"}, project=wide)
    assert not form.is_valid()
    assert "at most 8 CU" in str(form.errors)
