"""One client shared by a threaded server's workers: concurrent calls succeed, each thread has
its own Session, and all of them draw on one connection pool."""

import threading
from concurrent.futures import ThreadPoolExecutor

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
    assert stats["GET /api/v2/projects"] == THREADS
    assert stats["POST /api/v2/projects"] == THREADS
    assert stats["GET /api/v2/projects/{project_id}"] == THREADS


def test_each_thread_has_its_own_session_around_one_pool(neon_client):
    sessions, adapters = [], set()
    lock = threading.Lock()

    def work():
        neon_client.list_regions()
        session = neon_client._session
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
    pools = neon_client._adapter.poolmanager.pools
    assert len(pools) == 1
    [key] = pools.keys()
    pool = pools[key]
    assert pool.num_requests == 24  # every thread's request went through the one pool
