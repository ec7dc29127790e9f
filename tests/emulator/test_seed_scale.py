"""The seed at fleet size: the same projects as ever, drawn fast, kept unbuilt until read.

A seed of a million projects must start in well under a minute and fit in a few GiB, so the
seed writes out random.Random's draws without their Python layers and a seeded project keeps
only the values drawn for its settings, branches, endpoints and operations until something
reads them (store.Project, seed.SeededParts). These tests hold the fast draws to the methods
they stand for, the seed to a fingerprint of what the eager seed gave before, listing to
building nothing, and a project built late to answering and taking writes exactly as one
built at once. A few thousand projects, not a million: `python -m neon_emulator.bench
--projects 1000000 --scale` measures that.
"""

from __future__ import annotations

import hashlib
import json
import random
import tracemalloc
from datetime import UTC, datetime

import pytest
from werkzeug.test import Client

from neon_emulator import ids, render, seed, state
from neon_emulator import store as store_module
from neon_emulator.app import EmulatorApp
from neon_emulator.store import PASSWORD_ALPHABET, Store, draw_password, iso

AUTH = {"Authorization": "Bearer k", "X-Request-ID": "fixed"}
NOW_US = seed.ANCHOR_US + 3600 * 1_000_000
# Taken with the eager seed (every dict and object built at once, random.Random's own
# methods) just before projects were kept unbuilt; see fingerprint().
EAGER_SEED_FINGERPRINTS = [
    (1000, {}, "b8ce69108d4935864f52c01ebacaa6206e360819374aeca5f3e89d16ee2cfc88"),
    (1000, {"org_only": True}, "c9f80c906a2a7e77b7c828090ea0e6d2c1e2c8b2b98eddb9df9c28f74f6d1dc4"),
    (
        600,
        {"max_autoscaling_limit": 2},
        "e196b5994b1a12c7e05d5a36c028feb966f404a97b229ef10b62ba9bf89f5b7f",
    ),
]


@pytest.fixture
def fixed_clock(monkeypatch):
    """Seeded deletion times and answers that say "now" depend on the clock: pin it."""
    monkeypatch.setattr(store_module, "now_us", lambda: NOW_US)
    monkeypatch.setattr(render, "now_us", lambda: NOW_US)


def seeded(count: int, **kwargs) -> Store:
    store = Store(rng_seed=1, **kwargs)
    seed.seed_store(store, count)
    return store


def every_project(store: Store) -> list:
    return [*store.projects.values(), *store.deleted.values()]


def fingerprint(store: Store) -> str:
    """Every seeded value a client can see, operation ids aside (they are drawn apart)."""
    digest = hashlib.sha256()
    for p in every_project(store):
        record = [
            render.project_list_item(store, p),
            [
                [render.branch(store, p, b), list(b.roles.items()), list(b.databases.items())]
                for b in p.branches.values()
            ],
            [render.endpoint(store, p, e) for e in p.endpoints.values()],
            [(op.action, op.created_us, op.branch_id, op.endpoint_id) for op in p.operations],
        ]
        digest.update(json.dumps(record, separators=(",", ":")).encode())
    return digest.hexdigest()


# ---- the fast draws are random.Random's -------------------------------------------------------


def same_words_after(a: random.Random, b: random.Random) -> None:
    assert a.random() == b.random(), "the two streams drew a different number of words"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 22, 23, 254, 3_000_000, 20 * 2**30, 10**13])
def test_below_is_randrange(n):
    a, b = random.Random(n), random.Random(n)
    assert [a.randrange(n) for _ in range(3000)] == [
        seed._below(b.getrandbits, n) for _ in range(3000)
    ]
    same_words_after(a, b)


@pytest.mark.parametrize("population", [seed.SUFFIXES, seed.OLDER_SIZES, seed.BRANCH_NAMES])
def test_a_table_draw_is_choice(population):
    table, bits = seed._table(population)
    a, b = random.Random(7), random.Random(7)
    for _ in range(3000):
        expected = a.choice(population)
        got = table[b.getrandbits(bits)]
        while got is seed.AGAIN:
            got = table[b.getrandbits(bits)]
        assert got == expected
    same_words_after(a, b)


def test_ids_are_choice_choice_randrange():
    a, b = random.Random(3), random.Random(3)
    for prefix in ids.PREFIXES * 2000:
        expected = (
            f"{prefix}{a.choice(ids.ADJECTIVES)}-{a.choice(ids.NOUNS)}-{a.randrange(10**8):08d}"
        )
        assert ids.text(ids.draw(b.getrandbits, ids.TAGS[prefix])) == expected
    same_words_after(a, b)


def test_a_new_id_is_drawn_again_while_taken():
    used: set[int] = set()
    first = ids.new_code(random.Random(5).getrandbits, 0, used)
    again = random.Random(5)
    second = ids.new_code(again.getrandbits, 0, used)
    assert second != first and used == {first, second}
    expected = random.Random(5)
    ids.draw(expected.getrandbits)
    assert ids.draw(expected.getrandbits) == second, "the taken one was drawn, then the next"


def test_passwords_are_twelve_choices():
    a, b = random.Random(11), random.Random(11)
    for _ in range(5000):
        expected = "npg_" + "".join(a.choice(PASSWORD_ALPHABET) for _ in range(12))
        assert draw_password(b.getrandbits) == expected
    same_words_after(a, b)


def test_lognormvariate_and_weekdays():
    a, b = random.Random(13), random.Random(13)
    for _ in range(3000):
        assert a.lognormvariate(18, 2.2) == seed._lognormvariate(b.random, 18, 2.2)
        expected = tuple(sorted(a.sample(range(1, 8), a.randint(1, 3))))
        assert seed._weekdays(b.getrandbits) == expected
    same_words_after(a, b)


def test_timestamps_are_strftime():
    rng = random.Random(17)
    for us in [
        0,
        86_400 * 10**6 - 1,
        seed.ANCHOR_US,
        *(rng.randrange(0, 2**52) for _ in range(5000)),
    ]:
        expected = datetime.fromtimestamp(us // 10**6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert iso(us) == expected


# ---- the same projects as before --------------------------------------------------------------


@pytest.mark.parametrize(("count", "kwargs", "expected"), EAGER_SEED_FINGERPRINTS)
def test_the_seed_gives_what_the_eager_seed_gave(fixed_clock, count, kwargs, expected):
    assert fingerprint(seeded(count, **kwargs)) == expected


def test_built_twice_is_built_the_same():
    store = seeded(300)
    project = next(p for p in store.projects.values() if p._parts.extra_branches)
    again = project._parts.build(project)
    assert [repr(part) for part in again] == [
        repr(project.branches),
        repr(project.endpoints),
        repr(project.operations),
    ]


# ---- nothing is built until read --------------------------------------------------------------


def walk(client: Client, path: str, limit: int = 400, **params) -> list[str]:
    query, out = {"limit": limit, **params}, []
    while True:
        answer = client.get(f"/api/v2{path}", query_string=query, headers=AUTH)
        assert answer.status_code == 200, answer.text
        page = answer.json["projects"]
        out += [p["id"] for p in page]
        if len(page) < limit:
            return out
        query["cursor"] = answer.json["pagination"]["cursor"]


@pytest.fixture(scope="module")
def fleet():
    app = EmulatorApp(seed_count=3000)
    return app, Client(app)


def owners(store: Store) -> list[dict]:
    return [{}, *({"org_id": org} for org in store.organizations)]


def test_a_seeded_store_builds_nothing(fleet):
    app, _ = fleet
    assert app.store.projects and not any(p.built for p in every_project(app.store))


def test_paging_lists_every_project_once_newest_first_and_builds_nothing(fleet):
    app, client = fleet
    store = app.store
    newest_first = sorted(store.projects.values(), key=lambda p: p.created_us, reverse=True)
    for params in owners(store):
        org = params.get("org_id")
        expected = [p.id for p in newest_first if not p.shared and p.org_id == org]
        assert walk(client, "/projects", **params) == expected
        assert walk(client, "/projects", limit=7, **params) == expected
        deleted = sorted(
            (p for p in store.deleted.values() if p.org_id == org),
            key=lambda p: p.created_us,
            reverse=True,
        )
        assert walk(client, "/projects", recoverable="true", **params) == [p.id for p in deleted]
    shared = walk(client, "/projects/shared")
    assert shared == [p.id for p in newest_first if p.shared]
    assert len(shared) == seed.shared_count(3000)
    assert walk(client, "/projects", search="billing")
    assert not any(p.built for p in every_project(store))


def test_reading_a_project_builds_that_project_only(fleet):
    app, client = fleet
    target = next(iter(app.store.projects.values()))
    assert client.get(f"/api/v2/projects/{target.id}", headers=AUTH).status_code == 200
    assert not target.built, "GET /projects/{id} reads the settings without keeping them"
    assert client.get(f"/api/v2/projects/{target.id}/branches", headers=AUTH).status_code == 200
    assert [p.id for p in every_project(app.store) if p.built] == [target.id]


def test_a_seeded_project_costs_a_fraction_of_a_built_one():
    """Eagerly built, a project took some 6 KB; unbuilt, under 2 KB even with its ids kept."""
    tracemalloc.start()
    try:
        store = seeded(3000)
        unbuilt, _ = tracemalloc.get_traced_memory()
        for p in every_project(store):
            p.settings, p.default_endpoint_settings, p.branches  # noqa: B018 - build them
        built, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    count = len(every_project(store))
    assert unbuilt / count < 2000
    assert built / count > 2 * unbuilt / count


# ---- built late = built at once -------------------------------------------------------------


def answers(app: EmulatorApp, ids_: list[str]) -> list:
    """A script of reads and writes, and every answer."""
    client, out = Client(app), []

    def send(method: str, path: str, body=None, **query):
        answer = client.open(
            f"/api/v2{path}", method=method, json=body, query_string=query, headers=AUTH
        )
        out.append((method, path, answer.status_code, answer.get_data(as_text=True)))
        return answer

    for n, pid in enumerate(ids_):
        if n % 3 == 0:
            send("PATCH", f"/projects/{pid}", {"project": {"name": f"renamed-{n}"}})
        if n % 4 == 0:
            des = {"default_endpoint_settings": {"suspend_timeout_seconds": 600}}
            send("PATCH", f"/projects/{pid}", {"project": des})
        if n % 5 == 0:
            settings = {"settings": {"quota": {"active_time_seconds": 60}, "hipaa": True}}
            send("PATCH", f"/projects/{pid}", {"project": settings})
        if n % 6 == 0:
            send("DELETE", f"/projects/{pid}")
            send("POST", f"/projects/{pid}/recover")
        if n % 7 == 0:
            send("DELETE", f"/projects/{pid}")
        send("GET", f"/projects/{pid}")
        for branch in (send("GET", f"/projects/{pid}/branches").json or {}).get("branches", []):
            send("GET", f"/projects/{pid}/branches/{branch['id']}/roles")
            send("GET", f"/projects/{pid}/branches/{branch['id']}/databases")
        send("GET", f"/projects/{pid}/endpoints")
        send("GET", f"/projects/{pid}/operations", limit=1000)
    return out


def test_a_project_built_late_answers_and_takes_writes_as_one_built_at_once(fixed_clock):
    late, early = (
        EmulatorApp(seed_count=150, op_seconds=0),
        EmulatorApp(seed_count=150, op_seconds=0),
    )
    for p in every_project(early.store):
        p.settings, p.default_endpoint_settings, p.branches  # noqa: B018 - build them now
    for app in (late, early):
        app.store.rng = random.Random(1)  # ids of what the writes create
    project_ids = [p.id for p in every_project(late.store)]
    assert project_ids == [p.id for p in every_project(early.store)]
    assert not any(p.built for p in every_project(late.store))
    assert answers(late, project_ids) == answers(early, project_ids)


def test_a_kept_state_keeps_projects_unbuilt_and_the_same(fixed_clock, tmp_path):
    path = tmp_path / "neon.state"
    first = EmulatorApp(seed_count=200, state_path=path)
    changed = next(iter(first.store.projects))
    client = Client(first)
    assert (
        client.patch(
            f"/api/v2/projects/{changed}", json={"project": {"name": "kept"}}, headers=AUTH
        ).status_code
        == 200
    )
    before = {
        pid: client.get(f"/api/v2/projects/{pid}", headers=AUTH).json
        for pid in first.store.projects
    }

    again = EmulatorApp(state_path=path)

    assert [p.id for p in again.store.projects.values() if p.built] == [changed]
    after = Client(again)
    for pid, answer in before.items():
        assert after.get(f"/api/v2/projects/{pid}", headers=AUTH).json == answer
    assert state.FORMAT == 4
