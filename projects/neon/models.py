"""Neon's answers as dataclasses: views and templates never index JSON.

Each `from_api` reads the spec's shape and raises NeonBadResponse, naming the field, when a
required part is missing or of the wrong type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from projects.neon.errors import NeonBadResponse


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        # fromisoformat reads Neon's "Z" itself (Python 3.11+); anything not a string is as
        # unreadable as a malformed one.
        parsed = datetime.fromisoformat(value)
    except (ValueError, TypeError) as exc:
        raise NeonBadResponse(f"Neon sent an unreadable timestamp: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_new_object = object.__new__


def _built[T](cls: type[T], values: dict[str, Any]) -> T:
    """An instance of the frozen dataclass `cls` from `values`, which names every field.

    What `cls(**values)` makes, without its `__init__`: a frozen dataclass's sets each field
    through `object.__setattr__`, and a 400-row list builds 400 projects of 40 fields, each with
    its settings, quota and endpoint defaults (about a third of parsing a page). The from_api
    methods below use it; tests/client/test_models_built.py checks them against `cls(...)`.
    """
    obj = _new_object(cls)
    obj.__dict__.update(values)
    return obj


def _req(data: Mapping[str, Any], key: str) -> Any:
    try:
        return data[key]
    except (KeyError, TypeError) as exc:
        raise NeonBadResponse(f"Neon's response lacks the field {key!r}.") from exc


def _obj(data: Any, key: str) -> Mapping[str, Any]:
    value = _req(data, key)
    if not isinstance(value, Mapping):
        raise NeonBadResponse(f"Neon's response field {key!r} is not an object.")
    return value


def _str(data: Any, key: str) -> str:
    value = _req(data, key)
    if not isinstance(value, str):
        raise NeonBadResponse(f"Neon's response field {key!r} is not a string.")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise NeonBadResponse(f"Neon's response field {key!r} is not a string.")
    return value


def _list(data: Any, key: str) -> list[Any]:
    value = _req(data, key)
    if not isinstance(value, list):
        raise NeonBadResponse(f"Neon's response field {key!r} is not a list.")
    return value


@dataclass(frozen=True, kw_only=True)
class Quota:
    """Project quotas; 0 or None means unlimited."""

    active_time_seconds: int | None = None
    compute_time_seconds: int | None = None
    written_data_bytes: int | None = None
    data_transfer_bytes: int | None = None
    logical_size_bytes: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> Quota:
        if not data:
            return _NO_QUOTA  # most projects have none; frozen, so one instance serves all
        get = data.get
        return _built(cls, {name: get(name) for name in _QUOTA_FIELDS})


_QUOTA_FIELDS = tuple(Quota.__dataclass_fields__)
_NO_QUOTA = Quota()


@dataclass(frozen=True, kw_only=True)
class MaintenanceWindow:
    weekdays: tuple[int, ...]
    start_time: str
    end_time: str


@dataclass(frozen=True, kw_only=True)
class ProjectSettings:
    quota: Quota = field(default_factory=Quota)
    allowed_ips: tuple[str, ...] = ()
    protected_branches_only: bool = False
    enable_logical_replication: bool = False
    maintenance_window: MaintenanceWindow | None = None
    block_public_connections: bool = False
    block_vpc_connections: bool = False
    audit_log_level: str | None = None
    hipaa: bool = False
    preload_use_defaults: bool | None = None
    preload_libraries: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> ProjectSettings:
        data = data or {}
        get = data.get
        ips = get("allowed_ips") or {}
        window = get("maintenance_window")
        preload = get("preload_libraries") or {}
        return _built(
            cls,
            {
                "quota": Quota.from_api(get("quota")),
                "allowed_ips": tuple(ips.get("ips") or ()),
                "protected_branches_only": bool(ips.get("protected_branches_only")),
                "enable_logical_replication": bool(get("enable_logical_replication")),
                "maintenance_window": (
                    _built(
                        MaintenanceWindow,
                        {
                            "weekdays": tuple(window.get("weekdays") or ()),
                            "start_time": window.get("start_time", ""),
                            "end_time": window.get("end_time", ""),
                        },
                    )
                    if window
                    else None
                ),
                "block_public_connections": bool(get("block_public_connections")),
                "block_vpc_connections": bool(get("block_vpc_connections")),
                "audit_log_level": get("audit_log_level"),
                "hipaa": bool(get("hipaa")),
                "preload_use_defaults": preload.get("use_defaults"),
                "preload_libraries": tuple(preload.get("enabled_libraries") or ()),
            },
        )


@dataclass(frozen=True, kw_only=True)
class EndpointDefaults:
    autoscaling_limit_min_cu: float | None = None
    autoscaling_limit_max_cu: float | None = None
    suspend_timeout_seconds: int | None = None
    pg_settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> EndpointDefaults:
        data = data or {}
        get = data.get
        return _built(
            cls,
            {
                "autoscaling_limit_min_cu": get("autoscaling_limit_min_cu"),
                "autoscaling_limit_max_cu": get("autoscaling_limit_max_cu"),
                "suspend_timeout_seconds": get("suspend_timeout_seconds"),
                "pg_settings": dict(get("pg_settings") or {}),
            },
        )


@dataclass(frozen=True, kw_only=True)
class Project:
    """A project, from the list (`ProjectListItem`) or in full (`Project`).

    The consumption fields are only in the full form; from the list they are None.
    """

    id: str
    name: str
    region_id: str
    platform_id: str
    pg_version: int
    provisioner: str
    proxy_host: str
    store_passwords: bool
    created_at: datetime | None
    updated_at: datetime | None
    owner_id: str = ""
    org_id: str | None = None
    org_name: str | None = None
    creation_source: str = ""
    history_retention_seconds: int | None = None
    branch_logical_size_limit_bytes: int | None = None
    synthetic_storage_size: int | None = None
    compute_last_active_at: datetime | None = None
    maintenance_starts_at: datetime | None = None
    hipaa_enabled_at: datetime | None = None
    deleted_at: datetime | None = None
    recoverable_until: datetime | None = None
    active_time: int | None = None
    cpu_used_sec: int | None = None  # compute time this period, in the list form too
    settings: ProjectSettings = field(default_factory=ProjectSettings)
    endpoint_defaults: EndpointDefaults = field(default_factory=EndpointDefaults)
    # Consumption in the current period (full project only).
    data_storage_bytes_hour: int | None = None
    data_transfer_bytes: int | None = None
    written_data_bytes: int | None = None
    compute_time_seconds: int | None = None
    active_time_seconds: int | None = None
    consumption_period_start: datetime | None = None
    consumption_period_end: datetime | None = None
    quota_reset_at: datetime | None = None  # when the period's quotas start again
    owner_email: str | None = None
    owner_name: str | None = None
    # The key's `effective_project_permission` (CAN_VIEW, CAN_EDIT, CAN_MANAGE), in both forms;
    # None when Neon omits it (personal projects, organizations without per-project
    # permissions): then Neon refuses nothing for it. `projects.permissions` reads it.
    permission: str | None = None

    @property
    def held_by_quota(self) -> bool:
        """Its compute time this period has reached its compute-time quota: Neon keeps its
        computes suspended until the quota resets or is raised."""
        quota = self.settings.quota.compute_time_seconds
        used = (
            self.compute_time_seconds
            if self.compute_time_seconds is not None
            else (self.cpu_used_sec)
        )
        return bool(quota) and used is not None and used >= quota

    @property
    def effective_permission(self) -> str | None:
        """The same value under the spec's name (the detail page shows it)."""
        return self.permission

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Project:
        owner = data.get("owner") or {}
        get = data.get
        values = {
            "id": _req(data, "id"),
            "name": _req(data, "name"),
            "region_id": _req(data, "region_id"),
            "platform_id": get("platform_id", ""),
            "pg_version": _req(data, "pg_version"),
            "provisioner": get("provisioner", ""),
            "proxy_host": get("proxy_host", ""),
            "store_passwords": bool(get("store_passwords")),
            "owner_id": get("owner_id", ""),
            "creation_source": get("creation_source", ""),
        }
        # Fields named as in the spec, absent as None: numbers and the organization.
        for name in _PROJECT_AS_SENT:
            values[name] = get(name)
        for name in _PROJECT_TIMES:
            value = get(name)
            values[name] = _dt(value) if value else None
        values["settings"] = ProjectSettings.from_api(get("settings"))
        values["endpoint_defaults"] = EndpointDefaults.from_api(get("default_endpoint_settings"))
        values["owner_email"] = owner.get("email")
        values["owner_name"] = owner.get("name")
        values["permission"] = _opt_str(data, "effective_project_permission")
        return _built(cls, values)


_PROJECT_TIMES = (
    "created_at",
    "updated_at",
    "compute_last_active_at",
    "maintenance_starts_at",
    "hipaa_enabled_at",
    "deleted_at",
    "recoverable_until",
    "consumption_period_start",
    "consumption_period_end",
    "quota_reset_at",
)
_PROJECT_AS_SENT = (
    "org_id",
    "org_name",
    "history_retention_seconds",
    "branch_logical_size_limit_bytes",
    "synthetic_storage_size",
    "active_time",
    "cpu_used_sec",
    "data_storage_bytes_hour",
    "data_transfer_bytes",
    "written_data_bytes",
    "compute_time_seconds",
    "active_time_seconds",
)


@dataclass(frozen=True, kw_only=True)
class ProjectPage:
    projects: list[Project]
    next_cursor: str | None
    unavailable_project_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Operation:
    id: str
    project_id: str
    action: str
    status: str
    branch_id: str | None = None
    endpoint_id: str | None = None
    error: str | None = None
    failures_count: int = 0
    total_duration_ms: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    FINAL_STATUSES = frozenset({"finished", "failed", "error", "cancelled", "skipped"})

    @property
    def done(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Operation:
        return cls(
            id=_req(data, "id"),
            project_id=_req(data, "project_id"),
            action=_req(data, "action"),
            status=_req(data, "status"),
            branch_id=data.get("branch_id"),
            endpoint_id=data.get("endpoint_id"),
            error=data.get("error"),
            failures_count=data.get("failures_count", 0),
            total_duration_ms=data.get("total_duration_ms", 0),
            created_at=_dt(data.get("created_at")),
            updated_at=_dt(data.get("updated_at")),
        )


@dataclass(frozen=True, kw_only=True)
class OperationPage:
    operations: list[Operation]
    next_cursor: str | None


@dataclass(frozen=True, kw_only=True)
class Branch:
    id: str
    project_id: str
    name: str
    current_state: str
    default: bool
    protected: bool
    parent_id: str | None = None
    logical_size: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # The branch's annotation (key → value, e.g. env=prod): beside the branch in Neon's
    # answers (`annotations` by branch ID in a list, `annotation` with one branch).
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], annotation: Any = None) -> Branch:
        value = annotation.get("value") if isinstance(annotation, Mapping) else None
        return cls(
            id=_req(data, "id"),
            project_id=_req(data, "project_id"),
            name=_req(data, "name"),
            current_state=data.get("current_state", ""),
            default=bool(data.get("default")),
            protected=bool(data.get("protected")),
            parent_id=data.get("parent_id"),
            logical_size=data.get("logical_size"),
            created_at=_dt(data.get("created_at")),
            updated_at=_dt(data.get("updated_at")),
            annotations={str(k): str(v) for k, v in value.items()}
            if isinstance(value, Mapping)
            else {},
        )


# Neon's backup schedule frequencies, most frequent first (BackupScheduleItem.frequency).
BACKUP_FREQUENCIES = ("hourly", "daily", "weekly", "monthly", "yearly")


@dataclass(frozen=True, kw_only=True)
class BackupScheduleItem:
    """One line of a branch's backup schedule: how often a snapshot is taken, when, and how long
    it is kept (None: until deleted)."""

    frequency: str
    hour: int | None = None
    day: int | None = None
    month: int | None = None
    retention_seconds: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BackupScheduleItem:
        return cls(
            frequency=_str(data, "frequency"),
            hour=data.get("hour"),
            day=data.get("day"),
            month=data.get("month"),
            retention_seconds=data.get("retention_seconds"),
        )

    def as_api(self) -> dict[str, Any]:
        item: dict[str, Any] = {"frequency": self.frequency}
        for name in ("hour", "day", "month", "retention_seconds"):
            if (value := getattr(self, name)) is not None:
                item[name] = value
        return item


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    id: str
    project_id: str
    branch_id: str
    host: str
    type: str
    current_state: str
    region_id: str = ""
    autoscaling_limit_min_cu: float | None = None
    autoscaling_limit_max_cu: float | None = None
    suspend_timeout_seconds: int | None = None
    disabled: bool = False
    last_active: datetime | None = None
    created_at: datetime | None = None

    @property
    def read_write(self) -> bool:
        return self.type == "read_write"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Endpoint:
        return cls(
            id=_req(data, "id"),
            project_id=_req(data, "project_id"),
            branch_id=_req(data, "branch_id"),
            host=_req(data, "host"),
            type=_req(data, "type"),
            current_state=data.get("current_state", ""),
            region_id=data.get("region_id", ""),
            autoscaling_limit_min_cu=data.get("autoscaling_limit_min_cu"),
            autoscaling_limit_max_cu=data.get("autoscaling_limit_max_cu"),
            suspend_timeout_seconds=data.get("suspend_timeout_seconds"),
            disabled=bool(data.get("disabled")),
            last_active=_dt(data.get("last_active")),
            created_at=_dt(data.get("created_at")),
        )


@dataclass(frozen=True, kw_only=True)
class Database:
    id: int
    branch_id: str
    name: str
    owner_name: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Database:
        return cls(
            id=_req(data, "id"),
            branch_id=_req(data, "branch_id"),
            name=_req(data, "name"),
            owner_name=_req(data, "owner_name"),
        )


@dataclass(frozen=True, kw_only=True)
class DatabaseRole:
    """A Postgres role on a branch (Neon's `Role`), not a dashboard role (neonadmin.roles)."""

    branch_id: str
    name: str
    protected: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> DatabaseRole:
        return cls(
            branch_id=_req(data, "branch_id"),
            name=_req(data, "name"),
            protected=bool(data.get("protected")),
        )


@dataclass(frozen=True, kw_only=True)
class ConnectionDetails:
    """A connection string and its parts. Both hold the password: never log or audit them."""

    uri: str = field(repr=False)
    database: str
    role: str
    host: str
    pooler_host: str
    password: str = field(repr=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ConnectionDetails:
        params = _obj(data, "connection_parameters")
        return cls(
            uri=_req(data, "connection_uri"),
            database=_req(params, "database"),
            role=_req(params, "role"),
            host=_req(params, "host"),
            pooler_host=_req(params, "pooler_host"),
            password=_req(params, "password"),
        )


@dataclass(frozen=True, kw_only=True)
class CreatedProject:
    project: Project
    connection_details: list[ConnectionDetails]
    branch: Branch
    endpoints: list[Endpoint]
    databases: list[Database]
    roles: list[DatabaseRole]
    operations: list[Operation]


@dataclass(frozen=True, kw_only=True)
class UpdatedProject:
    project: Project
    operations: list[Operation]


@dataclass(frozen=True, kw_only=True)
class Region:
    id: str
    name: str
    default: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Region:
        return cls(
            id=_req(data, "region_id"), name=_req(data, "name"), default=bool(data.get("default"))
        )


@dataclass(frozen=True, kw_only=True)
class Organization:
    id: str
    name: str
    handle: str = ""
    plan: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Organization:
        return cls(
            id=_req(data, "id"),
            name=_req(data, "name"),
            handle=data.get("handle", ""),
            plan=data.get("plan", ""),
        )


@dataclass(frozen=True, kw_only=True)
class AuthDetails:
    account_id: str
    auth_method: str


@dataclass(frozen=True, kw_only=True)
class CurrentUser:
    """`GET /users/me`: who the key belongs to and the plan's limits."""

    id: str
    email: str
    plan: str
    max_autoscaling_limit: float  # the largest compute size the plan allows; 0 means no limit

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CurrentUser:
        limit = _req(data, "max_autoscaling_limit")
        if isinstance(limit, bool) or not isinstance(limit, int | float):
            raise NeonBadResponse("Neon's response field 'max_autoscaling_limit' is not a number.")
        return cls(
            id=str(_req(data, "id")),
            email=str(data.get("email") or ""),
            plan=str(data.get("plan") or ""),
            max_autoscaling_limit=float(limit),
        )


@dataclass(frozen=True, kw_only=True)
class PreloadLibrary:
    name: str
    description: str
    is_default: bool
    is_experimental: bool
    version: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> PreloadLibrary:
        return cls(
            name=_req(data, "library_name"),
            description=data.get("description", ""),
            is_default=bool(data.get("is_default")),
            is_experimental=bool(data.get("is_experimental")),
            version=str(data.get("version", "")),
        )


# --- Consumption (GET /consumption_history/v2/projects) and the spending limit --------------

# What the consumption history can report (ConsumptionHistoryQueryMetrics, FACTS.md 12).
CONSUMPTION_METRICS = (
    "compute_unit_seconds",
    "root_branch_bytes_month",
    "child_branch_bytes_month",
    "instant_restore_bytes_month",
    "public_network_transfer_bytes",
    "private_network_transfer_bytes",
    "extra_branches_month",
    "snapshot_storage_bytes_month",
)


@dataclass(frozen=True, kw_only=True)
class ConsumptionTimeframe:
    """One hour, day or month of a project's consumption: each metric's value (0 if absent)."""

    start: datetime
    end: datetime
    metrics: Mapping[str, int]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ConsumptionTimeframe:
        values = {}
        for metric in data.get("metrics") or []:
            if isinstance(metric, Mapping):
                values[_str(metric, "metric_name")] = int(_req(metric, "value"))
        start, end = _dt(_req(data, "timeframe_start")), _dt(_req(data, "timeframe_end"))
        if start is None or end is None:
            raise NeonBadResponse("Neon's consumption timeframe has no start or end.")
        return cls(start=start, end=end, metrics=values)


@dataclass(frozen=True, kw_only=True)
class ConsumptionPeriod:
    """A billing period: its plan (which prices apply) and its timeframes."""

    period_id: str
    plan: str
    start: datetime | None
    end: datetime | None  # only for periods that are over
    timeframes: list[ConsumptionTimeframe]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ConsumptionPeriod:
        return cls(
            period_id=_str(data, "period_id"),
            plan=_str(data, "period_plan"),
            start=_dt(data.get("period_start")),
            end=_dt(data.get("period_end")),
            timeframes=[ConsumptionTimeframe.from_api(t) for t in _list(data, "consumption")],
        )


@dataclass(frozen=True, kw_only=True)
class ProjectConsumption:
    project_id: str
    periods: list[ConsumptionPeriod]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ProjectConsumption:
        return cls(
            project_id=_str(data, "project_id"),
            periods=[ConsumptionPeriod.from_api(p) for p in _list(data, "periods")],
        )


@dataclass(frozen=True, kw_only=True)
class ConsumptionPage:
    projects: list[ProjectConsumption]
    next_cursor: str | None
