"""A simulated operator: one person's browser session on the dashboard, what each page they
open costs, and the words on it that matter to a benchmark (the stale banner, an error).

Identity comes from the trusted SSO proxy's headers, sent with every request. The session and
CSRF cookies are kept as a browser keeps them, although the dashboard (DEBUG off) marks them
Secure and the benchmark speaks plain HTTP: otherwise every request would sign in again and
write a new session, a cost no operator behind TLS pays.
"""

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser

import requests

STALE_BANNER = "Neon is not answering right now"
ERROR_MARK = "flash-error"  # error pages, error fragments, a form's Neon error
TIMEOUT = 60
PAGES = ("list", "detail", "connect", "settings")
PANELS = ("operations", "branches", "endpoints")  # the detail page's, loaded after it by htmx


@dataclass(frozen=True)
class ServerTiming:
    """The dashboard's `Server-Timing` header: neon;dur=…;desc="N calls", budget;dur=…,
    total;dur=…. `neon_ms` adds up the calls, also those made at once."""

    total_ms: float = 0.0
    neon_ms: float = 0.0
    calls: int = 0
    budget_ms: float = 0.0

    @property
    def own_ms(self) -> float:
        return self.total_ms - self.neon_ms

    _METRIC = re.compile(r'(\w+)((?:;\s*\w+=(?:"[^"]*"|[^,;]*))*)')
    _PARAM = re.compile(r';\s*(\w+)=(?:"([^"]*)"|([^,;]*))')

    @classmethod
    def parse(cls, header: str) -> "ServerTiming":
        metrics = {}
        for name, params in cls._METRIC.findall(header or ""):
            pairs = cls._PARAM.findall(params)
            metrics[name] = {key: quoted or bare for key, quoted, bare in pairs}

        def dur(name: str) -> float:
            return float(metrics.get(name, {}).get("dur", 0) or 0)

        calls = metrics.get("neon", {}).get("desc", "0").split(" ", 1)[0]
        return cls(
            total_ms=dur("total"),
            neon_ms=dur("neon"),
            calls=int(calls) if calls.isdigit() else 0,
            budget_ms=dur("budget"),
        )


@dataclass(frozen=True)
class Visit:
    """One request as the operator saw it."""

    name: str
    status: int  # 0: no answer at all (refused, timed out)
    ms: float
    timing: ServerTiming = field(default_factory=ServerTiming)
    stale: bool = False
    error_shown: bool = False
    text: str = field(default="", repr=False)
    at: float = 0.0  # time.monotonic() when it was sent
    error: str = ""  # why there was no answer

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


class Operator:
    """One person with their own session, signed in through the proxy headers."""

    def __init__(self, email: str, groups: str = "platform-admins") -> None:
        self.session = requests.Session()
        self.session.headers.update({"X-Forwarded-Email": email, "X-Forwarded-Groups": groups})

    def get(
        self, name: str, url: str, *, htmx: bool = False, fresh_connection: bool = False
    ) -> Visit:
        return self._send("GET", name, url, htmx=htmx, fresh_connection=fresh_connection)

    def post(self, name: str, url: str, data: dict, *, fresh_connection: bool = False) -> Visit:
        """A form submitted as htmx submits it (the dashboard's forms use hx-post)."""
        return self._send(
            "POST", name, url, htmx=True, data=data, fresh_connection=fresh_connection
        )

    def _send(self, method: str, name: str, url: str, *, htmx: bool, **options) -> Visit:
        headers = {"HX-Request": "true"} if htmx else {}
        if options.pop("fresh_connection"):
            headers["Connection"] = "close"  # the next request may reach another worker
        at, started = time.monotonic(), time.perf_counter()
        try:
            response = self._request(method, url, headers=headers, **options)
        except requests.RequestException as exc:
            ms = (time.perf_counter() - started) * 1000
            return Visit(name, 0, ms, at=at, error=_reason(exc))
        ms = (time.perf_counter() - started) * 1000
        for cookie in self.session.cookies:
            cookie.secure = False  # sent back over plain HTTP, which stands in for TLS here
        text = response.text
        return Visit(
            name,
            response.status_code,
            ms,
            ServerTiming.parse(response.headers.get("Server-Timing", "")),
            stale=STALE_BANNER in text,
            error_shown=ERROR_MARK in text,
            text=text,
            at=at,
        )

    def _request(self, method: str, url: str, **options) -> requests.Response:
        """As a browser sends it: a GET that finds its kept-alive connection closed by the
        server (gunicorn's keepalive is 5 s, an operator may pause longer) is sent once more
        on a new one. A timeout is not retried."""
        options |= {"timeout": TIMEOUT, "allow_redirects": False}
        try:
            return self.session.request(method, url, **options)
        except requests.ConnectionError as exc:
            if method != "GET" or isinstance(exc, requests.Timeout):
                raise
            return self.session.request(method, url, **options)

    def close(self) -> None:
        self.session.close()


def _reason(exc: Exception) -> str:
    """The innermost cause, which says what happened ("RemoteDisconnected", "ReadTimeout")."""
    for _ in range(10):  # a chain, never a cycle, but bounded all the same
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return type(exc).__name__


def page_url(base: str, page: str, project_id: str) -> str:
    if page == "list":
        return f"{base}/projects/"
    suffix = {"detail": "", "connect": "connect/", "settings": "settings/"}[page]
    return f"{base}/projects/{project_id}/{suffix}"


def open_page(
    operator: Operator, base: str, page: str, project_id: str, *, with_panels: bool
) -> list[Visit]:
    """The page, then (detail, `with_panels`) the panels its browser loads right after it.
    The first visit is the page itself: what the operator waits for."""
    visits = [operator.get(page, page_url(base, page, project_id))]
    if page == "detail" and with_panels and visits[0].ok:
        for panel in PANELS:
            url = f"{page_url(base, page, project_id)}?panel={panel}"
            visits.append(operator.get(f"panel {panel}", url, htmx=True))
    return visits


class _FormFields(HTMLParser):
    """What a browser would submit from the first form whose action ends with `action`: its
    inputs, checked boxes, selected options, text areas, and the first named submit button."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.fields: list[tuple[str, str]] = []
        self._inside = self._done = False
        self._select: str | None = None
        self._select_value: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._button_taken = False

    def handle_starttag(self, tag, attrs):
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._inside = a.get("action", "").endswith(self.action)
        if not self._inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind == "submit":
                self._take_button(name, a.get("value", ""))
            elif kind not in ("button", "reset", "file", "image"):
                self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "button" and name and a.get("type", "submit") == "submit":
            self._take_button(name, a.get("value", ""))
        elif tag == "select" and name:
            self._select, self._select_value, self._first_option = name, None, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            self._first_option = value if self._first_option is None else self._first_option
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.append((name, ""))

    def handle_data(self, data):
        if self._textarea is not None:
            name, value = self.fields[-1]
            self.fields[-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "form" and self._inside:
            self._inside, self._done = False, True
        elif tag == "select" and self._select:
            value = self._select_value if self._select_value is not None else self._first_option
            self.fields.append((self._select, value or ""))
            self._select = None
        elif tag == "textarea":
            if self._textarea is not None:
                name, value = self.fields[-1]
                self.fields[-1] = (name, value.removeprefix("\n"))
            self._textarea = None

    def _take_button(self, name: str, value: str) -> None:
        if not self._button_taken:
            self._button_taken = True
            self.fields.append((name, value))


def form_data(html: str, action: str) -> dict[str, list[str]]:
    """The submission of the page's form posting to a URL ending with `action`."""
    parser = _FormFields(action)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    if not data:
        raise ValueError(f"no form posting to …{action} on the page")
    return data
