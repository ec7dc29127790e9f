"""The WSGI application: routing, auth, errors, rate limits, fault injection, request counting."""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import threading
import uuid
from collections import Counter
from pathlib import Path

from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from neon_emulator import api, billing, limits, permissions, quotas, seed, state
from neon_emulator.errors import CODES, ApiError
from neon_emulator.faults import Fault, parse_faults
from neon_emulator.rate_limits import Rate, RateLimiter, parse_rate
from neon_emulator.store import Store, iso, now_us, parse_iso_us
from neon_emulator.validation import ID_PATTERN

PLAN_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")

API_PREFIX = "/api/v2"
MAX_BODY_BYTES = 1024 * 1024
CONTROL_PREFIX = "/_emulator/"
# Neon documents about 30 consumption history requests a minute per account, in a bucket of
# their own beside the general limits; unlike those, the emulator enforces it unless told not to.
CONSUMPTION_PREFIX = "/consumption_history/"
CONSUMPTION_RATE_LIMIT = "30/min"

# (method, path template as written in the spec, handler)
ROUTES = [
    ("GET", "/projects", api.list_projects),
    ("POST", "/projects", api.create_project),
    ("GET", "/projects/shared", api.list_shared_projects),
    ("GET", "/projects/{project_id}", api.get_project),
    ("PATCH", "/projects/{project_id}", api.update_project),
    ("DELETE", "/projects/{project_id}", api.delete_project),
    ("POST", "/projects/{project_id}/recover", api.recover_project),
    ("GET", "/projects/{project_id}/connection_uri", api.connection_uri),
    (
        "GET",
        "/projects/{project_id}/available_preload_libraries",
        api.available_preload_libraries,
    ),
    ("GET", "/projects/{project_id}/branches", api.list_branches),
    ("GET", "/projects/{project_id}/branches/{branch_id}", api.get_branch),
    # Branch settings, backups and snapshots: what branch policies look at and change.
    ("PATCH", "/projects/{project_id}/branches/{branch_id}", api.update_branch),
    ("GET", "/projects/{project_id}/branches/{branch_id}/backup_schedule", api.get_backup_schedule),
    ("PUT", "/projects/{project_id}/branches/{branch_id}/backup_schedule", api.set_backup_schedule),
    ("POST", "/projects/{project_id}/branches/{branch_id}/snapshot", api.create_snapshot),
    ("POST", "/projects/{project_id}/branches/{branch_id}/finalize_restore", api.finalize_restore),
    ("GET", "/projects/{project_id}/snapshots", api.list_snapshots),
    ("PATCH", "/projects/{project_id}/snapshots/{snapshot_id}", api.update_snapshot),
    ("DELETE", "/projects/{project_id}/snapshots/{snapshot_id}", api.delete_snapshot),
    ("POST", "/projects/{project_id}/snapshots/{snapshot_id}/restore", api.restore_snapshot),
    ("GET", "/projects/{project_id}/branches/{branch_id}/databases", api.list_databases),
    ("GET", "/projects/{project_id}/branches/{branch_id}/roles", api.list_roles),
    (
        "GET",
        "/projects/{project_id}/branches/{branch_id}/roles/{role_name}/reveal_password",
        api.reveal_password,
    ),
    ("GET", "/projects/{project_id}/branches/{branch_id}/endpoints", api.list_branch_endpoints),
    ("GET", "/projects/{project_id}/endpoints", api.list_endpoints),
    ("GET", "/projects/{project_id}/operations", api.list_operations),
    ("GET", "/projects/{project_id}/operations/{operation_id}", api.get_operation),
    ("GET", "/regions", api.list_regions),
    ("GET", "/users/me", api.current_user),
    ("GET", "/users/me/organizations", api.current_user_organizations),
    ("GET", "/organizations/{org_id}", api.get_organization),
    # Consumption history and the spending limit: billing.py.
    ("GET", "/consumption_history/v2/projects", billing.project_consumption),
    ("GET", "/consumption_history/v2/branches", billing.branch_consumption),
    ("GET", "/organizations/{org_id}/billing/spending_limit", billing.get_spending_limit),
    ("PUT", "/organizations/{org_id}/billing/spending_limit", billing.set_spending_limit),
    ("DELETE", "/organizations/{org_id}/billing/spending_limit", billing.delete_spending_limit),
    ("GET", "/auth", api.auth_details),
]
ID_PARAMS = ("project_id", "branch_id", "org_id", "snapshot_id")

HTML_ERROR = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
NON_JSON = "upstream connect error or disconnect/reset before headers. reset reason: overflow"
CANNED_JSON = '{"projects":[{"id":"shiny-wind-02883412","platform_id":"aws","region_id":"aws-'


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON, whatever Python's parser allows.
    raise ValueError(f"{name} is not valid JSON")


def consumption_rate(value, name: str = "consumption_rate_limit") -> Rate | None:
    """Like parse_rate, and ``"off"`` turns the limit off as None does."""
    return None if value == "off" else parse_rate(value, name)


def _werkzeug_rule(template: str) -> str:
    return API_PREFIX + template.replace("{", "<").replace("}", ">")


class EmulatorApp:
    """One emulated Neon account. Instances share nothing."""

    def __init__(
        self,
        *,
        seed_count: int = 0,
        api_keys: list[str] | None = None,
        op_seconds: float = 2.0,
        latency_ms: int = 0,
        max_autoscaling_limit: float = limits.DEFAULT_CEILING,
        rate_limit: str | Rate | None = None,
        burst: str | Rate | None = None,
        org_only: bool = False,
        consumption_rate_limit: str | Rate | None = CONSUMPTION_RATE_LIMIT,
        state_path: str | Path | None = None,
    ) -> None:
        # The account's plan ceiling and kind after a plain reset; a reset may set others.
        self.max_autoscaling_limit = limits.ceiling_value(
            max_autoscaling_limit, "max_autoscaling_limit"
        )
        self.org_only = org_only
        self.store = Store(
            op_seconds=op_seconds,
            max_autoscaling_limit=self.max_autoscaling_limit,
            org_only=org_only,
        )
        self.api_keys = set(api_keys or [])
        self.latency_ms = latency_ms
        self.seed_count = seed_count
        self.faults: list[Fault] = []
        self.fault_rng = random.Random(0)
        self.fault_lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self.stats_lock = threading.Lock()
        # Off unless asked; a reset keeps them, PUT /_emulator/rate_limits changes them.
        self.rate_limiter = RateLimiter(
            parse_rate(rate_limit, "rate_limit"), parse_rate(burst, "burst")
        )
        # The startup value; a reset may set another until the next one.
        self.consumption_rate_limit = consumption_rate(consumption_rate_limit)
        self.consumption_limiter = RateLimiter(self.consumption_rate_limit, None)
        self.consumption_now_us: int | None = None  # None: the real clock
        self.closing = threading.Event()
        by_template: dict[str, dict[str, object]] = {}
        for method, template, handler in ROUTES:
            by_template.setdefault(template, {})[method] = handler
        self.handlers = by_template
        self.url_map = Map(
            [
                Rule(_werkzeug_rule(t), endpoint=t, methods=list(m), strict_slashes=False)
                for t, m in by_template.items()
            ]
        )
        # With a state file, the account is the one saved there (seeded only the first time),
        # and every change is saved as it happens.
        self.state_path = Path(state_path) if state_path else None
        with self.store.lock:
            if self.state_path and self.state_path.exists():
                state.load(self.store, self.state_path)
            else:
                seed.seed_store(self.store, seed_count)
                self.save_state()

    def save_state(self) -> None:
        """Keep the account in the state file, if there is one (call holding the lock)."""
        if self.state_path is not None:
            state.save(self.store, self.state_path)

    # ---- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        request_id = request.headers.get("X-Request-ID", "")[:200] or str(uuid.uuid4())
        path = request.path
        if path.startswith(CONTROL_PREFIX):
            response = self._control(request, request_id)
        elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            response = self._api(request, request_id, environ)
        else:
            response = self._error(ApiError(404, f"no route for {path}"), request_id)
        return response(environ, start_response)

    def _json(self, status: int, body, request_id: str) -> Response:
        response = Response(
            json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json"
        )
        response.headers["X-Request-ID"] = request_id
        return response

    def _error(self, error: ApiError, request_id: str) -> Response:
        body = {"code": error.code, "message": error.message, "request_id": request_id}
        response = self._json(error.status, body, request_id)
        for key, value in error.headers.items():
            response.headers[key] = value
        return response

    # ---- /api/v2 -------------------------------------------------------------------------

    def _api(self, request: Request, request_id: str, environ) -> Response:
        method = request.method
        adapter = self.url_map.bind_to_environ(environ)
        template, path_args, route_error = None, {}, None
        try:
            template, path_args = adapter.match(method=method)
        except MethodNotAllowed as exc:
            route_error = ApiError(
                405,
                f"method {method} not allowed for {request.path}",
                headers={"Allow": ", ".join(sorted(exc.valid_methods or []))},
            )
            template = self._template_for(adapter, request.path)
        except NotFound:
            route_error = ApiError(404, f"no route for {method} {request.path}")
        route = f"{method} {API_PREFIX + template if template else request.path}"
        with self.stats_lock:
            self.stats[route] += 1

        # On arrival: a refused request reaches neither the faults nor the API.
        consumption = template is not None and template.startswith(CONSUMPTION_PREFIX)
        limiter = self.consumption_limiter if consumption else self.rate_limiter
        retry_after = limiter.check(self._key(request), route)
        if retry_after is not None:
            return self._rate_limited(route, retry_after, request_id, consumption=consumption)

        fault = self._pick_fault(method, request.path)
        if fault is not None and not fault.after_apply:
            return self._fault_response(fault, request_id, environ, None)
        try:
            self._authenticate(request)
            if route_error is not None:
                raise route_error
            for key in ID_PARAMS:
                if key in path_args and not ID_PATTERN.match(path_args[key]):
                    raise ApiError(400, f"{key}: must match ^[a-z0-9-]{{1,60}}$")
            body = self._body(request) if method in ("POST", "PATCH", "PUT") else None
            handler = self.handlers[template][method]
            ctx = api.Ctx(
                store=self.store,
                args=request.args,
                body=body,
                api_key=self._key(request),
                consumption_now_us=self.consumption_now_us,
            )
            with self.store.lock:
                api.check_permission(ctx, method, template, path_args)
                status, payload = handler(ctx, **path_args)
                # Serialized under the lock: answers share dicts with the live state.
                text = json.dumps(payload, separators=(",", ":"))
                if method != "GET":
                    self.save_state()
            response = Response(text, status=status, mimetype="application/json")
            response.headers["X-Request-ID"] = request_id
        except ApiError as error:
            response = self._error(error, request_id)
        except Exception as exc:
            response = self._error(
                ApiError(500, f"internal error: {type(exc).__name__}"), request_id
            )
        if fault is not None:
            return self._fault_response(fault, request_id, environ, response)
        return response

    def _template_for(self, adapter, path: str) -> str | None:
        for method in ("GET", "POST", "PATCH", "DELETE"):
            try:
                return adapter.match(path, method=method)[0]
            except (NotFound, MethodNotAllowed):
                continue
        return None

    @staticmethod
    def _key(request: Request) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        return key.strip() if scheme.lower() == "bearer" else ""

    def _authenticate(self, request: Request) -> None:
        if "Authorization" not in request.headers:
            raise ApiError(401, "authorization header is missing")
        key = self._key(request)
        if not key:
            raise ApiError(401, "authorization header must be 'Bearer <api key>'")
        if self.api_keys and key not in self.api_keys:
            raise ApiError(401, "the API key is invalid")

    @staticmethod
    def _body(request: Request):
        try:
            raw = request.get_data(cache=True)
        except RequestEntityTooLarge:
            raise ApiError(413, f"request body exceeds {MAX_BODY_BYTES} bytes") from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ApiError(400, "request body is nested too deeply") from None

    def _rate_limited(
        self, route: str, retry_after: int, request_id: str, *, consumption: bool = False
    ) -> Response:
        with self.stats_lock:
            self.stats[f"429 {route}"] += 1
        # The startup latency still applies, as Neon's gateway takes its time to refuse too;
        # latency faults do not (they belong to the fault injection the request never reached).
        if self.latency_ms:
            self.closing.wait(self.latency_ms / 1000)
        message = "rate limit exceeded, retry later"
        if consumption:
            limit = self.consumption_limiter.rate_limit
            message = f"consumption history rate limit exceeded ({limit} per account), retry later"
        error = ApiError(429, message, headers={"Retry-After": str(retry_after)})
        return self._error(error, request_id)

    # ---- faults --------------------------------------------------------------------------

    def _pick_fault(self, method: str, path: str) -> Fault | None:
        delay_ms = self.latency_ms
        chosen = None
        with self.fault_lock:
            for fault in self.faults:
                if not fault.matches(method, path):
                    continue
                if fault.latency_ms is not None:
                    if fault.fires(self.fault_rng):
                        delay_ms += fault.latency_ms
                elif chosen is None and fault.fires(self.fault_rng):
                    chosen = fault
            # Spent count faults disappear, so GET /_emulator/faults shows what is still armed.
            self.faults = [f for f in self.faults if f.count is None or f.count > 0]
        if delay_ms:
            self.closing.wait(delay_ms / 1000)
        return chosen

    def _fault_response(
        self, fault: Fault, request_id: str, environ, applied: Response | None
    ) -> Response:
        if fault.hang:
            self.closing.wait(fault.hang_seconds)
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                # werkzeug treats this as a dropped connection and sends nothing.
                raise ConnectionAbortedError("injected hang")
            return self._error(ApiError(504, "injected hang ended"), request_id)
        if fault.malformed is not None:
            return self._malformed(fault, request_id, applied)
        message = fault.message or {
            423: "resource is temporarily locked, retry later",
            429: "too many requests",
            503: "service temporarily unavailable",
        }.get(fault.status, f"injected {fault.status} error")
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return self._error(ApiError(fault.status, message, headers=headers), request_id)

    def _malformed(self, fault: Fault, request_id: str, applied: Response | None) -> Response:
        if fault.malformed == "html":
            status = fault.status or 502
            reason = Response(status=status).status.split(" ", 1)[1]
            body = HTML_ERROR.format(status=status, reason=reason)
            response = Response(body, status=status, mimetype="text/html")
        else:
            status = fault.status or 200
            if fault.malformed == "non_json":
                body = NON_JSON
            else:
                full = applied.get_data(as_text=True) if applied is not None else CANNED_JSON
                body = full[: max(1, len(full) // 2)]
            response = Response(body, status=status, mimetype="application/json")
        response.headers["X-Request-ID"] = request_id
        return response

    # ---- control routes ------------------------------------------------------------------

    def _control(self, request: Request, request_id: str) -> Response:
        route = (request.method, request.path.rstrip("/"))
        try:
            if route == ("GET", "/_emulator/faults"):
                return self._json(200, self._faults_json(), request_id)
            if route == ("POST", "/_emulator/faults"):
                faults, fault_seed = parse_faults(self._body(request))
                with self.fault_lock:
                    self.faults = faults
                    if fault_seed is not None:
                        self.fault_rng = random.Random(fault_seed)
                return self._json(200, self._faults_json(), request_id)
            if route == ("DELETE", "/_emulator/faults"):
                with self.fault_lock:
                    self.faults = []
                return self._json(200, self._faults_json(), request_id)
            if route == ("POST", "/_emulator/reset"):
                count, ceiling, org_only, knobs = self._reset_body(self._body(request))
                self.reset(count, max_autoscaling_limit=ceiling, org_only=org_only, **knobs)
                answer = {
                    "seed": count,
                    "projects": count,
                    "shared_projects": seed.shared_count(count),
                    "max_autoscaling_limit": self.store.max_autoscaling_limit,
                    "org_only": self.store.org_only,
                }
                return self._json(200, answer, request_id)
            if route == ("POST", "/_emulator/plans"):
                org_id, plan = self._plan_body(self._body(request))
                with self.store.lock:
                    org = self.store.organizations.get(org_id)
                    if org is None:
                        raise ApiError(404, f"organization {org_id} not found")
                    org.plan = plan
                    self.save_state()
                return self._json(200, {"org_id": org_id, "plan": plan}, request_id)
            if route == ("GET", "/_emulator/consumption_clock"):
                return self._json(200, self._clock_json(), request_id)
            if route == ("PUT", "/_emulator/consumption_clock"):
                self.consumption_now_us = self._clock_body(self._body(request))
                return self._json(200, self._clock_json(), request_id)
            if route == ("GET", "/_emulator/consumption"):
                with self.store.lock:
                    now = self.consumption_now_us or now_us()
                    answer = billing.raw_usage(self.store, request.args, now)
                return self._json(200, answer, request_id)
            if route == ("POST", "/_emulator/permissions"):
                project_id, level = self._permission_body(self._body(request))
                with self.store.lock:
                    store = self.store
                    project = store.projects.get(project_id) or store.deleted.get(project_id)
                    if project is None:
                        raise ApiError(404, f"project {project_id} not found")
                    project.permission = level
                    self.save_state()
                return self._json(200, {"project_id": project_id, "permission": level}, request_id)
            if route == ("GET", "/_emulator/quota_holds"):
                with self.store.lock:
                    answer = self._quota_holds(request.args)
                return self._json(200, answer, request_id)
            if route == ("GET", "/_emulator/rate_limits"):
                return self._json(200, self.rate_limiter.as_json(), request_id)
            if route == ("PUT", "/_emulator/rate_limits"):
                self.rate_limiter.configure(*self._rate_limits_body(self._body(request)))
                return self._json(200, self.rate_limiter.as_json(), request_id)
            if route == ("GET", "/_emulator/stats"):
                with self.stats_lock:
                    return self._json(200, dict(self.stats), request_id)
            if route == ("DELETE", "/_emulator/stats"):
                with self.stats_lock:
                    self.stats.clear()
                return self._json(200, {}, request_id)
        except ApiError as error:
            return self._error(error, request_id)
        known = {
            "/_emulator/consumption",
            "/_emulator/consumption_clock",
            "/_emulator/faults",
            "/_emulator/permissions",
            "/_emulator/plans",
            "/_emulator/quota_holds",
            "/_emulator/rate_limits",
            "/_emulator/reset",
            "/_emulator/stats",
        }
        if route[1] in known:
            return self._error(ApiError(405, f"method {request.method} not allowed"), request_id)
        return self._error(ApiError(404, f"no route for {request.path}"), request_id)

    def _reset_body(self, body) -> tuple[int, float | None, bool | None, dict]:
        """``{"seed": N?, "max_autoscaling_limit": CU?, "org_only": bool?,
        "consumption_rate_limit": "30/min" | "off" | null?}``; absent means the startup value."""
        body = {} if body is None else body
        usage = (
            'expected {"seed": N, "max_autoscaling_limit": CU, "org_only": true or false, '
            '"consumption_rate_limit": "N/UNIT" or "off"}, all optional'
        )
        if not isinstance(body, dict):
            raise ApiError(400, usage)
        unknown = set(body) - {
            "seed",
            "max_autoscaling_limit",
            "org_only",
            "consumption_rate_limit",
        }
        if unknown:
            raise ApiError(400, f"{usage}; unknown field {sorted(unknown)[0]!r}")
        count = body.get("seed", self.seed_count)
        if type(count) is not int or count < 0:
            raise ApiError(400, "seed: expected a non-negative integer")
        ceiling = None
        if "max_autoscaling_limit" in body:
            ceiling = limits.ceiling_value(body["max_autoscaling_limit"], "max_autoscaling_limit")
        org_only = body.get("org_only")
        if org_only is not None and type(org_only) is not bool:
            raise ApiError(400, "org_only: expected true or false")
        knobs: dict = {}
        if "consumption_rate_limit" in body:
            knobs["consumption_rate_limit"] = consumption_rate(body["consumption_rate_limit"])
        return count, ceiling, org_only, knobs

    @staticmethod
    def _clock_body(body) -> int | None:
        """``{"now": "2026-12-07T18:20:00Z" | null}``: null is the real clock."""
        usage = 'expected {"now": "2026-12-07T18:20:00Z" or null}'
        if not isinstance(body, dict) or set(body) != {"now"}:
            raise ApiError(400, usage)
        if body["now"] is None:
            return None
        moment = parse_iso_us(body["now"]) if isinstance(body["now"], str) else None
        if moment is None:
            raise ApiError(400, f"{usage}; now: not such a date-time")
        return moment

    @staticmethod
    def _plan_body(body) -> tuple[str, str]:
        """``{"org_id": "...", "plan": "free_v3"}``: the organization's plan until a reset."""
        usage = 'expected {"org_id": "...", "plan": "scale", "launch", "business", "free", ...}'
        if not isinstance(body, dict) or set(body) != {"org_id", "plan"}:
            raise ApiError(400, usage)
        org_id, plan = body["org_id"], body["plan"]
        if not isinstance(org_id, str) or not ID_PATTERN.match(org_id):
            raise ApiError(400, f"{usage}; org_id: must match ^[a-z0-9-]{{1,60}}$")
        if not isinstance(plan, str) or not PLAN_PATTERN.match(plan):
            raise ApiError(400, f"{usage}; plan: lower-case letters, digits and _")
        return org_id, plan

    @staticmethod
    def _permission_body(body) -> tuple[str, str | None]:
        """``{"project_id": "...", "permission": "CAN_VIEW" | "CAN_EDIT" | "CAN_MANAGE" | null}``;
        null (or absent) removes the level: the project omits the field and allows everything."""
        usage = (
            'expected {"project_id": "...", "permission": "CAN_VIEW", "CAN_EDIT", "CAN_MANAGE" '
            "or null}"
        )
        if not isinstance(body, dict):
            raise ApiError(400, usage)
        unknown = set(body) - {"project_id", "permission"}
        if unknown:
            raise ApiError(400, f"{usage}; unknown field {sorted(unknown)[0]!r}")
        project_id = body.get("project_id")
        if not isinstance(project_id, str) or not ID_PATTERN.match(project_id):
            raise ApiError(400, f"{usage}; project_id: must match ^[a-z0-9-]{{1,60}}$")
        level = body.get("permission")
        if level is not None and level not in permissions.LEVELS:
            raise ApiError(400, f"{usage}; permission: {level!r} is not one of them")
        return project_id, level

    @staticmethod
    def _rate_limits_body(body):
        """``{"rate_limit": "700/min" | null, "burst": "40/s" | null}``; absent means null (off)."""
        body = {} if body is None else body
        usage = 'expected {"rate_limit": "700/min" or null, "burst": "40/s" or null}'
        if not isinstance(body, dict):
            raise ApiError(400, usage)
        unknown = set(body) - {"rate_limit", "burst"}
        if unknown:
            raise ApiError(400, f"{usage}; unknown field {sorted(unknown)[0]!r}")
        return parse_rate(body.get("rate_limit"), "rate_limit"), parse_rate(
            body.get("burst"), "burst"
        )

    def _quota_holds(self, args) -> dict:
        """``GET /_emulator/quota_holds[?project_id=...]``: the live projects a quota holds,
        oldest first, with when and which quotas their usage reached. Without project_id it
        reads every project (builds none): for tests and small seeds, not a million."""
        store = self.store
        project_id = args.get("project_id")
        if project_id is not None:
            project = store.projects.get(project_id)
            if project is None:
                raise ApiError(404, f"project {project_id} not found")
            candidates = [project]
        else:
            candidates = sorted(store.projects.values(), key=lambda p: p.created_us)
        holds = []
        for project in candidates:
            hold = quotas.describe(project)
            if hold is not None:
                since = hold.pop("held_since_us")
                holds.append({**hold, "held_since": iso(since)})
        return {"holds": holds}

    def _clock_json(self) -> dict:
        now = self.consumption_now_us
        return {"now": None if now is None else iso(now)}

    def _faults_json(self) -> dict:
        with self.fault_lock:
            return {"faults": [f.as_json() for f in self.faults]}

    def reset(
        self,
        seed_count: int,
        *,
        max_autoscaling_limit: float | None = None,
        org_only: bool | None = None,
        consumption_rate_limit: Rate | str | None = "startup",
    ) -> None:
        """Forget everything and seed again; the plan ceiling, whether the user belongs
        only to organizations and the consumption history rate limit are the startup ones
        unless given, and consumption history reads the real clock again.

        The rate limits stay as they are, their windows empty.
        """
        if consumption_rate_limit == "startup":
            consumption_rate_limit = self.consumption_rate_limit
        self.consumption_limiter.configure(consumption_rate_limit, None)
        self.consumption_now_us = None
        if max_autoscaling_limit is None:
            max_autoscaling_limit = self.max_autoscaling_limit
        with self.store.lock:
            self.store.reset()
            self.store.max_autoscaling_limit = max_autoscaling_limit
            self.store.org_only = self.org_only if org_only is None else org_only
            seed.seed_store(self.store, seed_count)
            self.save_state()
        with self.fault_lock:
            self.faults = []
        with self.stats_lock:
            self.stats.clear()
        self.rate_limiter.clear()
        self.seed_count = seed_count


def create_app(**kwargs) -> EmulatorApp:
    return EmulatorApp(**kwargs)


__all__ = ["CODES", "EmulatorApp", "create_app"]
