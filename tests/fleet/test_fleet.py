"""The fleet inventory and its page, against the emulator's truth."""

import csv
import io
import json
import math
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fleet import inventory, tasks
from fleet.forms import FleetFilterForm
from fleet.models import InventoryProject, InventoryRun
from fleet.presenters import suspend_text
from fleet.selectors import filter_choices, inventory_rows
from projects.neon import NeonUnavailable, get_client
from tests.formdata import form_data

HX = {"HX-Request": "true"}
LIST = "GET /api/v2/projects"
SHARED = "GET /api/v2/projects/shared"

pytestmark = pytest.mark.django_db


def truth() -> dict[str, object]:
    """Every project the key sees, read straight from the emulator, by ID."""
    client = get_client()
    scopes = [None] + [org.id for org in client.list_organizations()]
    projects = {}
    for org_id in scopes:
        cursor = None
        while True:
            page = client.list_projects(limit=400, cursor=cursor, org_id=org_id)
            projects.update({p.id: p for p in page.projects})
            if not page.next_cursor:
                break
            cursor = page.next_cursor
    projects.update({p.id: p for p in client.list_shared_projects(limit=400).projects})
    return projects


def refreshed() -> InventoryRun:
    """A refresh as the worker runs it (the worker itself: test_the_worker_books_the_schedule)."""
    run = tasks.start_refresh(trigger="manual")
    tasks.refresh_inventory.call(run.pk)
    run.refresh_from_db()
    return run


def test_a_refresh_reads_every_project_of_every_organization(neon):
    expected = truth()
    neon.clear_stats()
    run = refreshed()
    assert run.status == "finished", run.error
    assert set(InventoryProject.objects.values_list("project_id", flat=True)) == set(expected)
    assert run.projects_seen == len(expected)
    # One page per 400 projects of each account, at least one per account; no per-project reads.
    stats = neon.stats()
    assert stats[LIST] + stats[SHARED] == run.pages_read >= run.scopes_total
    assert set(stats) <= {LIST, SHARED, "GET /api/v2/users/me/organizations"}
    shared = {p.id for p in get_client().list_shared_projects(limit=400).projects}
    assert (
        shared
        and set(InventoryProject.objects.filter(shared=True).values_list("pk", flat=True)) == shared
    )
    sample = InventoryProject.objects.get(project_id=next(iter(expected)))
    project = expected[sample.project_id]
    assert (sample.name, sample.pg_version, sample.region_id) == (
        project.name, project.pg_version, project.region_id,
    )  # fmt: skip


def test_pages_of_400_keep_the_call_count_to_about_one_per_400(neon):
    neon.reset(seed=900)
    expected = truth()
    neon.clear_stats()
    run = refreshed()
    assert run.status == "finished"
    assert InventoryProject.objects.count() == len(expected)
    by_scope = {}
    for p in expected.values():
        by_scope[p.org_id or ""] = by_scope.get(p.org_id or "", 0) + 1
    most = sum(math.ceil(n / 400) + 1 for n in by_scope.values()) + run.scopes_total
    assert run.pages_read <= most


def test_projects_gone_from_neon_are_marked_not_dropped(neon):
    assert refreshed().status == "finished"
    victim = InventoryProject.objects.filter(org_id="", shared=False).first()
    get_client().delete_project(victim.project_id)  # behind the dashboard's back
    run = refreshed()
    victim.refresh_from_db()
    assert victim.gone_at is not None and run.gone == 1
    assert InventoryProject.objects.filter(gone_at__isnull=True).count() == run.projects_seen


def test_a_failed_refresh_keeps_the_previous_rows_and_says_so(neon, viewer_client):
    assert refreshed().status == "finished"
    before = InventoryProject.objects.count()
    neon.set_faults({"status": 500, "path_prefix": "/api/v2/projects"})
    run = refreshed()
    assert run.status == "failed" and "HTTP 500" in run.error
    assert InventoryProject.objects.filter(gone_at__isnull=True).count() == before
    html = viewer_client.get(reverse("fleet:list")).content.decode()
    assert "The last refresh failed" in html


def test_a_refresh_whose_worker_died_is_reported_interrupted(neon):
    run = InventoryRun.objects.create(trigger="manual", status="running")
    InventoryRun.objects.filter(pk=run.pk).update(
        heartbeat_at=run.created_at - inventory.HEARTBEAT_TIMEOUT * 2
    )
    assert inventory.run_active() is None
    run.refresh_from_db()
    assert run.status == "failed" and run.error == inventory.MSG_INTERRUPTED


@pytest.mark.django_db(transaction=True)
def test_the_worker_books_the_schedule(neon, settings):
    settings.FLEET_REFRESH_MINUTES = 15
    call_command("fleet_worker", batch=True, verbosity=0)
    finished = InventoryRun.objects.filter(status="finished", trigger="schedule")
    assert finished.count() == 1
    booked = InventoryRun.objects.get(status="queued")
    assert booked.scheduled_for > finished.get().finished_at


# --- The page ------------------------------------------------------------------------------


@pytest.fixture
def fleet(neon):
    assert refreshed().status == "finished"
    return truth()


def test_page_and_fragment(viewer_client, fleet):
    page = viewer_client.get(reverse("fleet:list"))
    assert page.status_code == 200 and "<html" in page.content.decode()
    fragment = viewer_client.get(reverse("fleet:list"), {"q": "a"}, headers=HX)
    html = fragment.content.decode()
    assert '<div id="results"' in html and "<html" not in html


def test_filters_and_counts_match_the_emulators_truth(viewer_client, fleet):
    org = next(p.org_id for p in fleet.values() if p.org_id)
    version = next(p.pg_version for p in fleet.values() if p.org_id == org)
    expected = {p.id for p in fleet.values() if p.org_id == org and p.pg_version == version}
    response = viewer_client.get(reverse("fleet:list"), {"org": org, "pg": version})
    page = response.context["page"]
    assert page.total == len(expected)
    assert {row.project_id for row in page.rows} == expected
    pg_facet = dict((v, n) for v, _label, n in page.facets["pg"])
    assert pg_facet[str(version)] == len(expected)  # the facet counts with the other filters on
    org_facet = dict((v, n) for v, _label, n in page.facets["org"])
    assert org_facet[org] == len(expected)


def test_sorted_by_storage_largest_first(viewer_client, fleet):
    rows = viewer_client.get(reverse("fleet:list"), {"sort": "-storage"}).context["page"].rows
    sizes = [r.storage_bytes for r in rows if r.storage_bytes is not None]
    assert sizes == sorted(sizes, reverse=True) and sizes
    largest = max(fleet.values(), key=lambda p: p.synthetic_storage_size or -1)
    assert rows[0].project_id == largest.id


@pytest.mark.parametrize("sort", ["name", "-name", "-storage", "storage", "-active", "cu"])
def test_load_more_pages_through_everything_in_order(viewer_client, neon, sort):
    """Keyset paging: following each page's cursor gives every row once, in the order of the
    whole view, with empty values last and ties broken by name and ID."""
    neon.reset(seed=250)
    assert refreshed().status == "finished"
    everything = list(
        inventory_rows(
            {**FleetFilterForm({}, choices=filter_choices()).filters(), "sort": sort}
        ).values_list("project_id", flat=True)
    )
    seen, cursor, pages = [], "", 0
    while True:
        query = {"sort": sort, **({"cursor": cursor} if cursor else {})}
        response = viewer_client.get(reverse("fleet:list"), query, headers=HX if cursor else {})
        page = response.context["page"]
        if cursor:  # the fragment appends rows
            assert response.content.decode().count("data-project=") == len(page.rows)
        seen += [row.project_id for row in page.rows]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == everything and pages == 3


def test_a_cursor_from_another_sort_or_altered_starts_from_the_top(viewer_client, fleet):
    first = viewer_client.get(reverse("fleet:list"), {"sort": "name"}).context["page"]
    cursor = first.next_cursor or ""
    for query in ({"sort": "-storage", "cursor": cursor}, {"cursor": cursor[:-3] + "xyz"}):
        again = viewer_client.get(reverse("fleet:list"), query).context["page"]
        top = viewer_client.get(reverse("fleet:list"), {"sort": query.get("sort", "name")})
        assert [r.pk for r in again.rows] == [r.pk for r in top.context["page"].rows]


def test_exports_hold_every_matching_row(viewer_client, fleet):
    version = next(iter(fleet.values())).pg_version
    expected = {p.id for p in fleet.values() if p.pg_version == version}
    csv_response = viewer_client.get(reverse("fleet:export-csv"), {"pg": version})
    rows = list(csv.DictReader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    assert {r["project_id"] for r in rows} == expected
    json_response = viewer_client.get(reverse("fleet:export-json"), {"pg": version})
    records = json.loads(b"".join(json_response.streaming_content))
    assert {r["project_id"] for r in records} == expected
    assert all(r["pg_version"] == version for r in records)


def test_a_rename_through_the_dashboard_shows_in_the_fleet_at_once(
    operator_client, fleet, neon, django_capture_on_commit_callbacks
):
    project = next(iter(fleet.values()))
    url = reverse("projects:settings", args=[project.id])
    data = form_data(operator_client.get(url).content.decode(), "settings-form", name="renamed-1")
    review = operator_client.post(url, data).content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the fleet hears of writes on commit
        applied = operator_client.post(url, form_data(review, "settings-form", step="apply"))
    assert applied.status_code == 302
    neon.clear_stats()
    rows = operator_client.get(reverse("fleet:list"), {"q": "renamed-1"}).context["page"].rows
    assert [r.project_id for r in rows] == [project.id]
    assert not any(route.startswith("GET /api/v2/projects") for route in neon.stats())


def test_the_refresh_button_shows_progress_until_it_finishes(operator_client, neon):
    response = operator_client.post(reverse("fleet:refresh"), headers=HX)
    html = response.content.decode()
    run = InventoryRun.objects.get()
    assert 'hx-trigger="every 1s"' in html and "<progress" in html
    tasks.refresh_inventory.call(run.pk)
    status = operator_client.get(reverse("fleet:refresh-status", args=[run.pk]), headers=HX)
    html = status.content.decode()
    assert "Refresh finished" in html and "every 1s" not in html


def test_viewers_may_look_but_not_start_a_refresh(viewer_client, neon):
    assert viewer_client.post(reverse("fleet:refresh")).status_code == 403
    assert not InventoryRun.objects.exists()


def test_an_org_only_account_is_refreshed_through_its_organizations(neon, emulator):
    neon.reset(seed=25, org_only=True)
    try:
        run = refreshed()
        assert run.status == "finished", run.error
        rows = InventoryProject.objects.all()
        assert rows.exists() and not rows.filter(org_id="", shared=False).exists()
    finally:
        neon.reset(seed=25, org_only=False)


def test_an_org_only_account_lists_its_first_organization(viewer_client, neon):
    neon.reset(seed=25, org_only=True)
    try:
        response = viewer_client.get(reverse("projects:list"))
        assert response.status_code == 200
        first = get_client().list_organizations()[0]
        assert response.context["filters"]["org_id"] == first.id
        assert response.context["page"].projects
    finally:
        neon.reset(seed=25, org_only=False)


def test_filters_show_how_many_rows_each_choice_gives(viewer_client, fleet):
    org = next(p.org_id for p in fleet.values() if p.org_id)
    in_org = [p for p in fleet.values() if p.org_id == org]
    version = in_org[0].pg_version
    response = viewer_client.get(reverse("fleet:list"), {"org": org})
    choices = dict(response.context["form"].fields["pg"].choices)
    expected = sum(1 for p in in_org if p.pg_version == version)
    assert choices[version].endswith(f"({expected:,})")  # with the organization's filter on
    html = response.content.decode()
    assert 'class="chips"' in html and "facets" not in html


def test_numbers_read_as_people_say_them_and_sort_largest_first(viewer_client, fleet):

    assert suspend_text(-1) == "never"
    assert suspend_text(0) == "Neon default (5 min)"
    assert suspend_text(3600) == "1 h"
    html = viewer_client.get(reverse("fleet:list")).content.decode()
    assert 'href="?sort=-storage"' in html  # storage: the first click shows the largest
    assert 'href="?sort=name"' in html or 'href="?sort=-name"' in html
    sorted_html = viewer_client.get(reverse("fleet:list"), {"sort": "-storage"}).content.decode()
    assert 'href="?sort=storage"' in sorted_html  # and the next click the smallest


def test_a_finished_refresh_tells_the_page_to_show_the_new_inventory(operator_client, neon):
    operator_client.post(reverse("fleet:refresh"), headers=HX)
    run = InventoryRun.objects.get()
    polling = operator_client.get(reverse("fleet:refresh-status", args=[run.pk]), headers=HX)
    assert "HX-Trigger" not in polling
    tasks.refresh_inventory.call(run.pk)
    done = operator_client.get(reverse("fleet:refresh-status", args=[run.pk]), headers=HX)
    assert json.loads(done["HX-Trigger"]) == {"fleet-refreshed": {}}
    page = operator_client.get(reverse("fleet:list")).content.decode()
    assert (
        'hx-trigger="fleet-refreshed from:body"' in page and 'hx-include="#fleet-filters"' in page
    )


def test_a_first_refresh_estimates_its_progress_by_accounts(db):
    run = InventoryRun(status="running", expected=0, scopes_total=4, scopes_done=1)
    assert run.percent == 25
    run = InventoryRun(status="running", expected=200, projects_seen=50, scopes_total=4)
    assert run.percent == 25


def test_an_interrupted_refresh_resumes_after_the_accounts_it_finished(neon, monkeypatch):
    """Checkpointed per account: a refresh that failed part-way, started again, reads only the
    accounts it had not finished, and ends with the same inventory as one that never stopped."""
    organizations = [org.id for org in get_client().list_organizations()]
    read: list[str | None] = []
    real = inventory._refresh_scope

    def second_org_fails(run, client, org_id, org_names):
        read.append(org_id)
        if org_id == organizations[1]:
            raise NeonUnavailable("Neon is down", status=503)
        return real(run, client, org_id, org_names)

    with monkeypatch.context() as patch:
        patch.setattr(inventory, "_refresh_scope", second_org_fails)
        first = refreshed()
    assert first.status == "failed"
    assert first.scopes_finished == ["personal", organizations[0]]

    read.clear()
    monkeypatch.setattr(inventory, "_refresh_scope", lambda *a: read.append(a[2]) or real(*a))
    resumed = tasks.start_refresh(trigger="manual")
    assert resumed.pk == first.pk  # the same run goes on
    tasks.refresh_inventory.call(resumed.pk)
    resumed.refresh_from_db()
    assert resumed.status == "finished"
    assert read == [*organizations[1:], inventory.SHARED]  # finished accounts not read again
    live = InventoryProject.objects.filter(gone_at__isnull=True)
    assert live.count() == resumed.projects_seen and not resumed.gone
    assert set(live.values_list("seen_run", flat=True)) == {resumed.pk}


def test_two_workers_share_a_refresh_without_reading_an_account_twice(neon, monkeypatch):
    """While this worker reads the first account, a second takes the others through their own
    tasks: every account is read once, by one of them, and the run is closed once."""
    single = refreshed()
    neon.clear_stats()
    readers: dict[str, list[str]] = {}
    real = inventory._refresh_scope

    def read(run, client, org_id, org_names):
        key = org_id or inventory.PERSONAL
        readers.setdefault(key, []).append(worker)
        if key == inventory.PERSONAL and worker == "first":
            second_worker(run)
        return real(run, client, org_id, org_names)

    def second_worker(run):
        nonlocal worker
        worker = "second"
        for key in run.accounts:  # its queue: one task per account, in the same order
            inventory.refresh_account(InventoryRun.objects.get(pk=run.pk), key)
        worker = "first"

    worker = "first"
    monkeypatch.setattr(inventory, "_refresh_scope", read)
    shared = refreshed()
    assert shared.status == "finished" and shared.projects_seen == single.projects_seen
    assert all(len(by) == 1 for by in readers.values()) and set(readers) == set(shared.accounts)
    assert readers[inventory.PERSONAL] == ["first"]
    assert {by[0] for key, by in readers.items() if key != inventory.PERSONAL} == {"second"}
    stats = neon.stats()  # the same calls one worker makes: each account's pages once
    assert stats[LIST] + stats[SHARED] == shared.pages_read == single.pages_read


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_refresh_and_its_account_tasks_once_each(neon):
    from django_tasks_db.models import DBTaskResult

    neon.clear_stats()
    run = tasks.start_refresh(trigger="manual")
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    run.refresh_from_db()
    assert run.status == "finished", run.error
    results = DBTaskResult.objects.all()
    accounts = [r for r in results if r.task_path.endswith("refresh_account")]
    assert len(accounts) == len(run.accounts) and all(r.status == "SUCCESSFUL" for r in results)
    stats = neon.stats()
    assert stats[LIST] + stats[SHARED] == run.pages_read


def test_a_refresh_after_a_finished_one_starts_from_the_top(neon):
    first = refreshed()
    second = tasks.start_refresh(trigger="manual")
    assert second.pk != first.pk and second.scopes_finished == []


def test_a_refresh_says_its_rate_and_what_is_left(db):
    started = timezone.now() - timedelta(seconds=10)
    run = InventoryRun(status="running", started_at=started, projects_seen=400, expected=1200)
    assert 39 <= run.rate <= 41 and 19 <= run.eta_seconds <= 21
    assert InventoryRun(status="running", started_at=started, expected=0).eta_seconds is None


def count_queries(captured) -> int:
    return sum(
        1 for q in captured if "COUNT(" in q["sql"].upper() and "fleet_inventoryproject" in q["sql"]
    )


def test_views_count_nothing_and_a_write_moves_the_tally(viewer_client, fleet):
    """The counts are sums over the tally a refresh made: no view counts the inventory, and a
    write through the dashboard moves its project's group instead of counting again."""
    orgs = [p.org_id for p in fleet.values() if p.org_id]
    org = max(set(orgs), key=orgs.count)  # one that still has projects after one is gone
    with CaptureQueriesContext(connection) as first:
        total = viewer_client.get(reverse("fleet:list"), {"org": org}).context["page"].total
    assert count_queries(first.captured_queries) == 0
    rows = InventoryProject.objects.filter(org_id=org, shared=False, gone_at__isnull=True)
    assert total == rows.count()  # (counted here, by the test)
    with CaptureQueriesContext(connection) as more:  # Load more shows no counts at all
        page = viewer_client.get(reverse("fleet:list"), {"org": org, "sort": "-storage"})
        cursor = page.context["page"].next_cursor or "x"
        viewer_client.get(reverse("fleet:list"), {"org": org, "cursor": cursor}, headers=HX)
    assert count_queries(more.captured_queries) == 0

    project = next(p for p in fleet.values() if p.org_id == org)
    with CaptureQueriesContext(connection) as moved:
        inventory.record_gone(project.id)
        after = viewer_client.get(reverse("fleet:list"), {"org": org}).context["page"].total
    assert after == total - 1 and count_queries(moved.captured_queries) == 0


def test_a_search_counts_only_the_rows_it_matches_and_keeps_them(viewer_client, fleet):
    with CaptureQueriesContext(connection) as first:
        page = viewer_client.get(reverse("fleet:list"), {"q": "billing"}).context["page"]
    assert count_queries(first.captured_queries) == 1  # one GROUP BY of the matches
    assert page.total == sum(
        1 for p in fleet.values() if "billing" in p.name.lower() or "billing" in p.id
    )
    with CaptureQueriesContext(connection) as again:  # another sort: the same counts
        viewer_client.get(reverse("fleet:list"), {"q": "billing", "sort": "-storage"})
    assert count_queries(again.captured_queries) == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_a_refresh_leaves_the_planner_statistics_of_what_it_wrote(neon):
    """Without them the planner takes a million fresh rows for an empty table and scans it."""
    with connection.cursor() as cursor:
        run = refreshed()
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'fleet_inventoryproject'")
        assert cursor.fetchone()[0] == run.projects_seen
