"""The fleet at scale, in the production shape: `.venv/bin/python -m benchmarks.fleet_bench
--seed 1000000 --database-url postgres://postgres@127.0.0.1:5432/neonadmin [--repeat 40]`.

Every part is its own process, as in production: the emulator standing for Neon (answering
after `--latency-ms`), one gunicorn instance (gthread, gunicorn.conf.py) and the worker
(`manage.py fleet_worker --batch`), on PostgreSQL (a `<name>_fleetbench` database made beside
the one named, dropped afterwards unless `--keep`) and Redis. It measures:

- the emulator: seconds to seed, resident memory;
- the refresh, as the worker runs it: seconds, Neon calls, projects a second, the worker's
  peak memory;
- the fleet page over HTTP for the issue's views: p50 and p95 after warm-up, and the server's
  own time (Server-Timing);
- the default view while a second refresh runs in the worker (its first `--during-seconds`):
  p95 beside the p95 without;
- the CSV and JSON exports of every row: seconds, rows, and the web worker's memory growth
  (sampled every 20 ms while the file streams);
- with `--bulk N`, a bulk dry run of N projects (benchmarks.bulk_bench);
- with `--policy FILE`, the policy's evaluation of the whole fleet at the refresh's end.

Numbers, not assertions: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

from benchmarks.operators import ServerTiming
from benchmarks.processes import dashboards, emulator, flush_redis
from scripts.prodserver import ROOT

HEADERS = {"X-Forwarded-Email": "pat@example.test", "X-Forwarded-Groups": "platform-admins"}
CASES = {
    "default (by name)": {},
    "sorted by storage, largest first": {"sort": "-storage"},
    "one organization, Postgres 14": {"org": "__first_org__", "pg": "14"},
    "finding: open to the internet": {"finding": "open-to-the-internet"},
    "search 'billing', by last active": {"q": "billing", "sort": "-active"},
    "idle > 30 days, by compute time": {"idle_days": "30", "sort": "-compute"},
}
# With --policy in force: the views its marks add (issue 21's drift filter, within 50 ms).
POLICY_CASES = {
    "class production, out of policy": {"class": "production", "drift": "yes"},
    "out of one rule (production suspend)": {"rule": "production.suspend_timeout_max"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=20, help="the emulator's, per call")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/neonadmin",
        help="PostgreSQL beside which the benchmark's database is made",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's database")
    parser.add_argument("--bulk", type=int, default=0, help="also dry-run a bulk job of N")
    parser.add_argument(
        "--policy",
        default="",
        help="a policy file in force for the worker (e.g. policy/example-policy.yaml): the "
        "refresh's end evaluates the fleet, and its time is printed",
    )
    parser.add_argument(
        "--during-seconds", type=float, default=120, help="pages timed while a refresh runs"
    )
    args = parser.parse_args()

    database_url = _bench_database(args.database_url)
    flush_redis(args.redis_url)
    with tempfile.TemporaryDirectory() as tmp, _database(database_url, keep=args.keep):
        workdir = Path(tmp)
        started = time.perf_counter()
        with emulator(
            seed=args.seed, latency_ms=args.latency_ms, log_path=workdir / "emulator.log"
        ) as neon:
            seeded = time.perf_counter() - started
            # It stands for Neon, which production never shares a CPU with: its threads yield
            # to the dashboard's (they inherit this from the main thread as they start).
            os.setpriority(os.PRIO_PROCESS, neon.process.pid, 10)
            print(
                f"emulator: {args.seed:,} projects seeded in {seeded:.1f} s, "
                f"{_rss_mib(neon.process.pid):,.0f} MiB resident; latency {args.latency_ms} ms"
            )
            # The fleet alone: the consumption sync a refresh queues is measured on its own
            # (tests/cost counts its calls); here it would share the CPUs with what is timed.
            env = {"DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "COST_SYNC": "false"}
            if args.policy:
                env["POLICY_FILE"] = str(Path(args.policy).resolve())
            with dashboards(
                count=1, workdir=workdir, neon_url=neon.api_url, extra_env=env
            ) as instances:
                web = instances[0]
                worker_env = _worker_env(workdir, neon.api_url, env)
                neon.clear_stats()
                refresh = _refresh(worker_env)
                calls = sum(n for route, n in neon.stats().items() if not route.startswith("429"))
                rows = _rows(database_url)
                print(
                    f"refresh (the worker's batch: the refresh and the tasks its end queues): "
                    f"{rows:,} projects in {refresh.seconds:.1f} s, {calls:,} Neon calls "
                    f"({rows / refresh.seconds:,.0f} projects/s), worker peak "
                    f"{refresh.peak_mib:,.0f} MiB"
                )
                _print_run(database_url)
                if args.policy:
                    _print_evaluation(database_url)
                session = requests.Session()
                session.headers.update(HEADERS)
                first_org = _first_org(database_url)
                cases = {**CASES, **(POLICY_CASES if args.policy else {})}
                without = pages(session, web.url, first_org, args.repeat, cases)
                during(session, web.url, worker_env, without, args.during_seconds)
                for kind in ("csv", "json"):
                    export(session, web.url, web.pid, kind)
                if args.bulk:
                    from benchmarks.bulk_bench import dry_run_in_worker

                    dry_run_in_worker(worker_env, neon, args.bulk)
                peak = max(_status_mib(pid, "VmHWM") for pid in _children(web.pid))
                print(f"web worker peak memory over the whole run: {peak:,.0f} MiB")


# -- The parts ---------------------------------------------------------------------------------


def _bench_database(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "neonadmin"
    return urlunsplit(parts._replace(path=f"/{name}_fleetbench"))


@contextmanager
def _database(url: str, *, keep: bool):
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _worker_env(workdir: Path, neon_url: str, env: dict[str, str]) -> dict[str, str]:
    from benchmarks.processes import dashboard_env

    return dashboard_env(workdir=workdir, neon_url=neon_url, extra=env)


class Ran:
    def __init__(self, seconds: float, peak_mib: float) -> None:
        self.seconds, self.peak_mib = seconds, peak_mib


def _manage(env: dict[str, str], *args: str) -> Ran:
    """`manage.py …` as its own process; its time and peak resident memory (wait4)."""
    started = time.perf_counter()
    # Its log goes to a file: a pipe nobody reads while it runs fills up and stalls it.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        if process.returncode:
            log.seek(0)
            tail = log.read()[-4000:].decode(errors="replace")
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{tail}")
    return Ran(elapsed, usage.ru_maxrss / 1024)


START = "from fleet.tasks import start_refresh; start_refresh(trigger='manual')"


def _refresh(env: dict[str, str]) -> Ran:
    """What an operator's Refresh and the worker do: queue a refresh, run the worker."""
    _manage(env, "shell", "-c", START)
    return _manage(env, "fleet_worker", "--batch", "--verbosity", "0")


def _rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM fleet_inventoryproject WHERE gone_at IS NULL"
        ).fetchone()[0]


def _print_run(database_url: str) -> None:
    """The refresh itself, apart from the tasks its end queues (the policy's default-branch
    reading), which the worker's batch ran too."""
    with psycopg.connect(database_url) as conn:
        seconds, pages = conn.execute(
            "SELECT extract(epoch FROM finished_at - started_at), pages_read "
            "FROM fleet_inventoryrun WHERE status = 'finished' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    print(f"  of which the refresh itself: {float(seconds):.1f} s, {pages:,} pages listed")


def _print_evaluation(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        seconds, classes = conn.execute(
            "SELECT seconds, classes FROM policy_evaluation ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()
        drift = conn.execute("SELECT count(*) FROM policy_drift").fetchone()[0]
    print(f"policy: the fleet evaluated in {seconds:.1f} s, {drift:,} drift rows; {classes}")


def _first_org(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT org_id FROM fleet_inventoryproject WHERE org_id <> '' ORDER BY org_id LIMIT 1"
        ).fetchone()
    return row[0] if row else ""


def _get(session: requests.Session, url: str, params: dict) -> tuple[float, float]:
    """One page: the client's milliseconds and the server's own (Server-Timing total)."""
    t0 = time.perf_counter()
    response = session.get(url, params=params, timeout=60)
    elapsed = (time.perf_counter() - t0) * 1000
    response.raise_for_status()
    return elapsed, ServerTiming.parse(response.headers.get("Server-Timing", "")).total_ms


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def pages(
    session, base: str, first_org: str, repeat: int, cases: dict[str, dict]
) -> dict[str, list[float]]:
    print("\n| fleet page over HTTP | p50 ms | p95 ms | server p50 ms |")
    print("|---|---:|---:|---:|")
    measured = {}
    for name, query in cases.items():
        query = {k: first_org if v == "__first_org__" else v for k, v in query.items()}
        for _ in range(3):  # warm-up: this view's counts are kept from the first
            _get(session, f"{base}/fleet/", query)
        samples = [_get(session, f"{base}/fleet/", query) for _ in range(repeat)]
        client = [c for c, _ in samples]
        measured[name] = client
        print(
            f"| {name} | {statistics.median(client):.1f} | {_p95(client):.1f} | "
            f"{statistics.median(s for _, s in samples):.1f} |"
        )
    return measured


def during(
    session, base: str, env: dict[str, str], without: dict[str, list[float]], seconds: float
) -> None:
    """The default view, asked again and again while the worker refreshes (for `seconds`, or
    to the refresh's end if sooner; the worker is then stopped)."""
    _manage(env, "shell", "-c", START)
    with tempfile.TemporaryFile() as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "fleet_worker", "--batch", "--verbosity", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        time.sleep(2)  # its start (Django, the first list calls)
        samples = []
        ends = time.monotonic() + seconds
        while worker.poll() is None and time.monotonic() < ends:
            samples.append(_get(session, f"{base}/fleet/", {})[0])
            time.sleep(0.05)
        # Killed, not stopped: db_worker finishes the task it is on before it heeds SIGTERM,
        # and that task is the whole refresh.
        worker.kill()
        worker.wait()
    before = without["default (by name)"]
    ratio = _p95(samples) / _p95(before) if len(samples) > 1 else float("nan")
    print(
        f"\nduring a refresh (its first {seconds:.0f} s, {len(samples)} views): default view "
        f"p50 {statistics.median(samples):.1f} ms, p95 {_p95(samples):.1f} ms; without: p95 "
        f"{_p95(before):.1f} ms; ratio {ratio:.2f}"
    )


def export(session, base: str, master_pid: int, kind: str) -> None:
    """The whole inventory as one file, streamed; the web worker's memory while it streams."""
    workers = _children(master_pid)
    before = {pid: _rss_mib(pid) for pid in workers}
    peak = dict(before)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for pid in workers:
                peak[pid] = max(peak[pid], _rss_mib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.perf_counter()
    size = lines = 0
    with session.get(f"{base}/fleet/export.{kind}", stream=True, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - t0
    stop.set()
    sampler.join()
    growth = max(peak[pid] - before[pid] for pid in workers)
    print(
        f"export {kind}: {size / 2**20:,.0f} MiB, {lines:,} lines in {elapsed:.1f} s; "
        f"web worker memory growth {growth:,.1f} MiB (from {max(before.values()):,.0f} MiB)"
    )


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found or [pid]


def _rss_mib(pid: int) -> float:
    return _status_mib(pid, "VmRSS")


def _status_mib(pid: int, field: str) -> float:
    """A memory figure of /proc/PID/status (VmRSS now, VmHWM its peak), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
