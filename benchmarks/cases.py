"""The measurements of `benchmarks.dashboard_bench`, one function each; every one returns its
numbers and judges none of them (the report sets them beside the targets).

- `page_latency`: each page and one raw Neon call, timed in turn, sample after sample.
- `load_more_fragment`: the 400-row "Load more" fragment, the server's own time.
- `operators_browsing`: operators opening pages on a schedule (the load case and the budget
  drill).
- `outage`: Neon answering 503 to everything; what reads and writes look like meanwhile.
"""

import math
import random
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

import requests

from benchmarks.operators import (
    PAGES,
    Operator,
    ServerTiming,
    Visit,
    form_data,
    open_page,
    page_url,
)
from benchmarks.processes import KEY, CpuMeter, CpuUse, Emulator

FRAGMENT_ROWS = 400  # Neon's largest page, and the list's largest "Per page"


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile: an observed value, defined for any number of samples."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def project_ids(emulator: Emulator, count: int) -> list[str]:
    """The first projects of the list, the ones operators see first."""
    response = requests.get(
        f"{emulator.api_url}/projects",
        params={"limit": count},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    )
    response.raise_for_status()
    return [p["id"] for p in response.json()["projects"]]


# --- Pages, side by side with the raw call -----------------------------------------------------


@dataclass
class Timed:
    """Samples of one case: client-side milliseconds and, for dashboard pages, Server-Timing."""

    name: str
    ms: list[float] = field(default_factory=list)
    timings: list[ServerTiming] = field(default_factory=list)
    failures: int = 0

    def add(self, visit: Visit) -> None:
        if not visit.ok or visit.error_shown or visit.stale:
            self.failures += 1
        self.ms.append(visit.ms)
        self.timings.append(visit.timing)

    def server(self, metric: Callable[[ServerTiming], float]) -> float:
        return p50([metric(t) for t in self.timings])


def raw_call(session: requests.Session, url: str) -> float:
    started = time.perf_counter()
    response = session.get(url, timeout=30)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def page_latency(
    *, base: str, emulator: Emulator, project_id: str, samples: int, warmup: int, pause: float
) -> tuple[Timed, dict[str, Timed], Timed]:
    """One operator (one keep-alive connection, so one worker and its warm cache) opening each
    page in turn, and the raw `GET /projects/{id}` beside them, in a shuffled order each round
    so that a noisy moment costs every case alike. Returns (raw call, pages, floor).

    The floor is `/healthz` (no Neon call, no template, no sign-in) sent after `pause` idle
    seconds, as long as a page waits for Neon: what the hop through gunicorn and Django costs
    the operator on its own, on a machine that has been idle that long."""
    raw = Timed("raw")
    floor = Timed("floor")
    pages = {page: Timed(page) for page in PAGES}
    operator = Operator("pages@example.test")
    rng = random.Random(9)
    raw_url = f"{emulator.api_url}/projects/{project_id}"
    with requests.Session() as neon:
        neon.headers["Authorization"] = f"Bearer {KEY}"
        for _ in range(warmup):  # connections, sign-in, the gateway's caches
            raw_call(neon, raw_url)
            for page in PAGES:
                operator.get(page, page_url(base, page, project_id))
        for _ in range(samples):
            order = ["raw", "floor", *PAGES]
            rng.shuffle(order)
            for case in order:
                if case == "raw":
                    raw.ms.append(raw_call(neon, raw_url))
                elif case == "floor":
                    time.sleep(pause)
                    floor.add(operator.get(case, f"{base}/healthz"))
                else:
                    pages[case].add(operator.get(case, page_url(base, case, project_id)))
    operator.close()
    return raw, pages, floor


def raw_latency(*, emulator: Emulator, project_id: str, samples: int) -> Timed:
    """One Neon call, alone (when the page case does not run to measure it beside the pages)."""
    raw = Timed("raw")
    url = f"{emulator.api_url}/projects/{project_id}"
    with requests.Session() as neon:
        neon.headers["Authorization"] = f"Bearer {KEY}"
        raw_call(neon, url)
        raw.ms = [raw_call(neon, url) for _ in range(samples)]
    return raw


# --- The 400-row "Load more" fragment -----------------------------------------------------------


@dataclass
class Fragment:
    timed: Timed
    rows: int
    url: str


def load_more_fragment(*, base: str, samples: int, warmup: int) -> Fragment:
    """The list at 400 per page, then its "Load more" exactly as the page's own form asks for it
    (its hidden fields: the filters and Neon's cursor), as htmx sends it."""
    operator = Operator("fragment@example.test")
    page = operator.get("list 400", f"{base}/projects/?{urlencode({'limit': FRAGMENT_ROWS})}")
    if not page.ok or 'id="load-more"' not in page.text:
        raise RuntimeError(
            f"no Load more on the 400-row list (status {page.status}): seed more projects"
        )
    load_more = page.text[page.text.index('id="load-more"') :]
    url = f"{base}/projects/?{urlencode(form_data(load_more, '/projects/'), doseq=True)}"
    for _ in range(warmup):
        operator.get("fragment", url, htmx=True)
    timed = Timed("fragment")
    last = None
    for _ in range(samples):
        last = operator.get("fragment", url, htmx=True)
        timed.add(last)
    operator.close()
    rows = last.text.count("<tr") - last.text.count('id="load-more"') if last else 0
    return Fragment(timed, rows, url.removeprefix(base))


# --- Operators browsing ------------------------------------------------------------------------


@dataclass
class Browsing:
    pages: list[Visit] = field(default_factory=list)  # what operators waited for
    panels: list[Visit] = field(default_factory=list)  # loaded by htmx after a detail page
    started: float = 0.0  # time.monotonic() of the first counted visit
    seconds: float = 0.0
    cpu: CpuUse | None = None

    @property
    def failed(self) -> list[Visit]:
        return [v for v in self.pages + self.panels if not v.ok]

    @property
    def stale(self) -> list[Visit]:
        return [v for v in self.pages + self.panels if v.stale]

    @property
    def errors_shown(self) -> list[Visit]:
        """2xx/3xx answers that still show an error (a panel or URI Neon could not give)."""
        return [v for v in self.pages + self.panels if v.ok and v.error_shown]

    def describe(self, visits: list[Visit]) -> str:
        """What each was and when, from the start of counting: "settings 503 at 2 s, …"."""
        return ", ".join(
            f"{v.name} {v.status or f'no answer ({v.error})'} at {v.at - self.started:.0f} s"
            for v in visits
        )


def operators_browsing(
    *,
    bases: list[str],
    project_ids: list[str],
    operators: int,
    seconds: float,
    interval: float,
    warmup: float = 0.0,
    seed: int = 7,
    meter: CpuMeter | None = None,
) -> Browsing:
    """`operators` people, each opening a random page (list, detail with its panels, connect,
    settings of a random project, on a random instance) about every `interval` seconds, jittered
    ±50%, on a fixed schedule whatever the answers take. Each starts at a random moment of the
    first interval; pages opened during `warmup` (sign-ins, cold caches) are not counted."""
    lock = threading.Lock()
    started = time.monotonic() + 0.5
    end = started + warmup + seconds
    result = Browsing(started=started + warmup, seconds=seconds)

    def browse(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        operator = Operator(f"operator{number}@example.test")
        at = started + rng.uniform(0, interval)
        while at < end:
            time.sleep(max(0.0, at - time.monotonic()))
            page, project_id = rng.choice(PAGES), rng.choice(project_ids)
            visits = open_page(operator, rng.choice(bases), page, project_id, with_panels=True)
            visits = [replace(v, text="") for v in visits]  # thousands of pages: keep numbers
            if at >= started + warmup:
                with lock:
                    result.pages.append(visits[0])
                    result.panels.extend(visits[1:])
            at += interval * rng.uniform(0.5, 1.5)
        operator.close()

    threads = [threading.Thread(target=browse, args=(n,), daemon=True) for n in range(operators)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, result.started - time.monotonic()))
    if meter:
        meter.start()
    for thread in threads:
        thread.join()
    if meter:
        result.cpu = meter.stop()
    return result


# --- Outage ------------------------------------------------------------------------------------

READS = PAGES
WRITES = ("settings save", "create")
RETRY_PAUSE = 0.5


@dataclass
class Outage:
    reads: list[Visit] = field(default_factory=list)
    writes: list[Visit] = field(default_factory=list)
    after: list[Visit] = field(default_factory=list)  # once Neon answers again

    @property
    def reads_with_banner(self) -> list[Visit]:
        return [v for v in self.reads if v.status == 200 and v.stale]

    @property
    def writes_failed_clearly(self) -> list[Visit]:
        return [v for v in self.writes if v.status not in (0, 500) and v.error_shown]

    @property
    def server_errors(self) -> list[Visit]:
        return [v for v in self.reads + self.writes if v.status == 500]

    @property
    def no_answer(self) -> list[Visit]:
        return [v for v in self.reads + self.writes if v.status == 0]


class _Writer:
    """An operator holding a form (and its CSRF cookie), read while Neon still answered."""

    def __init__(self, base: str, kind: str, project_id: str) -> None:
        self.operator = Operator(f"writer-{kind.replace(' ', '-')}@example.test")
        self.kind = kind
        self.submitted = 0
        if kind == "create":
            self.url, action = f"{base}/projects/new/", "/projects/new/"
        else:
            self.url = page_url(base, "settings", project_id)
            action = f"/projects/{project_id}/settings/"
        page = self.operator.get(kind, self.url)
        if page.status != 200:
            raise RuntimeError(f"{kind}: the form did not load before the outage ({page.status})")
        self.data = form_data(page.text, action)
        self.name = self.data["name"][0]

    def submit(self) -> Visit:
        self.submitted += 1
        suffix = f"outage-drill-{self.submitted}"
        name = suffix if self.kind == "create" else f"{self.name}-{suffix}"
        data = self.data | {"name": [name]}
        return self.operator.post(self.kind, self.url, data, fresh_connection=True)


def _warm_every_worker(base: str, project_id: str, rounds: int) -> None:
    """Each read page and the create form, on new connections several at a time, so every
    worker (each keeps its own cache without Redis) has seen them before Neon goes away."""
    urls = [page_url(base, page, project_id) for page in READS] + [f"{base}/projects/new/"]
    local = threading.local()

    def visit(url: str) -> None:
        if not hasattr(local, "operator"):
            local.operator = Operator("warmup@example.test")
        local.operator.get("warm-up", url, fresh_connection=True)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(visit, urls * rounds))


def outage(*, base: str, emulator: Emulator, project_id: str, seconds: float) -> Outage:
    """After warm-up visits, Neon answers 503 to everything for `seconds`: one operator per
    read page and per write keeps trying (each request on a new connection, so on either
    worker) until Neon is back; then each read page once more."""
    _warm_every_worker(base, project_id, rounds=4)
    writers = [_Writer(base, kind, project_id) for kind in WRITES]
    result = Outage()
    lock = threading.Lock()
    emulator.set_faults({"status": 503})
    end = time.monotonic() + seconds

    def keep_trying(act: Callable[[], Visit], into: list[Visit]) -> None:
        while time.monotonic() < end:
            visit = act()
            with lock:
                into.append(visit)
            time.sleep(RETRY_PAUSE)  # a person reads the answer before trying again

    readers = {page: Operator(f"reader-{page}@example.test") for page in READS}
    acts = [
        (lambda p=page, o=op: o.get(p, page_url(base, p, project_id), fresh_connection=True),
         result.reads)
        for page, op in readers.items()
    ] + [(writer.submit, result.writes) for writer in writers]  # fmt: skip
    try:
        threads = [threading.Thread(target=keep_trying, args=act, daemon=True) for act in acts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        emulator.clear_faults()
    for page, operator in readers.items():
        result.after.append(operator.get(page, page_url(base, page, project_id)))
        operator.close()
    for writer in writers:
        writer.operator.close()
    return result
