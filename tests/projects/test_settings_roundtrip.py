"""Property: the settings form never changes what nobody touched.

For any project settings Neon can hold, the settings form is rendered, read back as a browser
would submit it (tests.formdata), and bound again: untouched, the update body is empty; with one
field changed, exactly that setting is sent (with the values Neon needs beside it).
"""

from __future__ import annotations

import ipaddress
import string
from typing import Any

import pytest
from django.http import QueryDict
from django.template.loader import render_to_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projects import services
from projects.compute import MAX_AUTOSCALING_CU, MAX_FIXED_CU, MAX_RANGE_WIDTH_CU, ComputeLimits
from projects.forms.project import INT64_MAX, MAX_HISTORY_RETENTION_SECONDS, ProjectSettingsForm
from projects.neon import PreloadLibrary, Project
from projects.project_state import BYTE_UNITS, QUOTA_KEYS, TIME_UNITS, project_state
from tests.formdata import form_data

LIBRARIES = [
    PreloadLibrary(name=n, description="", is_default=False, is_experimental=False, version="1")
    for n in ("pg_cron", "timescaledb", "pgaudit")
]
LIMITS = ComputeLimits(plan_max_cu=16)

# --- Projects as Neon sends them ---------------------------------------------------------------

quarter_cu = st.integers(1, MAX_FIXED_CU * 4).map(lambda q: q / 4)
odd_cu = st.floats(0.25, MAX_AUTOSCALING_CU, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def compute(draw) -> dict[str, Any]:
    """A compute range Neon accepts, or none set at all."""
    if draw(st.integers(0, 9)) == 0:
        return {}
    low = draw(st.one_of(quarter_cu, odd_cu))
    if low > MAX_AUTOSCALING_CU or draw(st.booleans()):
        high = low  # a fixed size
    else:
        top = min(MAX_AUTOSCALING_CU, low + MAX_RANGE_WIDTH_CU)
        high = (
            draw(st.one_of(quarter_cu, odd_cu).filter(lambda cu: low < cu <= top))
            if low < top
            else low
        )
    if high > MAX_AUTOSCALING_CU:
        suspend = -1
    else:
        suspend = draw(st.one_of(st.sampled_from([-1, 0, 60, 300]), st.integers(60, 604_800)))
    return {
        "autoscaling_limit_min_cu": low,
        "autoscaling_limit_max_cu": high,
        "suspend_timeout_seconds": suspend,
    }


ip = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.tuples(st.ip_addresses(v=4), st.integers(8, 32)).map(
        lambda t: str(ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False))
    ),
)
hh_mm = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")
window = st.tuples(
    st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True).map(sorted), hh_mm, hh_mm
).filter(lambda w: w[1] != w[2])
pg_key = st.text(string.ascii_lowercase + "_.", min_size=1, max_size=20).filter(
    lambda k: k.strip() == k
)
pg_value = (
    st.text(string.ascii_letters + string.digits + "_-.,= :/", min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
name = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=256
)


@st.composite
def neon_project(draw) -> dict[str, Any]:
    cu = draw(compute())
    provisioner = draw(st.sampled_from(["k8s-neonvm", "k8s-pod", "serverless-platform"]))
    if cu and provisioner == "k8s-pod":
        cu["autoscaling_limit_max_cu"] = cu["autoscaling_limit_min_cu"]
    settings_data: dict[str, Any] = {
        "allowed_ips": {
            "ips": draw(st.lists(ip, max_size=4, unique=True)),
            "protected_branches_only": draw(st.booleans()),
        },
        "enable_logical_replication": draw(st.booleans()),
        "block_public_connections": draw(st.booleans()),
        "block_vpc_connections": draw(st.booleans()),
        "hipaa": draw(st.booleans()),
    }
    quota = {
        key: draw(st.one_of(st.just(0), st.integers(1, 10**6), st.integers(0, INT64_MAX)))
        for key in QUOTA_KEYS
        if draw(st.booleans())
    }
    if quota:
        settings_data["quota"] = quota
    if draw(st.booleans()):
        days, start, end = draw(window)
        settings_data["maintenance_window"] = {
            "weekdays": days,
            "start_time": start,
            "end_time": end,
        }
    if level := draw(st.sampled_from([None, "base", "extended", "full"])):
        settings_data["audit_log_level"] = level
    if draw(st.booleans()):
        settings_data["preload_libraries"] = {
            "use_defaults": draw(st.booleans()),
            "enabled_libraries": draw(
                st.lists(st.sampled_from([lib.name for lib in LIBRARIES]), unique=True)
            ),
        }
    endpoint = {**cu, "pg_settings": draw(st.dictionaries(pg_key, pg_value, max_size=3))}
    return {
        "id": "round-trip-123456",
        "name": draw(name),
        "region_id": "aws-us-east-2",
        "platform_id": "aws",
        "pg_version": 17,
        "provisioner": provisioner,
        "proxy_host": "us-east-2.aws.neon.tech",
        "store_passwords": True,
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-02T10:00:00Z",
        "history_retention_seconds": draw(st.integers(0, MAX_HISTORY_RETENTION_SECONDS)),
        "settings": settings_data,
        "default_endpoint_settings": endpoint,
    }


# --- The form as a browser sees it -------------------------------------------------------------


def new_form(project: Project, data=None) -> ProjectSettingsForm:
    return ProjectSettingsForm(data, project=project, libraries=LIBRARIES, limits=LIMITS)


def shown(project: Project) -> dict[str, list[str]]:
    """What a browser submits for the settings form rendered for `project`, untouched."""
    html = render_to_string(
        "projects/project_settings.html#form",
        {"form": new_form(project), "project": project, "access": {"can_admin": True}},
    )
    return form_data(html, "settings-form")


def submit(project: Project, data: dict[str, list[str]]):
    query = QueryDict(mutable=True)
    for key, values in data.items():
        query.setlist(key, values)
    form = new_form(project, query)
    assert form.is_valid(), form.errors.as_json()
    return services.project_changes(project=project, desired=form.payload())


ROUND_TRIP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIP
@given(neon_project())
def test_untouched_form_sends_nothing(api):
    project = Project.from_api(api)
    body, changes = submit(project, shown(project))
    assert body == {}, changes
    assert changes == []


# --- One field changed -------------------------------------------------------------------------


def _rename(data, state):
    data["name"] = [state["name"] + " (renamed)"]
    return {"name"}


def _retention(data, state):
    new = (state["history_retention_seconds"] + 1) % MAX_HISTORY_RETENTION_SECONDS
    data["history_retention_0"], data["history_retention_1"] = [str(new)], ["seconds"]
    return {"history_retention_seconds"}


def _quota(key: str, field: str):
    def change(data, state):
        unit = data[f"{field}_1"][0]
        new = 512 if state["settings"]["quota"][key] != 512 * _unit(unit) else 1024
        data[f"{field}_0"] = [str(new)]
        return {f"settings.quota.{key}"}

    return change


def _unit(name: str) -> int:
    return dict(TIME_UNITS + BYTE_UNITS)[name]


def _audit_level(data, state):
    now = state["settings"]["audit_log_level"]
    data["audit_log_level"] = ["full" if now != "full" else "base"]
    return {"settings.audit_log_level"}


def _add_ip(data, state):
    data["allowed_ips"] = ["\r\n".join([*state["settings"]["allowed_ips"]["ips"], "192.0.2.99"])]
    if "192.0.2.99" in state["settings"]["allowed_ips"]["ips"]:
        return set()
    return {"settings.allowed_ips.ips"}


def _block_public(data, state):
    if state["settings"]["block_public_connections"]:
        data.pop("block_public_connections", None)
    else:
        data["block_public_connections"] = ["on"]
    return {"settings.block_public_connections"}


def _preload_defaults(data, state):
    if state["settings"]["preload_libraries"]["use_defaults"]:
        data.pop("preload_use_defaults", None)
    else:
        data["preload_use_defaults"] = ["on"]
    return {"settings.preload_libraries.use_defaults"}


def _pg_setting(data, state):
    data["pg_settings"] = [data.get("pg_settings", [""])[0] + "\r\nwork_mem=64MB"]
    if state["default_endpoint_settings"]["pg_settings"].get("work_mem") == "64MB":
        return set()
    return {"default_endpoint_settings.pg_settings"}


def _fixed_one_cu(data, state):
    e = state["default_endpoint_settings"]
    data["autoscaling_limit_min_cu"] = data["autoscaling_limit_max_cu"] = ["1"]
    return {
        f"default_endpoint_settings.autoscaling_limit_{side}_cu"
        for side in ("min", "max")
        if e[f"autoscaling_limit_{side}_cu"] != 1
    }


def _suspend_custom(data, state):
    e = state["default_endpoint_settings"]
    if (e["autoscaling_limit_max_cu"] or 0) > MAX_AUTOSCALING_CU:
        return None  # such a compute never suspends: not a valid change
    data["suspend_mode"], data["suspend_timeout_seconds"] = ["custom"], ["123"]
    return (
        set()
        if e["suspend_timeout_seconds"] == 123
        else {"default_endpoint_settings.suspend_timeout_seconds"}
    )


MUTATIONS = {
    "rename": _rename,
    "retention": _retention,
    "active time quota": _quota("active_time_seconds", "quota_active_time"),
    "logical size quota": _quota("logical_size_bytes", "quota_logical_size"),
    "audit log level": _audit_level,
    "allowlist": _add_ip,
    "block public": _block_public,
    "preload defaults": _preload_defaults,
    "pg setting": _pg_setting,
    "fixed 1 CU": _fixed_one_cu,
    "custom suspend": _suspend_custom,
}


@ROUND_TRIP
@given(neon_project(), st.sampled_from(sorted(MUTATIONS)))
def test_one_changed_field_sends_exactly_that(api, mutation):
    project = Project.from_api(api)
    state = project_state(project)
    data = shown(project)
    expected = MUTATIONS[mutation](data, state)
    if expected is None:
        return
    body, changes = submit(project, data)
    assert {c.setting.path for c in changes} == expected
    # What is sent: the changed settings, and only the values Neon needs beside them.
    sent_paths = {path for c in changes for path in c.setting.sent_with}
    assert _leaves(body) <= sent_paths | {"settings.quota"}
    for change in changes:
        assert change.after != change.before


def _leaves(body: dict, prefix: str = "") -> set[str]:
    paths = set()
    for key, value in body.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in (
            "default_endpoint_settings.pg_settings",
            "settings.maintenance_window",
        ):
            paths |= _leaves(value, f"{path}.")
        else:
            paths.add(path)
    return paths


@pytest.mark.parametrize(
    ("cu", "label"),
    [(0.75, "0.75 CU, current"), (7.5, "7.5 CU, current"), (13, "13 CU, current")],
)
def test_an_off_list_size_is_its_own_option(cu, label):
    project = Project.from_api(
        {
            "id": "round-trip-123456", "name": "p", "region_id": "aws-us-east-2",
            "pg_version": 17, "provisioner": "k8s-neonvm", "history_retention_seconds": 0,
            "created_at": None, "updated_at": None, "proxy_host": "", "store_passwords": True,
            "default_endpoint_settings": {
                "autoscaling_limit_min_cu": cu, "autoscaling_limit_max_cu": cu,
            },
        }
    )  # fmt: skip
    html = render_to_string(
        "projects/project_settings.html#form",
        {"form": new_form(project), "project": project, "access": {"can_admin": True}},
    )
    assert f">{label}</option>" in html
