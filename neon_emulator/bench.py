"""Throughput of the emulator: ``python -m neon_emulator.bench [--projects 10000] [--scale]``.

Starts ``python -m neon_emulator`` in a child process (so that client and server do not share
one GIL), seeds it, and prints how long it took to start, its peak memory, a walk through
every project, then requests per second and latency percentiles for a few calls. With
``--scale`` (a fleet of a million: ``--projects 1000000 --scale``) only the start, the memory
and the walk. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from neon_emulator.seed import seed_store
from neon_emulator.store import Store

HEADERS = {"Authorization": "Bearer bench"}
PAGE = 400  # listProjects' largest page


def _measure(label: str, call, count: int, threads: int = 1) -> None:
    def timed(_):
        started = time.perf_counter()
        status = call()
        return time.perf_counter() - started, status

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(timed, range(count)))
    elapsed = time.perf_counter() - started
    latencies = sorted(r[0] for r in results)
    errors = sum(1 for r in results if r[1] >= 400)
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
    print(
        f"{label:<46} {count / elapsed:8.1f} req/s   p50 {p50:6.1f} ms   p95 {p95:6.1f} ms"
        f"   ({count} requests, {threads} thread{'s' if threads > 1 else ''}, {errors} errors)"
    )


def _seed_only(count: int) -> None:
    """The seed alone, in this process: what a start or a reset spends before it listens."""
    started = time.perf_counter()
    seed_store(Store(), count)
    print(
        f"{'seed_store(' + str(count) + ') in process':<46} {time.perf_counter() - started:8.2f} s"
    )


def _server_usage(pid: int) -> str:
    """The server's peak and current memory and CPU time so far, from /proc (Linux)."""
    proc = Path("/proc") / str(pid)
    try:
        status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines())
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return "(memory and CPU time: no /proc here)"
    peak, now = (int(status[key].split()[0]) / 1024 for key in ("VmHWM", "VmRSS"))
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return f"peak RSS {peak:,.0f} MiB, RSS {now:,.0f} MiB, CPU {cpu:.1f} s"


def _walk_fleet(base: str) -> None:
    """Every project the key sees, 400 a page: the personal account, each organization, then
    the shared list, as a fleet inventory reads them."""
    session = requests.Session()
    session.headers.update(HEADERS)
    orgs = session.get(base + "/users/me/organizations", timeout=30).json()["organizations"]
    owners = [("/projects", {}), *(("/projects", {"org_id": o["id"]}) for o in orgs)]
    owners.append(("/projects/shared", {}))
    latencies, projects = [], 0
    started = time.perf_counter()
    for path, params in owners:
        query = {**params, "limit": PAGE}
        while True:
            t = time.perf_counter()
            body = session.get(base + path, params=query, timeout=30).json()
            latencies.append(time.perf_counter() - t)
            projects += len(body["projects"])
            if len(body["projects"]) < PAGE:
                break
            query["cursor"] = body["pagination"]["cursor"]
    elapsed = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000
    label = f"fleet walk at {PAGE}/page, {len(orgs)} orgs + shared"
    print(
        f"{label:<46} {elapsed:8.2f} s      {elapsed / len(latencies) * 1000:6.1f} ms/page"
        f"   p95 {p95:6.1f} ms   ({projects} projects, {len(latencies)} pages)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m neon_emulator.bench")
    parser.add_argument("--projects", type=int, default=10_000, help="projects to seed")
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="only the start, the server's memory and a walk through every project",
    )
    args = parser.parse_args(argv)

    if not args.scale:
        _seed_only(args.projects)
    started = time.perf_counter()
    server = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "neon_emulator", "--port", "0", "--seed", str(args.projects)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline().strip()
        base = line.rsplit(" ", 1)[-1]
        print(
            f"seeded {args.projects} projects and started in {time.perf_counter() - started:.2f} s"
            f" ({_server_usage(server.pid)})"
        )
        session = requests.Session()

        def list_400():
            return session.get(
                base + "/projects", params={"limit": 400}, headers=HEADERS
            ).status_code

        cursor = {"value": None}

        def walk_pages():
            params = {"limit": 400}
            if cursor["value"]:
                params["cursor"] = cursor["value"]
            body = requests.get(
                base + "/projects", params=params, headers=HEADERS, timeout=30
            ).json()
            page = body["projects"]
            cursor["value"] = body["pagination"]["cursor"] if len(page) == 400 else None
            return 200

        def search():
            return requests.get(
                base + "/projects",
                params={"search": "billing-prod", "limit": 400},
                headers=HEADERS,
                timeout=30,
            ).status_code

        def create():
            return requests.post(
                base + "/projects",
                json={"project": {"name": "bench"}},
                headers=HEADERS,
                timeout=30,
            ).status_code

        def get_one():
            return requests.get(base + "/regions", headers=HEADERS, timeout=30).status_code

        _walk_fleet(base)
        print(f"after the walk: {_server_usage(server.pid)}")
        if args.scale:
            return
        n = args.requests
        _measure(f"GET /projects?limit=400 of {args.projects}", list_400, n)
        _measure("GET /projects?limit=400, walking the cursor", walk_pages, n)
        _measure("GET /projects?limit=400, 4 clients", list_400, n, threads=4)
        _measure("GET /projects?search=... (full scan)", search, max(20, n // 10))
        _measure("GET /regions (per-request overhead)", get_one, n)
        _measure("POST /projects", create, n)
        _measure("POST /projects, 8 clients", create, n, threads=8)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
