"""The Neon management API v2 client: the only module in the dashboard that talks HTTP to Neon.

Everything goes through `NeonClient._request()`, which
- sends the key as a bearer token, an `X-Request-ID`, and connect and read timeouts on every call;
- keeps one `requests.Session` per thread (sessions are not thread-safe) around one shared,
  thread-safe keep-alive connection pool;
- retries only where Neon's API guidance says it is safe (the rules are in `_request`), with
  exponential backoff and jitter, honouring `Retry-After`, inside a total time budget;
- logs method, path, status, duration, attempt and request id: never the key, never a body;
- maps every failure to one of the `NeonError` subclasses below and every success to dataclasses,
  so views and templates never see raw JSON.

Failure classes raised by every method:
    NeonAuthError       401, 403: the key is missing, wrong or not allowed.
    NeonNotFound        404.
    NeonRejected        400, 409, 422 and other 4xx: Neon refused the request as asked.
    NeonLocked          423: operations are still running on the project.
    NeonRateLimited     429, with `retry_after` seconds when Neon sent one.
    NeonUnavailable     5xx, refused or failed connections.
    NeonTimeout         no answer within the read timeout, or a write whose connection broke
                        after it was sent: either way a write may have been applied (the
                        message says so only for writes).
    NeonBadResponse     a 2xx whose body is not JSON, or is JSON without the fields the spec
                        requires; it carries the status and request id of that answer.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
import requests.auth
import urllib3.exceptions
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

USER_AGENT = "neonadmin/0.1 (+https://github.com/neonadmin)"

# Messages shown to operators; tests import them.
MSG_LOCKED = "Operations are still running on this project; try again shortly."
MSG_RATE_LIMITED = "Neon is rate limiting requests; try again in a moment."
MSG_UNAVAILABLE = "Neon could not be reached; try again shortly."
MSG_TIMEOUT = (
    "Neon did not answer in time. A change may still have been applied: check before retrying."
)
MSG_CONNECTION_LOST = (
    "The connection to Neon broke before it answered. A change may still have been applied: "
    "check before retrying."
)
MSG_TIMEOUT_READ = "Neon did not answer in time; try again shortly."
MSG_BAD_RESPONSE = "Neon sent a response the dashboard could not read."
MSG_AUTH = "Neon refused the dashboard's API key."
MSG_NOT_FOUND = "Neon has no such object."


# --- Errors ------------------------------------------------------------------------------------


class NeonError(Exception):
    """Base class: carries the HTTP status, Neon's error `code`, `message` and `request_id`."""

    default_message = "Neon returned an error."

    def __init__(
        self, message: str = "", *, status: int | None = None, code: str = "", request_id: str = ""
    ) -> None:
        self.message = message or self.default_message
        self.status = status
        self.code = code
        self.request_id = request_id
        super().__init__(self.message)

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.message}{status}"


class NeonAuthError(NeonError):
    default_message = MSG_AUTH


class NeonNotFound(NeonError):
    default_message = MSG_NOT_FOUND


class NeonRejected(NeonError):
    default_message = "Neon rejected the request."


class NeonLocked(NeonError):
    default_message = MSG_LOCKED


class NeonRateLimited(NeonError):
    default_message = MSG_RATE_LIMITED

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class NeonUnavailable(NeonError):
    default_message = MSG_UNAVAILABLE


class NeonTimeout(NeonUnavailable):
    default_message = MSG_TIMEOUT


class NeonBadResponse(NeonError):
    default_message = MSG_BAD_RESPONSE


def _error_for_status(status: int) -> type[NeonError]:
    if status in (401, 403):
        return NeonAuthError
    if status == 404:
        return NeonNotFound
    if status == 423:
        return NeonLocked
    if status == 429:
        return NeonRateLimited
    if status >= 500:
        return NeonUnavailable
    return NeonRejected


# --- Parsing helpers ---------------------------------------------------------------------------


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise NeonBadResponse(f"Neon sent an unreadable timestamp: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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


def _list(data: Any, key: str) -> list[Any]:
    value = _req(data, key)
    if not isinstance(value, list):
        raise NeonBadResponse(f"Neon's response field {key!r} is not a list.")
    return value


# --- Dataclasses -------------------------------------------------------------------------------


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
        data = data or {}
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


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
        ips = data.get("allowed_ips") or {}
        window = data.get("maintenance_window")
        preload = data.get("preload_libraries") or {}
        return cls(
            quota=Quota.from_api(data.get("quota")),
            allowed_ips=tuple(ips.get("ips") or ()),
            protected_branches_only=bool(ips.get("protected_branches_only")),
            enable_logical_replication=bool(data.get("enable_logical_replication")),
            maintenance_window=(
                MaintenanceWindow(
                    weekdays=tuple(window.get("weekdays") or ()),
                    start_time=window.get("start_time", ""),
                    end_time=window.get("end_time", ""),
                )
                if window
                else None
            ),
            block_public_connections=bool(data.get("block_public_connections")),
            block_vpc_connections=bool(data.get("block_vpc_connections")),
            audit_log_level=data.get("audit_log_level"),
            hipaa=bool(data.get("hipaa")),
            preload_use_defaults=preload.get("use_defaults"),
            preload_libraries=tuple(preload.get("enabled_libraries") or ()),
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
        return cls(
            autoscaling_limit_min_cu=data.get("autoscaling_limit_min_cu"),
            autoscaling_limit_max_cu=data.get("autoscaling_limit_max_cu"),
            suspend_timeout_seconds=data.get("suspend_timeout_seconds"),
            pg_settings=dict(data.get("pg_settings") or {}),
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
    owner_email: str | None = None
    owner_name: str | None = None
    effective_permission: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Project:
        owner = data.get("owner") or {}
        return cls(
            id=_req(data, "id"),
            name=_req(data, "name"),
            region_id=_req(data, "region_id"),
            platform_id=data.get("platform_id", ""),
            pg_version=_req(data, "pg_version"),
            provisioner=data.get("provisioner", ""),
            proxy_host=data.get("proxy_host", ""),
            store_passwords=bool(data.get("store_passwords")),
            created_at=_dt(data.get("created_at")),
            updated_at=_dt(data.get("updated_at")),
            owner_id=data.get("owner_id", ""),
            org_id=data.get("org_id"),
            org_name=data.get("org_name"),
            creation_source=data.get("creation_source", ""),
            history_retention_seconds=data.get("history_retention_seconds"),
            branch_logical_size_limit_bytes=data.get("branch_logical_size_limit_bytes"),
            synthetic_storage_size=data.get("synthetic_storage_size"),
            compute_last_active_at=_dt(data.get("compute_last_active_at")),
            maintenance_starts_at=_dt(data.get("maintenance_starts_at")),
            hipaa_enabled_at=_dt(data.get("hipaa_enabled_at")),
            deleted_at=_dt(data.get("deleted_at")),
            recoverable_until=_dt(data.get("recoverable_until")),
            active_time=data.get("active_time"),
            settings=ProjectSettings.from_api(data.get("settings")),
            endpoint_defaults=EndpointDefaults.from_api(data.get("default_endpoint_settings")),
            data_storage_bytes_hour=data.get("data_storage_bytes_hour"),
            data_transfer_bytes=data.get("data_transfer_bytes"),
            written_data_bytes=data.get("written_data_bytes"),
            compute_time_seconds=data.get("compute_time_seconds"),
            active_time_seconds=data.get("active_time_seconds"),
            consumption_period_start=_dt(data.get("consumption_period_start")),
            consumption_period_end=_dt(data.get("consumption_period_end")),
            owner_email=owner.get("email"),
            owner_name=owner.get("name"),
            effective_permission=data.get("effective_project_permission"),
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

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Branch:
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
        )


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
class Role:
    branch_id: str
    name: str
    protected: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Role:
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
    roles: list[Role]
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


# --- Retry policy ------------------------------------------------------------------------------

# Neon's guidance (GeneralError in the spec): GET is safe to retry; 503 and 423 always are, since
# the request was not applied. 429 and the gateway errors are retried for reads only.
RETRY_STATUSES_READ = frozenset({423, 429, 502, 503, 504})
RETRY_STATUSES_WRITE = frozenset({423, 503})
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# A retry started late in the budget still gets this long to answer.
MIN_RETRY_READ_TIMEOUT = 1.0


def _connect_failed(exc: requests.ConnectionError) -> bool:
    """True when no byte of the request can have reached Neon (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    )


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _reads_response[**P, T](method: Callable[P, T]) -> Callable[P, T]:
    """Turn a body that does not have the spec's shape into NeonBadResponse with its request id.

    Only failures after `_request` returned a 2xx body count: a TypeError before that (say, an
    unserialisable payload) is our bug and propagates unchanged.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        client = args[0]
        try:
            return method(*args, **kwargs)
        except NeonBadResponse as exc:
            answered = getattr(client._local, "answered", None)  # type: ignore[attr-defined]
            if answered and not exc.request_id:
                exc.status, exc.request_id = answered
            raise
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            answered = getattr(client._local, "answered", None)  # type: ignore[attr-defined]
            if answered is None:
                raise
            status, request_id = answered
            logger.warning(
                "neon response to request_id %s has an unexpected shape: %s",
                request_id,
                type(exc).__name__,
            )
            raise NeonBadResponse(
                f"{MSG_BAD_RESPONSE} ({type(exc).__name__})", status=status, request_id=request_id
            ) from None

    return wrapper


class _BearerAuth(requests.auth.AuthBase):
    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:  # never the key
        return "_BearerAuth(***)"


# --- The client --------------------------------------------------------------------------------


class NeonClient:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        retry_budget: float = 10.0,
        max_attempts: int = 4,
        backoff_base: float = 0.25,
        pool_size: int = 10,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = (connect_timeout, read_timeout)
        self.retry_budget = retry_budget
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.pool_size = pool_size
        # One connection pool for every thread: urllib3's pool manager is thread-safe, while a
        # Session (cookies, settings) is not, so each thread gets its own thin Session around this
        # shared adapter. Threaded servers that start a thread per request (runserver) still
        # reuse kept-alive connections instead of opening one per request.
        # Retries are ours (see _request); urllib3 must not repeat anything behind our back.
        self._adapter = HTTPAdapter(
            pool_connections=1, pool_maxsize=pool_size, pool_block=False, max_retries=0
        )
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"NeonClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the pooled connections (a closed client reconnects if used again)."""
        self._adapter.close()

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", self._adapter)
            session.mount("https://", self._adapter)
            # An explicit auth object, not a header: requests would otherwise let a ~/.netrc
            # entry for Neon's host replace the key.
            session.auth = _BearerAuth(self._api_key)
            session.headers.update(
                {
                    "Accept": "application/json",
                    "User-Agent": USER_AGENT,
                }
            )
            self._local.session = session
        return session

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        request_id: str | None = None,
    ) -> Any:
        """Send one API call (with any retries it allows) and return the decoded JSON body."""
        url = f"{self.base_url}{path}"
        request_id = request_id or str(uuid.uuid4())
        self._local.answered = None
        headers = {"X-Request-ID": request_id}
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        started = time.monotonic()
        deadline = started + self.retry_budget
        attempt = 0
        while True:
            attempt += 1
            t0 = time.monotonic()
            retry_after: float | None = None
            try:
                response = self._session.request(
                    method,
                    url,
                    params=query,
                    json=json,
                    headers=headers,
                    timeout=self._timeout_for(attempt, deadline - t0),
                )
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                # A GET may be repeated after any network error; a write only when it cannot
                # have reached Neon (a dropped connection may follow an applied write).
                never_connected = isinstance(exc, requests.ConnectionError) and _connect_failed(exc)
                retryable = method == "GET" or never_connected
                error: NeonError
                if method in WRITE_METHODS and not never_connected:
                    # Like a read timeout: the operator must check before trying again.
                    error = NeonTimeout(MSG_CONNECTION_LOST, request_id=request_id)
                else:
                    error = NeonUnavailable(request_id=request_id)
                outcome = "connect-error" if never_connected else "connection-lost"
                self._log(method, path, outcome, t0, attempt, request_id)
            except requests.Timeout:
                # Never after a read timeout: Neon may still be working on it, and a second
                # wait would double the time the operator stares at a spinner.
                retryable = False
                message = MSG_TIMEOUT if method in WRITE_METHODS else MSG_TIMEOUT_READ
                error = NeonTimeout(message, request_id=request_id)
                self._log(method, path, "timeout", t0, attempt, request_id)
            except requests.RequestException as exc:
                retryable = False
                error = NeonUnavailable(f"{MSG_UNAVAILABLE} ({type(exc).__name__})")
                error.request_id = request_id
                self._log(method, path, "error", t0, attempt, request_id)
            else:
                status = response.status_code
                self._log(method, path, status, t0, attempt, request_id)
                if 200 <= status < 300:
                    body = self._decode(response, request_id)
                    # For `_reads_response`: a body that fails to parse blames this answer.
                    self._local.answered = (status, request_id)
                    return body
                retry_after = _parse_retry_after(response.headers.get("Retry-After"))
                error = self._error_from_response(response, request_id, retry_after)
                statuses = RETRY_STATUSES_READ if method == "GET" else RETRY_STATUSES_WRITE
                retryable = status in statuses

            if not retryable:
                raise error
            backoff = self.backoff_base * 2 ** (attempt - 1)
            delay = max(retry_after or 0.0, random.uniform(backoff / 2, backoff))
            if attempt >= self.max_attempts or time.monotonic() + delay > deadline:
                raise error
            time.sleep(delay)

    def _timeout_for(self, attempt: int, remaining: float) -> tuple[float, float]:
        """The first attempt gets the full read timeout; a retry no more than the budget left
        (but a useful minimum), so that retries keep the whole call near its budget."""
        connect, read = self.timeout
        if attempt == 1:
            return self.timeout
        return connect, min(read, max(remaining, MIN_RETRY_READ_TIMEOUT))

    @staticmethod
    def _log(method: str, path: str, outcome: Any, t0: float, attempt: int, rid: str) -> None:
        logger.info(
            "neon %s %s -> %s in %.0f ms (attempt %d, request_id %s)",
            method,
            path,
            outcome,
            (time.monotonic() - t0) * 1000,
            attempt,
            rid,
        )

    @staticmethod
    def _decode(response: requests.Response, request_id: str) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise NeonBadResponse(status=response.status_code, request_id=request_id) from exc

    @staticmethod
    def _error_from_response(
        response: requests.Response, request_id: str, retry_after: float | None
    ) -> NeonError:
        status = response.status_code
        cls = _error_for_status(status)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping):
            # An HTML page from a proxy, or nothing: keep the class (a 502 page is still a 502).
            kwargs: dict[str, Any] = {"status": status, "request_id": request_id}
            if cls is NeonRateLimited:
                kwargs["retry_after"] = retry_after
            return cls(**kwargs)
        message = str(body.get("message") or "")
        kwargs = {
            "status": status,
            "code": str(body.get("code") or ""),
            "request_id": str(body.get("request_id") or request_id),
        }
        if cls is NeonRateLimited:
            kwargs["retry_after"] = retry_after
        if cls in (NeonAuthError, NeonLocked, NeonRateLimited, NeonUnavailable) and message:
            # Keep our plain instruction first; Neon's own words follow.
            message = f"{cls.default_message} Neon said: {message}"
        return cls(message, **kwargs)

    # --- Projects ---

    @_reads_response
    def list_projects(
        self,
        *,
        limit: int = 10,
        cursor: str | None = None,
        search: str | None = None,
        org_id: str | None = None,
        recoverable: bool = False,
    ) -> ProjectPage:
        params = {"limit": limit, "cursor": cursor, "search": search, "org_id": org_id}
        if recoverable:
            params["recoverable"] = "true"
        body = self._request("GET", "/projects", params=params)
        projects = [Project.from_api(p) for p in _list(body, "projects")]
        cursor_value = (body.get("pagination") or {}).get("cursor")
        # Neon does not say how the last page is marked; a short page is the last one.
        next_cursor = cursor_value if cursor_value and len(projects) >= limit else None
        return ProjectPage(
            projects=projects,
            next_cursor=next_cursor,
            unavailable_project_ids=list(body.get("unavailable_project_ids") or []),
        )

    @_reads_response
    def get_project(self, project_id: str) -> Project:
        body = self._request("GET", f"/projects/{_seg(project_id)}")
        return Project.from_api(_obj(body, "project"))

    @_reads_response
    def create_project(
        self, project: Mapping[str, Any], *, request_id: str | None = None
    ) -> CreatedProject:
        body = self._request(
            "POST", "/projects", json={"project": dict(project)}, request_id=request_id
        )
        return CreatedProject(
            project=Project.from_api(_obj(body, "project")),
            connection_details=[
                ConnectionDetails.from_api(c) for c in _list(body, "connection_uris")
            ],
            branch=Branch.from_api(_obj(body, "branch")),
            endpoints=[Endpoint.from_api(e) for e in _list(body, "endpoints")],
            databases=[Database.from_api(d) for d in _list(body, "databases")],
            roles=[Role.from_api(r) for r in _list(body, "roles")],
            operations=[Operation.from_api(o) for o in _list(body, "operations")],
        )

    @_reads_response
    def update_project(
        self, project_id: str, changes: Mapping[str, Any], *, request_id: str | None = None
    ) -> UpdatedProject:
        body = self._request(
            "PATCH",
            f"/projects/{_seg(project_id)}",
            json={"project": dict(changes)},
            request_id=request_id,
        )
        return UpdatedProject(
            project=Project.from_api(_obj(body, "project")),
            operations=[Operation.from_api(o) for o in _list(body, "operations")],
        )

    @_reads_response
    def delete_project(self, project_id: str, *, request_id: str | None = None) -> Project:
        body = self._request("DELETE", f"/projects/{_seg(project_id)}", request_id=request_id)
        return Project.from_api(_obj(body, "project"))

    @_reads_response
    def recover_project(self, project_id: str, *, request_id: str | None = None) -> Project:
        body = self._request("POST", f"/projects/{_seg(project_id)}/recover", request_id=request_id)
        return Project.from_api(_obj(body, "project"))

    @_reads_response
    def connection_uri(
        self,
        project_id: str,
        *,
        database_name: str,
        role_name: str,
        branch_id: str | None = None,
        endpoint_id: str | None = None,
        pooled: bool = True,  # as the connect page preselects: what most applications want
        request_id: str | None = None,
    ) -> str:
        params = {
            "database_name": database_name,
            "role_name": role_name,
            "branch_id": branch_id,
            "endpoint_id": endpoint_id,
            "pooled": "true" if pooled else "false",
        }
        body = self._request(
            "GET",
            f"/projects/{_seg(project_id)}/connection_uri",
            params=params,
            request_id=request_id,
        )
        return _str(body, "uri")

    @_reads_response
    def available_preload_libraries(self, project_id: str) -> list[PreloadLibrary]:
        body = self._request("GET", f"/projects/{_seg(project_id)}/available_preload_libraries")
        return [PreloadLibrary.from_api(lib) for lib in _list(body, "libraries")]

    # --- What a project contains ---

    @_reads_response
    def list_branches(self, project_id: str) -> list[Branch]:
        """All branches of a project, following the cursor to the end."""
        branches: list[Branch] = []
        cursor: str | None = None
        while True:
            body = self._request(
                "GET",
                f"/projects/{_seg(project_id)}/branches",
                params={"cursor": cursor, "limit": 1000},
            )
            page = [Branch.from_api(b) for b in _list(body, "branches")]
            branches.extend(page)
            cursor = (body.get("pagination") or {}).get("next")
            if not cursor or not page:
                return branches

    @_reads_response
    def get_branch(self, project_id: str, branch_id: str) -> Branch:
        body = self._request("GET", f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}")
        return Branch.from_api(_obj(body, "branch"))

    @_reads_response
    def list_databases(self, project_id: str, branch_id: str) -> list[Database]:
        body = self._request(
            "GET", f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}/databases"
        )
        return [Database.from_api(d) for d in _list(body, "databases")]

    @_reads_response
    def list_roles(self, project_id: str, branch_id: str) -> list[Role]:
        body = self._request(
            "GET", f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}/roles"
        )
        return [Role.from_api(r) for r in _list(body, "roles")]

    @_reads_response
    def reveal_role_password(
        self, project_id: str, branch_id: str, role_name: str, *, request_id: str | None = None
    ) -> str:
        path = (
            f"/projects/{_seg(project_id)}/branches/{_seg(branch_id)}"
            f"/roles/{_seg(role_name)}/reveal_password"
        )
        body = self._request("GET", path, request_id=request_id)
        return _str(body, "password")

    @_reads_response
    def list_endpoints(self, project_id: str) -> list[Endpoint]:
        body = self._request("GET", f"/projects/{_seg(project_id)}/endpoints")
        return [Endpoint.from_api(e) for e in _list(body, "endpoints")]

    @_reads_response
    def list_operations(
        self, project_id: str, *, limit: int = 20, cursor: str | None = None
    ) -> OperationPage:
        body = self._request(
            "GET",
            f"/projects/{_seg(project_id)}/operations",
            params={"limit": limit, "cursor": cursor},
        )
        operations = [Operation.from_api(o) for o in _list(body, "operations")]
        cursor_value = (body.get("pagination") or {}).get("cursor")
        next_cursor = cursor_value if cursor_value and len(operations) >= limit else None
        return OperationPage(operations=operations, next_cursor=next_cursor)

    @_reads_response
    def get_operation(self, project_id: str, operation_id: str) -> Operation:
        body = self._request("GET", f"/projects/{_seg(project_id)}/operations/{_seg(operation_id)}")
        return Operation.from_api(_obj(body, "operation"))

    # --- Account ---

    @_reads_response
    def list_regions(self) -> list[Region]:
        body = self._request("GET", "/regions")
        return [Region.from_api(r) for r in _list(body, "regions")]

    @_reads_response
    def list_organizations(self) -> list[Organization]:
        body = self._request("GET", "/users/me/organizations")
        return [Organization.from_api(o) for o in _list(body, "organizations")]

    @_reads_response
    def get_current_user(self) -> CurrentUser:
        return CurrentUser.from_api(self._request("GET", "/users/me"))

    @_reads_response
    def get_auth_details(self) -> AuthDetails:
        body = self._request("GET", "/auth")
        return AuthDetails(
            account_id=str(_req(body, "account_id")), auth_method=str(_req(body, "auth_method"))
        )


def _seg(value: str) -> str:
    """One URL path segment; IDs come from URLs the operator can type."""
    return quote(str(value), safe="")


_client_lock = threading.Lock()
_client: NeonClient | None = None


def get_client() -> NeonClient:
    """The process-wide client, built once from settings (tests reset it via `reset_client`)."""
    global _client
    with _client_lock:
        if _client is None:
            from django.conf import settings

            _client = NeonClient(
                api_key=settings.NEON_API_KEY,
                base_url=settings.NEON_API_URL,
                connect_timeout=settings.NEON_CONNECT_TIMEOUT,
                read_timeout=settings.NEON_READ_TIMEOUT,
                retry_budget=settings.NEON_RETRY_BUDGET,
                max_attempts=settings.NEON_MAX_ATTEMPTS,
            )
        return _client


def reset_client(**_: Any) -> None:
    global _client
    with _client_lock:
        old, _client = _client, None
    if old is not None:
        # Frees its sockets; a thread still holding it simply reconnects.
        old.close()
