"""What the dashboard costs on top of Neon's API, measured as issue 9 asks: `make bench`, or
`.venv/bin/python -m benchmarks.dashboard_bench [--only pages,fragment,load,budget,outage]
[--quick] [--drill-seconds 120]`.

Runs the production shape (gunicorn gthread from gunicorn.conf.py, DEBUG off, WhiteNoise,
SQLite, identity from a trusted SSO proxy) against the emulator, a separate process answering
every call after `--latency-ms` (50), and measures, side by side in one run:

- pages: each page's p50 against one raw Neon call's (`GET /projects/{id}`), after warm-up;
- fragment: the 400-row "Load more" fragment's server time excluding Neon (Server-Timing
  total minus neon);
- load: 100 operators each opening a page every 2 s for 30 s;
- outage: Neon answering 503 to everything for 30 s: reads, writes, 500s;
- budget: two instances sharing Redis, the default budget (600/min, 30/s per route), against
  an emulator enforcing Neon's limits (700/min, 40/s), 30 operators for `--drill-seconds`.

pages, fragment, load and outage share one instance (no Redis: one instance keeps its cache
in each worker) whose own budget is lifted, since that emulator enforces no limit and 100
operators ask Neon for far more than 700 calls a minute; the budget drill alone measures the
budget. Prints one Markdown table with the targets beside the numbers. Numbers, not
assertions: these machines are shared and noisy.
"""

import argparse
import os
import shlex
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import cases
from benchmarks.cases import p50, pct
from benchmarks.processes import CpuMeter, Emulator, Instance, dashboards, emulator, flush_redis

PARTS = ("pages", "fragment", "load", "budget", "outage")
PAGE_TARGETS = {"list": 1.10, "detail": 1.3, "connect": 1.5, "settings": 1.3}
PAGE_LABELS = {
    "list": "Project list `/projects/`",
    "detail": "Project detail `/projects/<id>/` (panels follow by htmx)",
    "connect": "Connection details `/projects/<id>/connect/`",
    "settings": "Settings `/projects/<id>/settings/`",
}
FRAGMENT_TARGET_MS = 30
LOAD_P95_TARGET = 2.0
LOAD_WARMUP = 5  # seconds of sign-ins and cold caches, not counted
REFUSED_TARGET = 0.01
# The single instance's own budget, out of the way: its emulator enforces no limit.
LIFTED_BUDGET = {"NEON_RATE_LIMIT": "1000000/min", "NEON_ROUTE_BURST": "100000/s"}
# The defaults of neonadmin/settings.py, spelled out so that the environment cannot change them.
DRILL_BUDGET = {"NEON_RATE_LIMIT": "600/min", "NEON_ROUTE_BURST": "30/s"}
NEON_LIMITS = {"rate_limit": "700/min", "burst": "40/s"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dashboard_bench", description=__doc__.split("\n\n")[0]
    )
    add = parser.add_argument
    add("--only", default=",".join(PARTS), help=f"comma-separated parts of {','.join(PARTS)}")
    add("--quick", action="store_true", help="a smoke run: few samples, short drills")
    add("--latency-ms", type=int, default=50, help="the emulator's latency per call")
    add("--seed", type=int, default=1500, help="emulator projects (~60%% personal, as listed)")
    add("--samples", type=int, default=60, help="samples per page and of the fragment")
    add("--operators", type=int, default=100, help="operators in the load case")
    add("--load-seconds", type=float, default=30, help="length of the load case, warm-up aside")
    add("--load-interval", type=float, default=2, help="seconds between one operator's pages")
    add("--drill-operators", type=int, default=30, help="operators in the budget drill")
    add("--drill-seconds", type=float, default=120, help="length of the budget drill")
    add("--drill-interval", type=float, default=4, help="seconds between one operator's pages")
    add("--outage-seconds", type=float, default=30, help="how long Neon answers 503")
    add("--projects", type=int, default=10, help="projects operators open pages of")
    add("--redis-url", default="redis://127.0.0.1:6379/14", help="emptied at the drill's start")
    add("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)")
    add("--threads", type=int, help="gunicorn threads per worker (default: gunicorn.conf.py's)")
    add(
        "--workdir",
        type=Path,
        help="keep databases, gunicorn and emulator logs here (default: temporary)",
    )
    args = parser.parse_args(argv)
    args.parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}")
    if args.quick:
        args.samples = min(args.samples, 10)
        args.operators = min(args.operators, 20)
        args.load_seconds = min(args.load_seconds, 8)
        args.drill_operators = min(args.drill_operators, 10)
        args.drill_seconds = min(args.drill_seconds, 15)
        args.outage_seconds = min(args.outage_seconds, 8)
    return args


# --- The report --------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    measured: str
    target: str = ""
    met: bool | None = None
    notes: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)
    baseline_ms: float | None = None  # p50 of one raw Neon call

    def add(self, *rows: Row) -> None:
        for row in rows:
            self.rows.append(row)
            print(f"  {row.measure}: {row.measured}", file=sys.stderr, flush=True)

    def markdown(self, command: str) -> str:
        met = {True: "yes", False: "**no**", None: ""}
        lines = [
            f"`{command}`",
            "",
            *[f"- {line}" for line in self.setup],
            "",
            "| measure | measured | target | met | notes |",
            "|---|---:|---|---|---|",
        ]
        lines += [
            f"| {r.measure} | {r.measured} | {r.target} | {met[r.met]} | {r.notes} |"
            for r in self.rows
        ]
        return "\n".join(lines)


def ratio(ms: float, report: Report) -> float:
    return ms / report.baseline_ms if report.baseline_ms else float("nan")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- The parts ---------------------------------------------------------------------------------


def report_pages(raw: cases.Timed, pages: dict[str, cases.Timed], report: Report) -> None:
    report.baseline_ms = p50(raw.ms)
    report.add(
        Row(
            "One raw Neon call `GET /projects/{id}`, p50",
            f"{report.baseline_ms:.1f} ms",
            notes=f"p95 {pct(raw.ms, 95):.1f} ms; {len(raw.ms)} samples, interleaved with the "
            "pages",
        )
    )
    for page, timed in pages.items():
        page_p50 = p50(timed.ms)
        times = ratio(page_p50, report)
        server = timed.server(lambda t: t.total_ms)
        neon = timed.server(lambda t: t.neon_ms)
        calls = timed.server(lambda t: t.calls)
        own = timed.server(lambda t: t.own_ms)
        if calls <= 1:
            split = f"Neon {neon:.1f} ms in {calls:g} call, own {own:.1f} ms"
        else:  # the calls overlap: their sum says nothing of the page's own time
            split = f"Neon {neon:.1f} ms summed over {calls:g} calls made at once"
        notes = (
            f"server {server:.1f} ms: {split}; HTTP + gunicorn {page_p50 - server:.1f} ms; "
            f"p95 {pct(timed.ms, 95):.1f} ms"
        )
        if timed.failures:
            notes += f"; {timed.failures} samples failed, stale or showed an error"
        report.add(
            Row(
                f"{PAGE_LABELS[page]}, p50 (x one call)",
                f"{page_p50:.1f} ms ({times:.2f}x)",
                f"≤ {PAGE_TARGETS[page]:.2f}x",
                times <= PAGE_TARGETS[page],
                notes,
            )
        )


def report_floor(floor: cases.Timed, args, report: Report) -> None:
    """What no page can go below: one call's time plus the hop through our server."""
    floor_p50 = p50(floor.ms)
    report.add(
        Row(
            f"Floor: `/healthz` after {args.latency_ms} ms idle (no Neon call, no template), p50",
            f"{floor_p50:.1f} ms",
            notes=f"a page making one call can be no faster than one call plus this: "
            f"{ratio(report.baseline_ms + floor_p50, report):.2f}x; p95 {pct(floor.ms, 95):.1f} "
            f"ms",
        )
    )


def report_fragment(fragment: cases.Fragment, report: Report) -> None:
    own = fragment.timed.server(lambda t: t.own_ms)
    total = fragment.timed.server(lambda t: t.total_ms)
    neon = fragment.timed.server(lambda t: t.neon_ms)
    report.add(
        Row(
            f"{fragment.rows}-row “Load more” fragment: server time excluding Neon, p50",
            f"{own:.1f} ms",
            f"< {FRAGMENT_TARGET_MS} ms",
            own < FRAGMENT_TARGET_MS,
            f"`GET {fragment.url[:60]}…` with HX-Request; server {total:.1f} ms, Neon "
            f"{neon:.1f} ms; in the client {p50(fragment.timed.ms):.1f} ms; p95 excluding Neon "
            f"{pct([t.own_ms for t in fragment.timed.timings], 95):.1f} ms",
        )
    )


def cpu_note(browsing: cases.Browsing) -> str:
    cpu = browsing.cpu
    if cpu is None:
        return ""
    others = cpu.machine_busy * (os.cpu_count() or 1) - sum(cpu.cores.values())
    cores = ", ".join(f"{name} {used:.2f}" for name, used in cpu.cores.items())
    return (
        f"CPU: the machine {cpu.machine_busy:.0%} busy; cores used: {cores}, other processes "
        f"{max(0.0, others):.2f}"
    )


def failures_note(browsing: cases.Browsing, shown: int = 6) -> str:
    failed = browsing.failed
    more = f" and {len(failed) - shown} more" if len(failed) > shown else ""
    return f"failed: {browsing.describe(failed[:shown])}{more}; " if failed else ""


def report_load(load: cases.Browsing, neon_per_min: float, args, report: Report) -> None:
    ms = [v.ms for v in load.pages]
    p95 = pct(ms, 95)
    times = ratio(p95, report)
    server = [v.timing.total_ms for v in load.pages if v.ok]
    before_django = [v.ms - v.timing.total_ms for v in load.pages if v.ok]
    report.add(
        Row(
            f"Load: {args.operators} operators, a page each every {args.load_interval:g} s, "
            "page p50 / p95",
            f"{p50(ms):.1f} / {p95:.1f} ms",
            notes=f"{len(ms)} pages in {args.load_seconds:g} s (after {LOAD_WARMUP:g} s of "
            f"warm-up) and {len(load.panels)} detail panels; Neon calls {neon_per_min:.0f}/min; "
            f"server (Server-Timing total) p50 {p50(server):.1f} ms, p95 {pct(server, 95):.1f} "
            f"ms; outside Django (queueing, HTTP) p50 {p50(before_django):.1f} ms, p95 "
            f"{pct(before_django, 95):.1f} ms; {cpu_note(load)}",
        ),
        Row(
            "Load: page p95 (x one call)",
            f"{times:.2f}x",
            f"≤ {LOAD_P95_TARGET:g}x",
            times <= LOAD_P95_TARGET,
        ),
        Row(
            "Load: errors (non-2xx/3xx or no answer)",
            f"{len(load.failed)} of {len(ms) + len(load.panels)}",
            "0",
            not load.failed,
            failures_note(load)
            + f"{len(load.stale)} stale banners, {len(load.errors_shown)} answers showing an "
            "error",
        ),
    )


def report_budget(drill: cases.Browsing, stats: dict[str, int], args, report: Report) -> None:
    refused = sum(n for key, n in stats.items() if key.startswith("429 "))
    sent = sum(n for key, n in stats.items() if not key.startswith("429 "))
    share = refused / sent if sent else 0.0
    visits = drill.pages + drill.panels
    page_ms = [v.ms for v in drill.pages]
    report.add(
        Row(
            f"Budget drill: requests sent to the emulator ({drill.seconds:g} s)",
            f"{sent}",
            notes=f"{sent * 60 / drill.seconds:.0f}/min from 2 instances sharing Redis; "
            f"{args.drill_operators} operators, a page each every {args.drill_interval:g} s",
        ),
        Row(
            "Budget drill: refused by the emulator (429), share",
            f"{refused} ({share:.2%})",
            f"< {REFUSED_TARGET:.0%}",
            share < REFUSED_TARGET,
        ),
        Row(
            "Budget drill: operator pages failed / with the stale banner",
            f"{len(drill.failed)} / {len(drill.stale)} of {len(visits)}",
            "0 failed",
            not drill.failed,
            failures_note(drill)
            + f"{len(drill.pages)} pages + {len(drill.panels)} panels; page p50 "
            f"{p50(page_ms):.1f} ms, p95 {pct(page_ms, 95):.1f} ms; budget wait (Server-Timing) "
            f"p50 {p50([v.timing.budget_ms for v in visits]):.1f} ms, p95 "
            f"{pct([v.timing.budget_ms for v in visits], 95):.1f} ms; {cpu_note(drill)}",
        ),
    )


def report_outage(result: cases.Outage, args, report: Report) -> None:
    reads, writes = result.reads, result.writes
    banner, clear = result.reads_with_banner, result.writes_failed_clearly
    errors = result.server_errors
    other_reads = sorted({f"{v.name} {v.status}" for v in reads if v not in banner})
    other_writes = sorted({f"{v.name} {v.status}" for v in writes if v not in clear})
    fresh_after = sum(1 for v in result.after if v.status == 200 and not v.stale)
    report.add(
        Row(
            f"Outage ({args.outage_seconds:g} s of 503): read pages 200 with the stale banner",
            f"{len(banner)} of {len(reads)}",
            "all",
            len(banner) == len(reads) > 0,
            (f"otherwise: {', '.join(other_reads)}; " if other_reads else "")
            + f"p50 {p50([v.ms for v in reads]):.0f} ms (retries before the last known answer)",
        ),
        Row(
            "Outage: writes (settings save, create) failing clearly",
            f"{len(clear)} of {len(writes)}",
            "all",
            len(clear) == len(writes) > 0,
            (f"otherwise: {', '.join(other_writes)}; " if other_writes else "")
            + f"p50 {p50([v.ms for v in writes]):.0f} ms",
        ),
        Row(
            "Outage: 500s",
            f"{len(errors)}",
            "0",
            not errors,
            f"{len(result.no_answer)} without an answer; after the outage {fresh_after} of "
            f"{len(result.after)} read pages fresh again",
        ),
    )


# --- Running -----------------------------------------------------------------------------------


@contextmanager
def workdir(args, name: str) -> Iterator[Path]:
    if args.workdir:
        path = args.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        yield Path(tmp)


def gunicorn_env(args) -> dict[str, str]:
    env = {}
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    return env


@dataclass
class Target:
    """What a part measures against: the dashboard instances and the emulator behind them."""

    args: argparse.Namespace
    report: Report
    instances: list[Instance]
    neon: Emulator
    projects: list[str]

    @property
    def bases(self) -> list[str]:
        return [instance.url for instance in self.instances]

    def meter(self) -> CpuMeter:
        return CpuMeter(dashboards=self.instances, emulator=self.neon)


def measure_pages(t: Target) -> None:
    raw, pages, floor = cases.page_latency(
        base=t.bases[0],
        emulator=t.neon,
        project_id=t.projects[0],
        samples=t.args.samples,
        warmup=3,
        pause=t.args.latency_ms / 1000,
    )
    report_pages(raw, pages, t.report)
    report_floor(floor, t.args, t.report)


def measure_fragment(t: Target) -> None:
    fragment = cases.load_more_fragment(base=t.bases[0], samples=t.args.samples, warmup=3)
    report_fragment(fragment, t.report)


def measure_load(t: Target) -> None:
    if t.report.baseline_ms is None:  # the pages part did not run to measure it beside them
        raw = cases.raw_latency(emulator=t.neon, project_id=t.projects[0], samples=t.args.samples)
        t.report.baseline_ms = p50(raw.ms)
    t.neon.clear_stats()
    load = cases.operators_browsing(
        bases=t.bases,
        project_ids=t.projects,
        operators=t.args.operators,
        seconds=t.args.load_seconds,
        interval=t.args.load_interval,
        warmup=LOAD_WARMUP,
        meter=t.meter(),
    )
    calls = sum(n for k, n in t.neon.stats().items() if not k.startswith("429 "))
    report_load(load, calls * 60 / (t.args.load_seconds + LOAD_WARMUP), t.args, t.report)


def measure_outage(t: Target) -> None:
    result = cases.outage(
        base=t.bases[0], emulator=t.neon, project_id=t.projects[0], seconds=t.args.outage_seconds
    )
    report_outage(result, t.args, t.report)


def measure_budget(t: Target) -> None:
    t.neon.clear_stats()
    drill = cases.operators_browsing(
        bases=t.bases,
        project_ids=t.projects,
        operators=t.args.drill_operators,
        seconds=t.args.drill_seconds,
        interval=t.args.drill_interval,
        meter=t.meter(),
    )
    report_budget(drill, t.neon.stats(), t.args, t.report)


SINGLE_INSTANCE_PARTS = {
    "pages": measure_pages,
    "fragment": measure_fragment,
    "load": measure_load,
    "outage": measure_outage,  # last: it leaves the caches holding answers from before it
}


def run_part(name: str, measure: Callable[[Target], None], target: Target) -> None:
    """One part; if it breaks, the table says so and the other parts still run."""
    progress(f"{name}…")
    try:
        measure(target)
    except Exception as exc:
        target.report.add(
            Row(f"{name}: did not complete", f"{type(exc).__name__}", notes=str(exc)[:300])
        )


def run_single_instance(args, report: Report) -> None:
    """pages, fragment, load, outage: one instance, one emulator without limits."""
    with (
        workdir(args, "single") as path,
        emulator(
            seed=args.seed, latency_ms=args.latency_ms, log_path=path / "emulator.log"
        ) as neon,
        dashboards(
            count=1,
            workdir=path,
            neon_url=neon.api_url,
            extra_env=LIFTED_BUDGET | gunicorn_env(args),
        ) as instances,
    ):
        target = Target(args, report, instances, neon, cases.project_ids(neon, args.projects))
        for name, measure in SINGLE_INSTANCE_PARTS.items():
            if name in args.parts:
                run_part(name, measure, target)


def run_budget_drill(args, report: Report) -> None:
    """Two instances sharing Redis and the default budget; the emulator enforces Neon's limits."""
    flush_redis(args.redis_url)
    with (
        workdir(args, "drill") as path,
        emulator(
            seed=args.seed,
            latency_ms=args.latency_ms,
            log_path=path / "emulator.log",
            **NEON_LIMITS,
        ) as neon,
        dashboards(
            count=2,
            workdir=path,
            neon_url=neon.api_url,
            extra_env={"REDIS_URL": args.redis_url} | DRILL_BUDGET | gunicorn_env(args),
        ) as instances,
    ):
        target = Target(args, report, instances, neon, cases.project_ids(neon, args.projects))
        run_part("budget", measure_budget, target)


def describe_setup(args, report: Report) -> None:
    workers = args.workers or os.environ.get("GUNICORN_WORKERS", "2")
    threads = args.threads or os.environ.get("GUNICORN_THREADS", "8")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    report.setup = [
        f"{os.cpu_count()} cores, shared (load average {load} at the start); emulator a "
        f"separate process, {args.latency_ms} ms per call, {args.seed} projects; operators "
        f"open pages of the first {args.projects}",
        f"gunicorn.conf.py gthread, {workers} workers x {threads} threads per instance, DEBUG "
        "off, WhiteNoise, SQLite, SSO-proxy identity, session cookies kept",
        "pages, fragment, load, outage: one instance, no Redis, its own budget lifted (that "
        "emulator has no limits); budget drill: two instances, Redis "
        f"{args.redis_url}, budget 600/min and 30/s per route, emulator --rate-limit 700/min "
        "--burst 40/s",
        "a detail page is followed by its three htmx panels in load and drill (counted apart)",
    ]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # A TERM (a CI timeout, say) unwinds like Ctrl-C, so every process started here is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = Report()
    describe_setup(args, report)
    if set(args.parts) & {"pages", "fragment", "load", "outage"}:
        run_single_instance(args, report)
    if "budget" in args.parts:
        run_budget_drill(args, report)
    command = shlex.join([".venv/bin/python", "-m", "benchmarks.dashboard_bench", *sys.argv[1:]])
    print(report.markdown(command))


if __name__ == "__main__":
    main()
