"""Run the emulator inside a test process.

    from neon_emulator.testing import run_emulator

    with run_emulator(seed=20, api_keys=["test-key"], op_seconds=0.2) as emu:
        requests.get(emu.base_url + "/projects", headers={"Authorization": "Bearer test-key"})
        emu.set_faults({"status": 503, "count": 1, "method": "POST"})
        emu.stats()  # {"POST /api/v2/projects": 1, ...}
        emu.reset(seed=20, max_autoscaling_limit=2)  # a Free-plan account, until the next reset
        emu.reset(seed=20, org_only=True)  # a user in organizations only, until the next reset
        emu.set_rate_limits(rate_limit="700/min", burst="40/s")  # Neon's, until changed again
        emu.rate_limited()  # how many requests got a 429 for going over them
        emu.set_permission(project_id, "CAN_VIEW")  # writes to it get 403, until the next reset
        emu.set_plan(org_id, "free")  # consumption history gets 403 there, until the next reset
        emu.set_consumption_clock("2026-12-07T18:20:00Z")  # until the next reset; None: real
        emu.reset(seed=20, consumption_rate_limit="off")  # or "5/min"; Neon's 30/min by default
        emu.consumption(project_id, granularity="hourly")  # the raw numbers, every metric
        emu.rate_limited("consumption")  # 429s from the consumption history bucket only
        emu.quota_holds()  # the projects a quota they reached holds, since when and why

Each call starts its own server on a free port with its own state.

``stats()`` counts every /api/v2 request received, per method and route template, whatever its
answer. Requests refused for a rate limit are counted there too, and also under the same key
prefixed with "429 " (``{"GET /api/v2/regions": 12, "429 GET /api/v2/regions": 2}``). Those keys
exist only once such a 429 was sent; injected 429 faults do not count under them.
Rate limits are off unless given (``run_emulator(rate_limit="5/s", burst="2/s")``); a reset
keeps them and empties their windows.

Consumption history (``GET /consumption_history/v2/...``) has a rate limit of its own, per
API key, on from the start at Neon's documented 30 a minute (``consumption_rate_limit="off"``
or another ``N/UNIT`` at start or in a reset, until the next reset). Its 429s count in the stats
as any other, under their routes; ``rate_limited("consumption")`` sums them.

``run_emulator(org_only=True)`` starts as a user who belongs only to organizations: no
personal projects, and ``GET /projects`` or ``POST /projects`` without ``org_id`` gets Neon's
400 "org_id is required, ...". ``reset(org_only=...)`` switches for one test; the next plain
reset goes back to the startup kind, as for ``max_autoscaling_limit``.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from contextlib import contextmanager
from typing import Self

from neon_emulator.app import API_PREFIX, CONSUMPTION_PREFIX, CONSUMPTION_RATE_LIMIT, EmulatorApp
from neon_emulator.limits import DEFAULT_CEILING
from neon_emulator.server import build_server


class RunningEmulator:
    def __init__(self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = build_server(app, host, port)
        bound_host, bound_port = self._server.server_address[:2]
        self.root_url = f"http://{bound_host}:{bound_port}"
        self.base_url = f"{self.root_url}/api/v2"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # ---- lifecycle ---------------------------------------------------------------------

    def stop(self) -> None:
        self.app.closing.set()  # releases injected hangs and latencies
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- control routes, over HTTP like any other client -------------------------------

    def _control(self, method: str, path: str, body=None, params: dict | None = None):
        host, port = self._server.server_address[:2]
        connection = http.client.HTTPConnection(host, port, timeout=10)
        if params:
            path += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        try:
            data = None if body is None else json.dumps(body)
            connection.request(
                method, path, body=data, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            payload = json.loads(response.read())
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {payload}")
        return payload

    def set_faults(self, *faults, seed: int | None = None, **fault) -> list[dict]:
        """Replace the active faults; returns them as the emulator understood them.

        Accepts fault dicts as arguments (``set_faults({...}, {...})``), one list of them, a
        ``{"faults": [...]}`` body, or one fault as keywords (``set_faults(status=503, count=1)``).
        """
        if len(faults) == 1 and isinstance(faults[0], list):
            faults = tuple(faults[0])
        elif len(faults) == 1 and isinstance(faults[0], dict) and "faults" in faults[0]:
            body = dict(faults[0])
            faults = tuple(body.pop("faults"))
            seed = body.pop("seed", seed)
        if fault:
            faults = (*faults, fault)
        body: dict = {"faults": list(faults)}
        if seed is not None:
            body["seed"] = seed
        return self._control("POST", "/_emulator/faults", body)["faults"]

    def faults(self) -> list[dict]:
        return self._control("GET", "/_emulator/faults")["faults"]

    def clear_faults(self) -> None:
        self._control("DELETE", "/_emulator/faults")

    def reset(
        self,
        seed: int | None = None,
        max_autoscaling_limit: float | None = None,
        org_only: bool | None = None,
        consumption_rate_limit: str | None = None,
    ) -> dict:
        """Forget everything (projects, faults, stats) and seed again; returns what was seeded.

        ``max_autoscaling_limit`` sets the account's plan ceiling in CU (0 = none),
        ``org_only`` whether the user belongs only to organizations and
        ``consumption_rate_limit`` the consumption history bucket (``"5/min"``, ``"off"``),
        each until the next reset; without them they go back to what the emulator started
        with. Consumption history reads the real clock again.
        """
        body: dict = {}
        if seed is not None:
            body["seed"] = seed
        if max_autoscaling_limit is not None:
            body["max_autoscaling_limit"] = max_autoscaling_limit
        if org_only is not None:
            body["org_only"] = org_only
        if consumption_rate_limit is not None:
            body["consumption_rate_limit"] = consumption_rate_limit
        return self._control("POST", "/_emulator/reset", body)

    def set_consumption_clock(self, now: str | None) -> dict:
        """The time consumption history takes for now (``"2026-12-07T18:20:00Z"``), until the
        next reset or another call; None is the real clock. Its data stops about 15 minutes
        before it. Returns ``{"now": ...}``."""
        return self._control("PUT", "/_emulator/consumption_clock", {"now": now})

    def set_plan(self, org_id: str, plan: str) -> dict:
        """Put an organization on another plan (``"free"``, ``"launch"``, ``"scale"``,
        ``"business"``, ...) until the next reset. Returns ``{"org_id": ..., "plan": ...}``."""
        return self._control("POST", "/_emulator/plans", {"org_id": org_id, "plan": plan})

    def consumption(
        self,
        project_id: str,
        *,
        from_: str | None = None,
        to: str | None = None,
        granularity: str = "daily",
    ) -> dict:
        """The emulator's raw consumption numbers for one project, live or deleted: every metric
        per bucket (``buckets``), per branch and in total (``totals``, ``branches``) over
        [from, to), without plan, window or rate limit. ``from_`` defaults to the start of
        this month, ``to`` to the end of the current bucket; ``data_until`` says where the data
        stops (about 15 minutes behind the clock)."""
        params = {"project_id": project_id, "from": from_, "to": to, "granularity": granularity}
        return self._control("GET", "/_emulator/consumption", params=params)

    def set_permission(self, project_id: str, level: str | None) -> dict:
        """Set the caller's ``effective_project_permission`` on one project (live or deleted):
        ``"CAN_VIEW"``, ``"CAN_EDIT"``, ``"CAN_MANAGE"``, or None to remove it (the field is then
        omitted and every write allowed). Lasts until the next reset, which seeds the levels
        again. Returns ``{"project_id": ..., "permission": ...}``."""
        body = {"project_id": project_id, "permission": level}
        return self._control("POST", "/_emulator/permissions", body)

    def quota_holds(self, project_id: str | None = None) -> list[dict]:
        """The live projects a quota holds (one, with ``project_id``): ``[{"project_id": ...,
        "held_since": ..., "reached": [{"quota": "compute_time_seconds", "limit": ...,
        "usage": ...}]}]``, oldest first."""
        params = {"project_id": project_id}
        return self._control("GET", "/_emulator/quota_holds", params=params)["holds"]

    def set_rate_limits(self, rate_limit: str | None = None, burst: str | None = None) -> dict:
        """Set both rate limits (None turns one off); every window starts empty.

        ``rate_limit`` is per API key over all routes, ``burst`` per API key and route, each
        ``N/s``, ``N/min`` or ``N/h``. They last until changed again: a reset keeps them.
        Returns them as the emulator understood them.
        """
        body = {"rate_limit": rate_limit, "burst": burst}
        return self._control("PUT", "/_emulator/rate_limits", body)

    def rate_limits(self) -> dict:
        return self._control("GET", "/_emulator/rate_limits")

    def stats(self) -> dict[str, int]:
        return self._control("GET", "/_emulator/stats")

    def rate_limited(self, bucket: str | None = None) -> int:
        """How many requests got a 429 for going over a rate limit (since the stats were zeroed):
        all of them, or those of one bucket, ``"consumption"`` (consumption history) or
        ``"api"`` (every other route)."""
        marker = f" {API_PREFIX}{CONSUMPTION_PREFIX}"
        return sum(
            n
            for key, n in self.stats().items()
            if key.startswith("429 ")
            and (bucket is None or (marker in key) == (bucket == "consumption"))
        )

    def clear_stats(self) -> None:
        self._control("DELETE", "/_emulator/stats")


def start_emulator(
    *,
    seed: int = 0,
    api_keys: list[str] | None = None,
    op_seconds: float = 2.0,
    latency_ms: int = 0,
    max_autoscaling_limit: float = DEFAULT_CEILING,
    rate_limit: str | None = None,
    burst: str | None = None,
    org_only: bool = False,
    consumption_rate_limit: str | None = CONSUMPTION_RATE_LIMIT,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningEmulator:
    """Start an emulator in a background thread; call ``.stop()`` when done.

    ``rate_limit`` (per API key) and ``burst`` (per API key and route), such as ``"700/min"``
    and ``"40/s"``, make it answer 429 beyond them; without them there is no limit.
    """
    app = EmulatorApp(
        seed_count=seed,
        api_keys=api_keys,
        op_seconds=op_seconds,
        latency_ms=latency_ms,
        max_autoscaling_limit=max_autoscaling_limit,
        rate_limit=rate_limit,
        burst=burst,
        org_only=org_only,
        consumption_rate_limit=consumption_rate_limit,
    )
    return RunningEmulator(app, host, port)


@contextmanager
def run_emulator(**kwargs):
    """Context manager around :func:`start_emulator`, same keyword arguments."""
    emulator = start_emulator(**kwargs)
    try:
        yield emulator
    finally:
        emulator.stop()
