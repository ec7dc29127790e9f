"""Issue 9's drills at test scale, counted rather than timed (`make bench` runs them full size).

- Outage: Neon answers 503 to everything. Read pages show their last known data with the
  banner; writes fail with a clear message; nothing answers 500.
- Budget: two instances (two clients, each with its own budget object, sharing one in Redis)
  and a team of operators browsing against an emulator that enforces a rate limit: Neon refuses
  nothing, and no operator sees an error.
- A 429 pauses every caller until Retry-After instead of each finding out for itself.
"""

import random
import threading
import time

import pytest
from django.urls import reverse

from projects.neon import (
    Budget,
    NeonBudgetSpent,
    NeonClient,
    NeonError,
    NeonRateLimited,
    begin_request,
    end_request,
    get_client,
    parse_rate,
)
from projects.neon.metrics import RATE_LIMITED
from tests.conftest import TEST_NEON_KEY
from tests.formdata import form_data
from tests.projects.test_create import URL as CREATE_URL
from tests.projects.test_create import VALID as CREATE_VALID

STALE_HEADLINE = "Neon is not answering right now"
PROJECT = "GET /api/v2/projects/{project_id}"

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


# --- Outage ----------------------------------------------------------------------------------


def test_outage_drill_reads_show_last_known_data_writes_fail_clearly(admin_client_, neon):
    project = get_client().list_projects(limit=1).projects[0]
    pages = {
        "list": reverse("projects:list"),
        "detail": reverse("projects:detail", args=[project.id]),
        "connect": reverse("projects:connect", args=[project.id]),
        "settings": reverse("projects:settings", args=[project.id]),
    }
    hx = {"HX-Request": "true"}
    for url in pages.values():  # an operator's earlier visits
        assert admin_client_.get(url).status_code == 200
    admin_client_.get(pages["detail"], {"panel": "operations"}, headers=hx)
    edit = text(admin_client_.get(pages["settings"]))

    neon.set_faults({"status": 503})

    for name, url in pages.items():
        response = admin_client_.get(url)
        assert response.status_code == 200, name
        assert STALE_HEADLINE in text(response), name
        assert project.name in text(response), name
    # Operations are never cached: the panel shows the last known ones, and brings the banner.
    fragment = admin_client_.get(pages["detail"], {"panel": "operations"}, headers=hx)
    assert fragment.status_code == 200 and 'hx-swap-oob="true"' in text(fragment)

    saved = admin_client_.post(pages["settings"], form_data(edit, "settings-form", name="x-1"))
    created = admin_client_.post(CREATE_URL, {**CREATE_VALID, "name": "during-outage"})
    deleted = admin_client_.post(
        reverse("projects:delete", args=[project.id]), {"name": project.name}
    )
    for response in (saved, created, deleted):
        assert response.status_code in (200, 502), response.status_code
        assert "Neon could not be reached" in text(response)
        assert STALE_HEADLINE not in text(response)

    neon.clear_faults()
    after = get_client()
    assert after.get_project(project.id).name == project.name  # nothing was queued and sent
    assert not after.list_projects(search="during-outage").projects
    assert STALE_HEADLINE not in text(admin_client_.get(pages["detail"]))


# --- Budget ----------------------------------------------------------------------------------


def instance(neon, prefix: str) -> NeonClient:
    """One dashboard instance: its own client and budget object, the budget kept in Redis."""
    budget = Budget(
        rate=parse_rate("400/min"),  # our share of the emulator's 480/min
        route_burst=parse_rate("12/s"),  # of its 16/s
        shared=True,
        interactive_wait=2.0,
        max_wait=2.0,
        prefix=prefix,
    )
    return NeonClient(
        api_key=TEST_NEON_KEY,
        base_url=neon.base_url,
        budget=budget,
        cache_seconds=30,
        account_cache_seconds=300,
        retry_budget=3.0,
        backoff_base=0.05,
    )


def test_budget_drill_two_instances_keep_a_browsing_team_under_neons_limit(neon, shared_redis):
    projects = get_client().list_projects(limit=25).projects
    neon.set_rate_limits(rate_limit="480/min", burst="16/s")
    neon.clear_stats()
    instances = [instance(neon, "neon:drill"), instance(neon, "neon:drill")]
    errors: list[Exception] = []
    pages = 0
    lock = threading.Lock()
    stop = time.monotonic() + 6

    def operator(n: int):
        nonlocal pages
        rng = random.Random(n)
        client = instances[n % 2]
        time.sleep(rng.uniform(0, 2))  # people do not all arrive in the same instant
        while time.monotonic() < stop:
            _stats, token = begin_request()
            try:
                project = rng.choice(projects)
                client.list_organizations()
                if rng.random() < 0.3:
                    client.list_projects(limit=10)
                else:
                    client.get_project(project.id)
                    client.list_branches(project.id)
                    client.list_endpoints(project.id)
            except NeonError as exc:
                with lock:
                    errors.append(exc)
            finally:
                end_request(token)
            with lock:
                pages += 1
            time.sleep(rng.uniform(1.5, 3.5))  # a page every few seconds, as people read

    threads = [threading.Thread(target=operator, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sent = sum(n for route, n in neon.stats().items() if not route.startswith("429 "))
    assert pages >= 20 and sent >= 20
    assert neon.rate_limited() == 0
    assert errors == []


def test_a_429_pauses_every_caller_until_retry_after(neon):
    client = get_client()
    project = client.list_projects(limit=1).projects[0]
    neon.set_rate_limits(burst="3/s")
    neon.clear_stats()
    before = RATE_LIMITED._value.get()
    got = [client.get_project(project.id) for _ in range(4)]  # the 4th meets the limit
    assert all(p.id == project.id for p in got)
    # The 429 paused the budget: the next call on another route waited instead of being refused.
    assert client.list_endpoints(project.id)
    assert neon.rate_limited() == 1
    assert RATE_LIMITED._value.get() == before + 1


def test_more_demand_than_neon_allows_waits_or_is_refused_here_never_by_neon(neon, shared_redis):
    projects = get_client().list_projects(limit=25).projects
    neon.set_rate_limits(rate_limit="480/min", burst="16/s")
    neon.clear_stats()
    instances = [instance(neon, "neon:drill"), instance(neon, "neon:drill")]
    outcomes: dict[str, int] = {"ok": 0, "budget": 0, "neon-429": 0}
    lock = threading.Lock()
    stop = time.monotonic() + 3

    def hammer(n: int):
        client = instances[n % 2]
        while time.monotonic() < stop:
            _stats, token = begin_request()
            try:
                client.get_project(projects[n % len(projects)].id)
                outcome = "ok"
            except NeonBudgetSpent:
                outcome = "budget"
            except NeonRateLimited:
                outcome = "neon-429"
            finally:
                end_request(token)
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes["budget"] > 0  # the demand really was more than the share
    assert outcomes["neon-429"] == 0
    assert neon.rate_limited() == 0


def test_a_read_with_nothing_stale_to_show_waits_at_the_head_of_the_line(neon):
    """When the budget is spent, a read that has a last known answer shows it at once; one
    that has none waits for the next token instead of failing the page."""
    project = get_client().list_projects(limit=1).projects[0]
    budget = Budget(
        rate=parse_rate("60/min"),  # six at once, then one a second
        route_burst=parse_rate("1000/s"),
        interactive_wait=0.0,
        max_wait=5.0,
    )
    client = NeonClient(api_key=TEST_NEON_KEY, base_url=neon.base_url, budget=budget)

    def spend():
        while budget._take("GET /elsewhere", "interactive")[0]:
            pass

    def page(read):
        stats, token = begin_request()
        try:
            read()
        finally:
            end_request(token)
        return stats

    neon.clear_stats()
    spend()
    first = page(lambda: client.get_project(project.id))  # waited, then sent
    assert first.budget_seconds > 0 and first.stale_since is None
    spend()
    second = page(lambda: client.get_project(project.id))  # its last answer, not sent
    assert second.stale_since is not None
    assert neon.stats()[PROJECT] == 1
