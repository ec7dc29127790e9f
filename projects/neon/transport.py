"""HTTP to Neon: the one chokepoint every request goes through.

`Transport.request()`
- sends the key as a bearer token, an `X-Request-ID`, and connect and read timeouts;
- keeps one `requests.Session` per thread (sessions are not thread-safe) around one shared,
  thread-safe keep-alive connection pool;
- takes room in the account budget before every attempt, and after a 429 pauses every caller;
- retries with urllib3's `Retry` only where Neon's API guidance says it is safe: GETs after
  network errors and on 423, 429, 502, 503 and 504; writes on 423 and 503 (not applied) and when
  the connection was never made; nothing after a read timeout, since Neon may still be working on
  it. Backoff is exponential with jitter and honours `Retry-After`;
- keeps every call inside a total time budget (our one addition to `Retry`): a retry whose wait
  would end past it is not made, and a late retry gets only the time left to answer;
- logs method, path, outcome, duration, attempt and request id of every attempt: never the key,
  never a body; and counts each in the Prometheus metrics and the page's Server-Timing;
- maps every failure to one `NeonError` subclass (projects.neon.errors) and every 2xx to an
  `Answer`, whose `parse()` turns a body without the spec's shape into NeonBadResponse naming
  that answer's status and request id.
"""

from __future__ import annotations

import contextvars
import email.utils
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import requests
import requests.auth
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util import Retry, Timeout

from projects.neon.budget import Budget
from projects.neon.errors import (
    MSG_BAD_RESPONSE,
    MSG_CONNECTION_LOST,
    MSG_TIMEOUT,
    MSG_TIMEOUT_READ,
    MSG_UNAVAILABLE,
    NeonAuthError,
    NeonBadResponse,
    NeonError,
    NeonLocked,
    NeonRateLimited,
    NeonTimeout,
    NeonUnavailable,
    error_for_status,
)
from projects.neon.metrics import CALLS, LATENCY, RATE_LIMITED, current

# One logger name for the whole client, whichever module logs.
logger = logging.getLogger("projects.neon")

USER_AGENT = "neonadmin/0.1 (+https://github.com/neonadmin)"

# Neon's guidance (GeneralError in the spec): GET is safe to retry; 503 and 423 always are, since
# the request was not applied. 429 and the gateway errors are retried for reads only.
RETRY_STATUSES_READ = frozenset({423, 429, 502, 503, 504})
RETRY_STATUSES_WRITE = frozenset({423, 503})
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# A retry started late in the budget still gets this long to answer.
MIN_RETRY_READ_TIMEOUT = 1.0
# How long everyone waits after a 429 that did not say.
DEFAULT_PAUSE_SECONDS = 1.0


def parse_retry_after(value: str | None) -> float | None:
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


@dataclass(frozen=True)
class Answer:
    """A 2xx from Neon: its decoded body and whom to blame if the body is not what we need."""

    status: int
    request_id: str
    body: Any

    def parse[T](self, read: Callable[[Any], T]) -> T:
        """`read(body)`; a body without the spec's shape is NeonBadResponse for this answer.

        Only what `read` raises counts: errors before the answer arrived are not its fault."""
        try:
            return read(self.body)
        except NeonBadResponse as exc:
            if not exc.request_id:
                exc.status, exc.request_id = self.status, self.request_id
            raise
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            logger.warning(
                "neon response to request_id %s has an unexpected shape: %s",
                self.request_id,
                type(exc).__name__,
            )
            raise NeonBadResponse(
                f"{MSG_BAD_RESPONSE} ({type(exc).__name__})",
                status=self.status,
                request_id=self.request_id,
            ) from None


@dataclass
class _Call:
    """One call's state shared by the `Retry` copies urllib3 makes for each attempt."""

    transport: Transport
    method: str
    path: str
    route: str
    request_id: str
    deadline: float
    attempt: int = 1
    started: float = field(default_factory=time.monotonic)

    def outcome(self, outcome: Any) -> None:
        self.transport.record(self, outcome)

    def next_attempt(self) -> None:
        self.attempt += 1
        self.transport.take_budget(self.route)
        self.started = time.monotonic()


def _error_outcome(error: Exception | None) -> str:
    if isinstance(
        error, urllib3.exceptions.ConnectTimeoutError | urllib3.exceptions.NewConnectionError
    ):
        return "connect-error"
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        return "timeout"
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return "connection-lost"
    return "error"


class _NeonRetry(Retry):
    """urllib3's Retry with three things of ours: no retry after a read timeout, the call's
    total time budget, and each attempt logged, counted and paid for from the budget."""

    call: _Call | None = None
    backoff_base: float = 0.25

    def new(self, **kw: Any) -> _NeonRetry:
        retry = super().new(**kw)
        retry.call, retry.backoff_base = self.call, self.backoff_base
        return retry

    def increment(
        self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None
    ):
        if isinstance(error, urllib3.exceptions.ReadTimeoutError):
            # Neon may still be working on it, and a second wait would double the spinner.
            raise error
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        delay = self._delay(retry, response)
        if self.call and time.monotonic() + delay > self.call.deadline:
            raise urllib3.exceptions.MaxRetryError(
                _pool, url, error or urllib3.exceptions.ResponseError("retry budget spent")
            )
        if self.call:
            self.call.outcome(response.status if response is not None else _error_outcome(error))
            if response is not None and response.status == 429:
                self.call.transport.rate_limited(
                    response.headers.get("Retry-After"), route=self.call.route
                )
        retry._planned = delay
        return retry

    def _delay(self, retry: _NeonRetry, response) -> float:
        if response is not None and self.respect_retry_after_header:
            after = parse_retry_after(response.headers.get("Retry-After"))
            if after is not None:
                return after
        return retry.get_backoff_time()

    def get_backoff_time(self) -> float:
        # Equal jitter: half the exponential step is certain, so backoff always grows.
        step = self.backoff_base * 2 ** max(0, len(self.history) - 1)
        return random.uniform(step / 2, step)

    def sleep(self, response=None) -> None:
        time.sleep(getattr(self, "_planned", self.get_backoff_time()))
        if self.call:
            self.call.next_attempt()


class _DeadlineTimeout(Timeout):
    """The first attempt gets the full read timeout; a retry no more than the budget left (but
    a useful minimum), so that retries keep the whole call near its budget."""

    def __init__(self, *args: Any, call: _Call, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._call = call

    def clone(self) -> Timeout:
        read = self._read
        if self._call.attempt > 1 and isinstance(read, int | float):
            left = self._call.deadline - time.monotonic()
            read = min(read, max(left, MIN_RETRY_READ_TIMEOUT))
        return Timeout(connect=self._connect, read=read, total=self.total)


_retry_for_send: contextvars.ContextVar[Retry | None] = contextvars.ContextVar(
    "neon_retry", default=None
)


class _Adapter(HTTPAdapter):
    """requests fixes retries per adapter; ours are per call (budget, deadline, method), so the
    adapter hands urllib3 the Retry the transport set for the request being sent."""

    @property
    def max_retries(self) -> Retry:  # type: ignore[override]
        return _retry_for_send.get() or Retry(0, read=False)

    @max_retries.setter
    def max_retries(self, _value: Any) -> None:
        pass


class _BearerAuth(requests.auth.AuthBase):
    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:  # never the key
        return "_BearerAuth(***)"


class Transport:
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
        budget: Budget | None = None,
        route_budgets: Mapping[str, Budget] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = (connect_timeout, read_timeout)
        self.retry_budget = retry_budget
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.budget = budget
        # Routes Neon limits apart from the account's allowance (the consumption history's
        # own 30 a minute), by the start of the route ("GET /consumption_history"): they draw
        # from their own budget instead, and a 429 on them pauses only that one.
        self.route_budgets = dict(route_budgets or {})
        # One connection pool for every thread: urllib3's pool manager is thread-safe, while a
        # Session (cookies, settings) is not, so each thread gets its own thin Session around this
        # shared adapter. Threaded servers that start a thread per request (runserver) still
        # reuse kept-alive connections instead of opening one per request.
        self.adapter = _Adapter(pool_connections=1, pool_maxsize=pool_size, pool_block=False)
        self._local = threading.local()

    def close(self) -> None:
        self.adapter.close()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", self.adapter)
            session.mount("https://", self.adapter)
            # An explicit auth object, not a header: requests would otherwise let a ~/.netrc
            # entry for Neon's host replace the key.
            session.auth = _BearerAuth(self._api_key)
            session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
            self._local.session = session
        return session

    def request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        request_id: str | None = None,
    ) -> Answer:
        """Send one API call (with any retries it allows) and return Neon's 2xx answer."""
        request_id = request_id or str(uuid.uuid4())
        call = _Call(
            transport=self,
            method=method,
            path=path,
            route=route,
            request_id=request_id,
            deadline=time.monotonic() + self.retry_budget,
        )
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        self.take_budget(route)
        call.started = time.monotonic()
        token = _retry_for_send.set(self._retry(call))
        try:
            response = self.session.request(
                method,
                f"{self.base_url}{path}",
                params=query,
                json=json,
                headers={"X-Request-ID": request_id},
                timeout=_DeadlineTimeout(connect=self.timeout[0], read=self.timeout[1], call=call),
            )
        except requests.Timeout as exc:
            if isinstance(exc, requests.ConnectTimeout):
                call.outcome("connect-error")
                raise NeonUnavailable(request_id=request_id) from exc
            call.outcome("timeout")
            message = MSG_TIMEOUT if method in WRITE_METHODS else MSG_TIMEOUT_READ
            raise NeonTimeout(message, request_id=request_id) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            never_connected = isinstance(exc, requests.ConnectionError) and _connect_failed(exc)
            call.outcome("connect-error" if never_connected else "connection-lost")
            if method in WRITE_METHODS and not never_connected:
                # A dropped connection may follow an applied write: the operator must check.
                raise NeonTimeout(MSG_CONNECTION_LOST, request_id=request_id) from exc
            raise NeonUnavailable(request_id=request_id) from exc
        except requests.RequestException as exc:
            call.outcome("error")
            raise NeonUnavailable(
                f"{MSG_UNAVAILABLE} ({type(exc).__name__})", request_id=request_id
            ) from exc
        finally:
            _retry_for_send.reset(token)
        status = response.status_code
        call.outcome(status)
        if 200 <= status < 300:
            return Answer(status, request_id, self._decode(response, request_id))
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            self.rate_limited(response.headers.get("Retry-After"), route=route)
        raise self._error_from_response(response, request_id, retry_after)

    def _retry(self, call: _Call) -> _NeonRetry:
        write = call.method in WRITE_METHODS
        retry = _NeonRetry(
            total=self.max_attempts - 1,
            read=0 if write else None,
            other=0 if write else None,
            redirect=0,
            status_forcelist=RETRY_STATUSES_WRITE if write else RETRY_STATUSES_READ,
            allowed_methods=frozenset({call.method}),
            raise_on_status=False,
            raise_on_redirect=False,
            respect_retry_after_header=True,
        )
        retry.call, retry.backoff_base = call, self.backoff_base
        return retry

    def budget_for(self, route: str) -> Budget | None:
        for start, budget in self.route_budgets.items():
            if route.startswith(start):
                return budget
        return self.budget

    def take_budget(self, route: str) -> None:
        budget = self.budget_for(route)
        if budget is None:
            return
        waited = budget.acquire(route, priority=current().priority)
        if waited:
            current().add(budget_seconds=waited)

    def rate_limited(self, retry_after: str | None, *, route: str = "") -> None:
        RATE_LIMITED.inc()
        budget = self.budget_for(route)
        if budget is not None:
            budget.pause(parse_retry_after(retry_after) or DEFAULT_PAUSE_SECONDS)

    def record(self, call: _Call, outcome: Any) -> None:
        seconds = time.monotonic() - call.started
        logger.info(
            "neon %s %s -> %s in %.0f ms (attempt %d, request_id %s)",
            call.method,
            call.path,
            outcome,
            seconds * 1000,
            call.attempt,
            call.request_id,
        )
        CALLS.labels(call.route, str(outcome)).inc()
        LATENCY.labels(call.route).observe(seconds)
        current().add_call(seconds)

    @staticmethod
    def _decode(response: requests.Response, request_id: str) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        # orjson: a 400-project page (400 KiB) decodes in about 40 % of the standard library's
        # time, a tenth of the "Load more" fragment's own time. The spec's numbers are int64,
        # which it keeps exact. A body it cannot read (not UTF-8) goes to the standard library.
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass
        try:
            return response.json()
        except ValueError as exc:
            raise NeonBadResponse(status=response.status_code, request_id=request_id) from exc

    @staticmethod
    def _error_from_response(
        response: requests.Response, request_id: str, retry_after: float | None
    ) -> NeonError:
        status = response.status_code
        cls = error_for_status(status)
        kwargs: dict[str, Any] = {"status": status, "request_id": request_id}
        if cls is NeonRateLimited:
            kwargs["retry_after"] = retry_after
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping):
            # An HTML page from a proxy, or nothing: keep the class (a 502 page is still a 502).
            return cls(**kwargs)
        message = str(body.get("message") or "")
        kwargs["code"] = str(body.get("code") or "")
        kwargs["request_id"] = str(body.get("request_id") or request_id)
        if cls in (NeonAuthError, NeonLocked, NeonRateLimited, NeonUnavailable) and message:
            # Keep our plain instruction first; Neon's own words follow.
            message = f"{cls.default_message} Neon said: {message}"
        return cls(message, **kwargs)


def _connect_failed(exc: requests.ConnectionError) -> bool:
    """True when no byte of the request can have reached Neon (refused, DNS, connect timeout)."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(
        reason,
        urllib3.exceptions.NewConnectionError
        | urllib3.exceptions.NameResolutionError
        | urllib3.exceptions.ConnectTimeoutError,
    )
