"""The fleet at scale: `.venv/bin/python -m benchmarks.fleet_bench [--seed 10000] [--repeat 40]`.

Starts the emulator with N projects (spread over the personal account and three
organizations), configures Django as production runs it (DEBUG off, via
benchmarks/render_bench.py), refreshes the inventory once as the worker does, and prints the
refresh's time and Neon calls, then the fleet page's server time (p50, p95) over the whole
inventory for a few sorts and filters, each an indexed query plus one GROUP BY per facet.
Numbers, not assertions.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.render_bench import PROXY_HEADERS, ROOT, configure_django, timed

CASES = {
    "default (by name)": {},
    "sorted by storage, largest first": {"sort": "-storage"},
    "one organization, Postgres 14": {"org": "__first_org__", "pg": "14"},
    "finding: open to the internet": {"finding": "open-to-the-internet"},
    "search 'billing', by last active": {"q": "billing", "sort": "-active"},
    "idle > 30 days, by compute time": {"idle_days": "30", "sort": "-compute"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL to measure on, e.g. postgres://postgres@127.0.0.1:5432/neonadmin (a "
        "test_ database is made beside it and dropped); default in-memory SQLite",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from neon_emulator.testing import run_emulator

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with run_emulator(seed=args.seed, api_keys=["bench-neon-key-not-real"]) as emu:
            seeded = time.perf_counter() - started
            named = configure_django(
                neon_url=emu.base_url,
                static_root=Path(tmp) / "static",
                database_url=args.database_url,
            )
            from django.db import connection

            print(f"database: {connection.vendor}")
            try:
                refresh(emu, args.seed, seeded)
                pages(args.repeat)
            finally:
                connection.creation.destroy_test_db(named, verbosity=0)


def refresh(emu, seed: int, seeded: float) -> None:
    from fleet import inventory
    from fleet.models import InventoryProject

    emu.clear_stats()
    run = inventory.run_start(trigger="manual")
    t0 = time.perf_counter()
    run = inventory.refresh(run)
    elapsed = time.perf_counter() - t0
    calls = sum(n for route, n in emu.stats().items() if not route.startswith("429 "))
    print(f"emulator with {seed} projects started in {seeded:.1f} s")
    print(
        f"refresh: {run.status}, {run.projects_seen} projects in {run.scopes_total} accounts "
        f"(personal + organizations), {run.pages_read} pages, {calls} Neon calls, "
        f"{elapsed:.1f} s; inventory rows {InventoryProject.objects.count()}"
    )


def pages(repeat: int) -> None:
    from django.test import Client

    from fleet.models import InventoryProject

    client = Client(headers=PROXY_HEADERS)
    first_org = InventoryProject.objects.exclude(org_id="").values_list("org_id", flat=True)[0]
    print(f"\n| fleet page over {InventoryProject.objects.count()} rows | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name, query in CASES.items():
        query = {k: first_org if v == "__first_org__" else v for k, v in query.items()}

        def get(query=query):
            response = client.get("/fleet/", query)
            assert response.status_code == 200, response.status_code

        samples = timed(get, repeat)
        p95 = statistics.quantiles(samples, n=20)[-1]
        print(f"| {name} | {statistics.median(samples):.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
