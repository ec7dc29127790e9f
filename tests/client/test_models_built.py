"""The response models build instances without their dataclass `__init__` (for speed: a 400-row
list page is 400 projects). What they build must be exactly what `__init__` would make."""

import contextlib
import copy
import inspect
import pickle
import re
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime

import pytest

from projects.neon import NeonBadResponse, Project, models
from projects.neon.models import EndpointDefaults, MaintenanceWindow, ProjectSettings, Quota

FULL = {
    "id": "p-1",
    "name": "billing",
    "region_id": "aws-us-east-2",
    "platform_id": "aws",
    "pg_version": 17,
    "provisioner": "k8s-neonvm",
    "proxy_host": "us-east-2.aws.neon.tech",
    "store_passwords": True,
    "created_at": "2026-11-25T20:10:34Z",
    "updated_at": "2026-11-26T03:55:36+00:00",
    "owner_id": "u-1",
    "org_id": "org-1",
    "org_name": "Borealis",
    "creation_source": "console",
    "history_retention_seconds": 3600,
    "branch_logical_size_limit_bytes": 549755813888,
    "synthetic_storage_size": 109644591,
    "compute_last_active_at": "2026-11-26T07:37:39",
    "maintenance_starts_at": "2026-12-01T10:00:00Z",
    "hipaa_enabled_at": "2026-11-01T00:00:00Z",
    "active_time": 1645713,
    "cpu_used_sec": 329142,
    "settings": {
        "quota": {"active_time_seconds": 100, "logical_size_bytes": 1024},
        "allowed_ips": {"ips": ["10.0.0.1"], "protected_branches_only": True},
        "enable_logical_replication": True,
        "maintenance_window": {"weekdays": [2, 5], "start_time": "11:00", "end_time": "12:00"},
        "block_public_connections": True,
        "audit_log_level": "extended",
        "hipaa": True,
        "preload_libraries": {"use_defaults": False, "enabled_libraries": ["timescaledb"]},
    },
    "default_endpoint_settings": {
        "autoscaling_limit_min_cu": 0.25,
        "autoscaling_limit_max_cu": 2,
        "suspend_timeout_seconds": 300,
        "pg_settings": {"work_mem": "64MB"},
    },
    "data_transfer_bytes": 12,
    "consumption_period_start": "2026-11-01T00:00:00Z",
    "owner": {"email": "pat@example.test", "name": "Pat"},
    "effective_project_permission": "CAN_EDIT",
}
MINIMAL = {"id": "p-2", "name": "x", "region_id": "aws-us-east-2", "pg_version": 16}


def by_init(project: Project) -> Project:
    """The same values through the dataclass's own `__init__`."""
    return Project(**{f.name: getattr(project, f.name) for f in fields(Project)})


@pytest.mark.parametrize("data", [FULL, MINIMAL], ids=["full", "minimal"])
def test_project_is_what_init_makes(data):
    project = Project.from_api(data)
    assert set(vars(project)) == {f.name for f in fields(Project)}
    assert project == by_init(project)
    assert repr(project) == repr(by_init(project))
    for nested in (project.settings, project.settings.quota, project.endpoint_defaults):
        assert set(vars(nested)) == {f.name for f in fields(nested)}
        assert nested == type(nested)(**{f.name: getattr(nested, f.name) for f in fields(nested)})


def test_values_read():
    project = Project.from_api(FULL)
    assert project.created_at == datetime(2026, 11, 25, 20, 10, 34, tzinfo=UTC)
    assert project.updated_at == datetime(2026, 11, 26, 3, 55, 36, tzinfo=UTC)
    assert project.compute_last_active_at == datetime(2026, 11, 26, 7, 37, 39, tzinfo=UTC)
    assert project.recoverable_until is None
    assert project.settings == ProjectSettings(
        quota=Quota(active_time_seconds=100, logical_size_bytes=1024),
        allowed_ips=("10.0.0.1",),
        protected_branches_only=True,
        enable_logical_replication=True,
        maintenance_window=MaintenanceWindow(weekdays=(2, 5), start_time="11:00", end_time="12:00"),
        block_public_connections=True,
        audit_log_level="extended",
        hipaa=True,
        preload_use_defaults=False,
        preload_libraries=("timescaledb",),
    )
    assert project.endpoint_defaults == EndpointDefaults(
        autoscaling_limit_min_cu=0.25,
        autoscaling_limit_max_cu=2,
        suspend_timeout_seconds=300,
        pg_settings={"work_mem": "64MB"},
    )
    assert (project.owner_email, project.owner_name, project.permission) == (
        "pat@example.test",
        "Pat",
        "CAN_EDIT",
    )
    minimal = Project.from_api(MINIMAL)
    assert minimal.settings == ProjectSettings() and minimal.endpoint_defaults == EndpointDefaults()
    assert (minimal.platform_id, minimal.owner_id, minimal.created_at) == ("", "", None)


def test_still_frozen_copyable_and_picklable():
    project = Project.from_api(FULL)
    with pytest.raises(AttributeError):
        project.name = "changed"
    with pytest.raises(AttributeError):
        project.settings.quota.active_time_seconds = 1
    # The gateway keeps pages in Django's cache, which pickles them.
    assert pickle.loads(pickle.dumps(project)) == project  # noqa: S301 - our own bytes
    assert copy.deepcopy(project) == project
    assert replace(project, name="y").name == "y"
    # Shared between projects (the empty quota): frozen, so no project can change another's.
    assert Project.from_api(MINIMAL).settings.quota == Quota()
    assert hash(Project.from_api(MINIMAL).settings.quota) == hash(Quota())


def test_endpoint_pg_settings_are_each_projects_own():
    a, b = Project.from_api(FULL), Project.from_api(FULL)
    assert a.endpoint_defaults.pg_settings is not b.endpoint_defaults.pg_settings


@pytest.mark.parametrize("value", ["yesterday", 12345, ["2026-01-01"]])
def test_unreadable_timestamp_is_a_bad_response(value):
    with pytest.raises(NeonBadResponse, match="unreadable timestamp"):
        Project.from_api(MINIMAL | {"created_at": value})


def test_missing_required_field_is_named():
    with pytest.raises(NeonBadResponse, match="'region_id'"):
        Project.from_api({"id": "p", "name": "n", "pg_version": 16})


def built_without_init(monkeypatch) -> set[type]:
    """Every class `models._built` makes: those named in a call or building `cls` in their own
    source, and those it is handed while Neon's fullest and barest answers are read."""
    named = set(re.findall(r"_built\(\s*([A-Z]\w*)", inspect.getsource(models)))
    classes = {getattr(models, name) for name in named}
    classes |= {
        cls
        for cls in vars(models).values()
        if isinstance(cls, type)
        and is_dataclass(cls)
        and re.search(r"_built\(\s*cls\b", inspect.getsource(cls))
    }
    real = models._built

    def recording(cls, values):
        classes.add(cls)
        return real(cls, values)

    monkeypatch.setattr(models, "_built", recording)
    for data in (FULL, MINIMAL):
        with contextlib.suppress(AttributeError):  # slots leave no __dict__: reported below
            Project.from_api(data)
    return classes


def test_no_model_built_without_init_has_post_init_or_slots(monkeypatch):
    """`_built` skips `__init__`, so a `__post_init__` would silently never run, and fills the
    instance's `__dict__`, which slots take away. Either must fail here, not on a page."""
    classes = built_without_init(monkeypatch)
    assert {Project, ProjectSettings, Quota, MaintenanceWindow, EndpointDefaults} <= classes
    for cls in classes:
        assert not hasattr(cls, "__post_init__"), f"{cls.__name__} has a __post_init__"
        slotted = [k.__name__ for k in cls.__mro__ if "__slots__" in vars(k)]
        assert not slotted, f"{cls.__name__} has __slots__ (from {slotted})"
