"""What the project list costs the dashboard itself, without Neon's latency:
`.venv/bin/python -m benchmarks.render_bench [--repeat N] [--seed N] [--profile CASE]`.

Starts the emulator in-process, configures Django as production runs it (DEBUG off, so the
cached template loader and the manifest static storage), fetches the Neon data once and stops
the emulator, then times the list page (10 rows) and a 400-row "Load more" fragment (the rows
partial, as an htmx request with a cursor) at three depths, all over the same fetched pages:

- "whole request": django.test.Client through every middleware, signed in by trusted proxy
  headers (sessions and users in an in-memory SQLite database), the selectors answering from
  memory;
- "the view only": the list view called directly with a signed-in viewer (the form, the
  presenter, the page-or-fragment choice and the render);
- "template only": the presenter and `render_to_string` of the page or partial.

The selectors answer from memory above, so Neon's answer is never decoded there; two more cases
time that part of the fragment's own time on the raw 400-row body as Neon sent it: decoding its
JSON (what requests' `response.json()` does) and parsing it into a `ProjectPage` (the client's
`parse_project_page`).

Prints p50, p95 and min in milliseconds; `--profile request-400` (or another case: request-10,
view-10, view-400, template-10, template-400, decode-400, parse-400) prints what cProfile finds
dominating instead.
Numbers, not assertions: these machines are shared and noisy, so compare runs made together.
"""

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

KEY = "bench-neon-key-not-real"
ROOT = Path(__file__).resolve().parent.parent
PROXY_HEADERS = {"X-Forwarded-Email": "pat@example.test", "X-Forwarded-Groups": "platform-viewers"}


# Django's and the project's modules are imported inside the functions below: the settings read
# the environment that configure_django sets first.


def configure_django(*, neon_url: str, static_root: Path, database_url: str = "") -> str:
    """Production-shaped settings from the environment, as scripts/prodserver.py feeds them.
    The database is a throwaway one: in-memory SQLite, or with `database_url` a test database
    created beside the one it names (`test_<name>`). Returns the name to give
    `destroy_test_db` when done."""
    for name in ("NEONADMIN_DEMO", "DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "neonadmin.settings",
            "DEBUG": "false",
            "SECRET_KEY": "render-bench-secret-key-not-real-" + "x" * 20,
            "NEON_API_KEY": KEY,
            "NEON_API_URL": neon_url,
            "ALLOWED_HOSTS": "testserver",
            "STATIC_ROOT": str(static_root),
            # Signed in by a trusted SSO proxy's headers, as benchmarks/dashboard_bench.py is.
            "NEONADMIN_AUTH_MODE": "proxy",
            "NEONADMIN_PROXY_TRUST_PLAIN_HEADERS": "true",
            "NEONADMIN_TRUSTED_PROXIES": "127.0.0.1/32",
            "NEONADMIN_VIEWER_GROUPS": "platform-viewers",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    # The manifest storage needs its manifest to resolve {% static %}, as in production.
    call_command("collectstatic", interactive=False, verbosity=0)
    # Sessions and users in a throwaway database, never the project's file or named database.
    named = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0)
    return named


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    for _ in range(5):  # warm up: template compilation, URL resolver, caches
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="renders per case")
    parser.add_argument("--seed", type=int, default=450, help="projects in the emulator")
    parser.add_argument(
        "--profile", metavar="CASE", help="cProfile one case instead, e.g. view-400"
    )
    parser.add_argument("--profile-lines", type=int, default=35, help="functions to list")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    from neon_emulator.testing import run_emulator

    with tempfile.TemporaryDirectory() as tmp:
        with run_emulator(seed=args.seed, api_keys=[KEY]) as emu:
            configure_django(neon_url=emu.base_url, static_root=Path(tmp) / "static")
            organizations, first, big = fetch_pages()
            raw = fetch_raw_page(emu.base_url)
        # The emulator is gone: nothing below can reach Neon, and its server thread is out of
        # the profile.
        run_cases(args, organizations, first, big, raw)


def fetch_pages():
    from projects import selectors
    from projects.neon import ProjectPage

    organizations = selectors.organization_list()
    first = selectors.project_page(limit=10)
    # 400 rows: the largest page size. The personal account may hold fewer, so the
    # organizations' projects fill it up (their rows show an organization name too).
    projects = selectors.project_page(limit=400).projects
    for org in organizations:
        projects += selectors.project_page(limit=400, org_id=org.id).projects
    big = ProjectPage(projects=projects[:400], next_cursor=first.next_cursor)
    assert len(big.projects) == 400, "seed more projects (--seed)"
    return organizations, first, big


def fetch_raw_page(base_url: str) -> bytes:
    """The body of `GET /projects?limit=400` as Neon sends it."""
    import requests

    response = requests.get(
        f"{base_url}/projects",
        params={"limit": 400},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.content


def run_cases(args, organizations, first, big, raw: bytes) -> None:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.template.loader import render_to_string
    from django.test import Client, RequestFactory
    from django_htmx.middleware import HtmxDetails

    from neonadmin.roles import Role
    from projects import selectors
    from projects.forms.listing import ProjectListFilterForm
    from projects.neon.client import parse_project_page
    from projects.presenters import row_cells
    from projects.views import listing

    assert not settings.DEBUG
    viewer = User(username="bench", email="bench@example.test", is_active=True)
    viewer._neonadmin_role = Role.VIEWER

    def request(params: dict, *, htmx: bool):
        headers = {"HX-Request": "true"} if htmx else {}
        req = RequestFactory().get("/projects/", params, headers=headers)
        req.user = viewer
        req.session = SessionStore()
        req._messages = FallbackStorage(req)
        req.htmx = HtmxDetails(req)
        return req

    pages = {"10": first, "400": big}
    selectors.organization_list = lambda: organizations
    current = {"page": first}
    selectors.project_page = lambda **filters: current["page"]

    client = Client(headers=PROXY_HEADERS)

    def request_case(size: str) -> Callable[[], object]:
        params = {"limit": size} | ({"cursor": first.next_cursor} if size == "400" else {})
        headers = {"HX-Request": "true"} if size == "400" else {}

        def run():
            current["page"] = pages[size]
            response = client.get("/projects/", params, headers=headers)
            assert response.status_code == 200, (response.status_code, response.headers)
            return response

        return run

    def view_case(size: str) -> Callable[[], object]:
        params = {"limit": size} | ({"cursor": first.next_cursor} if size == "400" else {})

        def run():
            current["page"] = pages[size]
            response = listing.project_list(request(params, htmx=size == "400"))
            assert response.status_code == 200
            return response

        return run

    def template_case(size: str) -> Callable[[], object]:
        params = {"limit": size} | ({"cursor": first.next_cursor} if size == "400" else {})
        form = ProjectListFilterForm(
            params, organizations=organizations, default_org_id=settings.NEON_ORG_ID
        )
        filters = form.filters()
        name = "projects/project_list.html" + ("#rows" if size == "400" else "")

        def run():
            req = request(params, htmx=size == "400")
            rows = row_cells(pages[size].projects)
            context = {"form": form, "filters": filters, "page": pages[size], "rows": rows}
            return render_to_string(name, context, request=req)

        return run

    cases = {
        "request-10": (
            "List page, 10 rows: whole request (middleware too)",
            request_case("10"),
        ),
        "request-400": ("Load more, 400 rows: whole request", request_case("400")),
        "view-10": ("  the view only, 10 rows (full page)", view_case("10")),
        "view-400": ("  the view only, 400 rows (htmx rows partial)", view_case("400")),
        "template-10": ("  template only, 10 rows", template_case("10")),
        "template-400": ("  template only, 400 rows", template_case("400")),
        "decode-400": (
            f"Neon's 400-row body ({len(raw) // 1024} KiB): JSON decode",
            lambda: json.loads(raw),
        ),
        "parse-400": (
            "  parse into 400 Projects",
            lambda: parse_project_page(body, 400),
        ),
    }
    body = json.loads(raw)  # parse-400 parses this one decoded body each time
    html = cases["request-400"][1]().content.decode()
    print(f"400-row fragment: {html.count('<tr')} <tr> elements, {len(html)} bytes\n")

    if args.profile:
        fn = cases[args.profile][1]
        fn()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(20):
            fn()
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
        stats.print_stats(args.profile_lines)
        stats.sort_stats("tottime").print_stats(args.profile_lines)
        return

    print(f"{args.repeat} renders per case, DEBUG off, Neon data fetched once beforehand.\n")
    print("| case | p50 ms | p95 ms | min ms |")
    print("|---|---:|---:|---:|")
    for label, fn in cases.values():
        samples = timed(fn, args.repeat)
        print(
            f"| {label} | {statistics.median(samples):.2f} | {pct(samples, 95):.2f} | "
            f"{min(samples):.2f} |"
        )


if __name__ == "__main__":
    main()
