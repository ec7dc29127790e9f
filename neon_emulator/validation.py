"""Strict checks of request bodies and query parameters against the published spec.

Types are never coerced: ``"17"`` is not a pg_version, ``true`` is not an integer and ``1`` is not
a boolean. Fields the spec does not define are refused, so a client that sends a typo or a
create-only field in an update learns about it instead of seeing it silently dropped.

Neon's product limits on compute sizes, which the spec does not state, live in ``limits``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime

from neon_emulator.errors import ApiError

ID_PATTERN = re.compile(r"^[a-z0-9-]{1,60}$")
HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
PROVISIONERS = ("k8s-pod", "k8s-neonvm", "serverless-platform")
AUDIT_LOG_LEVELS = ("base", "extended", "full")
CREATE_ONLY_FIELDS = ("pg_version", "region_id", "provisioner", "store_passwords", "org_id")
MAX_RETENTION = 2_592_000
MAX_SUSPEND = 604_800
INT64_MAX = 2**63 - 1
# RFC 3339 section 5.6 date-time; fractions of a second are dropped (Neon keeps whole seconds).
RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")

# Backup schedules (BackupScheduleItem). The spec's text names hourly, daily, weekly, monthly and
# yearly; Neon's API reference takes daily, weekly and monthly only, and keeps scheduled
# snapshots up to 35 days. The minimum of 3600 s is the spec's.
BACKUP_FREQUENCIES = ("daily", "weekly", "monthly")
MIN_BACKUP_RETENTION = 3600
MAX_BACKUP_RETENTION = 35 * 24 * 3600
BACKUP_FREQUENCY_RULE = "must be daily, weekly or monthly, the frequencies Neon takes"
BACKUP_RETENTION_RULE = (
    f"must be between {MIN_BACKUP_RETENTION} and {MAX_BACKUP_RETENTION} seconds "
    "(Neon keeps scheduled snapshots from one hour up to 35 days)"
)
WEEKDAY_RULE = "the day of the week, 1 (Monday) to 7 (Sunday)"


def bad(message: str) -> ApiError:
    return ApiError(400, message)


def _type_name(value) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}.get(
        type(value), "object"
    )


def want_object(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise bad(f"{where}: expected object, got {_type_name(value)}")
    return value


def want_bool(value, where: str) -> bool:
    if type(value) is not bool:
        raise bad(f"{where}: expected boolean, got {_type_name(value)}")
    return value


def want_int(value, where: str, lo: int | None = None, hi: int | None = None) -> int:
    if type(value) is not int:
        raise bad(f"{where}: expected integer, got {_type_name(value)}")
    if lo is not None and value < lo:
        raise bad(f"{where}: must be greater than or equal to {lo}")
    if hi is not None and value > hi:
        raise bad(f"{where}: must be less than or equal to {hi}")
    return value


def want_number(value, where: str, lo: float | None = None) -> float:
    if type(value) not in (int, float):
        raise bad(f"{where}: expected number, got {_type_name(value)}")
    if not math.isfinite(value):
        raise bad(f"{where}: must be a finite number")
    if lo is not None and value < lo:
        raise bad(f"{where}: must be greater than or equal to {lo}")
    return value


def want_str(value, where: str, min_len: int | None = None, max_len: int | None = None) -> str:
    if type(value) is not str:
        raise bad(f"{where}: expected string, got {_type_name(value)}")
    if min_len is not None and len(value) < min_len:
        raise bad(f"{where}: must be at least {min_len} characters long")
    if max_len is not None and len(value) > max_len:
        raise bad(f"{where}: must be at most {max_len} characters long")
    return value


def want_str_map(value, where: str, max_props: int | None = None) -> dict:
    want_object(value, where)
    if max_props is not None and len(value) > max_props:
        raise bad(f"{where}: must have at most {max_props} properties")
    for key, item in value.items():
        want_str(item, f"{where}.{key}")
    return value


def no_unknown(obj: dict, allowed, where: str) -> None:
    for key in obj:
        if key not in allowed:
            raise bad(f"{where}: unknown field {key!r}")


def check_fields(obj: dict, spec: dict[str, Callable], where: str) -> None:
    no_unknown(obj, spec, where)
    for key, check in spec.items():
        if key in obj:
            check(obj[key], f"{where}.{key}")


# ---- schema pieces ------------------------------------------------------------------------


def compute_unit(value, where: str) -> float:
    return want_number(value, where, lo=0.25)


def suspend_timeout(value, where: str) -> int:
    want_int(value, where, lo=-1, hi=MAX_SUSPEND)
    if 0 < value < 60:
        raise bad(f"{where}: must be -1 (never), 0 (default) or between 60 and {MAX_SUSPEND}")
    return value


def quota(value, where: str) -> None:
    want_object(value, where)
    fields = (
        "active_time_seconds",
        "compute_time_seconds",
        "written_data_bytes",
        "data_transfer_bytes",
        "logical_size_bytes",
    )
    check_fields(value, {f: lambda v, w: want_int(v, w, lo=0, hi=INT64_MAX) for f in fields}, where)


def allowed_ips(value, where: str) -> None:
    want_object(value, where)

    def ips(v, w):
        if not isinstance(v, list):
            raise bad(f"{w}: expected array, got {_type_name(v)}")
        for i, item in enumerate(v):
            want_str(item, f"{w}[{i}]", min_len=1)

    check_fields(value, {"ips": ips, "protected_branches_only": want_bool}, where)


def maintenance_window(value, where: str) -> None:
    want_object(value, where)
    no_unknown(value, ("weekdays", "start_time", "end_time"), where)
    for key in ("weekdays", "start_time", "end_time"):
        if key not in value:
            raise bad(f"{where}.{key}: required")
    days = value["weekdays"]
    if not isinstance(days, list):
        raise bad(f"{where}.weekdays: expected array, got {_type_name(days)}")
    if not days:
        raise bad(f"{where}.weekdays: must contain at least one day")
    for i, day in enumerate(days):
        want_int(day, f"{where}.weekdays[{i}]", lo=1, hi=7)
    for key in ("start_time", "end_time"):
        want_str(value[key], f"{where}.{key}")
        if not HH_MM.match(value[key]):
            raise bad(f"{where}.{key}: must be a UTC time in HH:MM format")


def audit_log_level(value, where: str) -> None:
    want_str(value, where)
    if value not in AUDIT_LOG_LEVELS:
        raise bad(f"{where}: must be one of {', '.join(AUDIT_LOG_LEVELS)}")


def preload_libraries(value, where: str) -> None:
    want_object(value, where)

    def libs(v, w):
        if not isinstance(v, list):
            raise bad(f"{w}: expected array, got {_type_name(v)}")
        for i, item in enumerate(v):
            want_str(item, f"{w}[{i}]", min_len=1)

    check_fields(value, {"use_defaults": want_bool, "enabled_libraries": libs}, where)


def project_settings(value, where: str) -> None:
    want_object(value, where)
    check_fields(
        value,
        {
            "quota": quota,
            "allowed_ips": allowed_ips,
            "enable_logical_replication": want_bool,
            "maintenance_window": maintenance_window,
            "block_public_connections": want_bool,
            "block_vpc_connections": want_bool,
            "audit_log_level": audit_log_level,
            "hipaa": want_bool,
            "preload_libraries": preload_libraries,
        },
        where,
    )


def default_endpoint_settings(value, where: str) -> None:
    want_object(value, where)
    check_fields(
        value,
        {
            "pg_settings": want_str_map,
            "pgbouncer_settings": want_str_map,
            "autoscaling_limit_min_cu": compute_unit,
            "autoscaling_limit_max_cu": compute_unit,
            "suspend_timeout_seconds": suspend_timeout,
        },
        where,
    )


def name(value, where: str) -> str:
    return want_str(value, where, min_len=1, max_len=256)


def pg_version(value, where: str) -> int:
    return want_int(value, where, lo=14, hi=18)


def provisioner(value, where: str) -> str:
    want_str(value, where)
    if value not in PROVISIONERS:
        raise bad(f"{where}: must be one of {', '.join(PROVISIONERS)}")
    return value


def retention(value, where: str) -> int:
    return want_int(value, where, lo=0, hi=MAX_RETENTION)


def identifier(value, where: str) -> str:
    """An id as the spec patterns them (project, branch, org): ``^[a-z0-9-]{1,60}$``."""
    want_str(value, where)
    if not ID_PATTERN.match(value):
        raise bad(f"{where}: must match ^[a-z0-9-]{{1,60}}$")
    return value


def role_name(value, where: str) -> str:
    want_str(value, where, min_len=1)
    if len(value.encode()) > 63:
        raise bad(f"{where}: must be at most 63 bytes long")
    return value


def database_name(value, where: str) -> str:
    want_str(value, where, min_len=1)
    if len(value.encode()) > 63:
        raise bad(f"{where}: must be at most 63 bytes long")
    return value


def create_branch(value, where: str) -> None:
    want_object(value, where)
    check_fields(
        value,
        {
            "name": name,
            "role_name": role_name,
            "database_name": database_name,
            "annotations": lambda v, w: want_str_map(v, w, max_props=50),
        },
        where,
    )


def _project_wrapper(body) -> dict:
    if body is None:
        raise bad("request body is required")
    if not isinstance(body, dict):
        raise bad(f"request body: expected object, got {_type_name(body)}")
    no_unknown(body, ("project",), "request body")
    if "project" not in body:
        raise bad("request body: field 'project' is required")
    return want_object(body["project"], "project")


def project_create(body) -> dict:
    project = _project_wrapper(body)
    check_fields(
        project,
        {
            "settings": project_settings,
            "name": name,
            "branch": create_branch,
            "autoscaling_limit_min_cu": compute_unit,
            "autoscaling_limit_max_cu": compute_unit,
            "provisioner": provisioner,
            "region_id": lambda v, w: want_str(v, w, min_len=1),
            "default_endpoint_settings": default_endpoint_settings,
            "pg_version": pg_version,
            "store_passwords": want_bool,
            "history_retention_seconds": retention,
            "org_id": identifier,
        },
        "project",
    )
    return project


def project_update(body) -> dict:
    project = _project_wrapper(body)
    for key in (*CREATE_ONLY_FIELDS, "branch"):
        if key in project:
            raise bad(f"project.{key}: cannot be changed after the project is created")
    check_fields(
        project,
        {
            "settings": project_settings,
            "name": name,
            "default_endpoint_settings": default_endpoint_settings,
            "history_retention_seconds": retention,
        },
        "project",
    )
    return project


# ---- branches, backup schedules, snapshots ------------------------------------------------


def rfc3339(value, where: str) -> int:
    """An RFC 3339 date-time (``2025-06-09T18:02:16Z``, any offset) as microseconds since the
    epoch, whole seconds."""
    want_str(value, where)
    match = RFC3339.match(value)
    try:
        if match is None:
            raise ValueError
        date, time, zone = match.groups()
        zone = "+00:00" if zone in ("Z", "z") else zone
        return int(datetime.fromisoformat(f"{date}T{time}{zone}").timestamp()) * 1_000_000
    except (ValueError, OverflowError):
        raise bad(f"{where}: must be an RFC 3339 date-time such as 2025-06-09T18:02:16Z") from None


def _wrapped(body, key: str) -> dict:
    """``{"<key>": {...}}``, the one field of the body, required."""
    if body is None:
        raise bad("request body is required")
    want_object(body, "request body")
    no_unknown(body, (key,), "request body")
    if key not in body:
        raise bad(f"request body: field {key!r} is required")
    return want_object(body[key], key)


def _optional_body(body) -> dict:
    """A request body the spec makes optional: absent is ``{}``."""
    return {} if body is None else want_object(body, "request body")


def branch_update(body) -> dict:
    """BranchUpdateRequest; ``expires_at`` comes back as microseconds, or None to remove it."""
    branch = _wrapped(body, "branch")
    no_unknown(branch, ("name", "protected", "expires_at"), "branch")
    spec: dict = {}
    if "name" in branch:
        spec["name"] = name(branch["name"], "branch.name")
    if "protected" in branch:
        spec["protected"] = want_bool(branch["protected"], "branch.protected")
    if "expires_at" in branch:
        expires_at = branch["expires_at"]
        if expires_at is not None:
            expires_at = rfc3339(expires_at, "branch.expires_at")
        spec["expires_at"] = expires_at
    return spec


def _backup_item(item, where: str) -> dict:
    want_object(item, where)
    check_fields(
        item,
        {
            "frequency": want_str,
            "hour": lambda v, w: want_int(v, w, lo=0, hi=23),
            "day": lambda v, w: want_int(v, w, lo=1, hi=31),
            "month": lambda v, w: want_int(v, w, lo=1, hi=12),
            "retention_seconds": want_int,
        },
        where,
    )
    if "frequency" not in item:
        raise bad(f"{where}.frequency: required")
    frequency = item["frequency"]
    if frequency not in BACKUP_FREQUENCIES:
        raise bad(f"{where}.frequency: {frequency!r} {BACKUP_FREQUENCY_RULE}")
    retention = item.get("retention_seconds")
    if retention is not None and not MIN_BACKUP_RETENTION <= retention <= MAX_BACKUP_RETENTION:
        raise bad(f"{where}.retention_seconds: {BACKUP_RETENTION_RULE}")
    # "day" and "month" apply "if applicable": a value no schedule of this frequency can use
    # is refused rather than kept and ignored.
    if "month" in item:
        raise bad(f"{where}.month: a {frequency} schedule has no month")
    if frequency == "daily" and "day" in item:
        raise bad(f"{where}.day: a daily schedule has no day")
    if frequency == "weekly" and item.get("day", 1) > 7:
        raise bad(f"{where}.day: {WEEKDAY_RULE}")
    keys = ("frequency", "hour", "day", "retention_seconds")
    return {key: item[key] for key in keys if key in item}


def backup_schedule(body) -> list[dict]:
    """BackupSchedule: the whole schedule, which replaces the branch's. Empty means none."""
    if body is None:
        raise bad("request body is required")
    want_object(body, "request body")
    no_unknown(body, ("schedule",), "request body")
    if "schedule" not in body:
        raise bad("request body: field 'schedule' is required")
    items = body["schedule"]
    if not isinstance(items, list):
        raise bad(f"schedule: expected array, got {_type_name(items)}")
    return [_backup_item(item, f"schedule[{i}]") for i, item in enumerate(items)]


def snapshot_name(value, where: str) -> str:
    return want_str(value, where, min_len=1)


def snapshot_query(args) -> dict:
    """createSnapshot's query parameters: ``lsn`` or ``timestamp`` (microseconds), ``name``,
    ``expires_at`` (microseconds)."""
    out: dict = {}
    if args.get("lsn") is not None and args.get("timestamp") is not None:
        raise bad("query parameters lsn and timestamp: give one of them, not both")
    if args.get("lsn") is not None:
        if not LSN.match(args["lsn"]):
            raise bad("query parameter lsn: must be an LSN such as 0/1F6D2B8")
        out["lsn"] = args["lsn"].upper()
    for key in ("timestamp", "expires_at"):
        if args.get(key) is not None:
            out[key] = rfc3339(args[key], f"query parameter {key}")
    if args.get("name") is not None:
        out["name"] = snapshot_name(args["name"], "query parameter name")
    return out


SNAPSHOT_NAME_ONLY = (
    "the spec this emulator follows (@neondatabase/api-client 2.7.3) lets updateSnapshot "
    "change the name only"
)


def snapshot_update(body) -> dict:
    snapshot = _wrapped(body, "snapshot")
    if "expires_at" in snapshot:
        # Neon's newer SDKs, and neonctl 5's `snapshots update --expires-at`, send it.
        raise bad(f"snapshot.expires_at: {SNAPSHOT_NAME_ONLY}")
    check_fields(snapshot, {"name": snapshot_name}, "snapshot")
    return snapshot


def snapshot_restore(body) -> dict:
    """restoreSnapshot's optional body; the restored branch's name is a branch name."""
    spec = _optional_body(body)
    check_fields(
        spec,
        {"name": name, "target_branch_id": identifier, "finalize_restore": want_bool},
        "request body",
    )
    return spec


def finalize_restore(body) -> dict:
    """finalizeRestoreBranch's optional body: the name the replaced branch takes."""
    spec = _optional_body(body)
    check_fields(spec, {"name": name}, "request body")
    return spec


# ---- query parameters ---------------------------------------------------------------------


def query_int(args, key: str, lo: int, hi: int, default: int | None = None) -> int | None:
    raw = args.get(key)
    if raw is None:
        return default
    if not re.fullmatch(r"-?\d{1,12}", raw):
        raise bad(f"query parameter {key}: expected integer, got {raw!r}")
    value = int(raw)
    if value < lo or value > hi:
        raise bad(f"query parameter {key}: must be between {lo} and {hi}")
    return value


# Neon's API is written in Go and the official Python SDK sends Python's "True"/"False", so
# booleans in the query string follow Go's strconv.ParseBool.
TRUE_WORDS = ("1", "t", "T", "TRUE", "true", "True")
FALSE_WORDS = ("0", "f", "F", "FALSE", "false", "False")


def query_bool(args, key: str, default: bool = False) -> bool:
    raw = args.get(key)
    if raw is None:
        return default
    if raw not in TRUE_WORDS + FALSE_WORDS:
        raise bad(f"query parameter {key}: expected true or false, got {raw!r}")
    return raw in TRUE_WORDS


def query_id(args, key: str) -> str | None:
    raw = args.get(key)
    if raw is None:
        return None
    if not ID_PATTERN.match(raw):
        raise bad(f"query parameter {key}: must match ^[a-z0-9-]{{1,60}}$")
    return raw


def query_enum(args, key: str, choices: tuple[str, ...], default: str) -> str:
    raw = args.get(key)
    if raw is None:
        return default
    if raw not in choices:
        raise bad(f"query parameter {key}: must be one of {', '.join(choices)}")
    return raw
