"""One client shared by a threaded server's workers: concurrent calls succeed, identical
concurrent reads share one upstream call, each thread has its own Session, and all of them draw
on one connection pool."""

import threading
from concurrent.futures import ThreadPoolExecutor

from projects.neon import NeonUnavailable
from tests.conftest import SEED_PROJECTS

THREADS = 16


def test_concurrent_reads_and_writes_through_one_client(neon_client, emu):
    expected_ids = {p.id for p in neon_client.list_projects(limit=SEED_PROJECTS).projects}
    emu.clear_stats()
    start, listed = threading.Barrier(THREADS), threading.Barrier(THREADS)

    def work(n: int):
        start.wait()  # all threads hit the client at once
        page = neon_client.list_projects(limit=SEED_PROJECTS)
        listed.wait()  # no thread creates a project until every thread has listed
        created = neon_client.create_project({"name": f"thread-{n:02d}"})
        fetched = neon_client.get_project(created.project.id)
        return page, created, fetched

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))

    for n, (page, created, fetched) in enumerate(results):
        assert {p.id for p in page.projects} == expected_ids
        assert created.project.name == fetched.name == f"thread-{n:02d}"
    assert len({created.project.id for _, created, _ in results}) == THREADS
    stats = emu.stats()
    # The sixteen identical lists started together: they share calls, never make more.
    assert 1 <= stats["GET /api/v2/projects"] < THREADS
    assert stats["POST /api/v2/projects"] == THREADS
    assert stats["GET /api/v2/projects/{project_id}"] == THREADS


def test_each_thread_has_its_own_session_around_one_pool(neon_client):
    sessions, adapters = [], set()
    lock = threading.Lock()

    def work():
        neon_client.get_auth_details()  # never coalesced: every thread makes its own request
        session = neon_client.transport.session
        with lock:
            sessions.append(session)
            adapters.add(id(session.get_adapter(neon_client.base_url)))

    # Short-lived threads, the way runserver handles each request.
    for _ in range(3):
        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len({id(s) for s in sessions}) == len(sessions) == 24
    assert len(adapters) == 1
    pools = neon_client.transport.adapter.poolmanager.pools
    assert len(pools) == 1
    [key] = pools.keys()
    pool = pools[key]
    assert pool.num_requests == 24  # every thread's request went through the one pool


def test_identical_concurrent_reads_share_one_upstream_call(neon_client, emu):
    emu.set_faults({"latency_ms": 300, "method": "GET"})  # long enough for all to overlap
    project_id = neon_client.list_projects(limit=1).projects[0].id
    emu.clear_stats()
    start = threading.Barrier(THREADS)

    def work(_):
        start.wait()
        return neon_client.get_project(project_id)

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))

    assert {p.id for p in results} == {project_id}
    assert emu.stats() == {"GET /api/v2/projects/{project_id}": 1}


def test_a_failed_shared_call_fails_every_waiter_and_the_next_read_asks_again(neon_client, emu):
    project_id = neon_client.list_projects(limit=1).projects[0].id
    emu.set_faults(
        {"latency_ms": 300, "method": "GET"},
        {"status": 500, "method": "GET", "count": 1},  # 500: not retried
    )
    emu.clear_stats()
    start = threading.Barrier(4)

    def work(_):
        start.wait()
        try:
            return neon_client.get_project(project_id)
        except NeonUnavailable as exc:
            return exc

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))

    assert all(isinstance(r, NeonUnavailable) and r.status == 500 for r in results)
    assert emu.stats() == {"GET /api/v2/projects/{project_id}": 1}
    assert neon_client.get_project(project_id).id == project_id  # nothing remembered the error


def test_secrets_are_never_shared_between_callers(neon_client, emu):
    project = neon_client.list_projects(limit=1).projects[0]
    branch = neon_client.list_branches(project.id)[0]
    database = neon_client.list_databases(project.id, branch.id)[0]
    emu.set_faults({"latency_ms": 300, "method": "GET"})
    emu.clear_stats()
    start = threading.Barrier(4)

    def work(_):
        start.wait()
        return neon_client.connection_uri(
            project.id, database_name=database.name, role_name=database.owner_name
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))

    assert emu.stats() == {"GET /api/v2/projects/{project_id}/connection_uri": 4}
