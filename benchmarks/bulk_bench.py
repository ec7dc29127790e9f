"""A bulk dry run at fleet scale: `.venv/bin/python -m benchmarks.bulk_bench [--projects 10000]
[--database-url postgres://…]`.

Starts the emulator with N projects (the personal account, three organizations, and some
shared), configures Django as production runs it (DEBUG off, the default account budget of
600/min, via benchmarks/render_bench.py), refreshes the fleet inventory once as the worker does,
then makes one bulk job over every project of the inventory (a suspend timeout: a change for
nearly all of them) and times its dry run twice:

- fresh: the inventory was just read, so every project is judged from it;
- stale: every inventory row older than BULK_INVENTORY_FRESH_SECONDS, so the dry run asks Neon
  (listing the accounts, 400 projects a call, where that costs fewer calls than reading each).

Prints the time, the projects judged a second and the Neon calls by route of each. Numbers, not
assertions.
"""

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.render_bench import ROOT, configure_django

CHANGE = {"suspend_mode": "custom", "suspend_timeout_seconds": 1200}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL to measure on (a test_ database is made beside it and dropped); "
        "default in-memory SQLite",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from neon_emulator.testing import run_emulator

    with (
        tempfile.TemporaryDirectory() as tmp,
        run_emulator(seed=args.projects, api_keys=["bench-neon-key-not-real"]) as emu,
    ):
        named = configure_django(
            neon_url=emu.base_url,
            static_root=Path(tmp) / "static",
            database_url=args.database_url,
        )
        from django.db import connection

        print(f"database: {connection.vendor}; emulator with {args.projects} projects")
        try:
            bench_dry_run(emu)
        finally:
            connection.creation.destroy_test_db(named, verbosity=0)


def _calls(emu) -> dict[str, int]:
    return {route: n for route, n in sorted(emu.stats().items()) if not route.startswith("429 ")}


def bench_dry_run(emu) -> None:
    from django.utils import timezone

    from fleet import inventory
    from fleet.models import InventoryDetail, InventoryProject

    emu.clear_stats()
    started = time.perf_counter()
    run = inventory.refresh(inventory.run_start(trigger="manual"))
    print(
        f"inventory refresh: {run.status}, {run.projects_seen} projects, "
        f"{time.perf_counter() - started:.1f} s, {sum(_calls(emu).values())} Neon calls"
    )
    rows = list(
        InventoryProject.objects.filter(gone_at__isnull=True).values_list(
            "project_id", "name", "org_name"
        )
    )
    for label, age in (("fresh", None), ("stale", timedelta(days=1))):
        if age is not None:
            InventoryDetail.objects.update(read_at=timezone.now() - age)
        dry_run(emu, label, rows)


def dry_run(emu, label: str, rows: list[tuple[str, str, str]]) -> None:
    from django.db.models import Count

    from audit.services import Actor
    from bulk import dry_run, services
    from bulk.models import BulkItem

    job = services.job_create(
        actor=Actor(username="bench@example.test"),
        kind="suspend",
        params=CHANGE,
        selection={"bench": label},
        projects=rows,
    )  # its task is queued, and left for no worker: the dry run runs here, timed
    emu.clear_stats()
    started = time.perf_counter()
    job = dry_run.plan(job)
    elapsed = time.perf_counter() - started
    calls = _calls(emu)
    verdicts = dict(job.items.values_list("verdict").annotate(n=Count("id")).order_by())
    pending = verdicts.get(BulkItem.Verdict.PENDING, 0)
    print(
        f"dry run ({label} inventory): {job.status}, {len(rows)} projects in {elapsed:.1f} s "
        f"({len(rows) / elapsed:.0f} projects/s), {sum(calls.values())} Neon calls {calls}; "
        f"verdicts {verdicts}{f', {pending} not judged' if pending else ''}"
    )


# In the production shape (benchmarks.fleet_bench --bulk N): a job over N projects of the
# inventory, its dry run run by the worker's code in a process of its own, timed there.
IN_WORKER = """
import json, time
from audit.services import Actor
from bulk import dry_run, services
from fleet.models import InventoryProject
rows = list(InventoryProject.objects.filter(gone_at__isnull=True).order_by("project_id")
            .values_list("project_id", "name", "org_name")[:{n}])
job = services.job_create(actor=Actor(username="bench@example.test"), kind="suspend",
                          params={change!r}, selection={{"bench": "fleet"}}, projects=rows)
t0 = time.perf_counter()
job = dry_run.plan(job)
print(json.dumps({{"status": job.status, "projects": len(rows),
                   "seconds": time.perf_counter() - t0}}))
"""


def dry_run_in_worker(env: dict, neon, n: int) -> None:
    """A dry run of `n` projects as the worker runs it, after the fleet's refresh: its time and
    the Neon calls it made."""
    import json
    import subprocess

    code = IN_WORKER.format(n=n, change=CHANGE)
    neon.clear_stats()
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env | {"BULK_MAX_PROJECTS": str(n)},
        capture_output=True,
        text=True,
        check=True,
    )
    done = json.loads(result.stdout.strip().splitlines()[-1])
    calls = {k: v for k, v in neon.stats().items() if not k.startswith("429 ")}
    print(
        f"bulk dry run of {done['projects']:,} projects: {done['status']} in "
        f"{done['seconds']:.1f} s, {sum(calls.values())} Neon calls {calls}"
    )


if __name__ == "__main__":
    main()
