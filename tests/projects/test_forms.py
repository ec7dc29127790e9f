"""The create and settings forms at every documented boundary: just inside and just outside.

Whether invalid input reaches Neon is checked through the views (test_create / test_settings);
here each rule is checked where it is written.
"""

from dataclasses import replace

import pytest

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
    "history_retention_days": "1",
    "history_retention_hours": "0",
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
        ("history_retention_days", "-1", False),
        ("history_retention_days", "0", True),
        ("history_retention_days", "30", True),
        ("history_retention_days", "31", False),
        ("history_retention_hours", "-1", False),
        ("history_retention_hours", "0", True),
        ("history_retention_hours", "23", True),
        ("history_retention_hours", "24", False),
        ("autoscaling_limit_min_cu", "0.25", True),
        ("autoscaling_limit_min_cu", "0.2", False),
        ("autoscaling_limit_min_cu", "0", False),
        ("autoscaling_limit_max_cu", "56", True),
        ("autoscaling_limit_max_cu", "57", False),
        ("autoscaling_limit_max_cu", "11", False),  # between steps: 10, 12
        ("region_id", "aws-eu-central-1", True),
        ("region_id", "aws-mars-1", False),
        ("org_id", "org-quiet-sea-12345678", True),
        ("org_id", "org-someone-else", False),
        ("provisioner", "k8s-neonvm", True),
        ("provisioner", "k8s-anything", False),
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
        assert_invalid(form, field)


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
    key, _label, _unit, per_unit = f.QUOTAS[field]
    top = INT64_MAX // per_unit
    value = {"below": -1, "zero": 0, "top": top, "above": top + 1}[where]
    form = create_form(**{field: str(value)})
    if where in ("below", "above"):
        assert_invalid(form, field)
        return
    assert_valid(form)
    quota = form.payload().get("settings", {}).get("quota", {})
    # 0 means unlimited, which is what leaving it out says; the top converts exactly.
    assert quota.get(key) == (value * per_unit or None)
    assert quota.get(key, 0) <= INT64_MAX


def test_quota_units_convert_exactly():
    form = create_form(quota_active_time_hours="2", quota_logical_size_gib="3")
    assert_valid(form)
    quota = form.payload()["settings"]["quota"]
    assert quota == {"active_time_seconds": 7200, "logical_size_bytes": 3 * GIB}


# --- Create: cross-field rules -------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "hours", "ok"),
    [("30", "0", True), ("29", "23", True), ("30", "1", False), ("0", "0", True)],
)
def test_history_retention_total_is_at_most_30_days(days, hours, ok):
    form = create_form(history_retention_days=days, history_retention_hours=hours)
    if ok:
        assert_valid(form)
        expected = int(days) * 86400 + int(hours) * 3600
        assert form.payload()["history_retention_seconds"] == expected
    else:
        assert_invalid(form, "history_retention_hours", f.MSG_RETENTION_TOO_LONG)


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
        assert_invalid(form, "autoscaling_limit_max_cu", f.MSG_CU_MIN_ABOVE_MAX)


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
    assert 'name="history_retention_days"' in html
    assert 'max="30"' in html and 'min="60"' in html and 'max="604800"' in html
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
    history_retention_seconds=86400 + 1800,  # not a whole hour
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
    initial = ProjectSettingsForm.initial_from(project)
    data = {}
    for key, value in initial.items():
        if value is None or value is False:
            continue
        if key in ("allowed_ips",):
            data[key] = "\n".join(value)
        elif key == "pg_settings":
            data[key] = "\n".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            data[key] = [str(v) for v in value]
        elif value is True:
            data[key] = "on"
        else:
            data[key] = str(value)
    for key, value in (changes or {}).items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return ProjectSettingsForm(data, project=project, libraries=LIBRARIES)


def test_settings_unchanged_form_keeps_values_it_cannot_show():
    form = settings_form()
    assert_valid(form)
    assert form.changed_data == []
    desired = form.payload()
    assert desired["history_retention_seconds"] == 86400 + 1800
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
        "timescaledb",
        "pg_cron",
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


@pytest.mark.parametrize(("days", "hours", "ok"), [("30", "0", True), ("30", "1", False)])
def test_settings_history_retention_boundary(days, hours, ok):
    form = settings_form({"history_retention_days": days, "history_retention_hours": hours})
    if ok:
        assert_valid(form)
        assert form.payload()["history_retention_seconds"] == 2_592_000
    else:
        assert_invalid(form, "history_retention_hours")


def test_every_neon_quota_has_exactly_one_form_field():
    from projects.services import QUOTA_KEYS

    assert sorted(key for key, *_ in f.QUOTAS.values()) == sorted(QUOTA_KEYS)


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
    assert "autoscaling_limit_min_cu" not in form.payload()["default_endpoint_settings"]


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
