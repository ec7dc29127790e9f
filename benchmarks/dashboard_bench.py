"""What the dashboard costs on top of Neon's API: `make bench` (or
`.venv/bin/python -m benchmarks.dashboard_bench [--requests N] [--seed N]`).

Starts the emulator (seeded) and the dashboard in its production shape (gunicorn gthread,
DEBUG off, behind a trusted SSO proxy), then times, side by side in one run, the raw API call
and the dashboard pages that make it. Prints a Markdown table: latency percentiles per case,
the ratio of each to the raw call, and throughput under concurrent load. Numbers, not
assertions: these machines are shared and noisy.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from scripts.prodserver import PROXY_HEADERS, ROOT, free_port, production_server

KEY = "bench-neon-key-not-real"


def start_emulator(seed: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "neon_emulator",
            "--port",
            str(port),
            "--seed",
            str(seed),
            "--api-key",
            KEY,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    proc.stdout.readline()
    return proc, f"http://127.0.0.1:{port}/api/v2"


def timed(session: requests.Session, url: str, n: int, **kwargs) -> list[float]:
    session.get(url, **kwargs).raise_for_status()  # warm up (caches, connections)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = session.get(url, **kwargs)
        samples.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    return samples


def throughput(url: str, headers: dict, *, threads: int, seconds: float) -> float:
    done = [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        with requests.Session() as s:
            while time.monotonic() < stop:
                s.get(url, headers=headers, timeout=30).raise_for_status()
                done[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done) / seconds


def pct(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per case")
    parser.add_argument("--seed", type=int, default=1000, help="projects in the emulator")
    parser.add_argument("--threads", type=int, default=8, help="clients for the load case")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of the load case")
    args = parser.parse_args()

    emulator, api = start_emulator(args.seed)
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            production_server(
                workdir=Path(tmp), neon_url=api, neon_key=KEY, workers=2, threads=8
            ) as web,
            requests.Session() as s,
        ):
            auth = {"Authorization": f"Bearer {KEY}"}
            first = s.get(f"{api}/projects", params={"limit": 10}, headers=auth).json()
            project_id = first["projects"][0]["id"]
            cursor = first["pagination"]["cursor"]
            hx = PROXY_HEADERS | {"HX-Request": "true"}
            cases = [
                ("Neon API: GET /projects?limit=10 (raw)", f"{api}/projects?limit=10", auth),
                ("Dashboard: project list, full page", f"{web}/projects/", PROXY_HEADERS),
                ("Dashboard: search (htmx partial)", f"{web}/projects/?search=prod", hx),
                ("Dashboard: load more (htmx rows)", f"{web}/projects/?cursor={cursor}", hx),
                ("Neon API: GET /projects/{id} (raw)", f"{api}/projects/{project_id}", auth),
                ("Dashboard: project detail page", f"{web}/projects/{project_id}/", PROXY_HEADERS),
                # 3 Neon calls (project, preload libraries, plan ceiling: cached 5 min)
                (
                    "Dashboard: settings page",
                    f"{web}/projects/{project_id}/settings/",
                    PROXY_HEADERS,
                ),
                # 3 + one per branch (project, endpoints, branches, databases of each branch)
                ("Dashboard: delete page", f"{web}/projects/{project_id}/delete/", PROXY_HEADERS),
            ]
            print(
                f"{args.requests} sequential requests per case; emulator seeded with "
                f"{args.seed} projects; gunicorn 2 workers x 8 threads, DEBUG off.\n"
            )
            print("| case | p50 ms | p95 ms | mean ms | p50 vs raw |")
            print("|---|---:|---:|---:|---:|")
            raw_p50 = None
            for name, url, headers in cases:
                samples = timed(s, url, args.requests, headers=headers, timeout=30)
                p50 = statistics.median(samples)
                if "(raw)" in name:
                    raw_p50 = p50
                ratio = "1.0x" if "(raw)" in name else f"{p50 / raw_p50:.1f}x"
                print(
                    f"| {name} | {p50:.1f} | {pct(samples, 95):.1f} | "
                    f"{statistics.fmean(samples):.1f} | {ratio} |"
                )
            rate = throughput(
                f"{web}/projects/", PROXY_HEADERS, threads=args.threads, seconds=args.seconds
            )
            raw_rate = throughput(
                f"{api}/projects?limit=10", auth, threads=args.threads, seconds=args.seconds
            )
            print(
                f"\nThroughput with {args.threads} concurrent clients for {args.seconds:.0f} s: "
                f"dashboard list page {rate:.0f} req/s; raw API list {raw_rate:.0f} req/s "
                f"(both on this 2-core machine, sharing it)."
            )
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
